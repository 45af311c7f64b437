/**
 * The bridge from `McpManager` to the `ToolRegistry`: every tool of every ready MCP server is
 * registered as `mcp__<server>__<tool>` (kind `mcp`, its JSON Schema, the server's
 * `tool_timeout_ms`), and the registry follows the servers: a new tool list (connect, reconnect,
 * `notifications/tools/list_changed`) re-registers that server's tools; a server that stops or
 * fails for good takes its tools away.
 *
 * Calls reach these tools through the runtime's `ToolPipeline` like any other tool: hooks, the
 * execution policy (with the call's `path` argument used for path rules, as in the seed),
 * approval, then dispatch. A call is sent to the server once and never retried: a timeout, a lost
 * connection or a server error is a failed call.
 */
import {
  McpManager,
  type McpConnectionLost,
  type McpRequestFailed,
  type McpRequestTimeout,
  type McpServerNotFound,
  type McpServerUnavailable,
  type McpToolDescriptor
} from "@codewhale/mcp"
import type { ToolOutput } from "@codewhale/protocol"
import { defineJsonSchemaTool, ToolFailed, ToolRegistry, ToolTimedOut, type ToolDefinition } from "@codewhale/tools"
import { Effect, Layer, Queue, Ref } from "effect"

type McpCallFailure = McpServerNotFound | McpServerUnavailable | McpRequestTimeout | McpConnectionLost | McpRequestFailed

/** The registry definition of one MCP tool; its handler calls the tool through the manager. */
export const mcpToolDefinition = (manager: McpManager["Type"], tool: McpToolDescriptor): ToolDefinition => {
  const readOnly = tool.annotations?.["readOnlyHint"] === true
  const description = tool.description ?? tool.title ?? `${tool.toolName} (MCP server ${tool.serverName})`
  return defineJsonSchemaTool({
    name: tool.qualifiedName,
    description,
    inputSchema: tool.inputSchema,
    timeoutMs: tool.timeoutMs,
    kind: "mcp",
    mutating: !readOnly,
    handler: (input, context) =>
      manager.callTool({
        server: tool.serverName,
        tool: tool.toolName,
        arguments: typeof input === "object" && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {},
        callId: context.callId,
        timeoutMs: tool.timeoutMs
      }).pipe(
        Effect.map((result): ToolOutput => ({ type: "mcp", result })),
        Effect.mapError((error: McpCallFailure) =>
          error._tag === "McpRequestTimeout"
            ? new ToolTimedOut({ tool: tool.qualifiedName, timeoutMs: error.timeoutMs })
            : new ToolFailed({ tool: tool.qualifiedName, detail: error.message })
        )
      )
  })
}

/**
 * Makes the registry hold exactly the tools of the ready servers: registers new and changed ones
 * (replacing), unregisters those that went away. `registered` is the set this bridge owns.
 */
export const syncMcpTools = (registered: Ref.Ref<ReadonlySet<string>>) =>
  Effect.gen(function*() {
    const manager = yield* McpManager
    const registry = yield* ToolRegistry
    const tools = yield* manager.tools
    const wanted = new Set(tools.map((t) => t.qualifiedName))
    for (const name of yield* Ref.get(registered)) {
      if (!wanted.has(name)) yield* registry.unregister(name)
    }
    for (const tool of tools) {
      yield* registry.register(mcpToolDefinition(manager, tool), { replace: true }).pipe(Effect.orDie)
    }
    yield* Ref.set(registered, wanted)
  })

const affectsTools = new Set([
  "mcp.tools_listed",
  "mcp.server_ready",
  "mcp.server_failed",
  "mcp.server_disconnected",
  "mcp.server_stopped"
])

/** Keeps the registry in step with the manager for the lifetime of the scope (and removes the tools when it closes). */
export const McpToolsLive: Layer.Layer<never, never, McpManager | ToolRegistry> = Layer.scopedDiscard(
  Effect.gen(function*() {
    const manager = yield* McpManager
    const registry = yield* ToolRegistry
    const registered = yield* Ref.make<ReadonlySet<string>>(new Set())
    const events = yield* manager.subscribe
    yield* syncMcpTools(registered)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(events), (event) => (affectsTools.has(event.type) ? syncMcpTools(registered) : Effect.void))
      ).pipe(Effect.provideService(McpManager, manager), Effect.provideService(ToolRegistry, registry))
    )
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Ref.get(registered), (names) => Effect.forEach(names, (name) => registry.unregister(name), { discard: true }))
    )
  })
)
