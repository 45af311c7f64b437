/**
 * The seed's in-process hook events (`crates/hooks` `HookEvent`, tagged by `type`):
 * `response_start`, `response_delta`, `response_end`, `tool_lifecycle`, `job_lifecycle`,
 * `approval_lifecycle` and `generic_event_frame`, and how tool-call events of the log map to them
 * (and to `EventFrame`s).
 */
import {
  ApprovalRequested,
  ApprovalResolved,
  EventFrame,
  ToolCallAborted,
  ToolCallCancelled,
  ToolCallCompleted,
  ToolCallDenied,
  ToolCallFailed,
  ToolCallRequested,
  ToolCallStarted,
  ToolOutputDelta,
  ToolPolicyEvaluated,
  type EventOf
} from "@codewhale/protocol"
import { Schema } from "effect"

/** A seed hook event. */
export const HookEvent = Schema.Union(
  Schema.Struct({ type: Schema.Literal("response_start"), response_id: Schema.String }),
  Schema.Struct({ type: Schema.Literal("response_delta"), response_id: Schema.String, delta: Schema.String }),
  Schema.Struct({ type: Schema.Literal("response_end"), response_id: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("tool_lifecycle"),
    response_id: Schema.String,
    tool_name: Schema.String,
    phase: Schema.String,
    payload: Schema.Unknown
  }),
  Schema.Struct({
    type: Schema.Literal("job_lifecycle"),
    job_id: Schema.String,
    phase: Schema.String,
    progress: Schema.NullOr(Schema.Number),
    detail: Schema.NullOr(Schema.String)
  }),
  Schema.Struct({
    type: Schema.Literal("approval_lifecycle"),
    approval_id: Schema.String,
    phase: Schema.String,
    reason: Schema.NullOr(Schema.String)
  }),
  Schema.Struct({ type: Schema.Literal("generic_event_frame"), frame: EventFrame })
)
/** A seed hook event. */
export type HookEvent = typeof HookEvent.Type

/** The tool-call events the mapping understands. */
export const toolCallEventDefinitions = [
  ToolCallRequested,
  ToolPolicyEvaluated,
  ToolCallDenied,
  ToolCallAborted,
  ToolCallCancelled,
  ToolCallStarted,
  ToolOutputDelta,
  ToolCallCompleted,
  ToolCallFailed,
  ApprovalRequested,
  ApprovalResolved
] as const

/** A decoded tool-call event. */
export type ToolCallEvent = EventOf<(typeof toolCallEventDefinitions)[number]>

/** What the mapping remembers about a call (from its `tool.call_requested`). */
export interface CallContext {
  readonly responseId: string
  readonly callId: string
  readonly approvalId: string
  readonly toolName: string
  readonly command: string
  readonly cwd: string
  readonly turnId: string | null
  readonly executionKind: "shell" | "tool"
}

/** The context of a call from its request event. */
export const callContextOf = (payload: typeof ToolCallRequested.schema.Type): CallContext => ({
  responseId: payload.response_id,
  callId: payload.call_id,
  approvalId: payload.approval_id,
  toolName: payload.call.name,
  command: payload.command,
  cwd: payload.cwd,
  turnId: payload.turn_id,
  executionKind: payload.execution_kind
})

const frame = (f: EventFrame): HookEvent => ({ type: "generic_event_frame", frame: f })

/**
 * The seed hook events for one tool-call event: tool phases `precheck`, `dispatching`,
 * `completed`, `failed`, `cancelled`; approval phases `requested`, `approved`, `denied`, `aborted`;
 * and the frames (`tool_call_start`, `tool_call_result`, `exec_approval_request`, `exec_command_*`
 * for shell calls, `turn_aborted`, `error`).
 */
export const hookEventsOf = (ctx: CallContext, event: ToolCallEvent): ReadonlyArray<HookEvent> => {
  const lifecycle = (phase: string, payload: unknown): HookEvent => ({
    type: "tool_lifecycle",
    response_id: ctx.responseId,
    tool_name: ctx.toolName,
    phase,
    payload
  })
  const shell = ctx.executionKind === "shell"
  switch (event.type) {
    case "tool.call_requested":
      return []
    case "tool.policy_evaluated":
      return [lifecycle("precheck", event.payload.precheck)]
    case "tool.call_denied":
      return [
        { type: "approval_lifecycle", approval_id: event.payload.approval_id ?? ctx.approvalId, phase: "denied", reason: event.payload.reason },
        frame({ event: "error", response_id: ctx.responseId, message: event.payload.reason })
      ]
    case "approval.requested":
      return [
        { type: "approval_lifecycle", approval_id: event.payload.approval_id, phase: "requested", reason: event.payload.request.reason },
        frame({ event: "exec_approval_request", request: event.payload.request })
      ]
    case "approval.resolved": {
      const d = event.payload.decision.type
      const phase = d === "denied" ? "denied" : d === "abort" ? "aborted" : "approved"
      return [{ type: "approval_lifecycle", approval_id: event.payload.approval_id, phase, reason: `${d} by ${event.payload.decided_by}` }]
    }
    case "tool.call_aborted":
      return [frame({ event: "turn_aborted", turn_id: ctx.turnId ?? ctx.responseId, reason: event.payload.reason })]
    case "tool.call_cancelled":
      return [lifecycle("cancelled", { reason: event.payload.reason })]
    case "tool.call_started":
      return [
        frame({ event: "tool_call_start", response_id: ctx.responseId, tool_name: event.payload.tool_name, arguments: event.payload.arguments }),
        ...(shell ? [frame({ event: "exec_command_begin", command: ctx.command, cwd: ctx.cwd })] : []),
        lifecycle("dispatching", { call_id: ctx.callId, execution_kind: ctx.executionKind })
      ]
    case "tool.output_delta":
      return shell ? [frame({ event: "exec_command_output_delta", command: ctx.command, delta: event.payload.delta })] : []
    case "tool.call_completed":
      return [
        ...(shell ? [frame({ event: "exec_command_end", command: ctx.command, exit_code: event.payload.exit_code ?? -1 })] : []),
        frame({ event: "tool_call_result", response_id: ctx.responseId, tool_name: ctx.toolName, output: event.payload.output }),
        lifecycle("completed", { ok: event.payload.success })
      ]
    case "tool.call_failed":
      return [
        frame({ event: "error", response_id: ctx.responseId, message: event.payload.message }),
        lifecycle("failed", { error: event.payload.message, error_tag: event.payload.error_tag })
      ]
  }
}
