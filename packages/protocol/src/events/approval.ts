/**
 * Approval, grant and policy-amendment events. An approval request and its answer live in the
 * stream of the tool call they belong to (`toolcall-<uuid>`, approval id `approval-<uuid>` with the
 * same uuid), so the call's stream holds its whole decision chain. Grants live in `grant-<id>`
 * streams and user-policy amendments in `policy_amendment-<id>` streams.
 */
import { Schema } from "effect"
import { defineEvent } from "../EventRegistry.ts"
import { ExecApprovalRequestEvent, ReviewDecision } from "../wire/approval.ts"

/** The stream category of session grants. */
export const GrantCategory = "grant"
/** The stream category of user-policy amendments. */
export const PolicyAmendmentCategory = "policy_amendment"

/** A call needs an answer; `request` is the `exec_approval_request` frame's payload. */
export const ApprovalRequested = defineEvent(
  "approval.requested",
  Schema.Struct({
    approval_id: Schema.String,
    call_id: Schema.String,
    thread_id: Schema.NullOr(Schema.String),
    turn_id: Schema.NullOr(Schema.String),
    request: ExecApprovalRequestEvent,
    /** What asked: the policy, or a PreToolUse hook answering `ask`. */
    requested_by: Schema.Literal("policy", "hook"),
    hook_name: Schema.NullOr(Schema.String),
    at: Schema.Int
  })
)

/** The request was answered, by the user or by a PermissionRequest hook. */
export const ApprovalResolved = defineEvent(
  "approval.resolved",
  Schema.Struct({
    approval_id: Schema.String,
    decision: ReviewDecision,
    decided_by: Schema.Literal("user", "hook"),
    actor: Schema.NullOr(Schema.String),
    hook_name: Schema.NullOr(Schema.String),
    at: Schema.Int
  })
)

/** The request was withdrawn without an answer (its call was cancelled). */
export const ApprovalCancelled = defineEvent(
  "approval.cancelled",
  Schema.Struct({ approval_id: Schema.String, reason: Schema.String, at: Schema.Int })
)

/** An `approved_for_session` answer: the exact (tool, command, path) may run again in this thread. */
export const GrantCreated = defineEvent(
  "grant.created",
  Schema.Struct({
    grant_id: Schema.String,
    thread_id: Schema.String,
    scope: Schema.Literal("thread"),
    tool: Schema.String,
    command: Schema.String,
    path: Schema.NullOr(Schema.String),
    approval_id: Schema.String,
    call_id: Schema.String,
    actor: Schema.NullOr(Schema.String),
    at: Schema.Int
  })
)

/** A grant was withdrawn. */
export const GrantRevoked = defineEvent(
  "grant.revoked",
  Schema.Struct({
    grant_id: Schema.String,
    reason: Schema.NullOr(Schema.String),
    actor: Schema.NullOr(Schema.String),
    at: Schema.Int
  })
)

/** An `approved_execpolicy_amendment` answer: prefixes added to the user policy layer's trusted prefixes. */
export const PolicyAmendmentAdded = defineEvent(
  "policy_amendment.added",
  Schema.Struct({
    amendment_id: Schema.String,
    layer: Schema.Literal("user"),
    prefixes: Schema.Array(Schema.String),
    approval_id: Schema.NullOr(Schema.String),
    call_id: Schema.NullOr(Schema.String),
    actor: Schema.NullOr(Schema.String),
    at: Schema.Int
  })
)

/** A user-policy amendment was withdrawn. */
export const PolicyAmendmentRevoked = defineEvent(
  "policy_amendment.revoked",
  Schema.Struct({
    amendment_id: Schema.String,
    reason: Schema.NullOr(Schema.String),
    actor: Schema.NullOr(Schema.String),
    at: Schema.Int
  })
)

/** Every approval, grant and amendment event definition. */
export const approvalEventDefinitions = [
  ApprovalRequested,
  ApprovalResolved,
  ApprovalCancelled,
  GrantCreated,
  GrantRevoked,
  PolicyAmendmentAdded,
  PolicyAmendmentRevoked
] as const
