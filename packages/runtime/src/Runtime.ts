/**
 * The `Runtime` service: the seed's `Runtime` (threads, prompts, tools, approvals, MCP, jobs,
 * checkpoints) composed from the packages as Effect layers on one event log.
 *
 * - `handleThread` delegates to `ThreadStore` (seed wire shapes, goals included); a `message` also
 *   saves the thread's `latest` checkpoint, as the seed does.
 * - `handlePrompt` is the seed's: it resolves the configured provider and model through the
 *   `ModelRegistry`, records the prompt (user) and the response (assistant) in the thread, saves the
 *   `latest` checkpoint and returns the response frames. **No model is called** (the seed does not
 *   call one either): the output is the seed's JSON description of the resolved options, with
 *   `has_api_key` instead of the key.
 * - Lifecycle command hooks (`LifecycleHooks.ts`): `SessionStart` when a thread is created,
 *   started, forked or resumed, `UserPromptSubmit` before a prompt is recorded (a blocking hook
 *   stops it: status `blocked`), `Stop` after its response, `SessionEnd` for every session started
 *   here when the runtime shuts down. Runs are recorded in the runtime's `session-<id>` stream.
 * - `invokeTool`, `respondToApproval`, approvals and grants delegate to the `ToolPipeline`; pending
 *   approvals, grants and policy amendments are listed from the `pending_approvals`, `grants` and
 *   `policy_amendments` read models (`ToolPipeline.layerSql`, `Grants.layerSql`).
 * - `mcpStartup` starts the configured MCP servers; their tools enter the registry as
 *   `mcp__<server>__<tool>` (and follow reconnects and list changes, through `McpToolsLive`).
 * - `appStatus` and the job operations delegate to `JobStore` (the list from the `jobs` read model); a `JobRunner` runs the handlers given
 *   to the layer, plus the built-in `exec_shell` handler (a shell command through the tool pipeline).
 *
 * Several runtimes (processes) may share one SQLite database: every read goes through the log or
 * a read model caught up to the log's head, so each sees the others' commits.
 */
import { ExecPolicy, type AskForApproval, type PolicyInput } from "@codewhale/execpolicy"
import { CommandHooks, redactSecrets } from "@codewhale/hooks"
import { type appStatus, JobRunner, JobStore, type JobHandler, type JobRunnerOptions, type JobState, type JobStoreError, type JobStoreShape } from "@codewhale/jobs"
import { McpManager, mcpFrameOf, type McpServerState, type McpStartupSummary } from "@codewhale/mcp"
import {
  type EventFrame,
  IdGenerator,
  type McpStartupCompleteEvent,
  type ThreadRequest,
  type ThreadResponse,
  type ToolCall
} from "@codewhale/protocol"
import { EventStore, ThreadStore, type CheckpointRow, type ThreadError } from "@codewhale/state"
import { layerWithBuiltins, ToolRegistry } from "@codewhale/tools"
import type { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Layer, Redacted, Ref, Schema } from "effect"
import type { AppRequest, AppResponse, PromptRequest, PromptResponse } from "./AppWire.ts"
import {
  type ConfigSources,
  defaultRuntimeOptions,
  describeRuntimeOptions,
  type ResolvedRuntimeOptions,
  type RuntimeConfigError,
  setConfigValue
} from "./Config.ts"
import { Grants, type Grant } from "./Grants.ts"
import { defaultModelRegistry, type ModelRegistry } from "./ModelRegistry.ts"
import { type PendingApproval, ToolPipeline, type ToolInvocationResult, type ToolPipelineError, type RespondError } from "./ToolPipeline.ts"
import { ToolPolicy } from "./ToolPolicy.ts"
import { type CorruptReadModelRow, GrantAlreadyRevoked, GrantNotFound } from "./ToolErrors.ts"
import { McpToolsLive, mcpToolDefinition } from "./McpTools.ts"
import { type LifecycleHookError, makeLifecycleHooks } from "./LifecycleHooks.ts"

/** The version recorded on new threads (`cli_version`). */
export const RuntimeVersion = "0.0.0"

/** A failure of a runtime operation that is not one of the packages' typed errors (storage, unexpected). */
export class RuntimeError extends Schema.TaggedError<RuntimeError>()("RuntimeError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.operation} failed: ${this.detail}`
  }
}

/** Options of one `invokeTool`. */
export interface RuntimeInvokeOptions {
  /** Default: the runtime's cwd. */
  readonly cwd?: string | undefined
  /** Default: the configured approval policy. */
  readonly approvalMode?: AskForApproval | undefined
  readonly threadId?: string | null | undefined
  readonly waitForApproval?: boolean | undefined
  readonly timeoutMs?: number | undefined
}

/** Options of `enqueueJob`. */
export interface RuntimeEnqueueOptions {
  readonly jobId?: string | undefined
  readonly input?: unknown
  readonly maxAttempts?: number | undefined
  readonly backoffBaseMs?: number | undefined
  readonly actor?: string | undefined
}

/** What `mcpStartup` returns: the seed's summary and the frames of the startup, in order. */
export interface McpStartupResult {
  readonly summary: McpStartupCompleteEvent
  readonly events: ReadonlyArray<EventFrame>
  /** The registry names of the MCP tools now registered. */
  readonly tools: ReadonlyArray<string>
}

/** The runtime. */
export interface RuntimeShape {
  /** The resolved configuration now in force (the API key redacted). */
  readonly options: Effect.Effect<ResolvedRuntimeOptions>
  readonly models: ModelRegistry
  /** The runtime's working directory (the default cwd of tool calls). */
  readonly cwd: string
  /** This runtime's session stream (`session-<id>`): its lifecycle hook runs are recorded there. */
  readonly sessionStreamId: string
  /** The seed's `handle_thread` (fires `SessionStart` hooks for created, started, forked and resumed threads). */
  readonly handleThread: (request: ThreadRequest) => Effect.Effect<ThreadResponse, ThreadError | LifecycleHookError>
  /**
   * The seed's `handle_prompt` (no model call: see the module comment). `UserPromptSubmit` hooks run
   * first: a blocking one stops the prompt (`status: "blocked"`, nothing recorded in the thread);
   * `Stop` hooks run after the response.
   */
  readonly handlePrompt: (request: PromptRequest) => Effect.Effect<PromptResponse, ThreadError | LifecycleHookError>
  /** Fires `SessionEnd` for every session started by this runtime (the layer does it when it closes). */
  readonly endSessions: (reason: string) => Effect.Effect<void, LifecycleHookError>
  /** The seed's `AppRequest`s: capabilities, config get/set/unset/list, models, loaded threads. */
  readonly handleApp: (request: AppRequest) => Effect.Effect<AppResponse, ThreadError | RuntimeConfigError>
  /** Runs a tool call through hooks, policy, approval and dispatch. */
  readonly invokeTool: (call: ToolCall, options?: RuntimeInvokeOptions) => Effect.Effect<ToolInvocationResult, ToolPipelineError>
  /** Answers a pending approval and resumes its call. */
  readonly respondToApproval: (
    approvalId: string,
    decision: Parameters<ToolPipeline["Type"]["respondToApproval"]>[1],
    options?: { readonly actor?: string | undefined }
  ) => Effect.Effect<ToolInvocationResult, RespondError>
  /** Pending approvals (of one thread, or all), oldest first (from the `pending_approvals` read model). */
  readonly pendingApprovals: (threadId?: string | undefined) => Effect.Effect<ReadonlyArray<PendingApproval>, ToolPipelineError | CorruptReadModelRow>
  /** Session grants (of one thread, or all). */
  readonly grants: (options?: { readonly threadId?: string | undefined; readonly activeOnly?: boolean | undefined }) => Effect.Effect<ReadonlyArray<Grant>, RuntimeError>
  /** Revokes a grant. */
  readonly revokeGrant: (grantId: string, options?: { readonly reason?: string | undefined; readonly actor?: string | undefined }) => Effect.Effect<void, GrantNotFound | GrantAlreadyRevoked | RuntimeError>
  /** Starts the configured MCP servers and registers their tools. */
  readonly mcpStartup: Effect.Effect<McpStartupResult, RuntimeError>
  /** Every configured MCP server with its status. */
  readonly mcpStatus: Effect.Effect<ReadonlyArray<McpServerState>>
  /** The seed's `app_status()`: every job with its retry state and history, and its transition frames. */
  readonly appStatus: Effect.Effect<ReturnType<typeof appStatus>, RuntimeError>
  /** Saves a named checkpoint of a thread. */
  readonly saveCheckpoint: (threadId: string, checkpointId: string, state: unknown) => Effect.Effect<CheckpointRow, ThreadError>
  /** A named checkpoint, or the latest one. */
  readonly loadCheckpoint: (threadId: string, checkpointId?: string | undefined) => Effect.Effect<CheckpointRow, ThreadError>
  /** Every checkpoint of a thread, most recently saved first. */
  readonly listCheckpoints: (threadId: string) => Effect.Effect<ReadonlyArray<CheckpointRow>, ThreadError>
  /** The job operations (enqueue, get, list, cancel, pause, resume, history, awaitJob, ...). */
  readonly jobs: JobStoreShape
  /** Enqueues a job and wakes the runner. */
  readonly enqueueJob: (name: string, options?: RuntimeEnqueueOptions) => Effect.Effect<JobState, RuntimeError | JobStoreError>
  /** The job names the runner has handlers for. */
  readonly jobHandlerNames: ReadonlyArray<string>
}

/** The runtime service. */
export class Runtime extends Context.Tag("@codewhale/runtime/Runtime")<Runtime, RuntimeShape>() {
  /**
   * The runtime and every service it is built from, on an `EventStore` + `SqlClient` (SQLite) and
   * an `IdGenerator`. Closing the layer stops the job runner and the MCP servers.
   */
  static readonly layer = (options: RuntimeLayerOptions = {}) => runtimeLayer(options)
}

/** Options of `Runtime.layer`. */
export interface RuntimeLayerOptions {
  /** The resolved configuration (from `loadRuntimeConfig`); default: the seed's defaults. */
  readonly config?: ResolvedRuntimeOptions | undefined
  /** Where the configuration came from, for `config_set` / `config_unset` (default: this process's). */
  readonly configSources?: ConfigSources | undefined
  readonly models?: ModelRegistry | undefined
  /** The runtime's working directory; default `process.cwd()`. */
  readonly cwd?: string | undefined
  /** Job handlers by job name (besides the built-in `exec_shell`). */
  readonly jobHandlers?: Readonly<Record<string, JobHandler>> | undefined
  /** Runner settings; `false` runs no runner in this process (jobs are only recorded). */
  readonly jobRunner?: Omit<JobRunnerOptions, "handlers"> | false | undefined
  /** Recorded on new threads; default `RuntimeVersion`. */
  readonly cliVersion?: string | undefined
}

/** Merges several policies into one: each layer's prefixes and rules concatenated, in file order. */
export const mergePolicies = (policies: ReadonlyArray<PolicyInput>): PolicyInput => {
  const out: Record<"builtin" | "agent" | "user", { trusted_prefixes: Array<string>; denied_prefixes: Array<string>; rules: Array<NonNullable<NonNullable<PolicyInput["user"]>["rules"]>[number]> }> = {
    builtin: { trusted_prefixes: [], denied_prefixes: [], rules: [] },
    agent: { trusted_prefixes: [], denied_prefixes: [], rules: [] },
    user: { trusted_prefixes: [], denied_prefixes: [], rules: [] }
  }
  for (const p of policies) {
    for (const layer of ["builtin", "agent", "user"] as const) {
      const l = p[layer]
      if (l === undefined) continue
      out[layer].trusted_prefixes.push(...(l.trusted_prefixes ?? []))
      out[layer].denied_prefixes.push(...(l.denied_prefixes ?? []))
      out[layer].rules.push(...(l.rules ?? []))
    }
  }
  const result: { -readonly [K in keyof PolicyInput]: PolicyInput[K] } = {}
  for (const layer of ["builtin", "agent", "user"] as const) {
    const l = out[layer]
    if (l.trusted_prefixes.length + l.denied_prefixes.length + l.rules.length === 0) continue
    result[layer] = {
      ...(l.trusted_prefixes.length > 0 ? { trusted_prefixes: l.trusted_prefixes } : {}),
      ...(l.denied_prefixes.length > 0 ? { denied_prefixes: l.denied_prefixes } : {}),
      ...(l.rules.length > 0 ? { rules: l.rules } : {})
    }
  }
  return result
}

const describe = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" ? e.message : String(e)

const frames = (responseId: string, delta: string): ReadonlyArray<EventFrame> => [
  { event: "response_start", response_id: responseId },
  { event: "response_delta", response_id: responseId, delta },
  { event: "response_end", response_id: responseId }
]

const makeRuntime = (options: RuntimeLayerOptions, handlerNames: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const threads = yield* ThreadStore
    const jobs = yield* JobStore
    const pipeline = yield* ToolPipeline
    const grants = yield* Grants
    const mcp = yield* McpManager
    const registry = yield* ToolRegistry
    const ids = yield* IdGenerator
    const runner = yield* Effect.serviceOption(JobRunner)
    const models = options.models ?? defaultModelRegistry
    const cwd = options.cwd ?? process.cwd()
    const config = yield* Ref.make(options.config ?? defaultRuntimeOptions)
    const configSources: ConfigSources = options.configSources ?? { cwd }
    const mcpTools = yield* Ref.make<ReadonlyArray<string>>([])
    const commandHooks = yield* CommandHooks
    const store = yield* EventStore
    const sessionStreamId = yield* ids.domainId("session")
    const fireHooks = makeLifecycleHooks({
      hooks: commandHooks,
      streamId: sessionStreamId,
      store,
      ids,
      secrets: Effect.map(Ref.get(config), (c) => [c.apiKey])
    })
    const secretTexts = Effect.map(Ref.get(config), (c) => (c.apiKey === undefined ? [] : [Redacted.value(c.apiKey)]))
    /** Sessions (threads) started here and not yet ended, with their cwd. */
    const openSessions = new Map<string, string>()

    const saveLatest = (threadId: string, reason: string, state: unknown) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        threads.saveCheckpoint(threadId, "latest", { reason, saved_at: Math.floor(now / 1000), state }))

    const sessionSources: Partial<Record<ThreadRequest["kind"], { readonly status: string; readonly source: string }>> = {
      create: { status: "created", source: "startup" },
      start: { status: "started", source: "startup" },
      fork: { status: "forked", source: "fork" },
      resume: { status: "resumed", source: "resume" }
    }

    const handleThread: RuntimeShape["handleThread"] = (request) =>
      Effect.gen(function*() {
        const response = yield* threads.handle(request)
        if (request.kind === "message") {
          const data = response.data as { readonly entry_id?: string }
          yield* saveLatest(request.thread_id, "thread_message", { entry_id: data.entry_id ?? null, input_length: request.input.length })
        }
        const session = sessionSources[request.kind]
        if (session !== undefined && response.status === session.status) {
          const sessionCwd = response.cwd ?? cwd
          openSessions.set(response.thread_id, sessionCwd)
          yield* fireHooks({
            event: "SessionStart",
            sessionId: response.thread_id,
            cwd: sessionCwd,
            matchValue: session.source,
            fields: { source: session.source, model: response.model ?? null, model_provider: response.model_provider ?? null }
          })
        }
        return response
      })

    const endSessions: RuntimeShape["endSessions"] = (reason) =>
      Effect.gen(function*() {
        const open = [...openSessions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        openSessions.clear()
        for (const [threadId, sessionCwd] of open) {
          yield* fireHooks({ event: "SessionEnd", sessionId: threadId, cwd: sessionCwd, matchValue: reason, fields: { reason } })
        }
      })

    const handlePrompt: RuntimeShape["handlePrompt"] = (request) =>
      Effect.gen(function*() {
        const resolved = yield* Ref.get(config)
        const requested = request.model ?? resolved.model
        const selection = models.resolve(requested, resolved.provider)
        const model = selection.resolved.id
        const responseId = yield* ids.domainId("resp")
        // The thread must exist before its hooks run; its cwd is the hooks' cwd.
        const thread = request.thread_id === undefined ? undefined : yield* threads.get(request.thread_id)
        const hookCwd = thread?.cwd ?? cwd
        const sessionId = request.thread_id ?? null
        const submitted = yield* fireHooks({
          event: "UserPromptSubmit",
          sessionId,
          cwd: hookCwd,
          fields: { prompt: request.prompt, model, response_id: responseId }
        })
        if (submitted.blockedBy !== null) {
          const reason = redactSecrets(submitted.blockedBy.reason ?? submitted.blockedBy.error ?? "no reason given", yield* secretTexts)
          const message = `prompt blocked by hook '${submitted.blockedBy.hook_name}': ${reason}`
          return {
            output: message,
            model,
            events: [
              { event: "response_start", response_id: responseId },
              { event: "error", response_id: responseId, message },
              { event: "response_end", response_id: responseId }
            ],
            status: "blocked",
            blocked_by: { hook_name: submitted.blockedBy.hook_name, reason }
          } satisfies PromptResponse
        }
        const payload = {
          provider: resolved.provider,
          model,
          prompt: request.prompt,
          telemetry: resolved.telemetry,
          base_url: resolved.baseUrl,
          has_api_key: resolved.hasApiKey,
          approval_policy: resolved.approvalPolicy ?? null,
          sandbox_mode: resolved.sandboxMode ?? null
        }
        const output = JSON.stringify(payload)
        if (request.thread_id !== undefined) {
          yield* threads.addMessage(request.thread_id, { role: "user", content: request.prompt })
          const { entry } = yield* threads.addMessage(request.thread_id, { role: "assistant", content: output, item: payload })
          yield* saveLatest(request.thread_id, "prompt_response", {
            response_id: responseId,
            model,
            provider: resolved.provider,
            assistant_message_id: entry.entryId,
            fallback_chain: selection.fallback_chain
          })
        }
        yield* fireHooks({
          event: "Stop",
          sessionId,
          cwd: hookCwd,
          fields: { response_id: responseId, model, stop_hook_active: false }
        })
        const context = submitted.additionalContext === null ? null : redactSecrets(submitted.additionalContext, yield* secretTexts)
        return {
          output,
          model,
          events: frames(responseId, "model-selected"),
          ...(context === null ? {} : { additional_context: context })
        } satisfies PromptResponse
      })

    const appCapabilities = (resolved: ResolvedRuntimeOptions) => ({
      routes: ["/thread", "/app", "/prompt", "/tool", "/jobs", "/mcp/startup"],
      config: ["get", "set", "unset", "list"],
      events: ["response_start", "response_delta", "response_end", "tool_call_start", "tool_call_result", "mcp_startup_update", "mcp_startup_complete"],
      transport: "stdio",
      config_path: resolved.files[0] ?? null
    })

    const configValues = (resolved: ResolvedRuntimeOptions): Record<string, unknown> => {
      const d = describeRuntimeOptions(resolved)
      return {
        provider: d.provider,
        model: d.model,
        base_url: d.base_url,
        api_key: resolved.hasApiKey ? "********" : null,
        telemetry: d.telemetry,
        approval_policy: d.approval_policy,
        sandbox_mode: d.sandbox_mode
      }
    }

    const handleApp: RuntimeShape["handleApp"] = (request) =>
      Effect.gen(function*() {
        const resolved = yield* Ref.get(config)
        switch (request.kind) {
          case "capabilities":
            return { ok: true, data: appCapabilities(resolved), events: [] }
          case "config_get": {
            const values = configValues(resolved)
            return { ok: request.key in values, data: { key: request.key, value: values[request.key] ?? null }, events: [] }
          }
          case "config_list":
            return { ok: true, data: { values: configValues(resolved) }, events: [] }
          case "config_set":
          case "config_unset": {
            const updated = yield* setConfigValue(configSources, request.key, request.kind === "config_set" ? request.value : undefined)
            yield* Ref.set(config, updated)
            return { ok: true, data: { key: request.key, value: configValues(updated)[request.key] ?? null, error: null }, events: [] }
          }
          case "models":
            return { ok: true, data: { models: models.models }, events: [] }
          case "thread_loaded_list": {
            const page = yield* threads.handle({ kind: "list", include_archived: false, limit: 50 })
            return { ok: true, data: { threads: page.threads }, events: [] }
          }
        }
      })

    const invokeTool: RuntimeShape["invokeTool"] = (call, o = {}) =>
      Effect.gen(function*() {
        const resolved = yield* Ref.get(config)
        return yield* pipeline.invokeTool(call, {
          cwd: o.cwd ?? cwd,
          approvalMode: o.approvalMode ?? resolved.askForApproval,
          threadId: o.threadId ?? null,
          waitForApproval: o.waitForApproval,
          timeoutMs: o.timeoutMs
        })
      })

    const mcpStartup: RuntimeShape["mcpStartup"] = Effect.gen(function*() {
      const collected: Array<EventFrame> = []
      const summary: McpStartupSummary = yield* Effect.scoped(
        Effect.gen(function*() {
          const queue = yield* mcp.subscribe
          const result = yield* Effect.either(mcp.startAll)
          const events = yield* queue.takeAll
          for (const e of events) {
            const f = mcpFrameOf(e)
            if (f._tag === "Some" && (f.value.event === "mcp_startup_update" || f.value.event === "mcp_startup_complete")) collected.push(f.value)
          }
          if (result._tag === "Left") return yield* new RuntimeError({ operation: "mcp startup", detail: result.left.message })
          return result.right
        })
      )
      // Tools of ready servers enter the registry as mcp__<server>__<tool>.
      const tools = yield* mcp.tools
      const names = tools.map((t) => t.qualifiedName)
      yield* Ref.set(mcpTools, names)
      // McpToolsLive keeps the registry in step with the servers; registering here too (same
      // definitions, replaced) makes the tools callable as soon as this returns.
      yield* Effect.forEach(tools, (t) => registry.register(mcpToolDefinition(mcp, t), { replace: true }).pipe(Effect.orDie), { discard: true })
      return {
        summary: {
          ready: summary.ready,
          failed: summary.failed.map((f) => ({ server_name: f.serverName, error: f.error })),
          cancelled: summary.cancelled
        },
        events: collected,
        tools: names
      }
    })

    const enqueueJob: RuntimeShape["enqueueJob"] = (name, o = {}) =>
      Effect.gen(function*() {
        const job = yield* jobs.enqueue(name, {
          jobId: o.jobId,
          input: o.input,
          maxAttempts: o.maxAttempts,
          backoffBaseMs: o.backoffBaseMs,
          actor: o.actor
        })
        if (runner._tag === "Some") yield* runner.value.wake
        return job
      })

    return {
      options: Ref.get(config),
      models,
      cwd,
      sessionStreamId,
      handleThread,
      handlePrompt,
      endSessions,
      handleApp,
      invokeTool,
      respondToApproval: (approvalId, decision, o) => pipeline.respondToApproval(approvalId, decision, o),
      pendingApprovals: (threadId) => pipeline.pendingApprovals({ threadId }),
      grants: (o) => grants.listGrants(o).pipe(Effect.mapError((e) => new RuntimeError({ operation: "grants/list", detail: describe(e) }))),
      revokeGrant: (grantId, o) =>
        (grants.revokeGrant(grantId, o) as Effect.Effect<void, unknown>).pipe(
          Effect.catchAll((e): Effect.Effect<void, GrantNotFound | GrantAlreadyRevoked | RuntimeError> =>
            e instanceof GrantNotFound || e instanceof GrantAlreadyRevoked ? Effect.fail(e) : Effect.fail(new RuntimeError({ operation: "grants/revoke", detail: describe(e) }))
          )
        ),
      mcpStartup,
      mcpStatus: mcp.servers,
      appStatus: jobs.appStatus.pipe(Effect.mapError((e) => new RuntimeError({ operation: "app/status", detail: describe(e) }))),
      saveCheckpoint: (threadId, checkpointId, state) => threads.saveCheckpoint(threadId, checkpointId, state),
      loadCheckpoint: (threadId, checkpointId) => threads.checkpoint(threadId, checkpointId),
      listCheckpoints: (threadId) => threads.checkpoints(threadId),
      jobs,
      enqueueJob,
      jobHandlerNames: handlerNames
    } satisfies RuntimeShape
  })

/** The built-in `exec_shell` job: runs `input.command` (in `input.cwd`) through the tool pipeline; fails unless it completes with exit code 0. */
const execShellJob = (invoke: RuntimeShape["invokeTool"]): JobHandler => (ctx) =>
  Effect.gen(function*() {
    const input = ctx.input as { readonly command?: unknown; readonly cwd?: unknown; readonly thread_id?: unknown } | null
    if (input === null || typeof input !== "object" || typeof input.command !== "string") {
      return yield* Effect.fail("exec_shell job input must be {command, cwd?, thread_id?}")
    }
    const result = yield* invoke(
      {
        name: "exec_shell",
        payload: { type: "local_shell", params: { command: input.command, ...(typeof input.cwd === "string" ? { cwd: input.cwd } : {}) } },
        source: "direct",
        raw_tool_call_id: null
      },
      { threadId: typeof input.thread_id === "string" ? input.thread_id : null }
    )
    const body = result.output?.type === "function" ? (result.output.body as { readonly exit_code?: unknown } | undefined) : undefined
    if (result.status !== "completed" || body?.exit_code !== 0) {
      return yield* Effect.fail(`exec_shell ${result.status}${result.error === undefined ? "" : `: ${result.error}`}${body?.exit_code === undefined ? "" : ` (exit code ${String(body.exit_code)})`}`)
    }
    return body
  })

const runtimeLayer = (options: RuntimeLayerOptions) => {
  const config = options.config ?? defaultRuntimeOptions
  const cwd = options.cwd ?? process.cwd()
  const handlers = { ...(options.jobHandlers ?? {}) }
  const handlerNames = [...new Set(["exec_shell", ...Object.keys(handlers)])].sort()

  const threads = ThreadStore.layerWith({ cliVersion: options.cliVersion ?? RuntimeVersion, defaultCwd: Effect.succeed(cwd) })
  const grants = Grants.layerSql
  const policy = ToolPolicy.layer(mergePolicies(config.policies.map((p) => p.policy))).pipe(
    Layer.provide(ExecPolicy.Default),
    Layer.provide(grants)
  )
  const registry = layerWithBuiltins()
  const hooks = CommandHooks.layer(config.hooks, { secrets: config.apiKey === undefined ? [] : [config.apiKey] })
  const pipeline = ToolPipeline.layerSql.pipe(Layer.provide(Layer.mergeAll(policy, grants, hooks)))
  const runner = options.jobRunner === false ? Layer.empty : JobRunner.layer({ ...options.jobRunner, handlers })
  const mcp = McpManager.layer(config.mcpServers)

  const tools = Layer.provideMerge(pipeline, registry)
  const services = Layer.mergeAll(threads, JobStore.layerSql, grants, hooks, McpToolsLive.pipe(Layer.provideMerge(mcp))).pipe(
    Layer.provideMerge(tools)
  )
  const runtime = Layer.scoped(
    Runtime,
    Effect.gen(function*() {
      const rt = yield* makeRuntime({ ...options, cwd }, handlerNames)
      // SessionEnd hooks of the sessions started here run when the runtime closes (e.g. after `shutdown`).
      yield* Effect.addFinalizer(() =>
        rt.endSessions("shutdown").pipe(Effect.catchAll((e) => Effect.logWarning(`SessionEnd hooks were not recorded: ${e.message}`)))
      )
      const r = yield* Effect.serviceOption(JobRunner)
      if (r._tag === "Some" && handlers["exec_shell"] === undefined) yield* r.value.register("exec_shell", execShellJob(rt.invokeTool))
      return rt
    })
  )
  // The runner starts last, once every handler (and the built-in one) can be registered.
  return runtime.pipe(Layer.provideMerge(Layer.merge(services, runner)))
}

/** The services `Runtime.layer` provides besides `Runtime`. */
export type RuntimeServices = Runtime | ThreadStore | JobStore | ToolPipeline | ToolRegistry | Grants | McpManager | CommandHooks

/** What `Runtime.layer` needs: the event log with its SQL connection, and an id generator. */
export type RuntimeRequirements = EventStore | SqlClient.SqlClient | IdGenerator

