/**
 * The state of one tool call, folded from its stream (`toolcall-<uuid>`): the request, the current
 * call (after hook rewrites), the policy precheck, the approval, who authorised it, and how it ended.
 */
import {
  ApprovalCancelled,
  ApprovalRequested,
  ApprovalResolved,
  HookRunFinished,
  makeEventRegistry,
  ToolCallAborted,
  ToolCallAuthorized,
  ToolCallCancelled,
  ToolCallCompleted,
  ToolCallDenied,
  ToolCallFailed,
  ToolCallRequested,
  ToolCallStarted,
  ToolInputRewritten,
  ToolOutputDelta,
  ToolPolicyEvaluated,
  type RecordedEvent,
  type ToolCall
} from "@codewhale/protocol"
import type { ToolCallEvent } from "@codewhale/hooks"
import { Either } from "effect"

/** Every event a tool-call stream may hold. */
export const toolCallStreamDefinitions = [
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
  ToolCallFailed,
  ApprovalRequested,
  ApprovalResolved,
  ApprovalCancelled,
  HookRunFinished
] as const

/** The registry of tool-call stream events. */
export const toolCallRegistry = Either.getOrThrow(makeEventRegistry([...toolCallStreamDefinitions]))

type Payload<D> = D extends { readonly schema: { readonly Type: infer A } } ? A : never

/** Where a call stands. */
export type ToolCallStatus =
  | "received"
  | "awaiting_approval"
  | "authorized"
  | "running"
  | "completed"
  | "failed"
  | "denied"
  | "aborted"
  | "cancelled"

/** The folded state of one call. */
export interface ToolCallState {
  readonly streamId: string
  readonly version: number
  readonly lastPosition: number
  readonly status: ToolCallStatus
  readonly requested: Payload<typeof ToolCallRequested>
  /** The call as it will run (after rewrites). */
  readonly call: ToolCall
  readonly command: string
  readonly policyPath: string | null
  readonly redacted: ReadonlyArray<string>
  readonly rewrites: ReadonlyArray<Payload<typeof ToolInputRewritten>>
  readonly precheck: Payload<typeof ToolPolicyEvaluated> | null
  readonly approval: Payload<typeof ApprovalRequested> | null
  readonly resolution: Payload<typeof ApprovalResolved> | null
  readonly approvalCancelled: Payload<typeof ApprovalCancelled> | null
  readonly authorized: Payload<typeof ToolCallAuthorized> | null
  readonly denied: Payload<typeof ToolCallDenied> | null
  readonly aborted: Payload<typeof ToolCallAborted> | null
  readonly cancelled: Payload<typeof ToolCallCancelled> | null
  readonly started: Payload<typeof ToolCallStarted> | null
  readonly completed: Payload<typeof ToolCallCompleted> | null
  readonly failed: Payload<typeof ToolCallFailed> | null
  readonly hookRuns: ReadonlyArray<Payload<typeof HookRunFinished>>
  /** The decoded events the seed frames are derived from. */
  readonly frameEvents: ReadonlyArray<ToolCallEvent>
}

const terminal = new Set<ToolCallStatus>(["completed", "failed", "denied", "aborted", "cancelled"])

/** The event types that end a call (completed, failed, denied, aborted, cancelled). */
export const terminalEventTypes: ReadonlySet<string> = new Set<string>([
  ToolCallCompleted.type,
  ToolCallFailed.type,
  ToolCallDenied.type,
  ToolCallAborted.type,
  ToolCallCancelled.type
])

/** Whether the call has ended. */
export const isTerminal = (status: ToolCallStatus): boolean => terminal.has(status)

/** Folds a call's records; undefined when the stream does not start with `tool.call_requested`. */
export const foldToolCall = (records: ReadonlyArray<RecordedEvent>): ToolCallState | undefined => {
  let state: ToolCallState | undefined
  for (const record of records) {
    const event = toolCallRegistry.decodeKnown(record)
    if (event === undefined) continue
    if (event.type === "tool.call_requested") {
      state = {
        streamId: record.streamId,
        version: record.streamVersion,
        lastPosition: record.position,
        status: "received",
        requested: event.payload,
        call: event.payload.call,
        command: event.payload.command,
        policyPath: event.payload.policy_path,
        redacted: event.payload.redacted,
        rewrites: [],
        precheck: null,
        approval: null,
        resolution: null,
        approvalCancelled: null,
        authorized: null,
        denied: null,
        aborted: null,
        cancelled: null,
        started: null,
        completed: null,
        failed: null,
        hookRuns: [],
        frameEvents: [event as ToolCallEvent]
      }
      continue
    }
    if (state === undefined) continue
    const s: ToolCallState = { ...state, version: record.streamVersion, lastPosition: record.position }
    const withFrame = (next: ToolCallState): ToolCallState => ({ ...next, frameEvents: [...next.frameEvents, event as ToolCallEvent] })
    switch (event.type) {
      case "tool.input_rewritten":
        state = { ...s, call: event.payload.call, command: event.payload.command, policyPath: event.payload.policy_path, redacted: event.payload.redacted, rewrites: [...s.rewrites, event.payload] }
        break
      case "tool.policy_evaluated":
        state = withFrame({ ...s, precheck: event.payload })
        break
      case "approval.requested":
        state = withFrame({ ...s, approval: event.payload, status: "awaiting_approval" })
        break
      case "approval.resolved":
        state = withFrame({ ...s, resolution: event.payload })
        break
      case "approval.cancelled":
        state = { ...s, approvalCancelled: event.payload }
        break
      case "tool.call_authorized":
        state = { ...s, authorized: event.payload, status: "authorized" }
        break
      case "tool.call_denied":
        state = withFrame({ ...s, denied: event.payload, status: "denied" })
        break
      case "tool.call_aborted":
        state = withFrame({ ...s, aborted: event.payload, status: "aborted" })
        break
      case "tool.call_cancelled":
        state = withFrame({ ...s, cancelled: event.payload, status: "cancelled" })
        break
      case "tool.call_started":
        state = withFrame({ ...s, started: event.payload, status: "running" })
        break
      case "tool.output_delta":
        state = withFrame(s)
        break
      case "tool.call_completed":
        state = withFrame({ ...s, completed: event.payload, status: "completed" })
        break
      case "tool.call_failed":
        state = withFrame({ ...s, failed: event.payload, status: "failed" })
        break
      case "hook.run_finished":
        state = { ...s, hookRuns: [...s.hookRuns, event.payload] }
        break
    }
  }
  return state
}

/** The uuid shared by a call's stream, approval and response ids (`toolcall-X`, `approval-X`, `tool-X`). */
export const callUuidOf = (id: string): string | undefined => {
  for (const prefix of ["toolcall-", "approval-", "tool-call-", "tool-"]) {
    if (id.startsWith(prefix)) return id.slice(prefix.length)
  }
  return undefined
}
