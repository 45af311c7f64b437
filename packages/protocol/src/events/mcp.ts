/**
 * Events of MCP servers (`mcp.*`): the lifecycle of each server connection (starting, ready,
 * failed, cancelled, disconnected, reconnecting, stopped), the startup summary, the tool list of
 * each connection, and the responses that matter for replay (tool calls with their progress,
 * resources, prompts, elicitations). They live in one stream per manager session, `mcp-<uuidv7>`.
 * Secrets never enter these events: environment variables and headers are recorded by name only.
 */
import { Schema } from "effect"
import { defineEvent } from "../EventRegistry.ts"

/** How a server is reached. */
export const McpTransportKind = Schema.Literal("stdio", "streamable_http")
/** How a server is reached. */
export type McpTransportKind = typeof McpTransportKind.Type

/** A configured server as recorded at session start: what runs, never the secret values. */
export const McpServerSummary = Schema.Struct({
  serverName: Schema.String,
  transport: McpTransportKind,
  enabled: Schema.Boolean,
  required: Schema.Boolean,
  /** The stdio command, when stdio. */
  command: Schema.optional(Schema.String),
  args: Schema.optional(Schema.Array(Schema.String)),
  /** The names of the configured environment variables (values are not recorded). */
  envKeys: Schema.optional(Schema.Array(Schema.String)),
  cwd: Schema.optional(Schema.String),
  /** The Streamable HTTP URL without its query string and credentials. */
  url: Schema.optional(Schema.String),
  /** The names of the configured headers (values are not recorded). */
  headerKeys: Schema.optional(Schema.Array(Schema.String)),
  startupTimeoutMs: Schema.Number,
  toolTimeoutMs: Schema.Number
})
/** A configured server as recorded at session start. */
export type McpServerSummary = typeof McpServerSummary.Type

/** A manager session began with these configured servers. */
export const McpSessionStarted = defineEvent(
  "mcp.session_started",
  Schema.Struct({ sessionId: Schema.String, servers: Schema.Array(McpServerSummary) })
)

/** A connection attempt to a server began (attempt 1 at startup, then one per reconnect). */
export const McpServerStarting = defineEvent(
  "mcp.server_starting",
  Schema.Struct({ serverName: Schema.String, connectionId: Schema.String, attempt: Schema.Int })
)

/** A server answered `initialize`: what it said about itself. */
export const McpServerReady = defineEvent(
  "mcp.server_ready",
  Schema.Struct({
    serverName: Schema.String,
    connectionId: Schema.String,
    serverInfo: Schema.optional(Schema.Struct({ name: Schema.String, version: Schema.String })),
    protocolVersion: Schema.optional(Schema.String),
    capabilities: Schema.optional(Schema.Unknown),
    instructions: Schema.optional(Schema.String)
  })
)

/** Why a server failed. */
export const McpFailureReason = Schema.Literal(
  "spawn",
  "startup_timeout",
  "initialize",
  "list_tools",
  "reconnect_exhausted"
)
/** Why a server failed. */
export type McpFailureReason = typeof McpFailureReason.Type

/** A server could not be started (or restarted); `error` is the message shown to the user. */
export const McpServerFailed = defineEvent(
  "mcp.server_failed",
  Schema.Struct({
    serverName: Schema.String,
    connectionId: Schema.optional(Schema.String),
    reason: McpFailureReason,
    error: Schema.String
  })
)

/** A server was not started: disabled in config, or startup was interrupted by shutdown. */
export const McpServerCancelled = defineEvent(
  "mcp.server_cancelled",
  Schema.Struct({ serverName: Schema.String, reason: Schema.Literal("disabled", "shutdown", "interrupted") })
)

/** One failed server of a startup summary. */
export const McpStartupFailureRecord = Schema.Struct({ serverName: Schema.String, error: Schema.String })

/** `startAll` finished: the seed's ready / failed / cancelled summary. */
export const McpStartupCompleted = defineEvent(
  "mcp.startup_completed",
  Schema.Struct({
    ready: Schema.Array(Schema.String),
    failed: Schema.Array(McpStartupFailureRecord),
    cancelled: Schema.Array(Schema.String)
  })
)

/** One tool of a server as listed, with its registry name. */
export const McpToolRecord = Schema.Struct({
  name: Schema.String,
  qualifiedName: Schema.String,
  title: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  inputSchema: Schema.Unknown,
  outputSchema: Schema.optional(Schema.Unknown),
  annotations: Schema.optional(Schema.Unknown)
})
/** One tool of a server as listed. */
export type McpToolRecord = typeof McpToolRecord.Type

/** The tool list of one connection, at connect time or after `notifications/tools/list_changed`. */
export const McpToolsListed = defineEvent(
  "mcp.tools_listed",
  Schema.Struct({
    serverName: Schema.String,
    connectionId: Schema.String,
    trigger: Schema.Literal("connect", "list_changed"),
    tools: Schema.Array(McpToolRecord)
  })
)

/** A ready server's connection dropped (process exited, transport error, session lost). */
export const McpServerDisconnected = defineEvent(
  "mcp.server_disconnected",
  Schema.Struct({ serverName: Schema.String, connectionId: Schema.String, error: Schema.String })
)

/** A reconnect to a server is scheduled after `delayMs` (bounded, jittered backoff). */
export const McpServerReconnecting = defineEvent(
  "mcp.server_reconnecting",
  Schema.Struct({
    serverName: Schema.String,
    attempt: Schema.Int,
    maxAttempts: Schema.Int,
    delayMs: Schema.Number
  })
)

/** A server was closed by shutdown; `forced` when its stdio child had to be killed. */
export const McpServerStopped = defineEvent(
  "mcp.server_stopped",
  Schema.Struct({ serverName: Schema.String, connectionId: Schema.String, forced: Schema.Boolean })
)

/** A tool call was sent to a server. */
export const McpToolCallStarted = defineEvent(
  "mcp.tool_call_started",
  Schema.Struct({
    callId: Schema.String,
    serverName: Schema.String,
    connectionId: Schema.String,
    toolName: Schema.String,
    arguments: Schema.Unknown
  })
)

/** A progress notification of a running tool call. */
export const McpToolCallProgress = defineEvent(
  "mcp.tool_call_progress",
  Schema.Struct({
    callId: Schema.String,
    serverName: Schema.String,
    progress: Schema.Number,
    total: Schema.optional(Schema.Number),
    message: Schema.optional(Schema.String)
  })
)

/** A tool call answered: the server's result as received (`isError` results included). */
export const McpToolCallCompleted = defineEvent(
  "mcp.tool_call_completed",
  Schema.Struct({
    callId: Schema.String,
    serverName: Schema.String,
    toolName: Schema.String,
    isError: Schema.Boolean,
    result: Schema.Unknown
  })
)

/** A tool call failed without a result: timeout, lost connection, protocol error. Never retried. */
export const McpToolCallFailed = defineEvent(
  "mcp.tool_call_failed",
  Schema.Struct({
    callId: Schema.String,
    serverName: Schema.String,
    toolName: Schema.String,
    errorTag: Schema.String,
    error: Schema.String
  })
)

/** A server answered a request other than a tool call (resources, prompts): recorded for replay. */
export const McpRequestAnswered = defineEvent(
  "mcp.request_answered",
  Schema.Struct({
    serverName: Schema.String,
    method: Schema.Literal(
      "resources/list",
      "resources/templates/list",
      "resources/read",
      "prompts/list",
      "prompts/get"
    ),
    params: Schema.Unknown,
    result: Schema.Unknown
  })
)

/** A server asked the user for input (`elicitation/create`); the client app answers it. */
export const McpElicitationRequested = defineEvent(
  "mcp.elicitation_requested",
  Schema.Struct({
    requestId: Schema.String,
    serverName: Schema.String,
    connectionId: Schema.String,
    mode: Schema.Literal("form", "url"),
    message: Schema.String,
    requestedSchema: Schema.optional(Schema.Unknown),
    url: Schema.optional(Schema.String)
  })
)

/** The answer to an elicitation, with who or what decided it. */
export const McpElicitationResolved = defineEvent(
  "mcp.elicitation_resolved",
  Schema.Struct({
    requestId: Schema.String,
    serverName: Schema.String,
    action: Schema.Literal("accept", "decline", "cancel"),
    content: Schema.optional(Schema.Unknown),
    decidedBy: Schema.Literal("client", "timeout", "server_cancelled", "shutdown")
  })
)

/** Every `mcp.*` event definition. */
export const mcpEventDefinitions = [
  McpSessionStarted,
  McpServerStarting,
  McpServerReady,
  McpServerFailed,
  McpServerCancelled,
  McpStartupCompleted,
  McpToolsListed,
  McpServerDisconnected,
  McpServerReconnecting,
  McpServerStopped,
  McpToolCallStarted,
  McpToolCallProgress,
  McpToolCallCompleted,
  McpToolCallFailed,
  McpRequestAnswered,
  McpElicitationRequested,
  McpElicitationResolved
] as const
