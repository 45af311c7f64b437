import { Schema } from "effect"

/** Rule layers, lowest precedence first. */
export const RulesetLayer = Schema.Literal("builtin", "agent", "user")
/** Rule layers, lowest precedence first. */
export type RulesetLayer = typeof RulesetLayer.Type

/** Rule actions, least restrictive first. */
export const PermissionAction = Schema.Literal("allow", "ask", "deny")
/** Rule actions, least restrictive first. */
export type PermissionAction = typeof PermissionAction.Type

/** Ordinal of a layer (`builtin` 0 < `agent` 1 < `user` 2). */
export const layerRank = (layer: RulesetLayer): number => (layer === "builtin" ? 0 : layer === "agent" ? 1 : 2)

/** Ordinal of an action (`allow` 0 < `ask` 1 < `deny` 2). */
export const actionRank = (action: PermissionAction): number => (action === "allow" ? 0 : action === "ask" ? 1 : 2)

/** Prefixes that, added to the trusted list, would allow this exact command next time. */
export interface ExecPolicyAmendment {
  readonly prefixes: ReadonlyArray<string>
}

/** A proposed network rule (the engine never proposes one; kept for the seed's shape). */
export interface NetworkPolicyAmendment {
  readonly host: string
  readonly action: "allow" | "deny"
}

/** Run without asking. `bypassSandbox` is always false; Skip never carries an amendment. */
export interface Skip {
  readonly _tag: "Skip"
  readonly bypassSandbox: boolean
  readonly proposedExecpolicyAmendment: ExecPolicyAmendment | null
}

/** Ask the user first. */
export interface NeedsApproval {
  readonly _tag: "NeedsApproval"
  readonly reason: string
  readonly proposedExecpolicyAmendment: ExecPolicyAmendment | null
  readonly proposedNetworkPolicyAmendments: ReadonlyArray<NetworkPolicyAmendment>
}

/** Do not run. */
export interface Forbidden {
  readonly _tag: "Forbidden"
  readonly reason: string
}

/** What has to happen before the call may run (the seed's `ExecApprovalRequirement`). */
export type ExecApprovalRequirement = Skip | NeedsApproval | Forbidden

/** The seed's constant reason for `Skip`. */
export const SKIP_REASON = "Execution allowed by policy."

/** `allowed`, `needs_approval` or `forbidden`. */
export const phase = (r: ExecApprovalRequirement): "allowed" | "needs_approval" | "forbidden" =>
  r._tag === "Skip" ? "allowed" : r._tag === "NeedsApproval" ? "needs_approval" : "forbidden"

/** The requirement's reason (`Skip` gives the seed's constant). */
export const reason = (r: ExecApprovalRequirement): string => (r._tag === "Skip" ? SKIP_REASON : r.reason)

/** The decision for one call (the seed's `ExecPolicyDecision`, with HEAD's `matchedAction`). */
export interface ExecPolicyDecision {
  /** False only for `Forbidden`. */
  readonly allow: boolean
  /** True only for `NeedsApproval`. */
  readonly requiresApproval: boolean
  readonly requirement: ExecApprovalRequirement
  /** The prefix text for prefix rules, `tool=<t> command=<c> …` for typed rules, else null. */
  readonly matchedRule: string | null
  /** The action of the deciding typed rule, null for prefix-only or rule-less decisions. */
  readonly matchedAction: PermissionAction | null
}

/** The CLI/batch spelling of a decision: `allow`, `ask` or `forbidden`. */
export const decisionWord = (d: ExecPolicyDecision): "allow" | "ask" | "forbidden" =>
  d.requirement._tag === "Skip" ? "allow" : d.requirement._tag === "NeedsApproval" ? "ask" : "forbidden"
