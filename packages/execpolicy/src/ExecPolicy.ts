import { readFile } from "node:fs/promises"
import { Effect } from "effect"
import type { ExecPolicyContext } from "./Context.ts"
import { resolveContextPaths } from "./ContextPaths.ts"
import { decodePolicy, makeEngine, parsePolicyToml, type ExecPolicyEngine, type PolicySource } from "./Engine.ts"
import { PolicyLoadError } from "./Errors.ts"
import type { ShellAnalysis } from "./Segments.ts"
import { ShellParser } from "./ShellParser.ts"
import { analyseCommand } from "./internal/analyse.ts"

/**
 * The execution-policy service: loads policies (TOML files, TOML text, or the same structure as
 * JSON) into engines, analyses commands, and resolves symlinks of a context before a decision.
 */
export class ExecPolicy extends Effect.Service<ExecPolicy>()("@codewhale/execpolicy/ExecPolicy", {
  effect: Effect.gen(function*() {
    const parser = yield* ShellParser
    const fromInput = (input: unknown, source: PolicySource): Effect.Effect<ExecPolicyEngine, PolicyLoadError> =>
      decodePolicy(input, source).pipe(Effect.flatMap((policy) => makeEngine(parser, policy, source)))
    const fromToml = (text: string, file: string): Effect.Effect<ExecPolicyEngine, PolicyLoadError> =>
      parsePolicyToml(text, file).pipe(Effect.flatMap((policy) => makeEngine(parser, policy, { file, toml: text })))
    const loadFile = (file: string): Effect.Effect<ExecPolicyEngine, PolicyLoadError> =>
      Effect.tryPromise({
        try: () => readFile(file, "utf8"),
        catch: (cause) =>
          new PolicyLoadError({
            file,
            line: null,
            rule: null,
            detail: `cannot read the file: ${cause instanceof Error ? cause.message : String(cause)}`
          })
      }).pipe(Effect.flatMap((text) => fromToml(text, file)))
    return {
      /** Builds an engine from the policy structure as an unknown value (e.g. parsed JSON). */
      fromInput,
      /** Builds an engine from TOML text. */
      fromToml,
      /** Reads and loads a TOML policy file. */
      loadFile,
      /** Every segment of a command line, as the engine sees it. */
      analyse: (command: string): ShellAnalysis => analyseCommand(parser, command),
      /** Fills `resolvedPaths` (symlinks) for the paths a call mentions; run before `check`. */
      resolvePaths: (ctx: ExecPolicyContext): Effect.Effect<ExecPolicyContext> => resolveContextPaths(parser, ctx)
    } as const
  }),
  dependencies: [ShellParser.Default]
}) {}
