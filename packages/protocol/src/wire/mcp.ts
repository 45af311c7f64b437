/**
 * MCP event frames in the seed's wire shapes (`tag = "event"`, snake_case), as a downstream app
 * sees them: `mcp_startup_update`, `mcp_startup_complete`, `mcp_tool_call_begin`,
 * `mcp_tool_call_end` and `elicitation_request`.
 *
 * `McpStartupStatus` keeps the seed's externally tagged form (`"starting"`, `"ready"`,
 * `"cancelled"` or `{"failed":{"error":"…"}}`) because apps already parse it.
 */
import { Schema } from "effect"

/** `"starting" | "ready" | "cancelled" | {"failed":{"error":"…"}}` (externally tagged, as in the seed). */
export const McpStartupStatus = Schema.Union(
  Schema.Literal("starting", "ready", "cancelled"),
  Schema.Struct({ failed: Schema.Struct({ error: Schema.String }) })
)
/** The startup status of one server. */
export type McpStartupStatus = typeof McpStartupStatus.Type

/** `{ server_name, status }`. */
export const McpStartupUpdateEvent = Schema.Struct({ server_name: Schema.String, status: McpStartupStatus })
/** One server's status change during startup. */
export type McpStartupUpdateEvent = typeof McpStartupUpdateEvent.Type

/** `{ server_name, error }`. */
export const McpStartupFailure = Schema.Struct({ server_name: Schema.String, error: Schema.String })
/** One failed server of a startup summary. */
export type McpStartupFailure = typeof McpStartupFailure.Type

/** `{ ready, failed, cancelled }`: the seed's startup summary. */
export const McpStartupCompleteEvent = Schema.Struct({
  ready: Schema.Array(Schema.String),
  failed: Schema.Array(McpStartupFailure),
  cancelled: Schema.Array(Schema.String)
})
/** The startup summary. */
export type McpStartupCompleteEvent = typeof McpStartupCompleteEvent.Type

/** `{"event":"mcp_startup_update","update":{…}}`. */
export const McpStartupUpdateFrame = Schema.Struct({
  event: Schema.Literal("mcp_startup_update"),
  update: McpStartupUpdateEvent
})

/** `{"event":"mcp_startup_complete","summary":{…}}`. */
export const McpStartupCompleteFrame = Schema.Struct({
  event: Schema.Literal("mcp_startup_complete"),
  summary: McpStartupCompleteEvent
})

/** `{"event":"mcp_tool_call_begin","server_name","tool_name"}`. */
export const McpToolCallBeginFrame = Schema.Struct({
  event: Schema.Literal("mcp_tool_call_begin"),
  server_name: Schema.String,
  tool_name: Schema.String
})

/** `{"event":"mcp_tool_call_end","server_name","tool_name","ok"}`. */
export const McpToolCallEndFrame = Schema.Struct({
  event: Schema.Literal("mcp_tool_call_end"),
  server_name: Schema.String,
  tool_name: Schema.String,
  ok: Schema.Boolean
})

/** `{"event":"elicitation_request","server_name","request_id","prompt"}`; answer it with the request id. */
export const ElicitationRequestFrame = Schema.Struct({
  event: Schema.Literal("elicitation_request"),
  server_name: Schema.String,
  request_id: Schema.String,
  prompt: Schema.String
})

/** Any MCP event frame. */
export const McpFrame = Schema.Union(
  McpStartupUpdateFrame,
  McpStartupCompleteFrame,
  McpToolCallBeginFrame,
  McpToolCallEndFrame,
  ElicitationRequestFrame
)
/** Any MCP event frame. */
export type McpFrame = typeof McpFrame.Type
