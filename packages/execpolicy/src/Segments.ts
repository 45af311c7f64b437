/**
 * What the shell analysis extracts from a command line: every command that will actually run,
 * every file a redirection writes, and every reason the analysis is not certain.
 */

/** One shell word after quote removal. Dynamic parts (expansions, substitutions) keep their source text. */
export interface ShellWord {
  /** The word's value after quote removal and escape processing. */
  readonly value: string
  /** True when part of the value is only known at run time (`$VAR`, `$(…)`, `$((…))`). */
  readonly dynamic: boolean
  /** True when the word contains unquoted glob characters (`*`, `?`, `[`). */
  readonly glob: boolean
}

/** How a segment was reached from the command line as written. */
export type SegmentVia =
  | "command"
  | "substitution"
  | "process_substitution"
  | "wrapper"
  | "shell_c"
  | "shell_stdin"
  | "eval"
  | "trap"
  | "watch"
  | "xargs"
  | "find_exec"
  | "su_c"

/** Kinds of segments: a program invocation, a file-writing redirection, or a bare assignment. */
export type SegmentKind = "command" | "redirect" | "assignment"

/** One thing that will execute (or be written) when the command line runs. */
export interface ShellSegment {
  /** Position in the analysis, in source order (nested segments follow their parent). */
  readonly index: number
  /** Segments that belong to one written command (a wrapper and what it wraps) share a group. */
  readonly group: number
  /** What this segment is. */
  readonly kind: SegmentKind
  /** The argv of the command (for `redirect`: empty; for `assignment`: empty). */
  readonly argv: ReadonlyArray<ShellWord>
  /** Human-readable text of the segment (argv shell-quoted, or `> target` for redirects). */
  readonly text: string
  /** `NAME=value` prefixes that apply to this command. */
  readonly env: ReadonlyArray<string>
  /** Wrappers stripped to reach this argv, outermost first (`sudo`, `timeout`, `bash -c`, …). */
  readonly wrappers: ReadonlyArray<string>
  /** How the segment was reached. */
  readonly via: SegmentVia
  /** True when this segment's payload is evaluated as separate segments (a wrapper, `bash -c`, `eval`). */
  readonly transparent: boolean
  /** True when the segment runs its payload with other privileges (`sudo`, `doas`, `su`, `pkexec`, …). */
  readonly privileged: boolean
  /** True when more arguments are appended at run time (`xargs`, `find -exec … +`). */
  readonly openEnded: boolean
  /** For `redirect` segments: the file read or written. */
  readonly target: ShellWord | null
  /** For `redirect` segments: true when the redirection writes (`>`, `>>`, `&>`, …), false for `<`. */
  readonly writes: boolean
  /** Reasons this segment cannot be known with certainty; non-empty means "never auto-allow". */
  readonly uncertain: ReadonlyArray<string>
  /**
   * The directories this segment may run in, each as the static `cd` targets applied in order from
   * the starting directory (`[]` is the starting directory itself, `["src", ".."]` is `cd src` then
   * `cd ..`). Every directory it can really run in is listed; some listed ones may be unreachable.
   */
  readonly dirs: ReadonlyArray<ReadonlyArray<string>>
}

/** The result of analysing one command line. */
export interface ShellAnalysis {
  /** Every segment, in order. */
  readonly segments: ReadonlyArray<ShellSegment>
  /** More than one independent command (chains, pipelines, substitutions, …). */
  readonly chained: boolean
  /** Reasons the whole command line is uncertain (parse errors, depth limit, …). */
  readonly uncertain: ReadonlyArray<string>
  /** Static `cd` targets seen in the command line (relative paths may be relative to any of them). */
  readonly cdTargets: ReadonlyArray<string>
}
