/**
 * The method table of `codewhale serve`: the seed's app-server methods (reference §2.5:
 * `thread/*`, `app/*`, `prompt/*`, `healthz`, `capabilities`, `shutdown`) with their params and
 * results, plus tools, approvals, grants, jobs, MCP, checkpoints and event subscriptions. Every
 * method's params are a Schema: decoding failures are -32602 with the schema's message, and
 * `capabilities` publishes each as JSON Schema.
 */
import { historyEntryToJson, jobToJson } from "@codewhale/jobs"
import {
  AskForApproval,
  ReviewDecision,
  ThreadForkParams,
  ThreadGoalParams,
  ThreadGoalSetParams,
  ThreadListParams,
  ThreadReadParams,
  ThreadRequest,
  ThreadResumeParams,
  ThreadSetNameParams,
  ThreadStartParams,
  ToolCall
} from "@codewhale/protocol"
import { AppRequest, PromptRequest, type RuntimeShape } from "@codewhale/runtime"
import type { CheckpointRow, EventStoreShape } from "@codewhale/state"
import { Effect, JSONSchema, ParseResult, Schema } from "effect"
import { ErrorCode, fromFailure, type RpcError, rpcError } from "./JsonRpc.ts"

/** What a method runs against. */
export interface MethodContext {
  readonly runtime: RuntimeShape
  readonly store: EventStoreShape
  /** Starts streaming events after the reply to this request was written; returns the subscription id. */
  readonly subscribe: (options: { readonly afterPosition: number | undefined; readonly category: string | undefined }) => Effect.Effect<unknown, RpcError>
  readonly unsubscribe: (subscriptionId: string) => Effect.Effect<boolean>
  /** Ends the server once this reply is written. */
  readonly shutdown: Effect.Effect<void>
  /** Every method, for `capabilities`. */
  readonly methods: () => ReadonlyArray<MethodSpec>
}

/** One method of the table. */
export interface MethodSpec {
  readonly name: string
  /** Other spellings the seed accepts (`thread/set-name`, ...). */
  readonly aliases: ReadonlyArray<string>
  readonly description: string
  /** The params as JSON Schema. */
  readonly paramsJsonSchema: unknown
  /** `null`/absent params: coerced to `{}` (most methods) or rejected (the full-request methods, as the seed). */
  readonly nullParams: "coerce" | "reject"
  readonly run: (params: unknown, ctx: MethodContext) => Effect.Effect<unknown, RpcError>
}

const formatParseError = (method: string, e: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
  if (issue === undefined) return `invalid params for ${method}`
  const path = issue.path.length === 0 ? "params" : `params.${issue.path.map(String).join(".")}`
  const detail = issue._tag === "Missing" ? "is required" : issue._tag === "Unexpected" ? "is not a known field" : issue.message
  return `invalid params for ${method}: ${path} ${detail}`
}

const method = <A, I>(
  name: string,
  params: Schema.Schema<A, I>,
  description: string,
  run: (params: A, ctx: MethodContext) => Effect.Effect<unknown, unknown>,
  options: { readonly aliases?: ReadonlyArray<string>; readonly nullParams?: "coerce" | "reject" } = {}
): MethodSpec => {
  const decode = Schema.decodeUnknown(params, { errors: "first", onExcessProperty: "ignore" })
  return {
    name,
    aliases: options.aliases ?? [],
    description,
    paramsJsonSchema: JSONSchema.make(params),
    nullParams: options.nullParams ?? "coerce",
    run: (raw, ctx) =>
      decode(raw).pipe(
        Effect.mapError((e) => rpcError(ErrorCode.InvalidParams, formatParseError(name, e), null)),
        Effect.flatMap((p) => Effect.mapError(run(p, ctx), fromFailure))
      )
  }
}

const Empty = Schema.Struct({})
const ThreadIdParams = Schema.Struct({ thread_id: Schema.String })
const JobIdParams = Schema.Struct({ job_id: Schema.String })
const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { nullable: true })

const checkpointJson = (c: CheckpointRow) => ({
  thread_id: c.threadId,
  checkpoint_id: c.checkpointId,
  state: JSON.parse(c.state) as unknown,
  created_at: Math.floor(c.createdAt / 1000),
  position: c.position
})

const threadMethod = <A, I>(name: string, params: Schema.Schema<A, I>, toRequest: (p: A) => ThreadRequest, aliases: ReadonlyArray<string> = []) =>
  method(name, params, `the seed's ${name}: returns a ThreadResponse`, (p, ctx) => ctx.runtime.handleThread(toRequest(p)), { aliases })

const seedServiceName = "deepseek-app-server"

const threadMethodNames = [
  "thread/request",
  "thread/create",
  "thread/start",
  "thread/resume",
  "thread/fork",
  "thread/list",
  "thread/read",
  "thread/set_name",
  "thread/goal/set",
  "thread/goal/get",
  "thread/goal/clear",
  "thread/archive",
  "thread/unarchive",
  "thread/message"
]

/** Every method of the server. */
export const methods: ReadonlyArray<MethodSpec> = [
  method("healthz", Empty, "liveness: {status, service, transport}", () =>
    Effect.succeed({ status: "ok", service: seedServiceName, server: "codewhale-ts", transport: "stdio" }), { aliases: ["app/healthz"] }),
  method(
    "capabilities",
    Empty,
    "every method with its params JSON Schema (`schemas`), and the seed's `families` and `methods` name list",
    (_, ctx) =>
      Effect.succeed({
        transport: "stdio",
        families: ["thread/*", "app/*", "prompt/*", "tool/*", "approval/*", "grants/*", "jobs/*", "mcp/*", "checkpoint/*", "events/*"],
        methods: ctx.methods().flatMap((m) => [m.name, ...m.aliases]),
        schemas: Object.fromEntries(ctx.methods().map((m) => [m.name, { description: m.description, aliases: m.aliases, params: m.paramsJsonSchema }])),
        notifications: {
          "events/event": "{subscription_id, event: RecordedEvent} — one per recorded event, in position order",
          "events/resync": "{subscription_id, reason, after_position, head_position} — the cursor is unusable; events restart from position 1"
        }
      })
  ),
  method("thread/capabilities", Empty, "the thread methods", () => Effect.succeed({ methods: threadMethodNames })),
  method("thread/request", ThreadRequest, "a full ThreadRequest (with `kind`)", (p, ctx) => ctx.runtime.handleThread(p), { nullParams: "reject" }),
  threadMethod("thread/create", Schema.Struct({ metadata: Schema.optionalWith(Schema.Unknown, { default: () => null }) }), (p) => ({ kind: "create", metadata: p.metadata })),
  threadMethod("thread/start", ThreadStartParams, (p) => ({ kind: "start", ...p })),
  threadMethod("thread/resume", ThreadResumeParams, (p) => ({ kind: "resume", ...p })),
  threadMethod("thread/fork", ThreadForkParams, (p) => ({ kind: "fork", ...p })),
  threadMethod("thread/list", ThreadListParams, (p) => ({ kind: "list", ...p })),
  threadMethod("thread/read", ThreadReadParams, (p) => ({ kind: "read", ...p })),
  threadMethod("thread/set_name", ThreadSetNameParams, (p) => ({ kind: "set_name", ...p }), ["thread/set-name"]),
  threadMethod("thread/goal/set", ThreadGoalSetParams, (p) => ({ kind: "goal_set", ...p }), ["thread/goal_set", "thread/goal-set"]),
  threadMethod("thread/goal/get", ThreadGoalParams, (p) => ({ kind: "goal_get", thread_id: p.thread_id }), ["thread/goal_get", "thread/goal-get"]),
  threadMethod("thread/goal/clear", ThreadGoalParams, (p) => ({ kind: "goal_clear", thread_id: p.thread_id }), ["thread/goal_clear", "thread/goal-clear"]),
  threadMethod("thread/archive", ThreadIdParams, (p) => ({ kind: "archive", thread_id: p.thread_id })),
  threadMethod("thread/unarchive", ThreadIdParams, (p) => ({ kind: "unarchive", thread_id: p.thread_id })),
  threadMethod("thread/message", Schema.Struct({ thread_id: Schema.String, input: Schema.String }), (p) => ({ kind: "message", ...p })),
  method("app/capabilities", Empty, "AppRequest capabilities", (_, ctx) => ctx.runtime.handleApp({ kind: "capabilities" })),
  method("app/request", AppRequest, "a full AppRequest (with `kind`)", (p, ctx) => ctx.runtime.handleApp(p), { nullParams: "reject" }),
  method("app/config/get", Schema.Struct({ key: Schema.String }), "one resolved config value (the API key is shown as ******** or null)", (p, ctx) =>
    ctx.runtime.handleApp({ kind: "config_get", key: p.key })),
  method("app/config/set", Schema.Struct({ key: Schema.String, value: Schema.String }), "sets a key of the user config file after validating it (nothing is written when invalid)", (p, ctx) =>
    ctx.runtime.handleApp({ kind: "config_set", key: p.key, value: p.value })),
  method("app/config/unset", Schema.Struct({ key: Schema.String }), "removes a key of the user config file", (p, ctx) =>
    ctx.runtime.handleApp({ kind: "config_unset", key: p.key })),
  method("app/config/list", Empty, "every resolved config value (the API key redacted)", (_, ctx) => ctx.runtime.handleApp({ kind: "config_list" })),
  method("app/models", Empty, "the model registry", (_, ctx) => ctx.runtime.handleApp({ kind: "models" })),
  method("app/thread_loaded_list", Empty, "threads that are not archived (first page)", (_, ctx) => ctx.runtime.handleApp({ kind: "thread_loaded_list" }), {
    aliases: ["app/thread-loaded-list"]
  }),
  method("app/status", Empty, "the seed's app_status: every job with retry state and history, and job_transition frames", (_, ctx) => ctx.runtime.appStatus),
  method("prompt/capabilities", Empty, "the prompt methods", () => Effect.succeed({ methods: ["prompt/request", "prompt/run"] })),
  method(
    "prompt/request",
    PromptRequest,
    "PromptRequest → PromptResponse. No model is called (as at the seed): `output` describes the resolved provider and model",
    (p, ctx) => ctx.runtime.handlePrompt(p),
    { aliases: ["prompt/run"], nullParams: "reject" }
  ),
  method(
    "tool/invoke",
    Schema.Struct({
      call: ToolCall,
      cwd: opt(Schema.String),
      thread_id: opt(Schema.String),
      approval_mode: opt(AskForApproval),
      wait_for_approval: opt(Schema.Boolean),
      timeout_ms: opt(Schema.Int.pipe(Schema.positive()))
    }),
    "runs a tool call through hooks, policy, approval and dispatch; `approval_required` answers carry `approval_id` for approval/respond",
    (p, ctx) =>
      ctx.runtime.invokeTool(p.call, {
        cwd: p.cwd,
        threadId: p.thread_id ?? null,
        approvalMode: p.approval_mode,
        waitForApproval: p.wait_for_approval,
        timeoutMs: p.timeout_ms
      })
  ),
  method(
    "approval/respond",
    Schema.Struct({ approval_id: Schema.String, decision: ReviewDecision, actor: opt(Schema.String) }),
    "answers a pending approval and resumes its call; returns the call's outcome",
    (p, ctx) => ctx.runtime.respondToApproval(p.approval_id, p.decision, { actor: p.actor ?? "app-server" })
  ),
  method("approval/list", Schema.Struct({ thread_id: opt(Schema.String) }), "pending approvals, oldest first, with their exec_approval_request frames", (p, ctx) =>
    Effect.map(ctx.runtime.pendingApprovals(p.thread_id), (list) => ({
      approvals: list.map((a) => ({
        approval_id: a.approvalId,
        call_id: a.callId,
        thread_id: a.threadId,
        request: a.request,
        frame: a.frame,
        requested_at: a.requestedAt
      }))
    }))),
  method("grants/list", Schema.Struct({ thread_id: opt(Schema.String), active_only: opt(Schema.Boolean) }), "session grants (approved_for_session answers)", (p, ctx) =>
    Effect.map(ctx.runtime.grants({ threadId: p.thread_id, activeOnly: p.active_only }), (grants) => ({ grants }))),
  method("grants/revoke", Schema.Struct({ grant_id: Schema.String, reason: opt(Schema.String) }), "revokes a grant", (p, ctx) =>
    Effect.as(ctx.runtime.revokeGrant(p.grant_id, { reason: p.reason, actor: "app-server" }), { ok: true, grant_id: p.grant_id })),
  method(
    "jobs/enqueue",
    Schema.Struct({
      name: Schema.String.pipe(Schema.minLength(1)),
      input: Schema.optional(Schema.Unknown),
      job_id: opt(Schema.String),
      max_attempts: opt(Schema.Int.pipe(Schema.positive())),
      backoff_base_ms: opt(Schema.Int.pipe(Schema.nonNegative()))
    }),
    "enqueues a job (the runner runs it if it has a handler for `name`); returns the job JSON",
    (p, ctx) =>
      Effect.map(
        ctx.runtime.enqueueJob(p.name, { input: p.input, jobId: p.job_id, maxAttempts: p.max_attempts, backoffBaseMs: p.backoff_base_ms, actor: "app-server" }),
        (job) => ({ job: jobToJson(job) })
      )
  ),
  method("jobs/get", JobIdParams, "one job (last 64 history entries)", (p, ctx) => Effect.map(ctx.runtime.jobs.get(p.job_id), (job) => ({ job: jobToJson(job) }))),
  method("jobs/history", JobIdParams, "every history entry of a job", (p, ctx) =>
    Effect.map(ctx.runtime.jobs.history(p.job_id), (history) => ({ job_id: p.job_id, history: history.map(historyEntryToJson) }))),
  method(
    "jobs/list",
    Schema.Struct({
      status: opt(Schema.Array(Schema.Literal("queued", "running", "paused", "completed", "failed", "cancelled"))),
      name: opt(Schema.String),
      limit: opt(Schema.Int.pipe(Schema.positive()))
    }),
    "jobs, newest update first",
    (p, ctx) =>
      Effect.map(ctx.runtime.jobs.list({ status: p.status, name: p.name, limit: p.limit }), (jobs) => ({
        jobs: jobs.map(jobToJson),
        handlers: ctx.runtime.jobHandlerNames
      }))
  ),
  method("jobs/cancel", Schema.Struct({ job_id: Schema.String, reason: opt(Schema.String) }), "cancels a job", (p, ctx) =>
    Effect.map(ctx.runtime.jobs.cancel(p.job_id, { reason: p.reason, actor: "app-server" }), (job) => ({ job: jobToJson(job) }))),
  method("jobs/pause", Schema.Struct({ job_id: Schema.String, detail: opt(Schema.String) }), "pauses a job", (p, ctx) =>
    Effect.map(ctx.runtime.jobs.pause(p.job_id, { detail: p.detail, actor: "app-server" }), (job) => ({ job: jobToJson(job) }))),
  method("jobs/resume", Schema.Struct({ job_id: Schema.String, detail: opt(Schema.String) }), "resumes a paused job", (p, ctx) =>
    Effect.map(ctx.runtime.jobs.resume(p.job_id, { detail: p.detail, actor: "app-server" }), (job) => ({ job: jobToJson(job) }))),
  method("mcp/startup", Empty, "starts the configured MCP servers: {ok, summary, events, tools}", (_, ctx) =>
    Effect.map(ctx.runtime.mcpStartup, (r) => ({ ok: true, summary: r.summary, events: r.events, tools: r.tools }))),
  method("mcp/status", Empty, "every configured MCP server with its status", (_, ctx) =>
    Effect.map(ctx.runtime.mcpStatus, (servers) => ({
      servers: servers.map((s) => ({
        name: s.name,
        transport: s.transport,
        enabled: s.enabled,
        required: s.required,
        status: s.status,
        error: s.error ?? null,
        tool_count: s.toolCount
      }))
    }))),
  method(
    "checkpoint/save",
    Schema.Struct({ thread_id: Schema.String, checkpoint_id: Schema.optionalWith(Schema.String, { default: () => "latest" }), state: Schema.Unknown }),
    "saves a named checkpoint of a thread (default name `latest`)",
    (p, ctx) => Effect.map(ctx.runtime.saveCheckpoint(p.thread_id, p.checkpoint_id, p.state), checkpointJson)
  ),
  method("checkpoint/load", Schema.Struct({ thread_id: Schema.String, checkpoint_id: opt(Schema.String) }), "a named checkpoint, or the most recently saved one", (p, ctx) =>
    Effect.map(ctx.runtime.loadCheckpoint(p.thread_id, p.checkpoint_id), checkpointJson)),
  method("checkpoint/list", ThreadIdParams, "every checkpoint of a thread, most recently saved first", (p, ctx) =>
    Effect.map(ctx.runtime.listCheckpoints(p.thread_id), (list) => ({ checkpoints: list.map(checkpointJson) }))),
  method(
    "events/subscribe",
    Schema.Struct({ after_position: opt(Schema.Int.pipe(Schema.nonNegative())), category: opt(Schema.String) }),
    "streams recorded events after `after_position` (exclusive, default 0) as `events/event` notifications, then live ones; resume with the last position seen",
    (p, ctx) => ctx.subscribe({ afterPosition: p.after_position, category: p.category })
  ),
  method("events/unsubscribe", Schema.Struct({ subscription_id: Schema.String }), "stops a subscription", (p, ctx) =>
    Effect.map(ctx.unsubscribe(p.subscription_id), (stopped) => ({ ok: stopped }))),
  method("events/head", Empty, "the position of the newest recorded event", (_, ctx) => Effect.map(ctx.store.headPosition, (head) => ({ head_position: head }))),
  method("shutdown", Empty, "stops the server after answering", (_, ctx) => Effect.as(ctx.shutdown, { ok: true, status: "stopped" }))
]

/** The methods by name and alias. */
export const methodIndex: ReadonlyMap<string, MethodSpec> = new Map(methods.flatMap((m) => [[m.name, m] as const, ...m.aliases.map((a) => [a, m] as const)]))
