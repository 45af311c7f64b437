import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Queue } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { McpEvent } from "../src/Frames.ts"
import { McpManager } from "../src/McpManager.ts"
import { everythingEntry, firstText, fixture, managerLayer, nodeServer, sessionEvents } from "./helpers.ts"

const waitFor = (queue: Queue.Dequeue<McpEvent>, pred: (e: McpEvent) => boolean) =>
  Effect.gen(function*() {
    while (true) {
      const e = yield* Queue.take(queue)
      if (pred(e)) return e
    }
  })

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("failing servers", () => {
  it.scopedLive("a server that exits at once fails with its stderr; a slow one fails on its startup timeout; neither blocks the others", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      const summary = yield* manager.startAll
      assert.deepStrictEqual(summary.ready, ["everything"])
      assert.deepStrictEqual(summary.failed.map((f) => f.serverName), ["exits", "hangs", "missing"])
      const byName = new Map(summary.failed.map((f) => [f.serverName, f.error]))
      assert.include(byName.get("exits"), "fatal configuration error")
      assert.include(byName.get("hangs"), "startup_timeout_ms (300 ms)")
      assert.include(byName.get("missing"), "cannot start")
      const events = yield* sessionEvents
      const reasons = Object.fromEntries(
        events.filter((e) => e.type === "mcp.server_failed").map((e) => [e.payload["serverName"], e.payload["reason"]])
      )
      assert.deepStrictEqual(reasons, { exits: "initialize", hangs: "startup_timeout", missing: "spawn" })
      const complete = events.find((e) => e.type === "mcp.startup_completed")!
      assert.deepStrictEqual((complete.payload["failed"] as ReadonlyArray<{ serverName: string }>).map((f) => f.serverName), ["exits", "hangs", "missing"])
      const states = yield* manager.servers
      assert.deepStrictEqual(states.map((s) => [s.name, s.status]), [["everything", "ready"], ["exits", "failed"], ["hangs", "failed"], ["missing", "failed"]])
    }).pipe(Effect.provide(managerLayer([
      nodeServer("everything", everythingEntry, ["stdio"]),
      nodeServer("exits", fixture("exits-at-once.mjs")),
      nodeServer("hangs", fixture("hangs-before-initialize.mjs"), [], { startupTimeoutMs: 300 }),
      {
        ...nodeServer("missing", "x"),
        transport: { _tag: "stdio", command: "/nonexistent/codewhale-mcp-server", args: [], env: {}, cwd: undefined }
      }
    ]))))

  it.scopedLive("a failed required server makes startup fail with a typed error, after the summary is recorded", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      const exit = yield* Effect.exit(manager.startAll)
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(manager.startAll)
      assert.strictEqual(error._tag, "McpRequiredServerFailed")
      assert.deepStrictEqual(error.failures.map((f) => f.server), ["needed"])
      assert.include(error.message, "needed")
      const events = yield* sessionEvents
      assert.isTrue(events.some((e) => e.type === "mcp.startup_completed"))
    }).pipe(Effect.provide(managerLayer([
      nodeServer("needed", fixture("exits-at-once.mjs"), [], { required: true }),
      nodeServer("optional", fixture("exits-at-once.mjs"))
    ]))))

  it.scopedLive("tool errors: an isError result is a result, a JSON-RPC error and a timeout are typed failures", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      yield* manager.startAll
      const result = yield* manager.callTool({ server: "errors", tool: "tool_error" })
      assert.isTrue(result.isError)
      assert.include(firstText(result), "failed on purpose")
      const rpc = yield* Effect.flip(manager.callTool({ server: "errors", tool: "rpc_error" }))
      assert.strictEqual(rpc._tag, "McpRequestFailed")
      assert.isTrue(rpc._tag === "McpRequestFailed" && rpc.code === -32602)
      const timeout = yield* Effect.flip(manager.callTool({ server: "errors", tool: "never_answers" }))
      assert.strictEqual(timeout._tag, "McpRequestTimeout")
      assert.include(timeout.message, "400 ms")
      const echoed = yield* manager.callTool({ server: "errors", tool: "args_echo", arguments: { path: "a.txt" } })
      assert.strictEqual(firstText(echoed), JSON.stringify({ path: "a.txt" }))
      const events = yield* sessionEvents
      const failed = events.filter((e) => e.type === "mcp.tool_call_failed").map((e) => [e.payload["toolName"], e.payload["errorTag"]])
      assert.deepStrictEqual(failed, [["rpc_error", "McpRequestFailed"], ["never_answers", "McpRequestTimeout"]])
      const completed = events.filter((e) => e.type === "mcp.tool_call_completed").map((e) => [e.payload["toolName"], e.payload["isError"]])
      assert.deepStrictEqual(completed, [["tool_error", true], ["args_echo", false]])
      const frames = events.filter((e) => e.type.startsWith("mcp.tool_call_")).length
      assert.strictEqual(frames, 8)
    }).pipe(Effect.provide(managerLayer([nodeServer("errors", fixture("errors.mjs"), [], { toolTimeoutMs: 400 })]))))

  it.scopedLive("a server that crashes mid-call: the call fails, is not retried, and the server is reconnected", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      const queue = yield* manager.subscribe
      yield* manager.startAll
      const first = yield* manager.callTool({ server: "flaky", tool: "count" })
      assert.include(firstText(first), "call 1")
      const lost = yield* Effect.flip(manager.callTool({ server: "flaky", tool: "count", callId: "call-crash" }))
      assert.strictEqual(lost._tag, "McpConnectionLost")
      yield* waitFor(queue, (e) => e.type === "mcp.tools_listed" && e.payload.trigger === "connect" && e.record.streamVersion > 6)
      const again = yield* manager.callTool({ server: "flaky", tool: "count" })
      // A fresh process: its counter starts again, so the crashed call was never re-sent.
      assert.include(firstText(again), "call 1")
      const events = yield* sessionEvents
      const lifecycle = events
        .filter((e) => ["mcp.server_starting", "mcp.server_ready", "mcp.server_disconnected", "mcp.server_reconnecting"].includes(e.type))
        .map((e) => e.type)
      assert.deepStrictEqual(lifecycle, [
        "mcp.server_starting",
        "mcp.server_ready",
        "mcp.server_disconnected",
        "mcp.server_reconnecting",
        "mcp.server_starting",
        "mcp.server_ready"
      ])
      const disconnected = events.find((e) => e.type === "mcp.server_disconnected")!
      assert.include(String(disconnected.payload["error"]), "crashing on call 2")
      const reconnecting = events.find((e) => e.type === "mcp.server_reconnecting")!
      assert.strictEqual(reconnecting.payload["attempt"], 1)
      assert.isAtMost(Number(reconnecting.payload["delayMs"]), 20)
      const connections = new Set(events.filter((e) => e.type === "mcp.tools_listed").map((e) => e.payload["connectionId"]))
      assert.strictEqual(connections.size, 2)
      const crash = events.find((e) => e.type === "mcp.tool_call_failed")!
      assert.deepStrictEqual([crash.payload["callId"], crash.payload["errorTag"]], ["call-crash", "McpConnectionLost"])
      assert.strictEqual(events.filter((e) => e.type === "mcp.tool_call_started" && e.payload["callId"] === "call-crash").length, 1)
    }).pipe(Effect.provide(managerLayer([nodeServer("flaky", fixture("flaky.mjs"), [], { env: { CRASH_AFTER: "2" } })], {
      reconnect: { baseDelayMs: 10, maxDelayMs: 20 }
    }))))

  it.scopedLive("reconnects are bounded: after the last failed attempt the server is failed for good", () => {
    const marker = NodePath.join(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-mcp-flaky-")), "started")
    return Effect.gen(function*() {
      const manager = yield* McpManager
      const queue = yield* manager.subscribe
      yield* manager.startAll
      const lost = yield* Effect.flip(manager.callTool({ server: "flaky", tool: "count" }))
      assert.strictEqual(lost._tag, "McpConnectionLost")
      const gaveUp = yield* waitFor(queue, (e) => e.type === "mcp.server_failed" && e.payload.reason === "reconnect_exhausted")
      assert.include(gaveUp.type === "mcp.server_failed" ? gaveUp.payload.error : "", "gave up after 2 reconnect attempts")
      const events = yield* sessionEvents
      const attempts = events.filter((e) => e.type === "mcp.server_reconnecting").map((e) => e.payload["attempt"])
      assert.deepStrictEqual(attempts, [1, 2])
      const states = yield* manager.servers
      assert.strictEqual(states[0]!.status, "failed")
      const unavailable = yield* Effect.flip(manager.callTool({ server: "flaky", tool: "count" }))
      assert.strictEqual(unavailable._tag, "McpServerUnavailable")
    }).pipe(Effect.provide(managerLayer(
      [nodeServer("flaky", fixture("flaky.mjs"), [], { env: { CRASH_AFTER: "1", FAIL_AFTER_FIRST_START: marker } })],
      { reconnect: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } }
    )))
  })

  it.scopedLive("shutdown kills a stdio child that does not exit", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      yield* manager.startAll
      const pong = yield* manager.callTool({ server: "stubborn", tool: "ping" })
      assert.strictEqual(firstText(pong), "pong")
      const before = yield* sessionEvents
      const connectionId = before.find((e) => e.type === "mcp.server_ready")!.payload["connectionId"]
      yield* manager.shutdown
      const events = yield* sessionEvents
      const stopped = events.find((e) => e.type === "mcp.server_stopped")!
      assert.deepStrictEqual([stopped.payload["connectionId"], stopped.payload["forced"]], [connectionId, true])
    }).pipe(Effect.provide(managerLayer([nodeServer("stubborn", fixture("stubborn.mjs"))], { shutdownGraceMs: 300 }))))

  it.scopedLive("an explicit start replaces a reconnect loop waiting out its backoff", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      const queue = yield* manager.subscribe
      yield* manager.startAll
      yield* Effect.flip(manager.callTool({ server: "flaky", tool: "count" }))
      yield* waitFor(queue, (e) => e.type === "mcp.server_reconnecting")
      const state = yield* manager.startServer("flaky")
      assert.strictEqual(state.status, "ready")
      const again = yield* manager.callTool({ server: "flaky", tool: "count" }).pipe(Effect.either)
      assert.strictEqual(again._tag, "Left")
      const events = yield* sessionEvents
      const cancelled = events.filter((e) => e.type === "mcp.server_cancelled").map((e) => e.payload["reason"])
      assert.deepStrictEqual(cancelled, ["interrupted"])
    }).pipe(Effect.provide(managerLayer([nodeServer("flaky", fixture("flaky.mjs"), [], { env: { CRASH_AFTER: "1" } })], {
      reconnect: { baseDelayMs: 600_000, maxDelayMs: 600_000 }
    }))))

  it.scopedLive("closing the layer's scope shuts servers down, also those still starting", () =>
    Effect.gen(function*() {
      const findHanging = Effect.sync(() => {
        const pids: Array<number> = []
        for (const entry of NodeFs.readdirSync("/proc")) {
          if (!/^\d+$/.test(entry)) continue
          try {
            const cmd = NodeFs.readFileSync(`/proc/${entry}/cmdline`, "utf8")
            if (cmd.includes(marker)) pids.push(Number(entry))
          } catch {
            // the process went away
          }
        }
        return pids
      })
      const marker = `hangs-${process.pid}-${Date.now()}`
      const pids = yield* Effect.scoped(
        Effect.gen(function*() {
          const manager = yield* McpManager
          yield* Effect.fork(manager.startAll)
          // Wait until the hanging child is running, then close the scope while it is still starting.
          return yield* findHanging.pipe(
            Effect.delay("50 millis"),
            Effect.repeat({ until: (found) => found.length > 0 }),
            Effect.timeout("20 seconds")
          )
        }).pipe(Effect.provide(managerLayer(
          [nodeServer("hangs", fixture("hangs-before-initialize.mjs"), [marker], { startupTimeoutMs: 60_000 })],
          { shutdownGraceMs: 200 }
        )))
      )
      assert.isAbove(pids.length, 0)
      for (const pid of pids) assert.isFalse(isAlive(pid), `pid ${pid} still alive`)
    }))
})
