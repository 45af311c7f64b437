/**
 * `McpManager`: the MCP servers of one session, on the official SDK client (stdio and Streamable
 * HTTP). Every status change is an `mcp.*` event in the session stream `mcp-<uuidv7>`, and so is
 * every response that matters for replay (tool lists per connection, tool results and progress,
 * resources, prompts, elicitations). Frames for client apps are derived from those events.
 *
 * Lifecycle: `startAll` starts the enabled servers concurrently, each bounded by its
 * `startup_timeout_ms`; a server that dies or drops its connection later is marked disconnected
 * and reconnected with bounded, jittered exponential backoff; calls in flight fail with
 * `McpConnectionLost` and are never retried. `shutdown` (also run when the layer's scope closes)
 * closes every connection and kills stdio children that do not exit within the grace period.
 */
import {
  EventId,
  type EventDefinition,
  IdGenerator,
  makeEnvelope,
  McpElicitationRequested,
  McpElicitationResolved,
  type McpFailureReason,
  type McpFrame,
  McpRequestAnswered,
  McpServerCancelled,
  McpServerDisconnected,
  McpServerFailed,
  McpServerReady,
  McpServerReconnecting,
  McpServerStarting,
  McpServerStopped,
  type McpServerSummary,
  McpSessionStarted,
  McpStartupCompleted,
  McpToolCallCompleted,
  McpToolCallFailed,
  McpToolCallProgress,
  McpToolCallStarted,
  type McpToolRecord,
  McpToolsListed
} from "@codewhale/protocol"
import { EventStore, ExpectedVersion } from "@codewhale/state"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import {
  type CallToolResult,
  ElicitRequestSchema,
  type ElicitResult,
  ErrorCode,
  McpError,
  type Progress,
  ProgressNotificationSchema,
  type Tool,
  ToolListChangedNotificationSchema
} from "@modelcontextprotocol/sdk/types.js"
import {
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  FiberMap,
  FiberSet,
  Layer,
  Option,
  PubSub,
  Queue,
  Random,
  Runtime,
  type Scope,
  Stream
} from "effect"
import type { McpServerConfig, McpServersConfig } from "./Config.ts"
import {
  McpConnectionLost,
  McpElicitationNotFound,
  McpRequestFailed,
  McpRequestTimeout,
  McpRequiredServerFailed,
  McpServerNotFound,
  McpServerUnavailable,
  McpToolNotFound
} from "./Errors.ts"
import { type McpEvent, mcpFrameOf } from "./Frames.ts"
import { qualifyAll } from "./ToolNames.ts"

/** Where a server is in its lifecycle. */
export type McpServerStatus =
  | "disabled"
  | "idle"
  | "starting"
  | "ready"
  | "failed"
  | "disconnected"
  | "reconnecting"
  | "stopped"

/** A server as the manager sees it now. */
export interface McpServerState {
  readonly name: string
  readonly transport: "stdio" | "streamable_http"
  readonly enabled: boolean
  readonly required: boolean
  readonly status: McpServerStatus
  readonly connectionId: string | undefined
  readonly error: string | undefined
  readonly toolCount: number
}

/** A tool of a ready server, with its registry name. */
export interface McpToolDescriptor {
  readonly serverName: string
  readonly toolName: string
  readonly qualifiedName: string
  readonly title: string | undefined
  readonly description: string | undefined
  readonly inputSchema: Readonly<Record<string, unknown>>
  readonly outputSchema: Readonly<Record<string, unknown>> | undefined
  readonly annotations: Readonly<Record<string, unknown>> | undefined
  /** The server's `tool_timeout_ms`. */
  readonly timeoutMs: number
}

/** The seed's startup summary: servers ready, failed (with the error) and cancelled. */
export interface McpStartupSummary {
  readonly ready: ReadonlyArray<string>
  readonly failed: ReadonlyArray<{ readonly serverName: string; readonly error: string }>
  readonly cancelled: ReadonlyArray<string>
}

/** A progress notification of a running call. */
export interface McpProgress {
  readonly progress: number
  readonly total: number | undefined
  readonly message: string | undefined
}

/** A tool call. `callId` defaults to a fresh `mcpcall-<uuidv7>`; `timeoutMs` to the server's `tool_timeout_ms`. */
export interface McpCallToolInput {
  readonly server: string
  readonly tool: string
  readonly arguments?: Readonly<Record<string, unknown>> | undefined
  readonly callId?: string | undefined
  readonly timeoutMs?: number | undefined
  readonly onProgress?: ((progress: McpProgress) => void) | undefined
}

/** A tool result as the server sent it. `isError: true` results are results, not failures. */
export type McpToolResult = CallToolResult

/** An elicitation waiting for the client app's answer. */
export interface PendingElicitation {
  readonly requestId: string
  readonly serverName: string
  readonly mode: "form" | "url"
  readonly message: string
  readonly requestedSchema: unknown
  readonly url: string | undefined
}

/** The client app's answer to an elicitation. */
export interface ElicitationAnswer {
  readonly action: "accept" | "decline" | "cancel"
  readonly content?: Readonly<Record<string, string | number | boolean | ReadonlyArray<string>>> | undefined
}

/** Manager settings that are not per-server configuration. */
export interface McpManagerOptions {
  /** Reconnect after a dropped connection: attempts and backoff bounds (defaults 5, 250 ms, 10 s). */
  readonly reconnect?: {
    readonly maxAttempts?: number | undefined
    readonly baseDelayMs?: number | undefined
    readonly maxDelayMs?: number | undefined
  } | undefined
  /** How long a closed stdio child may take to exit before it is killed (default 2 s). */
  readonly shutdownGraceMs?: number | undefined
  /** How long an elicitation waits for an answer before it is cancelled (default 10 min). */
  readonly elicitationTimeoutMs?: number | undefined
  /** The `clientInfo` sent in `initialize`. */
  readonly clientInfo?: { readonly name: string; readonly version: string } | undefined
}

/** The MCP servers of one session. */
export interface McpManagerShape {
  /** The session stream all `mcp.*` events of this manager go to (`mcp-<uuidv7>`). */
  readonly sessionId: string
  /** The configured servers, sorted by name. */
  readonly config: McpServersConfig
  /**
   * Starts every enabled server that is not ready, concurrently; returns the summary (also recorded
   * and sent as an `mcp_startup_complete` frame). Fails when a `required` server failed.
   */
  readonly startAll: Effect.Effect<McpStartupSummary, McpRequiredServerFailed>
  /** Starts one server (if not ready) and returns its state. */
  readonly startServer: (name: string) => Effect.Effect<McpServerState, McpServerNotFound>
  /** Every configured server with its status. */
  readonly servers: Effect.Effect<ReadonlyArray<McpServerState>>
  /** The tools of every ready server, sorted by registry name. */
  readonly tools: Effect.Effect<ReadonlyArray<McpToolDescriptor>>
  /** The tool registered under a qualified name (`mcp__<server>__<tool>`). */
  readonly resolveTool: (qualifiedName: string) => Effect.Effect<McpToolDescriptor, McpToolNotFound>
  /** Calls a tool once (never retried); records start, progress and the result or failure. */
  readonly callTool: (
    input: McpCallToolInput
  ) => Effect.Effect<McpToolResult, McpServerNotFound | McpServerUnavailable | McpRequestTimeout | McpConnectionLost | McpRequestFailed>
  /** Calls a tool by its registry name. */
  readonly callQualifiedTool: (
    qualifiedName: string,
    input: Omit<McpCallToolInput, "server" | "tool">
  ) => Effect.Effect<
    McpToolResult,
    McpToolNotFound | McpServerNotFound | McpServerUnavailable | McpRequestTimeout | McpConnectionLost | McpRequestFailed
  >
  /** `resources/list` (all pages). */
  readonly listResources: (server: string) => Effect.Effect<ReadonlyArray<Readonly<Record<string, unknown>>>, McpRequestError>
  /** `resources/templates/list` (all pages). */
  readonly listResourceTemplates: (server: string) => Effect.Effect<ReadonlyArray<Readonly<Record<string, unknown>>>, McpRequestError>
  /** `resources/read`. */
  readonly readResource: (server: string, uri: string) => Effect.Effect<ReadonlyArray<Readonly<Record<string, unknown>>>, McpRequestError>
  /** `prompts/list` (all pages). */
  readonly listPrompts: (server: string) => Effect.Effect<ReadonlyArray<Readonly<Record<string, unknown>>>, McpRequestError>
  /** `prompts/get`. */
  readonly getPrompt: (
    server: string,
    name: string,
    args?: Readonly<Record<string, string>>
  ) => Effect.Effect<Readonly<Record<string, unknown>>, McpRequestError>
  /** Elicitations waiting for an answer. */
  readonly pendingElicitations: Effect.Effect<ReadonlyArray<PendingElicitation>>
  /** Answers an elicitation (like an approval decision); the answer is recorded with `decidedBy: "client"`. */
  readonly answerElicitation: (requestId: string, answer: ElicitationAnswer) => Effect.Effect<void, McpElicitationNotFound>
  /** A subscription to this manager's events from now on (subscribe before acting to miss nothing). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<McpEvent>, never, Scope.Scope>
  /** This manager's events from the moment the stream starts. */
  readonly events: Stream.Stream<McpEvent>
  /** This manager's wire frames (`mcp_startup_update`, `mcp_startup_complete`, ...) as they happen. */
  readonly frames: Stream.Stream<McpFrame>
  /** Closes every server (killing stdio children that do not exit); later calls fail as unavailable. */
  readonly shutdown: Effect.Effect<void>
}

/** Any error of a resources or prompts request. */
export type McpRequestError = McpServerNotFound | McpServerUnavailable | McpRequestTimeout | McpConnectionLost | McpRequestFailed

interface Connection {
  readonly id: string
  readonly client: Client
  readonly transport: StdioClientTransport | StreamableHTTPClientTransport
  readonly closed: Deferred.Deferred<void>
  readonly stderrTail: Array<string>
  closing: boolean
  ready: boolean
  refreshPending: boolean
  tools: ReadonlyArray<Tool>
  readonly listLock: Effect.Semaphore
  /** Progress routes by progress token (the call id). */
  readonly progress: Map<string | number, (p: Progress) => void>
}

interface ServerEntry {
  readonly config: McpServerConfig
  status: McpServerStatus
  conn: Connection | undefined
  pending: Connection | undefined
  error: string | undefined
}

type QueueItem =
  | {
    readonly _tag: "Event"
    readonly definition: EventDefinition<string, unknown, unknown>
    readonly payload: unknown
    readonly done: Deferred.Deferred<void> | undefined
  }
  | { readonly _tag: "Flush"; readonly done: Deferred.Deferred<void> }

class StartFailure {
  constructor(readonly reason: McpFailureReason, readonly error: string) {}
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const redactUrl = (raw: string): string => {
  try {
    const u = new URL(raw)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return "<invalid url>"
  }
}

const summaryOf = (c: McpServerConfig): McpServerSummary => {
  const common = {
    serverName: c.name,
    enabled: c.enabled,
    required: c.required,
    startupTimeoutMs: c.startupTimeoutMs,
    toolTimeoutMs: c.toolTimeoutMs
  }
  return c.transport._tag === "stdio"
    ? {
      ...common,
      transport: "stdio",
      command: c.transport.command,
      args: [...c.transport.args],
      envKeys: Object.keys(c.transport.env).sort(),
      ...(c.transport.cwd === undefined ? {} : { cwd: c.transport.cwd })
    }
    : { ...common, transport: "streamable_http", url: redactUrl(c.transport.url), headerKeys: Object.keys(c.transport.headers).sort() }
}

/**
 * The Streamable HTTP client module, loaded on first use: stdio-only sessions never load it (nor
 * its SSE parser dependency).
 */
type HttpModule = typeof import("@modelcontextprotocol/sdk/client/streamableHttp.js")
let httpModule: HttpModule | undefined
const loadHttpModule: Effect.Effect<HttpModule> = Effect.suspend(() =>
  httpModule !== undefined
    ? Effect.succeed(httpModule)
    : Effect.promise(() => import("@modelcontextprotocol/sdk/client/streamableHttp.js")).pipe(
      Effect.tap((m) => Effect.sync(() => (httpModule = m)))
    )
)

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const toRecord = (u: unknown): Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? (u as Record<string, unknown>) : {}

const make = (config: McpServersConfig, options: McpManagerOptions) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const ids = yield* IdGenerator
    const runtime = yield* Effect.runtime<never>()
    const runPromise = Runtime.runPromise(runtime)
    const sessionId = yield* ids.domainId("mcp")
    const maxAttempts = Math.max(0, options.reconnect?.maxAttempts ?? 5)
    const baseDelayMs = Math.max(1, options.reconnect?.baseDelayMs ?? 250)
    const maxDelayMs = Math.max(baseDelayMs, options.reconnect?.maxDelayMs ?? 10_000)
    const graceMs = options.shutdownGraceMs ?? 2_000
    const elicitationTimeoutMs = options.elicitationTimeoutMs ?? 600_000
    const clientInfo = options.clientInfo ?? { name: "codewhale", version: "0.0.0" }

    const entries = new Map<string, ServerEntry>()
    for (const c of config) {
      entries.set(c.name, { config: c, status: c.enabled ? "idle" : "disabled", conn: undefined, pending: undefined, error: undefined })
    }
    const pendingElicitations = new Map<string, { readonly info: PendingElicitation; readonly answer: Deferred.Deferred<ElicitationAnswer> }>()
    let shuttingDown = false
    let sessionRecorded = false
    let toolTable = new Map<string, McpToolDescriptor>()

    // --- the log: one writer fiber appends in call order, then publishes the decoded event ---
    const pubsub = yield* PubSub.unbounded<McpEvent>()
    const queue = yield* Queue.unbounded<QueueItem>()
    let version = 0
    const appendOne = (definition: EventDefinition<string, unknown, unknown>, payload: unknown) =>
      Effect.gen(function*() {
        const envelope = yield* makeEnvelope(definition, payload, { producer: "@codewhale/mcp" }).pipe(
          Effect.provideService(IdGenerator, ids)
        )
        const result = yield* store.append(sessionId, [envelope], { expected: ExpectedVersion.Exact({ version }) })
        version = result.nextExpectedVersion
        const event = {
          _tag: "Known",
          type: definition.type,
          payload,
          record: {
            position: result.lastPosition,
            streamId: sessionId,
            streamVersion: result.nextExpectedVersion,
            eventId: EventId.make(envelope.eventId),
            eventType: envelope.eventType,
            schemaVersion: envelope.schemaVersion,
            payload: envelope.payload,
            metadata: envelope.metadata,
            recordedAt: Date.now()
          }
        } as McpEvent
        yield* PubSub.publish(pubsub, event)
      }).pipe(
        Effect.catchAll((error) =>
          Effect.logError(`cannot record ${definition.type} in ${sessionId}`, error).pipe(
            Effect.zipRight(store.streamVersion(sessionId).pipe(Effect.tap((v) => Effect.sync(() => (version = v))), Effect.ignore))
          )
        )
      )
    let writerStopped = false
    const drainQueue = Effect.flatMap(Queue.takeAll(queue), (items) =>
      Effect.forEach(items, (item) => (item.done === undefined ? Effect.void : Deferred.succeed(item.done, undefined)), { discard: true })
    )
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(queue), (item) =>
          item._tag === "Flush"
            ? Deferred.succeed(item.done, undefined)
            : Effect.ensuring(appendOne(item.definition, item.payload), item.done === undefined ? Effect.void : Deferred.succeed(item.done, undefined))
        )
      ).pipe(Effect.onInterrupt(() => Effect.zipRight(Effect.sync(() => (writerStopped = true)), drainQueue)))
    )
    /** Records an event and waits until it is in the log. */
    const record = <T extends string, A, I>(definition: EventDefinition<T, A, I>, payload: NoInfer<A>): Effect.Effect<void> =>
      writerStopped
        ? Effect.logWarning(`MCP manager ${sessionId} is closed: ${definition.type} not recorded`)
        : Effect.flatMap(Deferred.make<void>(), (done) =>
        Effect.zipRight(
          Queue.offer(queue, { _tag: "Event", definition: definition as EventDefinition<string, unknown, unknown>, payload, done }),
          Deferred.await(done)
        )
      )
    /** Enqueues an event from an SDK callback, keeping the order of the callbacks. */
    const post = <T extends string, A, I>(definition: EventDefinition<T, A, I>, payload: NoInfer<A>): void => {
      if (writerStopped) return
      queue.unsafeOffer({ _tag: "Event", definition: definition as EventDefinition<string, unknown, unknown>, payload, done: undefined })
    }
    const flush = Effect.flatMap(Deferred.make<void>(), (done) => Effect.zipRight(Queue.offer(queue, { _tag: "Flush", done }), Deferred.await(done)))

    const background = yield* FiberSet.make()
    const runBackground = yield* FiberSet.runtime(background)<never>()
    const reconnects = yield* FiberMap.make<string>()

    const ensureSession = Effect.suspend(() => {
      if (sessionRecorded) return Effect.void
      sessionRecorded = true
      return record(McpSessionStarted, { sessionId, servers: config.map(summaryOf) })
    })

    // --- tools ---
    const rebuildToolTable = () => {
      const pairs: Array<{ server: string; tool: string; def: Tool; config: McpServerConfig }> = []
      for (const e of entries.values()) {
        if (e.status !== "ready" || e.conn === undefined) continue
        for (const t of e.conn.tools) pairs.push({ server: e.config.name, tool: t.name, def: t, config: e.config })
      }
      const named = qualifyAll(pairs)
      const next = new Map<string, McpToolDescriptor>()
      named.forEach((n, i) => {
        const p = pairs[i]!
        next.set(n.qualifiedName, {
          serverName: p.server,
          toolName: p.tool,
          qualifiedName: n.qualifiedName,
          title: p.def.title,
          description: p.def.description,
          inputSchema: p.def.inputSchema as Record<string, unknown>,
          outputSchema: p.def.outputSchema as Record<string, unknown> | undefined,
          annotations: p.def.annotations as Record<string, unknown> | undefined,
          timeoutMs: p.config.toolTimeoutMs
        })
      })
      toolTable = next
    }

    const toolRecords = (server: string, tools: ReadonlyArray<Tool>): Array<McpToolRecord> => {
      const named = qualifyAll(tools.map((t) => ({ server, tool: t.name })))
      return tools.map((t, i) => ({
        name: t.name,
        qualifiedName: named[i]!.qualifiedName,
        ...(t.title === undefined ? {} : { title: t.title }),
        ...(t.description === undefined ? {} : { description: t.description }),
        inputSchema: t.inputSchema,
        ...(t.outputSchema === undefined ? {} : { outputSchema: t.outputSchema }),
        ...(t.annotations === undefined ? {} : { annotations: t.annotations })
      }))
    }

    const listAllTools = (client: Client, timeoutMs: number) =>
      Effect.tryPromise({
        try: async (signal) => {
          const out: Array<Tool> = []
          const seen = new Set<string>()
          let cursor: string | undefined
          for (let page = 0; page < 100; page++) {
            const res = await client.listTools(cursor === undefined ? {} : { cursor }, { signal, timeout: timeoutMs })
            out.push(...res.tools)
            if (res.nextCursor === undefined || seen.has(res.nextCursor)) break
            seen.add(res.nextCursor)
            cursor = res.nextCursor
          }
          return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        },
        catch: errorText
      })

    const refreshTools = (entry: ServerEntry, conn: Connection) =>
      conn.listLock.withPermits(1)(
        Effect.gen(function*() {
          if (conn.closing || entry.conn !== conn) return
          const tools = yield* listAllTools(conn.client, entry.config.toolTimeoutMs)
          if (conn.closing || entry.conn !== conn) return
          conn.tools = tools
          rebuildToolTable()
          yield* record(McpToolsListed, {
            serverName: entry.config.name,
            connectionId: conn.id,
            trigger: "list_changed",
            tools: toolRecords(entry.config.name, tools)
          })
        }).pipe(Effect.catchAll((error) => Effect.logWarning(`MCP server '${entry.config.name}': tools/list after list_changed failed: ${error}`)))
      )

    // --- connections ---
    const makeTransport = (c: McpServerConfig): Effect.Effect<StdioClientTransport | StreamableHTTPClientTransport> => {
      const t = c.transport
      return t._tag === "stdio"
        ? Effect.succeed(new StdioClientTransport({
          command: t.command,
          args: [...t.args],
          env: { ...getDefaultEnvironment(), ...t.env },
          stderr: "pipe",
          ...(t.cwd === undefined ? {} : { cwd: t.cwd })
        }))
        : Effect.map(loadHttpModule, (m) => new m.StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: { ...t.headers } } }))
    }

    /** Closes a connection; a stdio child that has not exited after the grace period is killed. Returns whether it was. */
    const closeConnection = (conn: Connection): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        conn.closing = true
        const pid = conn.transport instanceof StdioClientTransport ? conn.transport.pid : null
        const transport = conn.transport
        if (!(transport instanceof StdioClientTransport) && conn.ready) {
          yield* Effect.tryPromise(() => transport.terminateSession()).pipe(
            Effect.timeout(Duration.millis(graceMs)),
            Effect.ignore
          )
        }
        void conn.client.close().catch(() => undefined)
        const exited = yield* Deferred.await(conn.closed).pipe(Effect.timeout(Duration.millis(graceMs)), Effect.option)
        if (Option.isSome(exited)) return false
        if (pid !== null && isAlive(pid)) {
          yield* Effect.sync(() => {
            try {
              process.kill(pid, "SIGKILL")
            } catch {
              // already gone
            }
          })
          yield* Deferred.await(conn.closed).pipe(Effect.timeout(Duration.seconds(5)), Effect.ignore)
          return true
        }
        return false
      })

    const connect = (entry: ServerEntry, attempt: number): Effect.Effect<Connection, StartFailure> =>
      Effect.gen(function*() {
        const c = entry.config
        const connectionId = yield* ids.domainId("mcpconn")
        entry.status = "starting"
        yield* record(McpServerStarting, { serverName: c.name, connectionId, attempt })
        const transport = yield* makeTransport(c)
        const client = new Client(
          { name: clientInfo.name, version: clientInfo.version },
          { capabilities: { elicitation: { form: { applyDefaults: true } } } }
        )
        const conn: Connection = {
          id: connectionId,
          client,
          transport,
          closed: yield* Deferred.make<void>(),
          stderrTail: [],
          closing: false,
          ready: false,
          refreshPending: false,
          tools: [],
          listLock: yield* Effect.makeSemaphore(1),
          progress: new Map()
        }
        if (transport instanceof StdioClientTransport) {
          transport.stderr?.on("data", (chunk: Buffer | string) => {
            for (const line of String(chunk).split("\n")) {
              if (line.trim() === "") continue
              conn.stderrTail.push(line.slice(0, 500))
              if (conn.stderrTail.length > 20) conn.stderrTail.shift()
            }
          })
        }
        client.onerror = () => undefined
        client.onclose = () => {
          Deferred.unsafeDone(conn.closed, Exit.void)
          if (!conn.closing && entry.conn === conn) runBackground(onConnectionLost(entry, conn, "the connection closed"))
        }
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
          if (!conn.ready) {
            conn.refreshPending = true
            return
          }
          runBackground(refreshTools(entry, conn))
        })
        // The SDK's own progress routing drops a notification that arrives just before the response
        // (notifications are dispatched a microtask later, after the response removed the route), so
        // progress is routed here by token and the route lives until the call's effect resumes.
        client.setNotificationHandler(ProgressNotificationSchema, (notification) => {
          const { progressToken, ...progress } = notification.params
          conn.progress.get(progressToken)?.(progress)
        })
        client.setRequestHandler(ElicitRequestSchema, (request, extra) =>
          runPromise(elicit(entry, conn, request.params as Record<string, unknown>, extra.signal)))
        entry.pending = conn
        const withStderr = (message: string) => {
          const tail = conn.stderrTail.slice(-5).join(" | ")
          return tail === "" ? message : `${message} (stderr: ${tail})`
        }
        const handshake = Effect.gen(function*() {
          yield* Effect.tryPromise({
            try: (signal) => client.connect(transport, { signal, timeout: c.startupTimeoutMs }),
            catch: (e) => {
              if (e instanceof McpError && e.code === ErrorCode.RequestTimeout) {
                return new StartFailure("startup_timeout", withStderr(`did not start within startup_timeout_ms (${c.startupTimeoutMs} ms)`))
              }
              const err = e as { syscall?: unknown; code?: unknown }
              const spawn = typeof err.syscall === "string" && err.syscall.startsWith("spawn")
              return spawn
                ? new StartFailure("spawn", `cannot start \`${c.transport._tag === "stdio" ? c.transport.command : ""}\`: ${errorText(e)}`)
                : new StartFailure("initialize", withStderr(`initialize failed: ${errorText(e)}`))
            }
          })
          const tools = yield* listAllTools(client, c.startupTimeoutMs).pipe(
            Effect.mapError((e) => new StartFailure("list_tools", withStderr(`tools/list failed: ${e}`)))
          )
          return tools
        })
        const tools = yield* handshake.pipe(
          Effect.timeoutFail({
            duration: Duration.millis(c.startupTimeoutMs),
            onTimeout: () => new StartFailure("startup_timeout", withStderr(`did not start within startup_timeout_ms (${c.startupTimeoutMs} ms)`))
          }),
          Effect.tapError(() => closeConnection(conn)),
          Effect.onInterrupt(() => closeConnection(conn)),
          Effect.ensuring(Effect.sync(() => {
            if (entry.pending === conn) entry.pending = undefined
          }))
        )
        if (shuttingDown) {
          yield* closeConnection(conn)
          return yield* Effect.interrupt
        }
        conn.tools = tools
        conn.ready = true
        entry.conn = conn
        entry.status = "ready"
        entry.error = undefined
        rebuildToolTable()
        const version = client.getServerVersion()
        const instructions = client.getInstructions()
        yield* record(McpServerReady, {
          serverName: c.name,
          connectionId,
          ...(version === undefined ? {} : { serverInfo: { name: version.name, version: version.version } }),
          ...(!(transport instanceof StdioClientTransport) && transport.protocolVersion !== undefined
            ? { protocolVersion: transport.protocolVersion }
            : {}),
          capabilities: client.getServerCapabilities() ?? {},
          ...(instructions === undefined ? {} : { instructions })
        })
        yield* record(McpToolsListed, { serverName: c.name, connectionId, trigger: "connect", tools: toolRecords(c.name, tools) })
        if (conn.refreshPending) {
          conn.refreshPending = false
          runBackground(refreshTools(entry, conn))
        }
        return conn
      })

    let activeStarts = 0
    const startEntry = (entry: ServerEntry): Effect.Effect<"ready" | "failed" | "cancelled"> =>
      Effect.acquireUseRelease(
        Effect.sync(() => activeStarts++),
        () => startEntryTracked(entry),
        () => Effect.sync(() => activeStarts--)
      )
    const startEntryTracked = (entry: ServerEntry): Effect.Effect<"ready" | "failed" | "cancelled"> =>
      Effect.suspend(() => {
        const name = entry.config.name
        if (!entry.config.enabled) {
          return record(McpServerCancelled, { serverName: name, reason: "disabled" }).pipe(Effect.as("cancelled" as const))
        }
        if (entry.status === "ready") return Effect.succeed("ready" as const)
        if (shuttingDown) return record(McpServerCancelled, { serverName: name, reason: "shutdown" }).pipe(Effect.as("cancelled" as const))
        // An explicit start replaces a reconnect loop that is waiting out its backoff.
        return FiberMap.remove(reconnects, name).pipe(Effect.zipRight(connect(entry, 1))).pipe(
          Effect.as("ready" as const),
          Effect.catchAll((failure) =>
            Effect.gen(function*() {
              if (shuttingDown) {
                entry.status = "stopped"
                yield* record(McpServerCancelled, { serverName: name, reason: "shutdown" })
                return "cancelled" as const
              }
              entry.status = "failed"
              entry.error = failure.error
              yield* record(McpServerFailed, { serverName: name, reason: failure.reason, error: failure.error })
              return "failed" as const
            })
          ),
          Effect.onInterrupt(() =>
            Effect.suspend(() => {
              entry.status = shuttingDown ? "stopped" : "idle"
              return record(McpServerCancelled, { serverName: name, reason: shuttingDown ? "shutdown" : "interrupted" })
            })
          )
        )
      })

    // --- reconnect ---
    const backoff = (attempt: number) =>
      Effect.map(Random.next, (r) => {
        const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))
        return Math.round(cap / 2 + (r * cap) / 2)
      })

    const reconnectLoop = (entry: ServerEntry): Effect.Effect<void> =>
      Effect.gen(function*() {
        const name = entry.config.name
        for (let attempt = 1; attempt <= maxAttempts; attempt++) {
          if (shuttingDown) return
          const delayMs = yield* backoff(attempt)
          entry.status = "reconnecting"
          yield* record(McpServerReconnecting, { serverName: name, attempt, maxAttempts, delayMs })
          yield* Effect.sleep(Duration.millis(delayMs))
          const result = yield* Effect.either(connect(entry, attempt + 1))
          if (result._tag === "Right") return
          entry.error = result.left.error
          yield* record(McpServerFailed, { serverName: name, reason: result.left.reason, error: result.left.error })
        }
        entry.status = "failed"
        yield* record(McpServerFailed, {
          serverName: name,
          reason: "reconnect_exhausted",
          error: `gave up after ${maxAttempts} reconnect attempt${maxAttempts === 1 ? "" : "s"}: ${entry.error ?? "connection lost"}`
        })
      }).pipe(
        Effect.onInterrupt(() =>
          Effect.suspend(() => {
            if (entry.status !== "starting" && entry.status !== "reconnecting") return Effect.void
            entry.status = shuttingDown ? "stopped" : "idle"
            return record(McpServerCancelled, { serverName: entry.config.name, reason: shuttingDown ? "shutdown" : "interrupted" })
          })
        )
      )

    const onConnectionLost = (entry: ServerEntry, conn: Connection, detail: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (entry.conn !== conn || conn.closing) return
        conn.closing = true
        entry.conn = undefined
        entry.status = "disconnected"
        const tail = conn.stderrTail.slice(-5).join(" | ")
        entry.error = tail === "" ? detail : `${detail} (stderr: ${tail})`
        rebuildToolTable()
        void conn.client.close().catch(() => undefined)
        yield* record(McpServerDisconnected, { serverName: entry.config.name, connectionId: conn.id, error: entry.error })
        if (shuttingDown) return
        yield* FiberMap.run(reconnects, entry.config.name, reconnectLoop(entry))
      })

    // --- requests ---
    const classify = (server: string, method: string, target: string, timeoutMs: number) => (e: unknown) => {
      if (e instanceof McpError) {
        if (e.code === ErrorCode.RequestTimeout) return new McpRequestTimeout({ server, method, target, timeoutMs })
        if (e.code === ErrorCode.ConnectionClosed) return new McpConnectionLost({ server, method, target, detail: e.message })
        return new McpRequestFailed({ server, method, target, code: e.code, detail: e.message })
      }
      if (httpModule !== undefined && e instanceof httpModule.StreamableHTTPError && e.code === 404) {
        return new McpConnectionLost({ server, method, target, detail: `session not found: ${e.message}` })
      }
      const text = errorText(e)
      if (e instanceof TypeError || /not connected|fetch failed|ECONNREFUSED|socket hang up/i.test(text)) {
        return new McpConnectionLost({ server, method, target, detail: text })
      }
      return new McpRequestFailed({ server, method, target, detail: text })
    }

    const readyConnection = (
      server: string
    ): Effect.Effect<{ readonly entry: ServerEntry; readonly conn: Connection }, McpServerNotFound | McpServerUnavailable> =>
      Effect.suspend((): Effect.Effect<{ readonly entry: ServerEntry; readonly conn: Connection }, McpServerNotFound | McpServerUnavailable> => {
        const entry = entries.get(server)
        if (entry === undefined) return Effect.fail(new McpServerNotFound({ server }))
        if (entry.conn === undefined || entry.status !== "ready" || shuttingDown) {
          return Effect.fail(new McpServerUnavailable({ server, status: shuttingDown ? "stopped" : entry.status }))
        }
        return Effect.succeed({ entry, conn: entry.conn })
      })

    /** Runs one request; a lost connection is reported to the lifecycle (and never retried). */
    const request = <A>(
      server: string,
      method: string,
      target: string,
      run: (conn: Connection, signal: AbortSignal, timeoutMs: number) => Promise<A>,
      timeoutOverride?: number
    ) =>
      Effect.gen(function*() {
        const { conn, entry } = yield* readyConnection(server)
        const timeoutMs = timeoutOverride ?? entry.config.toolTimeoutMs
        return yield* Effect.tryPromise({
          try: (signal) => run(conn, signal, timeoutMs),
          catch: classify(server, method, target, timeoutMs)
        }).pipe(
          Effect.tapError((error) =>
            error._tag === "McpConnectionLost" && entry.config.transport._tag === "streamable_http"
              ? Effect.sync(() => runBackground(onConnectionLost(entry, conn, error.detail)))
              : Effect.void
          )
        )
      })

    const callTool = (input: McpCallToolInput) =>
      Effect.gen(function*() {
        const { conn } = yield* readyConnection(input.server)
        const callId = input.callId ?? (yield* ids.domainId("mcpcall"))
        const args = input.arguments ?? {}
        yield* record(McpToolCallStarted, {
          callId,
          serverName: input.server,
          connectionId: conn.id,
          toolName: input.tool,
          arguments: args
        })
        const onprogress = (p: Progress) => {
          post(McpToolCallProgress, {
            callId,
            serverName: input.server,
            progress: p.progress,
            ...(p.total === undefined ? {} : { total: p.total }),
            ...(p.message === undefined ? {} : { message: p.message })
          })
          input.onProgress?.({ progress: p.progress, total: p.total, message: p.message })
        }
        const result = yield* request(
          input.server,
          "tools/call",
          input.tool,
          (c, signal, timeoutMs) => {
            c.progress.set(callId, onprogress)
            return c.client.callTool(
              { name: input.tool, arguments: { ...args }, _meta: { progressToken: callId } },
              undefined,
              { signal, timeout: timeoutMs }
            )
          },
          input.timeoutMs
        ).pipe(
          Effect.ensuring(Effect.sync(() => conn.progress.delete(callId))),
          Effect.tapError((error) =>
            record(McpToolCallFailed, { callId, serverName: input.server, toolName: input.tool, errorTag: error._tag, error: error.message })
          ),
          Effect.onInterrupt(() =>
            record(McpToolCallFailed, { callId, serverName: input.server, toolName: input.tool, errorTag: "Interrupted", error: "the call was interrupted" })
          )
        )
        const toolResult: CallToolResult = "content" in result
          ? (result as CallToolResult)
          : { content: [{ type: "text", text: JSON.stringify((result as { toolResult?: unknown }).toolResult ?? null) }] }
        yield* record(McpToolCallCompleted, {
          callId,
          serverName: input.server,
          toolName: input.tool,
          isError: toolResult.isError === true,
          result: toolResult
        })
        return toolResult
      })

    const answered = (server: string, method: typeof McpRequestAnswered.schema.Type["method"], params: unknown) => <A>(result: A) =>
      Effect.as(record(McpRequestAnswered, { serverName: server, method, params, result }), result)

    const paged = <T>(
      fetchPage: (client: Client, cursor: string | undefined, signal: AbortSignal, timeoutMs: number) => Promise<{ items: ReadonlyArray<T>; nextCursor?: string | undefined }>
    ) =>
    async (conn: Connection, signal: AbortSignal, timeoutMs: number): Promise<ReadonlyArray<T>> => {
      const out: Array<T> = []
      const seen = new Set<string>()
      let cursor: string | undefined
      for (let page = 0; page < 100; page++) {
        const res = await fetchPage(conn.client, cursor, signal, timeoutMs)
        out.push(...res.items)
        if (res.nextCursor === undefined || seen.has(res.nextCursor)) break
        seen.add(res.nextCursor)
        cursor = res.nextCursor
      }
      return out
    }

    // --- elicitation ---
    const elicit = (entry: ServerEntry, conn: Connection, params: Record<string, unknown>, signal: AbortSignal) =>
      Effect.gen(function*() {
        const requestId = yield* ids.domainId("elicitation")
        const mode = params["mode"] === "url" ? "url" as const : "form" as const
        const message = typeof params["message"] === "string" ? params["message"] : ""
        const url = typeof params["url"] === "string" ? params["url"] : undefined
        const info: PendingElicitation = { requestId, serverName: entry.config.name, mode, message, requestedSchema: params["requestedSchema"], url }
        const answer = yield* Deferred.make<ElicitationAnswer>()
        pendingElicitations.set(requestId, { info, answer })
        yield* record(McpElicitationRequested, {
          requestId,
          serverName: entry.config.name,
          connectionId: conn.id,
          mode,
          message,
          ...(params["requestedSchema"] === undefined ? {} : { requestedSchema: params["requestedSchema"] }),
          ...(url === undefined ? {} : { url })
        })
        const aborted = Effect.async<"server_cancelled">((resume) => {
          if (signal.aborted) return resume(Effect.succeed("server_cancelled"))
          const onAbort = () => resume(Effect.succeed("server_cancelled"))
          signal.addEventListener("abort", onAbort, { once: true })
          return Effect.sync(() => signal.removeEventListener("abort", onAbort))
        })
        const outcome = yield* Effect.raceAll([
          Effect.map(Deferred.await(answer), (a) => ({ decidedBy: "client" as const, answer: a })),
          Effect.as(Effect.sleep(Duration.millis(elicitationTimeoutMs)), { decidedBy: "timeout" as const, answer: { action: "cancel" } as ElicitationAnswer }),
          Effect.map(aborted, () => ({ decidedBy: "server_cancelled" as const, answer: { action: "cancel" } as ElicitationAnswer }))
        ]).pipe(
          Effect.onInterrupt(() =>
            Effect.suspend(() => {
              pendingElicitations.delete(requestId)
              return record(McpElicitationResolved, { requestId, serverName: entry.config.name, action: "cancel", decidedBy: "shutdown" })
            })
          )
        )
        pendingElicitations.delete(requestId)
        yield* record(McpElicitationResolved, {
          requestId,
          serverName: entry.config.name,
          action: outcome.answer.action,
          ...(outcome.answer.content === undefined ? {} : { content: outcome.answer.content }),
          decidedBy: outcome.decidedBy
        })
        const result: ElicitResult = outcome.answer.action === "accept"
          ? { action: "accept", content: { ...(outcome.answer.content ?? {}) } as ElicitResult["content"] }
          : { action: outcome.answer.action }
        return result
      })

    // --- shutdown ---
    const shutdown = Effect.gen(function*() {
      if (shuttingDown) return yield* flush
      shuttingDown = true
      yield* FiberMap.clear(reconnects)
      for (const p of pendingElicitations.values()) yield* Deferred.succeed(p.answer, { action: "cancel" })
      yield* Effect.forEach(
        [...entries.values()],
        (entry) =>
          Effect.gen(function*() {
            if (entry.pending !== undefined) yield* closeConnection(entry.pending)
            const conn = entry.conn
            if (conn === undefined) {
              if (entry.status === "reconnecting" || entry.status === "disconnected") entry.status = "stopped"
              return
            }
            entry.conn = undefined
            entry.status = "stopped"
            rebuildToolTable()
            const forced = yield* closeConnection(conn)
            yield* record(McpServerStopped, { serverName: entry.config.name, connectionId: conn.id, forced })
          }),
        { concurrency: "unbounded", discard: true }
      )
      rebuildToolTable()
      // Starts interrupted by the closed connections record their outcome before the log closes.
      yield* Effect.sleep(Duration.millis(10)).pipe(
        Effect.repeat({ until: () => activeStarts === 0 }),
        Effect.timeout(Duration.millis(graceMs + 5_000)),
        Effect.ignore
      )
      yield* FiberSet.clear(background)
      yield* flush
    })
    yield* Effect.addFinalizer(() => shutdown)

    const stateOf = (e: ServerEntry): McpServerState => ({
      name: e.config.name,
      transport: e.config.transport._tag,
      enabled: e.config.enabled,
      required: e.config.required,
      status: e.status,
      connectionId: e.conn?.id,
      error: e.error,
      toolCount: e.conn?.tools.length ?? 0
    })

    const startAll = Effect.gen(function*() {
      yield* ensureSession
      const list = [...entries.values()]
      const outcomes = yield* Effect.forEach(list, startEntry, { concurrency: "unbounded" })
      const summary: McpStartupSummary = {
        ready: list.filter((_, i) => outcomes[i] === "ready").map((e) => e.config.name),
        failed: list.filter((_, i) => outcomes[i] === "failed").map((e) => ({ serverName: e.config.name, error: e.error ?? "failed" })),
        cancelled: list.filter((_, i) => outcomes[i] === "cancelled").map((e) => e.config.name)
      }
      yield* record(McpStartupCompleted, summary)
      const required = list.filter((e, i) => e.config.required && outcomes[i] !== "ready")
      if (required.length > 0) {
        return yield* new McpRequiredServerFailed({
          failures: required.map((e) => ({ server: e.config.name, error: e.error ?? e.status }))
        })
      }
      return summary
    })

    const shape: McpManagerShape = {
      sessionId,
      config,
      startAll,
      startServer: (name) =>
        Effect.gen(function*() {
          const entry = entries.get(name)
          if (entry === undefined) return yield* new McpServerNotFound({ server: name })
          yield* ensureSession
          yield* startEntry(entry)
          return stateOf(entry)
        }),
      servers: Effect.sync(() => [...entries.values()].map(stateOf)),
      tools: Effect.sync(() => [...toolTable.values()].sort((a, b) => (a.qualifiedName < b.qualifiedName ? -1 : 1))),
      resolveTool: (qualifiedName) =>
        Effect.suspend(() => {
          const d = toolTable.get(qualifiedName)
          return d === undefined ? Effect.fail(new McpToolNotFound({ name: qualifiedName })) : Effect.succeed(d)
        }),
      callTool,
      callQualifiedTool: (qualifiedName, input) =>
        Effect.flatMap(
          Effect.suspend(() => {
            const d = toolTable.get(qualifiedName)
            return d === undefined ? Effect.fail(new McpToolNotFound({ name: qualifiedName })) : Effect.succeed(d)
          }),
          (d) => callTool({ ...input, server: d.serverName, tool: d.toolName })
        ),
      listResources: (server) =>
        request(
          server,
          "resources/list",
          "",
          paged(async (client, cursor, signal, timeout) => {
            const r = await client.listResources(cursor === undefined ? {} : { cursor }, { signal, timeout })
            return { items: r.resources as ReadonlyArray<Record<string, unknown>>, nextCursor: r.nextCursor }
          })
        ).pipe(Effect.flatMap(answered(server, "resources/list", {}))),
      listResourceTemplates: (server) =>
        request(
          server,
          "resources/templates/list",
          "",
          paged(async (client, cursor, signal, timeout) => {
            const r = await client.listResourceTemplates(cursor === undefined ? {} : { cursor }, { signal, timeout })
            return { items: r.resourceTemplates as ReadonlyArray<Record<string, unknown>>, nextCursor: r.nextCursor }
          })
        ).pipe(Effect.flatMap(answered(server, "resources/templates/list", {}))),
      readResource: (server, uri) =>
        request(server, "resources/read", uri, async (conn, signal, timeout) => {
          const r = await conn.client.readResource({ uri }, { signal, timeout })
          return r.contents as ReadonlyArray<Record<string, unknown>>
        }).pipe(Effect.flatMap(answered(server, "resources/read", { uri }))),
      listPrompts: (server) =>
        request(
          server,
          "prompts/list",
          "",
          paged(async (client, cursor, signal, timeout) => {
            const r = await client.listPrompts(cursor === undefined ? {} : { cursor }, { signal, timeout })
            return { items: r.prompts as ReadonlyArray<Record<string, unknown>>, nextCursor: r.nextCursor }
          })
        ).pipe(Effect.flatMap(answered(server, "prompts/list", {}))),
      getPrompt: (server, name, args) =>
        request(server, "prompts/get", name, async (conn, signal, timeout) => {
          const r = await conn.client.getPrompt({ name, ...(args === undefined ? {} : { arguments: { ...args } }) }, { signal, timeout })
          return toRecord(r)
        }).pipe(Effect.flatMap(answered(server, "prompts/get", { name, arguments: args ?? {} }))),
      pendingElicitations: Effect.sync(() => [...pendingElicitations.values()].map((p) => p.info)),
      answerElicitation: (requestId, answer) =>
        Effect.suspend(() => {
          const p = pendingElicitations.get(requestId)
          if (p === undefined) return Effect.fail(new McpElicitationNotFound({ requestId }))
          pendingElicitations.delete(requestId)
          return Deferred.succeed(p.answer, answer).pipe(Effect.asVoid)
        }),
      subscribe: PubSub.subscribe(pubsub),
      events: Stream.fromPubSub(pubsub),
      frames: Stream.fromPubSub(pubsub).pipe(Stream.filterMap(mcpFrameOf)),
      shutdown
    }
    return shape
  })

/** The MCP manager service. */
export class McpManager extends Context.Tag("@codewhale/mcp/McpManager")<McpManager, McpManagerShape>() {
  /**
   * A manager for these servers. Nothing starts until `startAll` / `startServer`; closing the
   * layer's scope shuts every server down.
   */
  static readonly layer = (
    config: McpServersConfig,
    options: McpManagerOptions = {}
  ): Layer.Layer<McpManager, never, EventStore | IdGenerator> => Layer.scoped(McpManager, make(config, options))
}
