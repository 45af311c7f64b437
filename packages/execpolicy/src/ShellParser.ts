import { createRequire } from "node:module"
import { Effect } from "effect"
import { Language, Parser } from "web-tree-sitter"
import type { Node, Tree } from "web-tree-sitter"
import { ShellParserInitError } from "./Errors.ts"

/** A parsed bash script. Call `dispose` when done: trees live in wasm memory. */
export interface ParsedScript {
  /** The root `program` node. */
  readonly root: Node
  /** Frees the tree's wasm memory. The root node must not be used afterwards. */
  readonly dispose: () => void
}

/**
 * A synchronous bash parser: `parse` is pure CPU work (no I/O), so the decision path can use it.
 * Returns `undefined` when tree-sitter gives up (it does not for any finite input in practice).
 */
export interface BashParser {
  readonly parse: (source: string) => ParsedScript | undefined
}

const require = createRequire(import.meta.url)

/** Absolute path of the `tree-sitter-bash.wasm` grammar shipped by the `tree-sitter-bash` package. */
export const bashWasmPath = (): string => require.resolve("tree-sitter-bash/tree-sitter-bash.wasm")

/** A parsed script backed by a tree-sitter tree (a class, so no closure is made per parse). */
class TreeScript implements ParsedScript {
  readonly root: Node
  constructor(private readonly tree: Tree) {
    this.root = tree.rootNode
  }
  dispose(): void {
    this.tree.delete()
  }
}

/** Loads web-tree-sitter and the bash grammar once. */
export const loadBashParser: Effect.Effect<BashParser, ShellParserInitError> = Effect.gen(function*() {
  const wasmPath = yield* Effect.try({
    try: bashWasmPath,
    catch: (cause) => new ShellParserInitError({ wasmPath: "tree-sitter-bash/tree-sitter-bash.wasm", cause: String(cause) })
  })
  const parser = yield* Effect.tryPromise({
    try: async () => {
      await Parser.init()
      const language = await Language.load(wasmPath)
      const p = new Parser()
      p.setLanguage(language)
      return p
    },
    catch: (cause) => new ShellParserInitError({ wasmPath, cause: String(cause) })
  })
  return {
    parse: (source: string) => {
      try {
        const tree = parser.parse(source)
        return tree === null ? undefined : new TreeScript(tree)
      } catch {
        // A wasm failure is reported as "could not parse": callers fail closed on it.
        return undefined
      }
    }
  }
})

/** The `ShellParser` service: a bash parser loaded once per layer. */
export class ShellParser extends Effect.Service<ShellParser>()("@codewhale/execpolicy/ShellParser", {
  effect: loadBashParser
}) {}
