/**
 * Tool-call events. Every call lives in its own stream `toolcall-<uuid>` (see `toolCallStreamId`),
 * holding the whole decision chain: request, hook runs, input rewrites, policy precheck, approval
 * request and answer, authorisation (who or what let it run), start, output, end. Reading that one
 * stream answers "why did this command run?".
 */
import { Schema } from "effect"
import { defineEvent, evolveEvent } from "../EventRegistry.ts"
import { AskForApproval, NetworkPolicyAmendment } from "../wire/approval.ts"
import { ExecutionKind, ToolCall, ToolOutput } from "../wire/tool.ts"

/** The stream category of tool calls. */
export const ToolCallCategory = "toolcall"

/** The stream of a tool call from its uuid (`toolcall-<uuid>`). */
export const toolCallStreamId = (uuid: string): string => `${ToolCallCategory}-${uuid}`

/** The seed's `requirement` object of a policy precheck. */
export const PolicyRequirement = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("skip"),
    bypass_sandbox: Schema.Boolean,
    reason: Schema.String,
    proposed_execpolicy_amendment: Schema.Array(Schema.String)
  }),
  Schema.Struct({
    type: Schema.Literal("needs_approval"),
    reason: Schema.String,
    proposed_execpolicy_amendment: Schema.Array(Schema.String),
    proposed_network_policy_amendments: Schema.Array(NetworkPolicyAmendment)
  }),
  Schema.Struct({ type: Schema.Literal("forbidden"), reason: Schema.String })
)
/** The requirement of a policy decision. */
export type PolicyRequirement = typeof PolicyRequirement.Type

/**
 * The seed's precheck payload: `{execution_kind, command, cwd, allow, requires_approval,
 * matched_rule, phase, reason, requirement}`, plus `matched_action` (HEAD).
 */
export const PolicyPrecheck = Schema.Struct({
  execution_kind: ExecutionKind,
  command: Schema.String,
  cwd: Schema.String,
  allow: Schema.Boolean,
  requires_approval: Schema.Boolean,
  matched_rule: Schema.NullOr(Schema.String),
  matched_action: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  phase: Schema.Literal("allowed", "needs_approval", "forbidden"),
  reason: Schema.String,
  requirement: PolicyRequirement
})
/** A policy precheck. */
export type PolicyPrecheck = typeof PolicyPrecheck.Type

/** A call was received. Secret argument values (exec_shell `env`) are redacted; `redacted` names them. */
export const ToolCallRequested = defineEvent(
  "tool.call_requested",
  Schema.Struct({
    call_id: Schema.String,
    response_id: Schema.String,
    approval_id: Schema.String,
    thread_id: Schema.NullOr(Schema.String),
    turn_id: Schema.NullOr(Schema.String),
    call: ToolCall,
    cwd: Schema.String,
    approval_mode: AskForApproval,
    execution_kind: ExecutionKind,
    command: Schema.String,
    policy_tool: Schema.String,
    policy_path: Schema.NullOr(Schema.String),
    redacted: Schema.Array(Schema.String),
    at: Schema.Int
  })
)

/** A PreToolUse hook rewrote the call's input (`updatedInput`); later steps use the new call. */
export const ToolInputRewritten = defineEvent(
  "tool.input_rewritten",
  Schema.Struct({
    hook_name: Schema.String,
    run_id: Schema.String,
    call: ToolCall,
    command: Schema.String,
    policy_path: Schema.NullOr(Schema.String),
    redacted: Schema.Array(Schema.String),
    at: Schema.Int
  })
)

/** The execution policy's verdict on the (possibly rewritten) call: version 1, without the touched files. */
const ToolPolicyEvaluatedV1 = defineEvent(
  "tool.policy_evaluated",
  Schema.Struct({
    precheck: PolicyPrecheck,
    /** Ids of the user-policy amendments that were in force. */
    amendments: Schema.Array(Schema.String),
    at: Schema.Int
  })
)

/**
 * The execution policy's verdict on the (possibly rewritten) call. Version 2 adds `touched_paths`:
 * every file the tool said the call touches (each file of a patch), as the policy's path rules saw
 * them; empty when the tool declares none (then only `policy_path` of the request was checked) and
 * in version 1 events, which did not record them.
 */
export const ToolPolicyEvaluated = evolveEvent(
  ToolPolicyEvaluatedV1,
  Schema.Struct({
    precheck: PolicyPrecheck,
    /** Ids of the user-policy amendments that were in force. */
    amendments: Schema.Array(Schema.String),
    touched_paths: Schema.Array(Schema.String),
    at: Schema.Int
  }),
  (v1) => ({ ...v1, touched_paths: [] })
)

/** Who or what let a call run. */
export const AuthorizationSource = Schema.Literal("user", "grant", "rule", "hook", "mode", "amendment")
/** Who or what let a call run. */
export type AuthorizationSource = typeof AuthorizationSource.Type

/** The call may run: the deciding source, its scope and the ids that prove it. */
export const ToolCallAuthorized = defineEvent(
  "tool.call_authorized",
  Schema.Struct({
    source: AuthorizationSource,
    scope: Schema.Literal("once", "thread", "policy_amendment"),
    reason: Schema.String,
    approval_id: Schema.NullOr(Schema.String),
    grant_id: Schema.NullOr(Schema.String),
    amendment_id: Schema.NullOr(Schema.String),
    rule: Schema.NullOr(Schema.String),
    hook_name: Schema.NullOr(Schema.String),
    actor: Schema.NullOr(Schema.String),
    mode: AskForApproval,
    at: Schema.Int
  })
)

/** The call will not run: refused by the policy, a hook or the user. */
export const ToolCallDenied = defineEvent(
  "tool.call_denied",
  Schema.Struct({
    source: Schema.Literal("policy", "hook", "user"),
    reason: Schema.String,
    matched_rule: Schema.NullOr(Schema.String),
    hook_name: Schema.NullOr(Schema.String),
    approval_id: Schema.NullOr(Schema.String),
    actor: Schema.NullOr(Schema.String),
    at: Schema.Int
  })
)

/** The user answered `abort`: the call does not run and the turn ends. */
export const ToolCallAborted = defineEvent(
  "tool.call_aborted",
  Schema.Struct({
    approval_id: Schema.String,
    reason: Schema.String,
    actor: Schema.NullOr(Schema.String),
    at: Schema.Int
  })
)

/** The call was cancelled before it finished (for example while waiting for approval). */
export const ToolCallCancelled = defineEvent(
  "tool.call_cancelled",
  Schema.Struct({ reason: Schema.String, at: Schema.Int })
)

/** The tool is being dispatched; `arguments` is the serialised payload (the `tool_call_start` frame). */
export const ToolCallStarted = defineEvent(
  "tool.call_started",
  Schema.Struct({ tool_name: Schema.String, arguments: Schema.Unknown, at: Schema.Int })
)

/** A chunk of output while the tool runs (exec_shell stdout / stderr). */
export const ToolOutputDelta = defineEvent(
  "tool.output_delta",
  Schema.Struct({ stream: Schema.Literal("stdout", "stderr"), delta: Schema.String })
)

/** The tool returned an output (which may itself report failure: see `success`). */
export const ToolCallCompleted = defineEvent(
  "tool.call_completed",
  Schema.Struct({
    output: ToolOutput,
    success: Schema.Boolean,
    exit_code: Schema.NullOr(Schema.Int),
    duration_ms: Schema.Int,
    at: Schema.Int
  })
)

/** The tool could not produce an output (not found, bad arguments, timeout, failure). */
export const ToolCallFailed = defineEvent(
  "tool.call_failed",
  Schema.Struct({ error_tag: Schema.String, message: Schema.String, duration_ms: Schema.Int, at: Schema.Int })
)

/** Every tool-call event definition. */
export const toolEventDefinitions = [
  ToolCallRequested,
  ToolInputRewritten,
  ToolPolicyEvaluated,
  ToolCallAuthorized,
  ToolCallDenied,
  ToolCallAborted,
  ToolCallCancelled,
  ToolCallStarted,
  ToolOutputDelta,
  ToolCallCompleted,
  ToolCallFailed
] as const
