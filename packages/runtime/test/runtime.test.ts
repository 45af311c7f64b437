import { IdGenerator } from "@codewhale/protocol"
import { EventStore, layerSqlite } from "@codewhale/state"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { defaultRuntimeOptions, type ResolvedRuntimeOptions } from "../src/Config.ts"
import { Runtime, type RuntimeLayerOptions } from "../src/Runtime.ts"

const require = createRequire(import.meta.url)
const everything = NodePath.join(NodePath.dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist", "index.js")

const tempDir = () => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-runtime-"))

const policy = {
  user: {
    trusted_prefixes: ["echo"],
    denied_prefixes: ["rm -rf"],
    rules: [{ action: "ask" as const, tool: "exec_shell", command: "touch" }, { action: "allow" as const, tool: "mcp__everything__echo" }]
  }
}

const config = (over: Partial<ResolvedRuntimeOptions> = {}): ResolvedRuntimeOptions => ({
  ...defaultRuntimeOptions,
  approvalPolicy: "unless-trusted",
  askForApproval: "unless_trusted",
  policies: [{ file: "<test>", toml: "", policy }],
  ...over
})

const runtimeOn = (file: string, options: RuntimeLayerOptions = {}) =>
  Runtime.layer({ config: config(), ...options }).pipe(
    Layer.provideMerge(Layer.merge(layerSqlite({ filename: file, pollInterval: "20 millis" }), IdGenerator.layer))
  )

const shell = (command: string) => ({
  name: "exec_shell",
  payload: { type: "local_shell" as const, params: { command } },
  source: "direct" as const,
  raw_tool_call_id: null
})

describe("Runtime", { timeout: 180_000 }, () => {
  it.scopedLive("handleThread delegates to the thread store and a message saves the latest checkpoint", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const started = yield* rt.handleThread({ kind: "start", persist_extended_history: false })
      expect(started.status).toBe("started")
      expect(started.model).toBe("auto")
      const message = yield* rt.handleThread({ kind: "message", thread_id: started.thread_id, input: "hello" })
      expect(message.status).toBe("accepted")
      expect(message.events.map((e) => e.event)).toEqual(["response_start", "response_delta", "response_end"])
      const latest = yield* rt.loadCheckpoint(started.thread_id)
      expect(latest.checkpointId).toBe("latest")
      expect(JSON.parse(latest.state)).toMatchObject({ reason: "thread_message" })
    }).pipe(Effect.provide(runtimeOn(NodePath.join(tempDir(), "state.db")))))

  it.scopedLive("handlePrompt resolves the model, records prompt and response, saves the latest checkpoint; the key never reaches the log", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const started = yield* rt.handleThread({ kind: "start", persist_extended_history: false })
      const response = yield* rt.handlePrompt({ thread_id: started.thread_id, prompt: "Summarise the repo", model: "deepseek-chat" })
      expect(response.model).toBe("deepseek-v4-flash")
      expect(response.events.map((e) => e.event)).toEqual(["response_start", "response_delta", "response_end"])
      const output = JSON.parse(response.output) as Record<string, unknown>
      expect(output).toMatchObject({ provider: "deepseek", model: "deepseek-v4-flash", prompt: "Summarise the repo", has_api_key: true, telemetry: false })
      const read = yield* rt.handleThread({ kind: "read", thread_id: started.thread_id })
      const history = (read.data as { history: Array<{ role: string; content: string }> }).history
      expect(history.map((h) => h.role)).toEqual(["user", "assistant"])
      const checkpoint = yield* rt.loadCheckpoint(started.thread_id, "latest")
      expect(JSON.parse(checkpoint.state)).toMatchObject({ reason: "prompt_response", state: { model: "deepseek-v4-flash", provider: "deepseek" } })
      const store = yield* EventStore
      const all = yield* Stream.runCollect(store.streamAll())
      expect(JSON.stringify([...all])).not.toContain("sk-very-secret")
    }).pipe(Effect.provide(runtimeOn(NodePath.join(tempDir(), "state.db"), {
      config: config({ apiKey: Redacted.make("sk-very-secret-key"), hasApiKey: true, apiKeySource: "env" })
    }))))

  it.scopedLive("invokeTool: allowed runs, denied by policy is refused, ask waits for an approval that resumes the call", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const allowed = yield* rt.invokeTool(shell("echo hello"))
      expect(allowed.status).toBe("completed")
      expect(JSON.stringify(allowed.output)).toContain("hello")
      const denied = yield* rt.invokeTool(shell("rm -rf ./build"))
      expect(denied.status).toBe("denied")
      const asked = yield* rt.invokeTool(shell(`touch ${NodePath.join(rt.cwd, "approved.txt")}`))
      expect(asked.status).toBe("approval_required")
      const pending = yield* rt.pendingApprovals()
      expect(pending.map((p) => p.approvalId)).toEqual([asked.approval_id])
      const answered = yield* rt.respondToApproval(asked.approval_id!, { type: "approved" })
      expect(answered.status).toBe("completed")
      expect(NodeFs.existsSync(NodePath.join(rt.cwd, "approved.txt"))).toBe(true)
      expect(yield* rt.pendingApprovals()).toEqual([])
    }).pipe(Effect.provide(runtimeOn(NodePath.join(tempDir(), "state.db"), { cwd: tempDir() }))))

  it.scopedLive("a job that fails once succeeds on its retry; app/status shows its history", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const job = yield* rt.enqueueJob("flaky", { backoffBaseMs: 10 })
      const done = yield* rt.jobs.awaitJob(job.id, (j) => j.status === "completed" || (j.status === "failed" && j.retry.nextRetryAt === null))
      expect(done.status).toBe("completed")
      const status = yield* rt.appStatus
      const json = status.data.jobs.find((j) => j.id === job.id)!
      expect(json.history.map((h) => h.phase)).toContain("failed")
      expect(json.history.map((h) => h.phase).at(-1)).toBe("completed")
      expect(status.events.length).toBeGreaterThan(0)
    }).pipe(Effect.provide(runtimeOn(NodePath.join(tempDir(), "state.db"), {
      jobHandlers: { flaky: (ctx) => (ctx.run === 1 ? Effect.fail("first attempt fails on purpose") : Effect.succeed("ok")) }
    }))))

  it.scopedLive("two runtimes on one database see each other's threads and events", () =>
    Effect.gen(function*() {
      const file = NodePath.join(tempDir(), "shared.db")
      const a = yield* Layer.build(runtimeOn(file, { jobRunner: false }))
      const b = yield* Layer.build(runtimeOn(file, { jobRunner: false }))
      const rtA = a.unsafeMap.get(Runtime.key) as Runtime["Type"]
      const rtB = b.unsafeMap.get(Runtime.key) as Runtime["Type"]
      const started = yield* rtA.handleThread({ kind: "start", persist_extended_history: false })
      yield* rtA.handleThread({ kind: "message", thread_id: started.thread_id, input: "from A" })
      const read = yield* rtB.handleThread({ kind: "read", thread_id: started.thread_id })
      expect((read.data as { history: Array<{ content: string }> }).history.map((h) => h.content)).toEqual(["from A"])
      yield* rtB.handleThread({ kind: "message", thread_id: started.thread_id, input: "from B" })
      const back = yield* rtA.handleThread({ kind: "read", thread_id: started.thread_id })
      expect((back.data as { history: Array<{ content: string }> }).history.map((h) => h.content)).toEqual(["from A", "from B"])
    }))

  const home = tempDir()
  it.scopedLive("app requests: models, config list (redacted), invalid config_set changes nothing", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const models = yield* rt.handleApp({ kind: "models" })
      expect((models.data as { models: Array<{ id: string }> }).models[0]!.id).toBe("deepseek-v4-pro")
      const list = yield* rt.handleApp({ kind: "config_list" })
      expect(list.data).toMatchObject({ values: { provider: "deepseek", api_key: "********" } })
      const set = yield* rt.handleApp({ kind: "config_set", key: "model", value: "deepseek-v4-flash" })
      expect(set.ok).toBe(true)
      expect(NodeFs.readFileSync(NodePath.join(home, "config.toml"), "utf8")).toContain("deepseek-v4-flash")
      expect((yield* rt.options).model).toBe("deepseek-v4-flash")
      const bad = yield* Effect.either(rt.handleApp({ kind: "config_set", key: "approval_policy", value: "sometimes" }))
      expect(bad._tag).toBe("Left")
      expect(NodeFs.readFileSync(NodePath.join(home, "config.toml"), "utf8")).not.toContain("sometimes")
    }).pipe(Effect.provide(runtimeOn(NodePath.join(tempDir(), "state.db"), {
      config: config({ hasApiKey: true, apiKey: Redacted.make("sk-x") }),
      configSources: { home, cwd: tempDir(), env: {} }
    }))))

  it.scopedLive("mcpStartup starts a real MCP server; its tools are called through the pipeline", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const started = yield* rt.mcpStartup
      expect(started.summary).toEqual({ ready: ["everything"], failed: [], cancelled: [] })
      expect(started.events.map((e) => e.event)).toContain("mcp_startup_complete")
      expect(started.tools).toContain("mcp__everything__echo")
      const echo = yield* rt.invokeTool({
        name: "mcp__everything__echo",
        payload: { type: "mcp", server: "everything", tool: "echo", raw_arguments: { message: "whale" } },
        source: "direct",
        raw_tool_call_id: null
      })
      expect(echo.status).toBe("completed")
      expect(JSON.stringify(echo.output)).toContain("whale")
      const status = yield* rt.mcpStatus
      expect(status.map((s) => [s.name, s.status])).toEqual([["everything", "ready"]])
    }).pipe(Effect.provide(runtimeOn(NodePath.join(tempDir(), "state.db"), {
      config: config({
        mcpServers: [{
          name: "everything",
          transport: { _tag: "stdio", command: process.execPath, args: [everything, "stdio"], env: {}, cwd: undefined },
          enabled: true,
          required: true,
          startupTimeoutMs: 30_000,
          toolTimeoutMs: 30_000
        }]
      })
    }))))
})
