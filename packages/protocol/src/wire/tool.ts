/**
 * Tool-call wire shapes, kept as the seed serialises them (snake_case, `type` tags): `ToolCall`,
 * `ToolPayload` (`function` | `custom` | `local_shell` | `mcp`), `ToolOutput`, and the seed's
 * `execution_subject` / permission-path helpers.
 */
import { Schema } from "effect"

/** `LocalShellParams { command, cwd?, timeout_ms? }` (optionals omitted when absent). */
export const LocalShellParams = Schema.Struct({
  command: Schema.String,
  cwd: Schema.optional(Schema.String),
  timeout_ms: Schema.optional(Schema.Int.pipe(Schema.nonNegative()))
})
/** Parameters of a `local_shell` payload. */
export type LocalShellParams = typeof LocalShellParams.Type

/** `{"type":"function","arguments":"<JSON text>"}`: arguments are a JSON-encoded string, as in the seed. */
export const FunctionPayload = Schema.Struct({ type: Schema.Literal("function"), arguments: Schema.String })
/** `{"type":"custom","input":"free text"}`. */
export const CustomPayload = Schema.Struct({ type: Schema.Literal("custom"), input: Schema.String })
/** `{"type":"local_shell","params":{...}}`. */
export const LocalShellPayload = Schema.Struct({ type: Schema.Literal("local_shell"), params: LocalShellParams })
/** `{"type":"mcp","server":"fs","tool":"read","raw_arguments":{...},"raw_tool_call_id":"c1"?}`. */
export const McpPayload = Schema.Struct({
  type: Schema.Literal("mcp"),
  server: Schema.String,
  tool: Schema.String,
  raw_arguments: Schema.Unknown,
  raw_tool_call_id: Schema.optional(Schema.String)
})

/** The payload of a tool call, tagged by `type`. */
export const ToolPayload = Schema.Union(FunctionPayload, CustomPayload, LocalShellPayload, McpPayload)
/** The payload of a tool call. */
export type ToolPayload = typeof ToolPayload.Type

/** Where a call came from: `direct` (the model) or `js_repl`. */
export const ToolCallSource = Schema.Literal("direct", "js_repl")
/** Where a call came from. */
export type ToolCallSource = typeof ToolCallSource.Type

/**
 * `ToolCall { name, payload, source, raw_tool_call_id }`: `source` is required on input,
 * `raw_tool_call_id` may be omitted and is emitted as `null` when absent.
 */
export const ToolCall = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1)),
  payload: ToolPayload,
  source: ToolCallSource,
  raw_tool_call_id: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
})
/** A tool call as the model (or a client) made it. */
export type ToolCall = typeof ToolCall.Type

/** `ToolOutput`: `{"type":"function","body"?,"success"}` or `{"type":"mcp","result"}`. */
export const ToolOutput = Schema.Union(
  Schema.Struct({ type: Schema.Literal("function"), body: Schema.optional(Schema.Unknown), success: Schema.Boolean }),
  Schema.Struct({ type: Schema.Literal("mcp"), result: Schema.Unknown })
)
/** What a tool returned. */
export type ToolOutput = typeof ToolOutput.Type

/**
 * Whether an output counts as a success: `function` → its `success`; `mcp` → true only when
 * `result.isError` is absent or literally `false` (anything else fails closed, as at the seed's HEAD).
 */
export const toolOutputSuccess = (output: ToolOutput): boolean => {
  if (output.type === "function") return output.success
  const result = output.result
  if (typeof result !== "object" || result === null || !("isError" in result)) return true
  return (result as { readonly isError?: unknown }).isError === false
}

/** How a call executes: `shell` for `local_shell` payloads, `tool` for everything else. */
export const ExecutionKind = Schema.Literal("shell", "tool")
/** How a call executes. */
export type ExecutionKind = typeof ExecutionKind.Type

/** What the policy is asked about for a call: the command text, the cwd and the kind. */
export interface ExecutionSubject {
  readonly command: string
  readonly cwd: string
  readonly kind: ExecutionKind
}

/**
 * The seed's `execution_subject(fallback_cwd)`: `local_shell` → `(params.command, params.cwd ??
 * fallback, "shell")`; any other payload → `(call.name, fallback, "tool")`.
 */
export const executionSubject = (call: ToolCall, fallbackCwd: string): ExecutionSubject =>
  call.payload.type === "local_shell"
    ? { command: call.payload.params.command, cwd: call.payload.params.cwd ?? fallbackCwd, kind: "shell" }
    : { command: call.name, cwd: fallbackCwd, kind: "tool" }

/** The tool name the policy sees: `exec_shell` for `local_shell` payloads, else the call's name. */
export const policyToolName = (call: ToolCall): string => (call.payload.type === "local_shell" ? "exec_shell" : call.name)

/** The JSON arguments of a call as an object when they are one (function: parsed; mcp: raw; else none). */
export const callArgumentsObject = (call: ToolCall): Record<string, unknown> | undefined => {
  let value: unknown
  if (call.payload.type === "function") {
    try {
      value = JSON.parse(call.payload.arguments)
    } catch {
      return undefined
    }
  } else if (call.payload.type === "mcp") {
    value = call.payload.raw_arguments
  } else if (call.payload.type === "local_shell") {
    value = call.payload.params
  } else {
    return undefined
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

/** The seed's `permission_path_for_call`: the `path` argument of function / mcp calls, else none. */
export const permissionPathForCall = (call: ToolCall): string | undefined => {
  if (call.payload.type !== "function" && call.payload.type !== "mcp") return undefined
  const path = callArgumentsObject(call)?.["path"]
  return typeof path === "string" ? path : undefined
}
