/**
 * From recorded `mcp.*` events to the seed's wire frames: frames are derived from the log, so a
 * client that replays the log sees the same frames a live client saw.
 */
import {
  type EventOf,
  type McpFrame,
  type mcpEventDefinitions,
  type McpStartupCompleteEvent
} from "@codewhale/protocol"
import { Option } from "effect"

/** A decoded `mcp.*` event. */
export type McpEvent = EventOf<(typeof mcpEventDefinitions)[number]>

/** The frame a client app sees for an event, if any. */
export const mcpFrameOf = (event: McpEvent): Option.Option<McpFrame> => {
  switch (event.type) {
    case "mcp.server_starting":
      return Option.some({ event: "mcp_startup_update", update: { server_name: event.payload.serverName, status: "starting" } })
    case "mcp.server_ready":
      return Option.some({ event: "mcp_startup_update", update: { server_name: event.payload.serverName, status: "ready" } })
    case "mcp.server_failed":
      return Option.some({
        event: "mcp_startup_update",
        update: { server_name: event.payload.serverName, status: { failed: { error: event.payload.error } } }
      })
    case "mcp.server_cancelled":
      return Option.some({ event: "mcp_startup_update", update: { server_name: event.payload.serverName, status: "cancelled" } })
    case "mcp.startup_completed":
      return Option.some({ event: "mcp_startup_complete", summary: toStartupComplete(event.payload) })
    case "mcp.tool_call_started":
      return Option.some({ event: "mcp_tool_call_begin", server_name: event.payload.serverName, tool_name: event.payload.toolName })
    case "mcp.tool_call_completed":
      return Option.some({
        event: "mcp_tool_call_end",
        server_name: event.payload.serverName,
        tool_name: event.payload.toolName,
        ok: !event.payload.isError
      })
    case "mcp.tool_call_failed":
      return Option.some({ event: "mcp_tool_call_end", server_name: event.payload.serverName, tool_name: event.payload.toolName, ok: false })
    case "mcp.elicitation_requested":
      return Option.some({
        event: "elicitation_request",
        server_name: event.payload.serverName,
        request_id: event.payload.requestId,
        prompt: event.payload.message
      })
    default:
      return Option.none()
  }
}

/** The seed's summary shape for a recorded `mcp.startup_completed` payload. */
export const toStartupComplete = (payload: {
  readonly ready: ReadonlyArray<string>
  readonly failed: ReadonlyArray<{ readonly serverName: string; readonly error: string }>
  readonly cancelled: ReadonlyArray<string>
}): McpStartupCompleteEvent => ({
  ready: [...payload.ready],
  failed: payload.failed.map((f) => ({ server_name: f.serverName, error: f.error })),
  cancelled: [...payload.cancelled]
})
