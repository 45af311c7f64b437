import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeChild from "node:child_process"
import * as NodeNet from "node:net"
import { McpManager } from "../src/McpManager.ts"
import { everythingEntry, firstText, httpServer, managerLayer, sessionEvents } from "./helpers.ts"

const freePort = Effect.async<number>((resume) => {
  const server = NodeNet.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** server-everything in Streamable HTTP mode on a free loopback port, killed when the scope closes. */
const startEverythingHttp = Effect.acquireRelease(
  Effect.gen(function*() {
    const port = yield* freePort
    const child = NodeChild.spawn(process.execPath, [everythingEntry, "streamableHttp"], {
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    yield* Effect.async<void, Error>((resume) => {
      let output = ""
      const onData = (chunk: Buffer) => {
        output += String(chunk)
        if (output.includes(`listening on port ${port}`)) resume(Effect.void)
      }
      child.stderr.on("data", onData)
      child.stdout.on("data", onData)
      child.once("exit", (code) => resume(Effect.fail(new Error(`server-everything exited with ${code}: ${output}`))))
    })
    return { child, url: `http://127.0.0.1:${port}/mcp` }
  }),
  ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
)

describe("server-everything over Streamable HTTP on loopback", () => {
  it.scopedLive("starts, lists tools, calls echo, get-sum and a long-running tool with progress, reads resources and prompts", () =>
    Effect.gen(function*() {
      const { url } = yield* startEverythingHttp
      yield* Effect.gen(function*() {
        const manager = yield* McpManager
        const summary = yield* manager.startAll
        assert.deepStrictEqual(summary, { ready: ["remote"], failed: [], cancelled: [] })
        const names = (yield* manager.tools).map((t) => t.qualifiedName)
        assert.includeMembers(names, ["mcp__remote__echo", "mcp__remote__get-sum"])
        const echoed = yield* manager.callQualifiedTool("mcp__remote__echo", { arguments: { message: "over http" } })
        assert.include(firstText(echoed), "over http")
        const sum = yield* manager.callTool({ server: "remote", tool: "get-sum", arguments: { a: 1, b: 2 } })
        assert.include(firstText(sum), "3")
        const seen: Array<number> = []
        yield* manager.callTool({
          server: "remote",
          tool: "trigger-long-running-operation",
          arguments: { duration: 0.2, steps: 2 },
          onProgress: (p) => seen.push(p.progress)
        })
        assert.deepStrictEqual(seen, [1, 2])
        const resources = yield* manager.listResources("remote")
        const contents = yield* manager.readResource("remote", String(resources[0]!["uri"]))
        assert.isAbove(contents.length, 0)
        const prompt = yield* manager.getPrompt("remote", "simple-prompt")
        assert.isArray(prompt["messages"])
        const events = yield* sessionEvents
        const session = events[0]!.payload as { servers: ReadonlyArray<{ transport: string; url?: string; headerKeys?: ReadonlyArray<string> }> }
        assert.deepStrictEqual(session.servers.map((s) => [s.transport, s.url, s.headerKeys]), [["streamable_http", url, ["Authorization"]]])
        assert.notInclude(JSON.stringify(events), "sekrit")
        const ready = events.find((e) => e.type === "mcp.server_ready")!
        assert.isString(ready.payload["protocolVersion"])
        yield* manager.shutdown
        const after = yield* sessionEvents
        assert.strictEqual(after.at(-1)?.type, "mcp.server_stopped")
      }).pipe(Effect.provide(managerLayer([httpServer("remote", url, {})].map((s) => ({
        ...s,
        transport: { ...s.transport, headers: { Authorization: "Bearer sekrit" } }
      })))))
    }))

  it.scopedLive("a server that is not listening fails startup with the error", () =>
    Effect.gen(function*() {
      const manager = yield* McpManager
      const summary = yield* manager.startAll
      assert.strictEqual(summary.failed.length, 1)
      assert.strictEqual(summary.failed[0]!.serverName, "gone")
      const events = yield* sessionEvents
      const failed = events.find((e) => e.type === "mcp.server_failed")!
      assert.strictEqual(failed.payload["reason"], "initialize")
    }).pipe(Effect.provide(managerLayer([httpServer("gone", "http://127.0.0.1:9/mcp", { startupTimeoutMs: 5_000 })]))))
})
