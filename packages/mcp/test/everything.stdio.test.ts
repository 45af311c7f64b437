import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Queue, Stream } from "effect"
import type { McpEvent } from "../src/Frames.ts"
import { McpManager } from "../src/McpManager.ts"
import { everythingEntry, firstText, managerLayer, nodeServer, sessionEvents } from "./helpers.ts"

const servers = [
  nodeServer("everything", everythingEntry, ["stdio"]),
  { ...nodeServer("off", everythingEntry, ["stdio"]), enabled: false }
]

/** Waits for the first event matching `pred` on a subscription. */
const waitFor = (queue: Queue.Dequeue<McpEvent>, pred: (e: McpEvent) => boolean) =>
  Effect.gen(function*() {
    while (true) {
      const e = yield* Queue.take(queue)
      if (pred(e)) return e
    }
  })

describe("server-everything over stdio", () => {
  it.scopedLive("starts, sends the seed's startup frames, and records every transition", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      const frames = yield* Stream.runCollect(manager.frames.pipe(Stream.take(4))).pipe(Effect.fork)
      yield* Effect.yieldNow()
      const summary = yield* manager.startAll
      assert.deepStrictEqual(summary, { ready: ["everything"], failed: [], cancelled: ["off"] })
      const collected = Chunk.toReadonlyArray(yield* Fiber.join(frames))
      const updates = collected.filter((f) => f.event === "mcp_startup_update")
      assert.deepStrictEqual(
        updates.map((f) => f.event === "mcp_startup_update" ? [f.update.server_name, f.update.status] : []).sort(),
        [["everything", "ready"], ["everything", "starting"], ["off", "cancelled"]]
      )
      assert.deepStrictEqual(collected[3], {
        event: "mcp_startup_complete",
        summary: { ready: ["everything"], failed: [], cancelled: ["off"] }
      })
      const events = yield* sessionEvents
      const types = events.map((e) => e.type)
      assert.strictEqual(types[0], "mcp.session_started")
      assert.includeMembers(types, ["mcp.server_starting", "mcp.server_ready", "mcp.tools_listed", "mcp.server_cancelled", "mcp.startup_completed"])
      const session = events[0]!.payload as { servers: ReadonlyArray<{ serverName: string; transport: string }> }
      assert.deepStrictEqual(session.servers.map((s) => [s.serverName, s.transport]), [["everything", "stdio"], ["off", "stdio"]])
      const ready = events.find((e) => e.type === "mcp.server_ready")!.payload as { serverInfo?: { name: string } }
      assert.strictEqual(ready.serverInfo?.name, "mcp-servers/everything")
      const states = yield* manager.servers
      assert.deepStrictEqual(states.map((s) => [s.name, s.status]), [["everything", "ready"], ["off", "disabled"]])
    }).pipe(Effect.provide(managerLayer(servers))))

  it.scopedLive("lists tools as mcp__everything__<tool> and calls echo and get-sum", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      yield* manager.startAll
      const tools = yield* manager.tools
      const names = tools.map((t) => t.qualifiedName)
      assert.includeMembers(names, ["mcp__everything__echo", "mcp__everything__get-sum", "mcp__everything__trigger-long-running-operation"])
      const echo = yield* manager.resolveTool("mcp__everything__echo")
      assert.strictEqual(echo.toolName, "echo")
      assert.strictEqual(echo.serverName, "everything")
      const echoed = yield* manager.callQualifiedTool("mcp__everything__echo", { arguments: { message: "hello whale" } })
      assert.include(firstText(echoed), "hello whale")
      const sum = yield* manager.callTool({ server: "everything", tool: "get-sum", arguments: { a: 2, b: 40 }, callId: "call-sum" })
      assert.include(firstText(sum), "42")
      const events = yield* sessionEvents
      const completed = events.filter((e) => e.type === "mcp.tool_call_completed").map((e) => e.payload)
      assert.isTrue(completed.some((p) => p["callId"] === "call-sum" && p["isError"] === false))
      const started = events.find((e) => e.type === "mcp.tool_call_started" && e.payload["callId"] === "call-sum")!
      assert.deepStrictEqual(started.payload["arguments"], { a: 2, b: 40 })
      const missing = yield* Effect.flip(manager.callQualifiedTool("mcp__everything__nope", {}))
      assert.strictEqual(missing._tag, "McpToolNotFound")
      const notConfigured = yield* Effect.flip(manager.callTool({ server: "nope", tool: "echo" }))
      assert.strictEqual(notConfigured._tag, "McpServerNotFound")
    }).pipe(Effect.provide(managerLayer(servers))))

  it.scopedLive("records progress notifications of a long-running tool as events", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      yield* manager.startAll
      const seen: Array<number> = []
      const result = yield* manager.callTool({
        server: "everything",
        tool: "trigger-long-running-operation",
        arguments: { duration: 0.3, steps: 3 },
        callId: "call-long",
        onProgress: (p) => seen.push(p.progress)
      })
      assert.include(firstText(result), "Long running operation completed")
      assert.deepStrictEqual(seen, [1, 2, 3])
      const events = yield* sessionEvents
      const progress = events.filter((e) => e.type === "mcp.tool_call_progress").map((e) => [e.payload["callId"], e.payload["progress"], e.payload["total"]])
      assert.deepStrictEqual(progress, [["call-long", 1, 3], ["call-long", 2, 3], ["call-long", 3, 3]])
      const lastProgress = events.findLastIndex((e) => e.type === "mcp.tool_call_progress")
      const completed = events.findIndex((e) => e.type === "mcp.tool_call_completed" && e.payload["callId"] === "call-long")
      assert.isTrue(completed > lastProgress)
    }).pipe(Effect.provide(managerLayer(servers))))

  it.scopedLive("lists and reads resources, lists and gets prompts, and records the answers", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      yield* manager.startAll
      const resources = yield* manager.listResources("everything")
      assert.isAbove(resources.length, 0)
      const uri = String(resources[0]!["uri"])
      const contents = yield* manager.readResource("everything", uri)
      assert.strictEqual(contents[0]!["uri"], uri)
      const templates = yield* manager.listResourceTemplates("everything")
      assert.isAbove(templates.length, 0)
      const prompts = yield* manager.listPrompts("everything")
      const names = prompts.map((p) => p["name"])
      assert.include(names, "simple-prompt")
      const prompt = yield* manager.getPrompt("everything", "simple-prompt")
      assert.isArray(prompt["messages"])
      const withArgs = yield* manager.getPrompt("everything", "args-prompt", { city: "Lisbon", state: "PT" })
      assert.include(JSON.stringify(withArgs), "Lisbon")
      const events = yield* sessionEvents
      const methods = events.filter((e) => e.type === "mcp.request_answered").map((e) => e.payload["method"])
      assert.deepStrictEqual(methods, ["resources/list", "resources/read", "resources/templates/list", "prompts/list", "prompts/get", "prompts/get"])
      const unknownPrompt = yield* Effect.flip(manager.getPrompt("everything", "no-such-prompt"))
      assert.strictEqual(unknownPrompt._tag, "McpRequestFailed")
    }).pipe(Effect.provide(managerLayer(servers))))

  it.scopedLive("surfaces an elicitation to the client app and sends back its answer", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      const queue = yield* manager.subscribe
      yield* manager.startAll
      // The server registers its elicitation tool once it knows the client supports elicitation,
      // and says so with notifications/tools/list_changed: the refreshed list is recorded.
      yield* waitFor(queue, (e) => e.type === "mcp.tools_listed" && e.payload.trigger === "list_changed")
      const tool = yield* manager.resolveTool("mcp__everything__trigger-elicitation-request")
      const call = yield* Effect.fork(manager.callTool({ server: tool.serverName, tool: tool.toolName }))
      const requested = yield* waitFor(queue, (e) => e.type === "mcp.elicitation_requested")
      assert.strictEqual(requested.type, "mcp.elicitation_requested")
      const requestId = requested.type === "mcp.elicitation_requested" ? requested.payload.requestId : ""
      const pending = yield* manager.pendingElicitations
      assert.deepStrictEqual(pending.map((p) => p.requestId), [requestId])
      yield* manager.answerElicitation(requestId, { action: "accept", content: { name: "Moby", check: true, email: "moby@example.com" } })
      const result = yield* Fiber.join(call)
      assert.include(JSON.stringify(result), "Moby")
      const again = yield* Effect.flip(manager.answerElicitation(requestId, { action: "decline" }))
      assert.strictEqual(again._tag, "McpElicitationNotFound")
      const events = yield* sessionEvents
      const resolved = events.find((e) => e.type === "mcp.elicitation_resolved")!
      assert.strictEqual(resolved.payload["action"], "accept")
      assert.strictEqual(resolved.payload["decidedBy"], "client")
    }).pipe(Effect.provide(managerLayer(servers))))

  it.scopedLive("declined elicitations are answered as declined, via the elicitation_request frame", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      const queue = yield* manager.subscribe
      const frames = yield* Effect.fork(
        Stream.runHead(manager.frames.pipe(Stream.filter((f) => f.event === "elicitation_request")))
      )
      yield* manager.startAll
      yield* waitFor(queue, (e) => e.type === "mcp.tools_listed" && e.payload.trigger === "list_changed")
      const call = yield* Effect.fork(manager.callQualifiedTool("mcp__everything__trigger-elicitation-request", {}))
      const frame = yield* Fiber.join(frames)
      assert.isTrue(frame._tag === "Some" && frame.value.event === "elicitation_request")
      const requestId = frame._tag === "Some" && frame.value.event === "elicitation_request" ? frame.value.request_id : ""
      yield* manager.answerElicitation(requestId, { action: "decline" })
      const result = yield* Fiber.join(call)
      assert.include(JSON.stringify(result).toLowerCase(), "decline")
    }).pipe(Effect.provide(managerLayer(servers))))

  it.scopedLive("shutdown stops the server and later calls fail as unavailable", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      yield* manager.startAll
      yield* manager.shutdown
      const states = yield* manager.servers
      assert.strictEqual(states.find((s) => s.name === "everything")?.status, "stopped")
      const error = yield* Effect.flip(manager.callTool({ server: "everything", tool: "echo", arguments: { message: "x" } }))
      assert.strictEqual(error._tag, "McpServerUnavailable")
      const events = yield* sessionEvents
      const stopped = events.find((e) => e.type === "mcp.server_stopped")!
      assert.isBoolean(stopped.payload["forced"])
      assert.deepStrictEqual(yield* manager.tools, [])
    }).pipe(Effect.provide(managerLayer(servers))))
})

