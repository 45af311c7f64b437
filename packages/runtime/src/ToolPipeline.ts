/**
 * The tool-call pipeline (the seed's `Runtime::invoke_tool`, finished): record the call, run the
 * PreToolUse hooks (veto, rewrite, ask), check the execution policy, authorise the call (by rule,
 * mode, hook, session grant, or a user's answer to an approval request), dispatch it through the
 * `ToolRegistry` with its output streamed into the log, then run the PostToolUse hooks. Every step
 * is an event in the call's stream (`toolcall-<uuid>`), so a pending approval survives a restart
 * and is answered with `respondToApproval`, and `explainToolCall` answers "why did this run?" from
 * that one stream.
 */
import { CommandHooks, hookEventsOf, callContextOf, type HookRecorder } from "@codewhale/hooks"
import {
  ApprovalCancelled,
  ApprovalRequested,
  ApprovalResolved,
  callArgumentsObject,
  HookRunFinished,
  HookRunStarted,
  IdGenerator,
  LocalShellParams,
  makeEnvelope,
  permissionPathForCall,
  policyToolName,
  toolCallStreamId,
  ToolCallAborted,
  ToolCallAuthorized,
  ToolCallCancelled,
  ToolCallCategory,
  ToolCallCompleted,
  ToolCallDenied,
  ToolCallFailed,
  ToolCallRequested,
  ToolCallStarted,
  ToolInputRewritten,
  toolOutputSuccess,
  ToolOutputDelta,
  ToolPolicyEvaluated,
  type AskForApproval,
  type AuthorizationSource,
  type EventDefinition,
  type EventFrame,
  type ExecApprovalRequestEvent,
  type ExecutionKind,
  type PolicyPrecheck,
  type ReviewDecision,
  type ToolCall,
  type ToolOutput
} from "@codewhale/protocol"
import { catchUp, EventStore, ExpectedVersion } from "@codewhale/state"
import { SqlClient } from "@effect/sql"
import { ToolDeclarationFailed, ToolRegistry, type ToolContext } from "@codewhale/tools"
import { Clock, Context, Effect, Either, Layer, Option, Schema, Stream } from "effect"
import * as NodePath from "node:path"
import { type Grant, Grants, NoThread } from "./Grants.ts"
import { pendingApprovalsReadModel, selectPendingApprovals } from "./PendingApprovalsReadModel.ts"
import {
  ApprovalAlreadyResolved,
  ApprovalCallCancelled,
  ApprovalNotFound,
  type CorruptReadModelRow,
  InvalidReviewDecision,
  ToolCallConflict,
  ToolCallNotFound,
  ToolCallStateError,
  type ToolPolicyError
} from "./ToolErrors.ts"
import { callUuidOf, foldToolCall, isTerminal, terminalEventTypes, type ToolCallState, type ToolCallStatus } from "./ToolCallState.ts"
import { ToolPolicy } from "./ToolPolicy.ts"

/** Options of one invocation. */
export interface InvokeToolOptions {
  /** The workspace / fallback cwd. */
  readonly cwd: string
  readonly approvalMode: AskForApproval
  readonly threadId?: string | null | undefined
  readonly turnId?: string | null | undefined
  /** Wait for the approval answer (from `respondToApproval`, here or in another process) instead of returning `approval_required`. */
  readonly waitForApproval?: boolean | undefined
  /** Overrides the tool's timeout. */
  readonly timeoutMs?: number | undefined
}

/** The pipeline's answer, in the seed's JSON shape plus the ids and the deciding source. */
export interface ToolInvocationResult {
  readonly ok: boolean
  readonly status: "completed" | "failed" | "denied" | "approval_required" | "aborted" | "cancelled" | "running"
  readonly execution_kind: ExecutionKind
  readonly response_id: string
  readonly call_id: string
  readonly stream_id: string
  readonly approval_id: string | null
  readonly precheck: PolicyPrecheck | null
  readonly output?: ToolOutput | undefined
  readonly error?: string | undefined
  /** The seed frames of this call, derived from its events. */
  readonly events: ReadonlyArray<EventFrame>
  /** Who or what let it run (null when it did not run). */
  readonly authorized_by: AuthorizationSource | null
  /** `additionalContext` from hooks, for the model. */
  readonly additional_context: string | null
  /** The approval request when `status` is `approval_required`. */
  readonly approval_request?: ExecApprovalRequestEvent | undefined
}

/** A pending approval, as re-offered on resume. */
export interface PendingApproval {
  readonly approvalId: string
  readonly callId: string
  readonly streamId: string
  readonly threadId: string | null
  readonly request: ExecApprovalRequestEvent
  readonly frame: EventFrame
  readonly requestedAt: number
}

/** The answer to "why did this command run?", from the call's one stream. */
export interface ToolCallAudit {
  readonly stream_id: string
  readonly call_id: string
  readonly thread_id: string | null
  readonly tool: string
  readonly command: string
  readonly cwd: string
  readonly approval_mode: AskForApproval
  readonly status: ToolCallStatus
  readonly ran: boolean
  /** The policy's verdict; `touched_paths`: the files the tool said the call touches (none recorded before version 2). */
  readonly policy: { readonly phase: string; readonly matched_rule: string | null; readonly reason: string; readonly touched_paths: ReadonlyArray<string> } | null
  readonly hooks: ReadonlyArray<{ readonly hook_name: string; readonly hook_event: string; readonly outcome: string; readonly decision: string | null; readonly reason: string | null; readonly exit_code: number | null; readonly duration_ms: number }>
  readonly approval: {
    readonly approval_id: string
    readonly requested_by: string
    readonly requested_at: number
    readonly decision: string | null
    readonly decided_by: string | null
    readonly actor: string | null
    readonly decided_at: number | null
  } | null
  readonly authorized: { readonly source: AuthorizationSource; readonly scope: string; readonly reason: string; readonly actor: string | null; readonly rule: string | null; readonly hook_name: string | null; readonly grant_id: string | null; readonly amendment_id: string | null; readonly at: number } | null
  readonly denied: { readonly source: string; readonly reason: string; readonly at: number } | null
  readonly result: { readonly success: boolean | null; readonly exit_code: number | null; readonly error: string | null; readonly duration_ms: number | null; readonly finished_at: number | null } | null
}

/**
 * Errors of the pipeline (hook and tool failures are outcomes, not errors). `ToolDeclarationFailed`:
 * the tool's `redact` failed on the call as requested, so nothing could be recorded safely.
 */
export type ToolPipelineError = ToolCallConflict | ToolPolicyError | ToolCallNotFound | ToolStoreError | ToolDeclarationFailed

/** The log could not be read or written. */
export class ToolStoreError extends Schema.TaggedError<ToolStoreError>()("ToolStoreError", { detail: Schema.String }) {
  override get message(): string {
    return `tool-call log error: ${this.detail}`
  }
}

/** Errors of `respondToApproval`. */
export type RespondError = ToolPipelineError | ApprovalNotFound | ApprovalAlreadyResolved | ApprovalCallCancelled | InvalidReviewDecision

/** The tool-call pipeline. */
export interface ToolPipelineShape {
  /** Runs a call through hooks, policy, approval and dispatch. */
  readonly invokeTool: (call: ToolCall, options: InvokeToolOptions) => Effect.Effect<ToolInvocationResult, ToolPipelineError>
  /** Answers a pending approval and resumes its call (here, even after a restart); returns the call's outcome. */
  readonly respondToApproval: (
    approvalId: string,
    decision: ReviewDecision,
    options?: { readonly actor?: string | undefined }
  ) => Effect.Effect<ToolInvocationResult, RespondError>
  /** Cancels a call that has not started running (its pending approval is withdrawn). */
  readonly cancelToolCall: (id: string, reason: string) => Effect.Effect<ToolInvocationResult, ToolPipelineError | ToolCallStateError>
  /** Waits until the call ends (answered elsewhere) and returns its outcome. */
  readonly awaitOutcome: (id: string) => Effect.Effect<ToolInvocationResult, ToolPipelineError>
  /** The current outcome of a call (status `approval_required` / `running` while it is open). */
  readonly getToolCall: (id: string) => Effect.Effect<ToolInvocationResult, ToolPipelineError>
  /**
   * Pending approvals (optionally of one thread), oldest first, with their original request frames:
   * from the `pending_approvals` read model brought up to the log's head (`ToolPipeline.layerSql`),
   * or folded from the whole `tool_call` category (`ToolPipeline.layer`).
   */
  readonly pendingApprovals: (options?: { readonly threadId?: string | undefined }) => Effect.Effect<ReadonlyArray<PendingApproval>, ToolStoreError | CorruptReadModelRow>
  /** Why a call ran (or did not): policy, hooks, approval, authorisation and result, from its one stream. */
  readonly explainToolCall: (id: string) => Effect.Effect<ToolCallAudit, ToolPipelineError>
}

const storeError = (e: unknown): ToolStoreError =>
  new ToolStoreError({ detail: typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e) })

/** What the policy and the grants look at for a call. */
interface Subject {
  readonly command: string
  readonly cwd: string
  readonly kind: ExecutionKind
  readonly tool: string
  readonly path: string | null
}

/**
 * The subject of a call: the seed's `execution_subject`, except that a function call to
 * `exec_shell` is a shell command too (its `command` / `cwd` arguments), so the policy sees the
 * real command line rather than the tool name.
 */
export const subjectOf = (call: ToolCall, cwd: string): Subject => {
  const args = callArgumentsObject(call)
  if (call.payload.type === "local_shell") {
    return { command: call.payload.params.command, cwd: NodePath.resolve(cwd, call.payload.params.cwd ?? "."), kind: "shell", tool: "exec_shell", path: null }
  }
  if (call.name === "exec_shell" && typeof args?.["command"] === "string") {
    return { command: args["command"], cwd: NodePath.resolve(cwd, typeof args["cwd"] === "string" ? args["cwd"] : "."), kind: "shell", tool: "exec_shell", path: null }
  }
  return { command: call.name, cwd, kind: "tool", tool: policyToolName(call), path: permissionPathForCall(call) ?? null }
}

/** A call with its arguments object replaced (a hook's `updatedInput`); undefined when the payload cannot take it. */
export const withArguments = (call: ToolCall, input: Record<string, unknown>): ToolCall | undefined => {
  switch (call.payload.type) {
    case "function":
      return { ...call, payload: { type: "function", arguments: JSON.stringify(input) } }
    case "mcp":
      return { ...call, payload: { ...call.payload, raw_arguments: input } }
    case "local_shell": {
      const params = Schema.decodeUnknownEither(LocalShellParams)(input)
      return Either.isRight(params) ? { ...call, payload: { type: "local_shell", params: params.right } } : undefined
    }
    case "custom":
      return typeof input["input"] === "string" ? { ...call, payload: { type: "custom", input: input["input"] } } : undefined
  }
}

/**
 * The paths session grants are kept per: every file the tool declares the call touches, else the
 * call's one policy path (null: the whole tool). Grants are created and looked up by the same list.
 */
const grantPaths = (touched: ReadonlyArray<string>, policyPath: string | null): ReadonlyArray<string | null> =>
  touched.length === 0 ? [policyPath] : touched

const withoutPaths = (call: ToolCall, paths: ReadonlyArray<string>): ToolCall => {
  if (paths.length === 0) return call
  const args = callArgumentsObject(call)
  if (args === undefined) return call
  const copy = JSON.parse(JSON.stringify(args)) as Record<string, unknown>
  for (const path of paths) {
    const [head, ...rest] = path.split(".")
    let target: unknown = copy
    const keys = [head!, ...rest]
    for (const key of keys.slice(0, -1)) target = typeof target === "object" && target !== null ? (target as Record<string, unknown>)[key] : undefined
    if (typeof target === "object" && target !== null) delete (target as Record<string, unknown>)[keys[keys.length - 1]!]
  }
  return withArguments(call, copy) ?? call
}

const decisionTypes = (request: ExecApprovalRequestEvent): ReadonlyArray<string> => request.available_decisions.map((d) => d.type)

/** The seed frames of a call, from its events. */
export const framesOf = (state: ToolCallState): ReadonlyArray<EventFrame> => {
  const ctx = callContextOf(state.requested)
  return state.frameEvents.flatMap((e) => hookEventsOf(ctx, e)).flatMap((h) => (h.type === "generic_event_frame" ? [h.frame] : []))
}

/** The pipeline result of a call's state. */
export const resultOf = (state: ToolCallState, additionalContext: string | null = null): ToolInvocationResult => {
  const base = {
    execution_kind: state.requested.execution_kind,
    response_id: state.requested.response_id,
    call_id: state.requested.call_id,
    stream_id: state.streamId,
    approval_id: state.approval?.approval_id ?? null,
    precheck: state.precheck?.precheck ?? null,
    events: framesOf(state),
    authorized_by: state.authorized?.source ?? null,
    additional_context: additionalContext
  }
  switch (state.status) {
    case "completed": {
      const success = state.completed!.success
      return {
        ...base,
        ok: success,
        status: success ? "completed" : "failed",
        output: state.completed!.output,
        ...(success ? {} : { error: state.completed!.exit_code === null ? "the tool reported failure" : `exited with code ${state.completed!.exit_code}` })
      }
    }
    case "failed":
      return { ...base, ok: false, status: "failed", error: state.failed!.message }
    case "denied":
      return { ...base, ok: false, status: "denied", error: state.denied!.reason }
    case "aborted":
      return { ...base, ok: false, status: "aborted", error: state.aborted!.reason }
    case "cancelled":
      return { ...base, ok: false, status: "cancelled", error: state.cancelled!.reason }
    case "awaiting_approval":
      return { ...base, ok: false, status: "approval_required", error: state.approval!.request.reason, approval_request: state.approval!.request }
    default:
      return { ...base, ok: false, status: "running" }
  }
}

/** The audit of a call's state. */
export const auditOf = (state: ToolCallState): ToolCallAudit => ({
  stream_id: state.streamId,
  call_id: state.requested.call_id,
  thread_id: state.requested.thread_id,
  tool: state.call.name,
  command: state.command,
  cwd: state.requested.cwd,
  approval_mode: state.requested.approval_mode,
  status: state.status,
  ran: state.started !== null,
  policy: state.precheck === null ? null : {
    phase: state.precheck.precheck.phase,
    matched_rule: state.precheck.precheck.matched_rule,
    reason: state.precheck.precheck.reason,
    touched_paths: state.precheck.touched_paths
  },
  hooks: state.hookRuns.map((r) => ({ hook_name: r.hook_name, hook_event: r.hook_event, outcome: r.outcome, decision: r.decision, reason: r.reason, exit_code: r.exit_code, duration_ms: r.duration_ms })),
  approval: state.approval === null ? null : {
    approval_id: state.approval.approval_id,
    requested_by: state.approval.requested_by,
    requested_at: state.approval.at,
    decision: state.resolution?.decision.type ?? null,
    decided_by: state.resolution?.decided_by ?? null,
    actor: state.resolution?.actor ?? null,
    decided_at: state.resolution?.at ?? null
  },
  authorized: state.authorized === null ? null : {
    source: state.authorized.source, scope: state.authorized.scope, reason: state.authorized.reason, actor: state.authorized.actor,
    rule: state.authorized.rule, hook_name: state.authorized.hook_name, grant_id: state.authorized.grant_id, amendment_id: state.authorized.amendment_id, at: state.authorized.at
  },
  denied: state.denied !== null
    ? { source: state.denied.source, reason: state.denied.reason, at: state.denied.at }
    : state.aborted !== null
    ? { source: "user", reason: state.aborted.reason, at: state.aborted.at }
    : null,
  result: state.completed !== null
    ? { success: state.completed.success, exit_code: state.completed.exit_code, error: null, duration_ms: state.completed.duration_ms, finished_at: state.completed.at }
    : state.failed !== null
    ? { success: false, exit_code: null, error: state.failed.message, duration_ms: state.failed.duration_ms, finished_at: state.failed.at }
    : null
})

interface Writer {
  readonly streamId: string
  readonly append: <T extends string, A, I>(definition: EventDefinition<T, A, I>, payload: NoInfer<A>) => Effect.Effect<void, ToolCallConflict | ToolStoreError>
  readonly recorder: HookRecorder<ToolCallConflict | ToolStoreError>
}

/** Builds the pipeline; `pendingApprovals` answers from the `pending_approvals` read model when `sql` is given. */
const make = (sql: Option.Option<SqlClient.SqlClient>) => Effect.gen(function*() {
  const store = yield* EventStore
  const ids = yield* IdGenerator
  const registry = yield* ToolRegistry
  const hooks = yield* CommandHooks
  const policy = yield* ToolPolicy
  const grants = yield* Grants
  /** Real calls (with secret argument values) of calls started in this process, for resuming them here. */
  const secrets = new Map<string, ToolCall>()

  const writer = (streamId: string, version: number): Writer => {
    let current = version
    const append = <T extends string, A, I>(definition: EventDefinition<T, A, I>, payload: NoInfer<A>) =>
      Effect.gen(function*() {
        const envelope = yield* makeEnvelope(definition, payload).pipe(Effect.provideService(IdGenerator, ids), Effect.mapError(storeError))
        const result = yield* store.append(streamId, [envelope], { expected: ExpectedVersion.Exact({ version: current }) }).pipe(
          Effect.catchTag("WrongExpectedVersion", (e) => Effect.fail(new ToolCallConflict({ streamId, detail: e.message }))),
          Effect.catchTags({ EventIdConflict: (e) => Effect.fail(storeError(e)), InvalidAppend: (e) => Effect.fail(storeError(e)), EventStoreError: (e) => Effect.fail(storeError(e)) })
        )
        current = result.nextExpectedVersion
      })
    return { streamId, append, recorder: { started: (run) => append(HookRunStarted, run), finished: (run) => append(HookRunFinished, run) } }
  }

  const now = Clock.currentTimeMillis

  const load = (id: string): Effect.Effect<ToolCallState, ToolCallNotFound | ToolStoreError> =>
    Effect.gen(function*() {
      const uuid = callUuidOf(id)
      if (uuid === undefined) return yield* new ToolCallNotFound({ id })
      const records = yield* store.readStream(toolCallStreamId(uuid)).pipe(Effect.mapError(storeError))
      const state = foldToolCall(records)
      if (state === undefined) return yield* new ToolCallNotFound({ id })
      return state
    })

  /**
   * The call as recorded: secret argument values hidden. A tool that hides something but whose
   * answer does not fit the call's payload fails: recording the call as is would record the secret.
   */
  const recordable = (call: ToolCall): Effect.Effect<{ readonly call: ToolCall; readonly redacted: ReadonlyArray<string> }, ToolDeclarationFailed> =>
    Effect.flatMap(registry.redactCall(call), (r) => {
      if (r.redacted.length === 0) return Effect.succeed({ call, redacted: [] })
      const hidden = typeof r.value === "object" && r.value !== null ? withArguments(call, r.value as Record<string, unknown>) : undefined
      return hidden === undefined
        ? Effect.fail(new ToolDeclarationFailed({ tool: call.name, declaration: "redact", detail: `its answer does not fit a ${call.payload.type} call` }))
        : Effect.succeed({ call: hidden, redacted: r.redacted })
    })

  const toolInputOf = (call: ToolCall) =>
    Effect.map(Effect.either(registry.callInput(call)), (input) => (Either.isRight(input) ? input.right : callArgumentsObject(call) ?? {}))

  const authorize = (w: Writer, mode: AskForApproval, fields: Partial<typeof ToolCallAuthorized.schema.Type> & { readonly source: AuthorizationSource; readonly reason: string }) =>
    Effect.flatMap(now, (at) =>
      w.append(ToolCallAuthorized, {
        scope: "once",
        approval_id: null,
        grant_id: null,
        amendment_id: null,
        rule: null,
        hook_name: null,
        actor: null,
        ...fields,
        mode,
        at
      }))

  /** Dispatches an authorised call and runs the post hooks; returns the hooks' additional context. */
  const execute = (w: Writer, state: { readonly requested: typeof ToolCallRequested.schema.Type; readonly recordedCall: ToolCall }, call: ToolCall, timeoutMs: number | undefined) =>
    Effect.gen(function*() {
      const startedAt = yield* now
      yield* w.append(ToolCallStarted, { tool_name: call.name, arguments: state.recordedCall.payload, at: startedAt })
      const context: ToolContext = {
        callId: state.requested.call_id,
        cwd: state.requested.cwd,
        emit: (delta) =>
          w.append(ToolOutputDelta, { stream: delta.stream, delta: delta.chunk }).pipe(
            Effect.catchAll((e) => Effect.logWarning(`output of ${w.streamId} not recorded: ${e.message}`))
          )
      }
      const outcome = yield* Effect.either(registry.dispatch(call, context, { timeoutMs })).pipe(
        Effect.onInterrupt(() => Effect.flatMap(now, (at) => Effect.ignore(w.append(ToolCallCancelled, { reason: "interrupted while running", at }))))
      )
      const finishedAt = yield* now
      const toolInput = yield* toolInputOf(state.recordedCall)
      if (Either.isRight(outcome)) {
        const output = outcome.right
        const body = output.type === "function" ? output.body : undefined
        const exitCode = typeof body === "object" && body !== null && typeof (body as { exit_code?: unknown }).exit_code === "number"
          ? (body as { exit_code: number }).exit_code
          : null
        yield* w.append(ToolCallCompleted, { output, success: toolOutputSuccess(output), exit_code: exitCode, duration_ms: finishedAt - startedAt, at: finishedAt })
        const post = yield* hooks.run({
          event: "PostToolUse",
          sessionId: state.requested.thread_id,
          cwd: state.requested.cwd,
          toolName: call.name,
          toolInput,
          callId: state.requested.call_id,
          fields: { tool_response: output }
        }, w.recorder)
        return post.additionalContext
      }
      const error = outcome.left
      yield* w.append(ToolCallFailed, { error_tag: error._tag, message: error.message, duration_ms: finishedAt - startedAt, at: finishedAt })
      const post = yield* hooks.run({
        event: "PostToolUseFailure",
        sessionId: state.requested.thread_id,
        cwd: state.requested.cwd,
        toolName: call.name,
        toolInput,
        callId: state.requested.call_id,
        fields: { error: error.message }
      }, w.recorder)
      return post.additionalContext
    })

  const finish = (streamId: string, context: string | null) =>
    Effect.flatMap(load(streamId), (state) => Effect.succeed(resultOf(state, context)))

  /**
   * Denies a recorded call whose tool could not say what it touches or hides: the policy cannot
   * check what it does not know (fail closed).
   */
  const declarationDenied = (w: Writer, approvalId: string | null, error: ToolDeclarationFailed, context: string | null) =>
    Effect.gen(function*() {
      yield* w.append(ToolCallDenied, {
        source: "policy", reason: error.message, matched_rule: null, hook_name: null, approval_id: approvalId, actor: null, at: yield* now
      })
      secrets.delete(w.streamId)
      return yield* finish(w.streamId, context)
    })

  const awaitOutcome = (id: string): Effect.Effect<ToolInvocationResult, ToolPipelineError> =>
    Effect.gen(function*() {
      const state = yield* load(id)
      if (isTerminal(state.status)) return resultOf(state)
      yield* store.subscribe({ after: state.lastPosition, category: ToolCallCategory }).pipe(
        Stream.filter((r) => r.streamId === state.streamId),
        Stream.takeUntil((r) => terminalEventTypes.has(r.eventType)),
        Stream.runDrain,
        Effect.mapError(storeError)
      )
      return resultOf(yield* load(id))
    })

  const cancelToolCall = (id: string, reason: string) =>
    Effect.gen(function*() {
      const state = yield* load(id)
      if (isTerminal(state.status) || state.status === "running") {
        return yield* new ToolCallStateError({ streamId: state.streamId, status: state.status, detail: "only a call that has not started can be cancelled" })
      }
      const w = writer(state.streamId, state.version)
      const at = yield* now
      if (state.approval !== null && state.resolution === null) yield* w.append(ApprovalCancelled, { approval_id: state.approval.approval_id, reason, at })
      yield* w.append(ToolCallCancelled, { reason, at })
      return resultOf(yield* load(state.streamId))
    })

  /**
   * The session grants that let a call run without asking: the one for its exact (tool, command,
   * path) or, for a call touching files its tool declares (a patch), one for every one of those
   * files. Undefined when any is missing.
   */
  const findCoveringGrants = (threadId: string, subject: Subject, touched: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const covering: Array<Grant> = []
      for (const path of grantPaths(touched, subject.path)) {
        const grant = yield* grants.findGrant({ threadId, tool: subject.tool, command: subject.command, path })
        if (grant === undefined) return undefined
        covering.push(grant)
      }
      return covering
    }).pipe(Effect.mapError(storeError))

  const invokeTool = (original: ToolCall, options: InvokeToolOptions): Effect.Effect<ToolInvocationResult, ToolPipelineError> =>
    Effect.gen(function*() {
      const uuid = yield* ids.eventId
      const streamId = toolCallStreamId(uuid)
      const responseId = `tool-${uuid}`
      const approvalId = `approval-${uuid}`
      const callId = original.raw_tool_call_id ?? `tool-call-${uuid}`
      const threadId = options.threadId ?? null
      const turnId = options.turnId ?? null
      const mode = options.approvalMode
      const w = writer(streamId, 0)
      let call = original
      let subject = subjectOf(call, options.cwd)
      const first = yield* recordable(call)
      let recordedCall = first.call
      secrets.set(streamId, call)
      const requested = {
        call_id: callId, response_id: responseId, approval_id: approvalId, thread_id: threadId, turn_id: turnId,
        call: first.call, cwd: options.cwd, approval_mode: mode, execution_kind: subject.kind, command: subject.command,
        policy_tool: subject.tool, policy_path: subject.path, redacted: [...first.redacted], at: yield* now
      }
      yield* w.append(ToolCallRequested, requested)

      const pre = yield* hooks.run({
        event: "PreToolUse", sessionId: threadId, cwd: options.cwd, toolName: call.name, toolInput: yield* toolInputOf(call), callId,
        fields: { permission_mode: typeof mode === "string" ? mode : "reject" }
      }, w.recorder)
      if (pre.blockedBy !== null) {
        yield* w.append(ToolCallDenied, {
          source: "hook", reason: pre.blockedBy.reason ?? `blocked by hook '${pre.blockedBy.hook_name}'`, matched_rule: null,
          hook_name: pre.blockedBy.hook_name, approval_id: null, actor: null, at: yield* now
        })
        secrets.delete(streamId)
        return yield* finish(streamId, pre.additionalContext)
      }
      if (pre.updatedBy !== null && typeof pre.updatedInput === "object" && pre.updatedInput !== null) {
        const rewritten = withArguments(call, pre.updatedInput as Record<string, unknown>)
        if (rewritten !== undefined) {
          const r = yield* Effect.either(recordable(rewritten))
          if (Either.isLeft(r)) return yield* declarationDenied(w, null, r.left, pre.additionalContext)
          call = rewritten
          subject = subjectOf(call, options.cwd)
          recordedCall = r.right.call
          secrets.set(streamId, call)
          yield* w.append(ToolInputRewritten, {
            hook_name: pre.updatedBy.hook_name, run_id: pre.updatedBy.run_id, call: r.right.call, command: subject.command,
            policy_path: subject.path, redacted: [...r.right.redacted], at: yield* now
          })
        }
      }

      // Path rules see every file the tool says the call touches (each file of a patch), not only a `path` argument.
      const declared = yield* Effect.either(registry.touchedPaths(call))
      if (Either.isLeft(declared)) return yield* declarationDenied(w, null, declared.left, pre.additionalContext)
      const touched = declared.right
      const answer = yield* policy.check({ command: subject.command, cwd: subject.cwd, tool: subject.tool, path: subject.path, paths: touched, mode, executionKind: subject.kind })
      yield* w.append(ToolPolicyEvaluated, { precheck: answer.precheck, amendments: [...answer.amendments], touched_paths: [...touched], at: yield* now })
      const decision = answer.decision
      if (!decision.allow) {
        yield* w.append(ToolCallDenied, {
          source: "policy", reason: answer.precheck.reason, matched_rule: decision.matchedRule, hook_name: null, approval_id: null, actor: null, at: yield* now
        })
        secrets.delete(streamId)
        return yield* finish(streamId, pre.additionalContext)
      }
      const hookAsks = pre.decision === "ask"
      const state = { requested, recordedCall }
      const run = (authorization: Parameters<typeof authorize>[2]) =>
        Effect.gen(function*() {
          yield* authorize(w, mode, authorization)
          const context = yield* execute(w, state, call, options.timeoutMs)
          secrets.delete(streamId)
          return yield* finish(streamId, [pre.additionalContext, context].filter((c) => c !== null).join("\n") || null)
        })
      if (!decision.requiresApproval && !hookAsks) {
        return yield* run(decision.matchedRule !== null
          ? { source: "rule", rule: decision.matchedRule, reason: answer.precheck.reason }
          : { source: "mode", reason: `${answer.precheck.reason} (mode ${typeof mode === "string" ? mode : "reject"})` })
      }
      if (!hookAsks && pre.decision === "allow" && pre.decidedBy !== null) {
        return yield* run({ source: "hook", hook_name: pre.decidedBy.hook_name, reason: pre.decidedBy.reason ?? `allowed by hook '${pre.decidedBy.hook_name}'` })
      }
      const covering = yield* findCoveringGrants(threadId ?? NoThread, subject, touched)
      if (covering !== undefined) {
        const grant = covering[0]!
        const reason = covering.length === 1
          ? `session grant ${grant.grantId} (approved in ${grant.approvalId})`
          : `session grants ${covering.map((g) => `${g.grantId} (${g.path}, approved in ${g.approvalId})`).join(", ")}`
        return yield* run({ source: "grant", scope: "thread", grant_id: grant.grantId, approval_id: grant.approvalId, actor: grant.actor, reason })
      }
      const requirement = answer.precheck.requirement
      const proposed = requirement.type === "needs_approval" ? requirement.proposed_execpolicy_amendment : []
      const network = requirement.type === "needs_approval" ? requirement.proposed_network_policy_amendments : []
      const reason = hookAsks ? (pre.decidedBy?.reason ?? `hook '${pre.decidedBy?.hook_name}' asks for approval`) : answer.precheck.reason
      const request: ExecApprovalRequestEvent = {
        call_id: callId,
        approval_id: approvalId,
        turn_id: turnId ?? responseId,
        command: subject.command,
        cwd: subject.cwd,
        reason,
        ...(decision.matchedRule === null ? {} : { matched_rule: decision.matchedRule }),
        proposed_execpolicy_amendment: proposed,
        proposed_network_policy_amendments: network,
        additional_permissions: [],
        available_decisions: [
          { type: "approved" },
          { type: "approved_for_session" },
          { type: "denied" },
          { type: "abort" },
          ...(proposed.length > 0 ? [{ type: "approved_execpolicy_amendment" as const, prefixes: proposed }] : []),
          ...network.map((n) => ({ type: "network_policy_amendment" as const, host: n.host, action: n.action }))
        ]
      }
      yield* w.append(ApprovalRequested, {
        approval_id: approvalId, call_id: callId, thread_id: threadId, turn_id: turnId, request,
        requested_by: hookAsks ? "hook" : "policy", hook_name: hookAsks ? pre.decidedBy?.hook_name ?? null : null, at: yield* now
      })
      const permission = yield* hooks.run({
        event: "PermissionRequest", sessionId: threadId, cwd: options.cwd, toolName: call.name, toolInput: yield* toolInputOf(call), callId,
        fields: { permission_mode: typeof mode === "string" ? mode : "reject", reason }
      }, w.recorder)
      if (permission.decision === "allow" || permission.decision === "deny") {
        const by = permission.decidedBy!
        yield* w.append(ApprovalResolved, {
          approval_id: approvalId, decision: { type: permission.decision === "allow" ? "approved" : "denied" }, decided_by: "hook",
          actor: null, hook_name: by.hook_name, at: yield* now
        })
        if (permission.decision === "allow") {
          return yield* run({ source: "hook", hook_name: by.hook_name, approval_id: approvalId, reason: by.reason ?? `approved by hook '${by.hook_name}'` })
        }
        yield* w.append(ToolCallDenied, {
          source: "hook", reason: by.reason ?? `denied by hook '${by.hook_name}'`, matched_rule: null, hook_name: by.hook_name, approval_id: approvalId, actor: null, at: yield* now
        })
        secrets.delete(streamId)
        return yield* finish(streamId, pre.additionalContext)
      }
      if (options.waitForApproval === true) {
        return yield* awaitOutcome(streamId).pipe(
          Effect.onInterrupt(() => Effect.ignore(cancelToolCall(streamId, "the waiting turn was interrupted")))
        )
      }
      return yield* finish(streamId, pre.additionalContext)
    })

  const respondToApproval = (approvalId: string, decision: ReviewDecision, options?: { readonly actor?: string | undefined }) =>
    Effect.gen(function*() {
      const state = yield* load(approvalId).pipe(Effect.catchTag("ToolCallNotFound", () => Effect.fail(new ApprovalNotFound({ approvalId }))))
      const approval = state.approval
      if (approval === null || approval.approval_id !== approvalId) return yield* new ApprovalNotFound({ approvalId })
      if (state.resolution !== null) {
        return yield* new ApprovalAlreadyResolved({ approvalId, decision: state.resolution.decision.type, decidedBy: state.resolution.decided_by })
      }
      if (state.cancelled !== null || state.approvalCancelled !== null) {
        return yield* new ApprovalCallCancelled({ approvalId, reason: state.cancelled?.reason ?? state.approvalCancelled?.reason ?? "cancelled" })
      }
      if (!decisionTypes(approval.request).includes(decision.type)) {
        return yield* new InvalidReviewDecision({ approvalId, detail: `'${decision.type}' is not offered (offered: ${decisionTypes(approval.request).join(", ")})` })
      }
      let prefixes: ReadonlyArray<string> = []
      if (decision.type === "approved_execpolicy_amendment") {
        prefixes = decision.prefixes ?? approval.request.proposed_execpolicy_amendment
        const allowed = new Set(approval.request.proposed_execpolicy_amendment)
        if (prefixes.length === 0 || prefixes.some((p) => !allowed.has(p))) {
          return yield* new InvalidReviewDecision({ approvalId, detail: `the amendment must be a non-empty subset of the proposed prefixes (${[...allowed].join(", ")})` })
        }
      }
      const actor = options?.actor ?? null
      const w = writer(state.streamId, state.version)
      yield* w.append(ApprovalResolved, { approval_id: approvalId, decision, decided_by: "user", actor, hook_name: null, at: yield* now }).pipe(
        Effect.catchTag("ToolCallConflict", () =>
          Effect.flatMap(load(approvalId), (fresh) => {
            const error: ApprovalAlreadyResolved | ApprovalCallCancelled = fresh.resolution !== null
              ? new ApprovalAlreadyResolved({ approvalId, decision: fresh.resolution.decision.type, decidedBy: fresh.resolution.decided_by })
              : new ApprovalCallCancelled({ approvalId, reason: fresh.cancelled?.reason ?? "changed concurrently" })
            return Effect.fail(error)
          }))
      )
      const mode = state.requested.approval_mode
      const held = secrets.get(state.streamId)
      const call = held ?? withoutPaths(state.call, state.redacted)
      // The log never holds a call's secret values (e.g. `env` values): only the process that
      // requested the call has them. Elsewhere (another process, or after a restart) the call
      // cannot run as requested, and running it without them would silently change what runs.
      const missing = held === undefined ? state.redacted : []
      const run = (authorization: Parameters<typeof authorize>[2]) =>
        Effect.gen(function*() {
          yield* authorize(w, mode, authorization)
          if (missing.length > 0) {
            yield* w.append(ToolCallFailed, {
              error_tag: "SecretsUnavailable",
              message: `not run: its secret values (${missing.join(", ")}) are never recorded, and only the process that ` +
                "requested the call held them (it has exited or is another process); request the call again",
              duration_ms: 0,
              at: yield* now
            })
            return yield* finish(state.streamId, null)
          }
          const context = yield* execute(w, { requested: state.requested, recordedCall: state.call }, call, undefined)
          secrets.delete(state.streamId)
          return yield* finish(state.streamId, context)
        })
      switch (decision.type) {
        case "approved":
          return yield* run({ source: "user", approval_id: approvalId, actor, reason: "approved once by the user" })
        case "approved_for_session": {
          // A call that touches several files (a patch) gets one grant per file: a later call is
          // covered when every file it touches is granted (see `findCoveringGrants`). The files are
          // the ones the policy checked, as recorded; asked of the tool again only when none were
          // (a version-1 record, or a tool that declares none).
          const recorded = state.precheck?.touched_paths ?? []
          const declared = recorded.length > 0 ? Either.right(recorded) : yield* Effect.either(registry.touchedPaths(call))
          if (Either.isLeft(declared)) return yield* declarationDenied(w, approvalId, declared.left, null)
          const touched = declared.right
          const created = yield* Effect.forEach(
            grantPaths(touched, state.policyPath),
            (path) =>
              grants.createGrant(
                { threadId: state.requested.thread_id ?? NoThread, tool: state.requested.policy_tool, command: state.command, path },
                { approvalId, callId: state.requested.call_id, actor }
              )
          ).pipe(Effect.mapError(storeError))
          const grantIds = created.map((g) => g.grantId)
          return yield* run({
            source: "user", scope: "thread", approval_id: approvalId, grant_id: grantIds[0]!, actor,
            reason: `approved for the session (grant${grantIds.length > 1 ? "s" : ""} ${grantIds.join(", ")})`
          })
        }
        case "approved_execpolicy_amendment": {
          const amendment = yield* grants.addAmendment(prefixes, { approvalId, callId: state.requested.call_id, actor }).pipe(Effect.mapError(storeError))
          return yield* run({
            source: "user", scope: "policy_amendment", approval_id: approvalId, amendment_id: amendment.amendmentId, actor,
            reason: `approved with a user-policy amendment allowing ${prefixes.map((p) => `'${p}'`).join(", ")} (${amendment.amendmentId})`
          })
        }
        case "network_policy_amendment":
          if (decision.action === "allow") return yield* run({ source: "user", approval_id: approvalId, actor, reason: `network access to ${decision.host} approved once` })
          yield* w.append(ToolCallDenied, { source: "user", reason: `network access to ${decision.host} denied`, matched_rule: null, hook_name: null, approval_id: approvalId, actor, at: yield* now })
          return yield* finish(state.streamId, null)
        case "denied":
          yield* w.append(ToolCallDenied, { source: "user", reason: "denied by the user", matched_rule: null, hook_name: null, approval_id: approvalId, actor, at: yield* now })
          secrets.delete(state.streamId)
          return yield* finish(state.streamId, null)
        case "abort":
          yield* w.append(ToolCallAborted, { approval_id: approvalId, reason: "aborted by the user", actor, at: yield* now })
          secrets.delete(state.streamId)
          return yield* finish(state.streamId, null)
      }
    })

  const foldPendingApprovals = (options?: { readonly threadId?: string | undefined }) =>
    store.streamAll({ category: ToolCallCategory }).pipe(
      Stream.mapError(storeError),
      Stream.runFoldEffect(new Map<string, PendingApproval>(), (map, record) => {
        if (record.eventType === ApprovalRequested.type) {
          return Schema.decodeUnknown(ApprovalRequested.schema)(record.payload).pipe(
            Effect.mapError((e) => new ToolStoreError({ detail: `the approval request at position ${record.position} is unreadable: ${e.message}` })),
            Effect.map((p) =>
              map.set(record.streamId, {
                approvalId: p.approval_id, callId: p.call_id, streamId: record.streamId, threadId: p.thread_id, request: p.request,
                frame: { event: "exec_approval_request", request: p.request }, requestedAt: p.at
              })
            )
          )
        }
        if (record.eventType === ApprovalResolved.type || record.eventType === ApprovalCancelled.type || terminalEventTypes.has(record.eventType)) {
          map.delete(record.streamId)
        }
        return Effect.succeed(map)
      }),
      Effect.map((map) => [...map.values()].filter((p) => options?.threadId === undefined || p.threadId === options.threadId))
    )

  /** Catches the read model up to the log's head first: read-your-writes, also across processes. */
  const sqlPendingApprovals = (client: SqlClient.SqlClient): ToolPipelineShape["pendingApprovals"] => (options) =>
    catchUp(pendingApprovalsReadModel).pipe(
      Effect.zipRight(selectPendingApprovals(options)),
      Effect.catchTags({ SqlError: (e) => Effect.fail(storeError(e)), EventDecodeError: (e) => Effect.fail(storeError(e)), EventStoreError: (e) => Effect.fail(storeError(e)) }),
      Effect.provideService(SqlClient.SqlClient, client),
      Effect.provideService(EventStore, store)
    )

  const pendingApprovals: ToolPipelineShape["pendingApprovals"] = Option.match(sql, { onNone: () => foldPendingApprovals, onSome: sqlPendingApprovals })

  return {
    invokeTool,
    respondToApproval,
    cancelToolCall,
    awaitOutcome,
    getToolCall: (id) => Effect.map(load(id), (s) => resultOf(s)),
    pendingApprovals,
    explainToolCall: (id) => Effect.map(load(id), auditOf)
  } satisfies ToolPipelineShape
})

/** What building the pipeline needs (besides a `SqlClient` for `makeToolPipelineSql`). */
export type ToolPipelineRequirements = EventStore | IdGenerator | ToolRegistry | CommandHooks | ToolPolicy | Grants

/** Builds the pipeline; `pendingApprovals` folds the `tool_call` category of the log on every call (any backend). */
export const makeToolPipeline: Effect.Effect<ToolPipelineShape, never, ToolPipelineRequirements> = make(Option.none())

/** Builds the pipeline whose `pendingApprovals` answers from the `pending_approvals` read model (caught up before each answer). */
export const makeToolPipelineSql: Effect.Effect<ToolPipelineShape, never, ToolPipelineRequirements | SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (client) => make(Option.some(client))
)

/** The tool-call pipeline service. */
export class ToolPipeline extends Context.Tag("@codewhale/runtime/ToolPipeline")<ToolPipeline, ToolPipelineShape>() {
  /** The pipeline on the log, the tool registry, command hooks, the policy and the grants. */
  static readonly layer: Layer.Layer<ToolPipeline, never, ToolPipelineRequirements> = Layer.effect(ToolPipeline, makeToolPipeline)
  /** The same on SQLite (`layerSqlite`): `pendingApprovals` comes from the `pending_approvals` read model. */
  static readonly layerSql: Layer.Layer<ToolPipeline, never, ToolPipelineRequirements | SqlClient.SqlClient> = Layer.effect(
    ToolPipeline,
    makeToolPipelineSql
  )
}

/** Looks a call up by any of its ids, as an `Option`. */
export const findToolCall = (id: string) =>
  Effect.flatMap(ToolPipeline, (p) => Effect.option(p.getToolCall(id))).pipe(Effect.map(Option.getOrUndefined))
