import type { AskForApproval, SandboxMode } from "./Approval.ts"
import type { ExecPolicyDecision, PermissionAction, RulesetLayer } from "./Decision.ts"
import type { SegmentKind, SegmentVia } from "./Segments.ts"

/** A rule that matched a segment. */
export interface RuleMatch {
  /** Which lane the rule lives in. */
  readonly kind: "denied_prefix" | "trusted_prefix" | "rule"
  /** The seed's label: the prefix text, or `tool=<t> command=<c> …`. */
  readonly label: string
  readonly layer: RulesetLayer
  readonly action: PermissionAction
  /** Typed rules: the seed's specificity; prefixes: 0. */
  readonly specificity: number
  /** Position in the policy (layer order, then listing order); later wins ties. */
  readonly order: number
  /** `possible`: only run-time values decide whether it applies (a deny that may match). */
  readonly certainty: "match" | "possible"
  /** What matched: the command, a path, or the whole command line exactly. */
  readonly on: "command" | "path" | "tool" | "exact_command"
  /** `file:line` of the rule, when loaded from a file. */
  readonly source: string | null
}

/** How a segment was classified before the approval mode had its say. */
export type SegmentCategory =
  | "denied_prefix"
  | "denied_rule"
  | "ask_rule"
  | "dangerous"
  | "uncertain"
  | "write"
  | "unmatched"
  | "trusted"
  | "allowed"
  | "neutral"

/** Everything the engine concluded about one segment. */
export interface SegmentExplanation {
  readonly index: number
  readonly kind: SegmentKind | "tool"
  readonly text: string
  readonly via: SegmentVia | "tool"
  readonly wrappers: ReadonlyArray<string>
  readonly env: ReadonlyArray<string>
  /** Reasons the segment is not known with certainty. */
  readonly uncertain: ReadonlyArray<string>
  /** Reasons the segment is destructive enough that no rule auto-allows it. */
  readonly dangerous: ReadonlyArray<string>
  /** Every rule that matched, in policy order. */
  readonly matches: ReadonlyArray<RuleMatch>
  /** The rule that decided the segment, if any. */
  readonly winner: RuleMatch | null
  /** Why the winner won (or why no rule applied). */
  readonly why: string
  readonly category: SegmentCategory
  /** The segment's own outcome after the approval mode. */
  readonly outcome: "allow" | "ask" | "forbidden"
  readonly reason: string
  /** The narrowest trusted prefix that would allow this segment, for unmatched segments. */
  readonly amendment: string | null
}

/** `explain(context)`: the decision plus how it was reached. */
export interface Explanation {
  readonly decision: ExecPolicyDecision
  readonly tool: string
  readonly command: string
  /** More than one independent command. */
  readonly chained: boolean
  /** Reasons the whole command line is uncertain (parse errors, nesting limit). */
  readonly uncertain: ReadonlyArray<string>
  readonly segments: ReadonlyArray<SegmentExplanation>
  /** The segment whose outcome became the decision (the strictest, first on ties), or null. */
  readonly decidingSegment: number | null
  readonly mode: {
    readonly approval: AskForApproval
    readonly sandbox: SandboxMode | null
    /** What the approval mode (and sandbox) did to the segments' categories. */
    readonly contribution: string
  }
}
