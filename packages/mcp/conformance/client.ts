/**
 * The MCP conformance client: `@modelcontextprotocol/conformance client` runs it once per scenario
 * with the test server's URL as the last argument (and the scenario in `MCP_CONFORMANCE_SCENARIO`).
 *
 * It is a thin client app on `McpManager`: configure one Streamable HTTP server, `startAll`, call
 * every tool the server lists with arguments built from its input schema, accept every elicitation
 * (leaving the fields to the schema defaults), then shut down. Exit code 0 on success.
 */
import { IdGenerator } from "@codewhale/protocol"
import { layerMemory } from "@codewhale/state"
import { Effect, Layer, Stream } from "effect"
import { McpManager } from "../src/McpManager.ts"

const url = process.argv.at(-1) ?? ""
const scenario = process.env["MCP_CONFORMANCE_SCENARIO"] ?? "unknown"

/** A sample value for a JSON Schema: its default, its first enum value, or one of its type. */
const sample = (schema: unknown): unknown => {
  if (typeof schema !== "object" || schema === null) return null
  const s = schema as Record<string, unknown>
  if ("default" in s) return s["default"]
  if (Array.isArray(s["enum"]) && s["enum"].length > 0) return s["enum"][0]
  switch (s["type"]) {
    case "number":
    case "integer":
      return 1
    case "boolean":
      return true
    case "array":
      return []
    case "object":
      return argumentsFor(s)
    default:
      return "conformance"
  }
}

/** Arguments for a tool: every required property (and every property with a default). */
const argumentsFor = (schema: Record<string, unknown>): Record<string, unknown> => {
  const properties = (schema["properties"] ?? {}) as Record<string, unknown>
  const required = new Set(Array.isArray(schema["required"]) ? (schema["required"] as Array<string>) : Object.keys(properties))
  const out: Record<string, unknown> = {}
  for (const [name, prop] of Object.entries(properties)) {
    if (required.has(name)) out[name] = sample(prop)
  }
  return out
}

const program = Effect.gen(function*() {
  const manager = yield* McpManager
  // The client app: accept every elicitation with no content of its own (schema defaults apply).
  yield* manager.frames.pipe(
    Stream.filter((f) => f.event === "elicitation_request"),
    Stream.runForEach((f) => f.event === "elicitation_request" ? manager.answerElicitation(f.request_id, { action: "accept", content: {} }).pipe(Effect.ignore) : Effect.void),
    Effect.forkScoped
  )
  yield* Effect.yieldNow()
  yield* manager.startAll
  const tools = yield* manager.tools
  for (const tool of tools) {
    const result = yield* manager.callTool({ server: tool.serverName, tool: tool.toolName, arguments: argumentsFor(tool.inputSchema) })
    yield* Effect.logInfo(`${scenario}: ${tool.toolName} -> ${JSON.stringify(result).slice(0, 200)}`)
  }
  yield* manager.shutdown
})

const layer = McpManager.layer(
  [{
    name: "conformance",
    transport: { _tag: "streamable_http", url, headers: {} },
    enabled: true,
    required: true,
    startupTimeoutMs: 20_000,
    toolTimeoutMs: 20_000
  }],
  { clientInfo: { name: "codewhale-conformance-client", version: "0.0.0" }, reconnect: { maxAttempts: 0 } }
).pipe(Layer.provide(Layer.merge(layerMemory, IdGenerator.layer)))

Effect.runPromiseExit(program.pipe(Effect.scoped, Effect.provide(layer))).then((exit) => {
  if (exit._tag === "Failure") {
    process.stderr.write(`conformance client failed (${scenario}): ${String(exit.cause)}\n`)
    process.exit(1)
  }
  process.exit(0)
})
