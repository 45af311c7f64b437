/**
 * A caching view of a tree-sitter syntax tree. Every read through web-tree-sitter's node API
 * crosses into wasm (and `namedChildren` allocates a node object per child), so the analysis reads
 * each fact of a node at most once: the type once, the named children once, and the text by slicing
 * the source string the tree was parsed from instead of asking the tree for it.
 */
import type { Node } from "web-tree-sitter"

const NO_CHILDREN: ReadonlyArray<SyntaxNode> = []

/**
 * Named node types of tree-sitter-bash that never have named children (tokens), so their children
 * are not asked for. A test checks this list against the grammar's `node-types.json`.
 */
export const LEAF_TYPES: ReadonlySet<string> = new Set([
  "word", "raw_string", "ansi_c_string", "string_content", "variable_name", "special_variable_name", "file_descriptor",
  "heredoc_start", "heredoc_end", "heredoc_content", "comment", "test_operator", "regex", "extglob_pattern"
])

/** One node of a parsed script, read lazily and at most once. */
export class SyntaxNode {
  private cachedType: string | undefined
  private cachedText: string | undefined
  private cachedNamed: ReadonlyArray<SyntaxNode> | undefined
  private cachedAll: ReadonlyArray<SyntaxNode> | undefined

  constructor(private readonly node: Node, private readonly source: string) {}

  /** The grammar type (`command`, `word`, `&&`, …). */
  get type(): string {
    if (this.cachedType === undefined) this.cachedType = this.node.type
    return this.cachedType
  }

  /** False for anonymous nodes (operators and punctuation). */
  get isNamed(): boolean {
    return this.node.isNamed
  }

  /** True when the subtree contains a syntax error or a missing node. */
  get hasError(): boolean {
    return this.node.hasError
  }

  /**
   * True when the source between the end of `this` and the start of `next` holds a newline that is
   * not a line continuation: bash starts a new command there, whatever the tree says.
   */
  newlineBefore(next: SyntaxNode): boolean {
    const from = this.node.endIndex
    const to = next.node.startIndex
    for (let i = from; i < to; i++) {
      if (this.source.charCodeAt(i) === 10 && (i === 0 || this.source.charCodeAt(i - 1) !== 92)) return true
    }
    return false
  }

  /** True when the node's text holds a newline (known without reading the node when the source has none). */
  get hasNewline(): boolean {
    return this.source.includes("\n") && this.text.includes("\n")
  }

  /** The node's source text (a slice of the parsed string). */
  get text(): string {
    if (this.cachedText === undefined) this.cachedText = this.source.slice(this.node.startIndex, this.node.endIndex)
    return this.cachedText
  }

  /** The named children, in order. */
  get namedChildren(): ReadonlyArray<SyntaxNode> {
    if (this.cachedNamed === undefined) {
      this.cachedNamed = LEAF_TYPES.has(this.type) ? NO_CHILDREN : this.wrap(this.node.namedChildren)
    }
    return this.cachedNamed
  }

  /** The first named child (read alone, without listing the others). */
  get firstNamedChild(): SyntaxNode | undefined {
    if (this.cachedNamed !== undefined) return this.cachedNamed[0]
    if (LEAF_TYPES.has(this.type)) return undefined
    const first = this.node.firstNamedChild
    return first === null ? undefined : new SyntaxNode(first, this.source)
  }

  /** Every child, named or not, in order. */
  get children(): ReadonlyArray<SyntaxNode> {
    if (this.cachedAll === undefined) this.cachedAll = this.wrap(this.node.children)
    return this.cachedAll
  }

  private wrap(nodes: ReadonlyArray<Node | null>): ReadonlyArray<SyntaxNode> {
    if (nodes.length === 0) return NO_CHILDREN
    const out: Array<SyntaxNode> = []
    for (const n of nodes) if (n !== null) out.push(new SyntaxNode(n, this.source))
    return out
  }
}
