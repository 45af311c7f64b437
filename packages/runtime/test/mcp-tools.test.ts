import { assert, describe, it } from "@effect/vitest"
import { ExecPolicy, type PolicyInput } from "@codewhale/execpolicy"
import { CommandHooks } from "@codewhale/hooks"
import { McpManager, type McpServerConfig } from "@codewhale/mcp"
import { IdGenerator, type ToolCall } from "@codewhale/protocol"
import { EventStore, layerSqlite } from "@codewhale/state"
import { ToolRegistry, layerWithBuiltins } from "@codewhale/tools"
import { Grants, ToolPipeline, ToolPolicy } from "@codewhale/runtime"
import { McpToolsLive } from "@codewhale/runtime/McpTools"
import { Effect, Layer, Option } from "effect"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

const mcpRequire = createRequire(NodePath.join(import.meta.dirname, "..", "..", "mcp", "package.json"))
const filesystemEntry = NodePath.join(NodePath.dirname(mcpRequire.resolve("@modelcontextprotocol/server-filesystem/package.json")), "dist", "index.js")
const errorsFixture = NodePath.join(import.meta.dirname, "..", "..", "mcp", "test", "fixtures", "errors.mjs")

const server = (name: string, args: ReadonlyArray<string>, toolTimeoutMs = 20_000): McpServerConfig => ({
  name,
  transport: { _tag: "stdio", command: process.execPath, args: [...args], env: {}, cwd: undefined },
  enabled: true,
  required: false,
  startupTimeoutMs: 30_000,
  toolTimeoutMs
})

/** The pipeline as the runtime builds it (grants, amendments and pending approvals from their SQLite read models), with the built-in tools, MCP servers bridged into the registry, and this policy. */
const runtimeLayer = (filename: string, servers: ReadonlyArray<McpServerConfig>, policy: PolicyInput) => {
  const base = Layer.mergeAll(layerSqlite({ filename }), IdGenerator.layer)
  const grants = Grants.layerSql.pipe(Layer.provideMerge(base))
  const manager = McpManager.layer(servers, { shutdownGraceMs: 500 })
  const services = Layer.mergeAll(
    layerWithBuiltins(),
    CommandHooks.layer([]),
    ToolPolicy.layer(policy).pipe(Layer.provide(ExecPolicy.Default)),
    manager
  ).pipe(Layer.provideMerge(grants))
  return ToolPipeline.layerSql.pipe(Layer.provideMerge(services))
}

const workspace = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = NodeFs.realpathSync(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-runtime-mcp-")))
    NodeFs.writeFileSync(NodePath.join(dir, "notes.txt"), "public notes\n")
    NodeFs.writeFileSync(NodePath.join(dir, "secret.txt"), "top secret\n")
    return { dir, db: NodePath.join(dir, ".codewhale", "state.db") }
  }),
  ({ dir }) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

const mcpCall = (server: string, tool: string, args: Record<string, unknown>): ToolCall => ({
  name: `mcp__${server}__${tool}`,
  payload: { type: "mcp", server, tool, raw_arguments: args },
  source: "direct",
  raw_tool_call_id: null
})

const functionCall = (name: string, args: Record<string, unknown>): ToolCall => ({
  name,
  payload: { type: "function", arguments: JSON.stringify(args) },
  source: "direct",
  raw_tool_call_id: null
})

const textOf = (output: unknown): string => {
  const result = (output as { result?: { content?: ReadonlyArray<{ type: string; text?: string }> } }).result
  return (result?.content ?? []).map((c) => c.text ?? "").join("\n")
}

/** The mcp.tool_call_started events of the manager's session. */
const mcpCallsStarted = Effect.gen(function*() {
  const manager = yield* McpManager
  const store = yield* EventStore
  const events = yield* store.readStream(manager.sessionId)
  return events.filter((e) => e.eventType === "mcp.tool_call_started").map((e) => e.payload as { toolName: string; arguments: Record<string, unknown> })
})

describe("MCP tools in the tool pipeline (server-filesystem on a temp dir)", () => {
  it.scopedLive("tools of ready servers are in the registry; a path rule forbids one file before the call reaches the server", () =>
    Effect.gen(function*() {
      const { db, dir } = yield* workspace
      const secret = NodePath.join(dir, "secret.txt")
      const policy: PolicyInput = {
        user: {
          rules: [
            { action: "allow", tool: "mcp__fs__read_text_file" },
            { action: "allow", tool: "mcp__fs__list_directory" },
            { action: "deny", tool: "mcp__fs__read_text_file", path: secret, justification: "secrets stay out of the model" }
          ]
        }
      }
      yield* Effect.gen(function*() {
        const manager = yield* McpManager
        yield* manager.startAll
        yield* Effect.gen(function*() {
          const registry = yield* ToolRegistry
          const pipeline = yield* ToolPipeline
          const specs = yield* registry.list
          const names = specs.map((s) => s.name)
          assert.includeMembers(names, ["mcp__fs__read_text_file", "mcp__fs__list_directory", "exec_shell"])
          const spec = specs.find((s) => s.name === "mcp__fs__read_text_file")!
          assert.strictEqual(spec.kind, "mcp")
          assert.strictEqual(spec.timeout_ms, 20_000)

          const allowed = yield* pipeline.invokeTool(mcpCall("fs", "read_text_file", { path: NodePath.join(dir, "notes.txt") }), { cwd: dir, approvalMode: "on_request" })
          assert.strictEqual(allowed.status, "completed")
          assert.include(textOf(allowed.output), "public notes")

          const listed = yield* pipeline.invokeTool(functionCall("mcp__fs__list_directory", { path: dir }), { cwd: dir, approvalMode: "on_request" })
          assert.strictEqual(listed.status, "completed")
          assert.include(textOf(listed.output), "secret.txt")

          const denied = yield* pipeline.invokeTool(mcpCall("fs", "read_text_file", { path: secret }), { cwd: dir, approvalMode: "on_request" })
          assert.strictEqual(denied.status, "denied")
          assert.isFalse(denied.ok)
          assert.notInclude(JSON.stringify(denied), "top secret")

          const deniedFn = yield* pipeline.invokeTool(functionCall("mcp__fs__read_text_file", { path: secret }), { cwd: dir, approvalMode: "on_request" })
          assert.strictEqual(deniedFn.status, "denied")

          const started = yield* mcpCallsStarted
          assert.deepStrictEqual(started.map((s) => [s.toolName, s.arguments["path"]]), [
            ["read_text_file", NodePath.join(dir, "notes.txt")],
            ["list_directory", dir]
          ])
        }).pipe(Effect.provide(McpToolsLive))
        // The bridge's scope closed: its tools left the registry.
        const registry = yield* ToolRegistry
        assert.isTrue(Option.isNone(yield* registry.get("mcp__fs__read_text_file")))
      }).pipe(Effect.provide(runtimeLayer(db, [server("fs", [filesystemEntry, dir])], policy)))
    }))

  it.scopedLive("a call honours tool_timeout_ms, fails once, and is not retried; stopped servers take their tools away", () =>
    Effect.gen(function*() {
      const { db, dir } = yield* workspace
      const policy: PolicyInput = { user: { rules: [{ action: "allow", tool: "mcp__errors__never_answers" }, { action: "allow", tool: "mcp__errors__rpc_error" }] } }
      yield* Effect.gen(function*() {
        const manager = yield* McpManager
        yield* manager.startAll
        yield* Effect.gen(function*() {
          const pipeline = yield* ToolPipeline
          const registry = yield* ToolRegistry
          const timedOut = yield* pipeline.invokeTool(mcpCall("errors", "never_answers", {}), { cwd: dir, approvalMode: "on_request" })
          assert.strictEqual(timedOut.status, "failed")
          assert.include(timedOut.error ?? "", "timed out")
          const rpc = yield* pipeline.invokeTool(mcpCall("errors", "rpc_error", {}), { cwd: dir, approvalMode: "on_request" })
          assert.strictEqual(rpc.status, "failed")
          assert.include(rpc.error ?? "", "rpc_error always rejects")
          const started = yield* mcpCallsStarted
          assert.deepStrictEqual(started.map((s) => s.toolName), ["never_answers", "rpc_error"])
          yield* manager.shutdown
          // The bridge follows the manager's events: the stopped server's tools leave the registry.
          const gone = yield* registry.get("mcp__errors__never_answers").pipe(
            Effect.delay("20 millis"),
            Effect.repeat({ until: Option.isNone }),
            Effect.timeout("10 seconds")
          )
          assert.isTrue(Option.isNone(gone))
        }).pipe(Effect.provide(McpToolsLive))
      }).pipe(Effect.provide(runtimeLayer(db, [server("errors", [errorsFixture], 500)], policy)))
    }))
})
