/**
 * `EventFrame` (tagged by `event`, snake_case): the seed's 23 frames a downstream app sees while a
 * response, a tool call, an approval or MCP startup runs.
 */
import { Schema } from "effect"
import { ExecApprovalRequestEvent } from "./approval.ts"
import { ThreadGoal } from "./goal.ts"
import { McpStartupCompleteEvent, McpStartupUpdateEvent } from "./mcp.ts"

const frame = <const E extends string, F extends Schema.Struct.Fields>(event: E, fields: F) =>
  Schema.Struct({ event: Schema.Literal(event), ...fields })

/** `ResponseChannel`: `text` (default, omitted on the wire) or `reasoning`. */
const ResponseChannel = Schema.Literal("text", "reasoning")

/** Every event frame of the seed. */
export const EventFrame = Schema.Union(
  frame("response_start", { response_id: Schema.String }),
  frame("response_delta", { response_id: Schema.String, delta: Schema.String, channel: Schema.optional(ResponseChannel) }),
  frame("response_end", { response_id: Schema.String }),
  frame("tool_call_start", { response_id: Schema.String, tool_name: Schema.String, arguments: Schema.Unknown }),
  frame("tool_call_result", { response_id: Schema.String, tool_name: Schema.String, output: Schema.Unknown }),
  frame("mcp_startup_update", { update: McpStartupUpdateEvent }),
  frame("mcp_startup_complete", { summary: McpStartupCompleteEvent }),
  frame("mcp_tool_call_begin", { server_name: Schema.String, tool_name: Schema.String }),
  frame("mcp_tool_call_end", { server_name: Schema.String, tool_name: Schema.String, ok: Schema.Boolean }),
  frame("exec_approval_request", { request: ExecApprovalRequestEvent }),
  frame("apply_patch_approval_request", { request: ExecApprovalRequestEvent }),
  frame("elicitation_request", { server_name: Schema.String, request_id: Schema.String, prompt: Schema.String }),
  frame("exec_command_begin", { command: Schema.String, cwd: Schema.String }),
  frame("exec_command_output_delta", { command: Schema.String, delta: Schema.String }),
  frame("exec_command_end", { command: Schema.String, exit_code: Schema.Int }),
  frame("patch_apply_begin", { path: Schema.String }),
  frame("patch_apply_end", { path: Schema.String, ok: Schema.Boolean }),
  frame("turn_started", { turn_id: Schema.String }),
  frame("turn_complete", { turn_id: Schema.String }),
  frame("turn_aborted", { turn_id: Schema.String, reason: Schema.String }),
  frame("thread_goal_updated", { goal: ThreadGoal }),
  frame("thread_goal_cleared", { thread_id: Schema.String }),
  frame("error", { response_id: Schema.String, message: Schema.String })
)
/** A frame a downstream app sees. */
export type EventFrame = typeof EventFrame.Type
