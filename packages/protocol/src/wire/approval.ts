/**
 * Approval wire shapes, as the seed serialises them: the approval mode (`AskForApproval`), the
 * answers a user can give (`ReviewDecision`, tagged by `type`) and the `ExecApprovalRequestEvent`
 * carried by the `exec_approval_request` frame.
 */
import { Schema } from "effect"

/** `Reject { sandbox_approval, rules, mcp_elicitations }`: which prompts are turned into refusals. */
export const RejectConfig = Schema.Struct({
  sandbox_approval: Schema.Boolean,
  rules: Schema.Boolean,
  mcp_elicitations: Schema.Boolean
})
/** Which prompts are turned into refusals. */
export type RejectConfig = typeof RejectConfig.Type

/**
 * When to ask (externally tagged, as the seed's `AskForApproval`): `"unless_trusted"`,
 * `"on_failure"`, `"on_request"`, `"never"` (never prompt: what is not denied runs), or
 * `{"reject": {...}}`.
 */
export const AskForApproval = Schema.Union(
  Schema.Literal("unless_trusted", "on_failure", "on_request", "never"),
  Schema.Struct({ reject: RejectConfig })
)
/** When to ask for approval. */
export type AskForApproval = typeof AskForApproval.Type

/** Renders an approval mode for display (`reject(rules)` for the tagged form). */
export const formatAskForApproval = (mode: AskForApproval): string => {
  if (typeof mode === "string") return mode
  const flags = Object.entries(mode.reject).filter(([, v]) => v).map(([k]) => k)
  return `reject(${flags.join(",")})`
}

/** Parses an approval mode as the CLI spells it (`on-request`, `on_request`, `unless-trusted`, ...). */
export const parseAskForApproval = (text: string): AskForApproval | undefined => {
  const t = text.trim().toLowerCase().replace(/-/g, "_")
  switch (t) {
    case "unless_trusted":
    case "untrusted":
      return "unless_trusted"
    case "on_failure":
      return "on_failure"
    case "on_request":
      return "on_request"
    case "never":
      return "never"
    case "reject":
      return { reject: { sandbox_approval: true, rules: true, mcp_elicitations: true } }
    default:
      return undefined
  }
}

/** `NetworkPolicyAmendment { host, action }`. */
export const NetworkPolicyAmendment = Schema.Struct({
  host: Schema.String,
  action: Schema.Literal("allow", "deny")
})
/** A proposed network rule. */
export type NetworkPolicyAmendment = typeof NetworkPolicyAmendment.Type

/**
 * `ReviewDecision` (tagged by `type`): `approved`, `approved_for_session`,
 * `approved_execpolicy_amendment`, `network_policy_amendment {host, action}`, `denied`, `abort`.
 * Unlike the seed, `approved_execpolicy_amendment` may carry the `prefixes` the user accepts (the
 * seed's weakness #1); absent, the request's proposed amendment is used.
 */
export const ReviewDecision = Schema.Union(
  Schema.Struct({ type: Schema.Literal("approved") }),
  Schema.Struct({ type: Schema.Literal("approved_for_session") }),
  Schema.Struct({
    type: Schema.Literal("approved_execpolicy_amendment"),
    prefixes: Schema.optional(Schema.Array(Schema.String))
  }),
  Schema.Struct({
    type: Schema.Literal("network_policy_amendment"),
    host: Schema.String,
    action: Schema.Literal("allow", "deny")
  }),
  Schema.Struct({ type: Schema.Literal("denied") }),
  Schema.Struct({ type: Schema.Literal("abort") })
)
/** An answer to an approval request. */
export type ReviewDecision = typeof ReviewDecision.Type

/** The decision type names, for CLIs and error messages. */
export const ReviewDecisionType = Schema.Literal(
  "approved",
  "approved_for_session",
  "approved_execpolicy_amendment",
  "network_policy_amendment",
  "denied",
  "abort"
)
/** A decision type name. */
export type ReviewDecisionType = typeof ReviewDecisionType.Type

/** `NetworkApprovalContext { host, protocol }`. */
export const NetworkApprovalContext = Schema.Struct({ host: Schema.String, protocol: Schema.String })

/**
 * `ExecApprovalRequestEvent`: `matched_rule` and `network_approval_context` are omitted when
 * absent; the four arrays are always present (and default to `[]` on input).
 */
export const ExecApprovalRequestEvent = Schema.Struct({
  call_id: Schema.String,
  approval_id: Schema.String,
  turn_id: Schema.String,
  command: Schema.String,
  cwd: Schema.String,
  reason: Schema.String,
  matched_rule: Schema.optional(Schema.String),
  network_approval_context: Schema.optional(NetworkApprovalContext),
  proposed_execpolicy_amendment: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  proposed_network_policy_amendments: Schema.optionalWith(Schema.Array(NetworkPolicyAmendment), { default: () => [] }),
  additional_permissions: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  available_decisions: Schema.optionalWith(Schema.Array(ReviewDecision), { default: () => [] })
})
/** An approval request as a client sees it. */
export type ExecApprovalRequestEvent = typeof ExecApprovalRequestEvent.Type
