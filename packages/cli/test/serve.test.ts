import { afterAll, describe, expect, it } from "@effect/vitest"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { ServeClient } from "./serveClient.ts"

const require = createRequire(import.meta.url)
const everything = NodePath.join(NodePath.dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist", "index.js")

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) NodeFs.rmSync(d, { recursive: true, force: true })
})

/** A fresh home, workspace, database and config file. */
const fresh = (extraConfig = "") => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-serve-"))
  dirs.push(dir)
  const home = NodePath.join(dir, "home")
  const work = NodePath.join(dir, "work")
  NodeFs.mkdirSync(home, { recursive: true })
  NodeFs.mkdirSync(work, { recursive: true })
  NodeFs.writeFileSync(
    NodePath.join(dir, "policy.toml"),
    `[user]\ntrusted_prefixes = ["echo"]\ndenied_prefixes = ["rm -rf"]\n\n[[user.rules]]\naction = "ask"\ntool = "exec_shell"\ncommand = "touch"\n`
  )
  const config = NodePath.join(dir, "config.toml")
  NodeFs.writeFileSync(config, `approval_policy = "unless-trusted"\n[policy]\nfiles = ["policy.toml"]\n${extraConfig}`)
  const db = NodePath.join(dir, "state.db")
  const start = () => ServeClient.start(["--db", db, "--config", config, "--cwd", work], { CODEWHALE_HOME: home })
  return { dir, home, work, db, config, start }
}

const shell = (command: string) => ({ name: "exec_shell", payload: { type: "local_shell", params: { command } }, source: "direct" })

describe("codewhale serve", () => {
  it("healthz, capabilities with a params JSON Schema for every method, and the thread methods", async () => {
    const s = fresh().start()
    try {
      expect(await s.result("healthz")).toMatchObject({ status: "ok", transport: "stdio" })
      expect(await s.result("app/healthz")).toMatchObject({ status: "ok" })
      const caps = await s.result("capabilities")
      for (const m of ["thread/start", "thread/request", "app/request", "prompt/request", "prompt/run", "tool/invoke", "approval/respond", "approval/list", "grants/list", "grants/revoke", "jobs/enqueue", "jobs/list", "mcp/startup", "mcp/status", "app/status", "checkpoint/save", "checkpoint/load", "events/subscribe", "shutdown"]) {
        expect(caps.methods).toContain(m)
      }
      for (const [name, spec] of Object.entries(caps.schemas as Record<string, { params: { type?: string; $schema?: string } }>)) {
        expect(spec.params.$schema, name).toContain("json-schema.org")
      }
      expect(caps.schemas["thread/message"].params.required).toEqual(["thread_id", "input"])
      expect((await s.result("thread/capabilities")).methods).toContain("thread/fork")

      const created = await s.result("thread/create", null)
      expect(created.status).toBe("created")
      const started = await s.result("thread/start", { cwd: "/tmp/project", persist_extended_history: true })
      expect(started).toMatchObject({ status: "started", model: "auto", model_provider: "deepseek", cwd: "/tmp/project", threads: [], events: [] })
      const id = started.thread_id as string
      const message = await s.result("thread/message", { thread_id: id, input: "hello" })
      expect(message.status).toBe("accepted")
      expect(message.events.map((e: { event: string }) => e.event)).toEqual(["response_start", "response_delta", "response_end"])
      expect((await s.result("thread/set-name", { thread_id: id, name: "named" })).thread.name).toBe("named")
      const read = await s.result("thread/read", { thread_id: id })
      expect(read.data.history.map((h: { content: string }) => h.content)).toEqual(["hello"])
      expect(read.data.checkpoint.checkpoint_id).toBe("latest")
      const forked = await s.result("thread/fork", { thread_id: id })
      expect(forked.status).toBe("forked")
      expect((await s.result("thread/resume", { thread_id: "thread-missing" })).status).toBe("missing")
      expect((await s.result("thread/request", { kind: "archive", thread_id: id })).status).toBe("archived")
      expect((await s.result("thread/unarchive", { thread_id: id })).status).toBe("unarchived")
      const list = await s.result("thread/list", { limit: 10 })
      expect(list.threads.map((t: { id: string }) => t.id)).toContain(id)
      expect((await s.result("app/thread_loaded_list")).data.threads.length).toBe(3)

      const prompt = await s.result("prompt/run", { thread_id: id, prompt: "which model?", model: "deepseek-chat" })
      expect(prompt.model).toBe("deepseek-v4-flash")
      expect(JSON.parse(prompt.output)).toMatchObject({ provider: "deepseek", has_api_key: false, approval_policy: "unless-trusted" })
      expect((await s.result("prompt/capabilities")).methods).toEqual(["prompt/request", "prompt/run"])
      expect((await s.result("app/models")).data.models[0].id).toBe("deepseek-v4-pro")
      expect((await s.result("app/request", { kind: "config_get", key: "approval_policy" })).data).toEqual({ key: "approval_policy", value: "unless-trusted" })
      expect((await s.result("app/config/list")).data.values.provider).toBe("deepseek")
      expect((await s.result("app/capabilities")).data.config).toEqual(["get", "set", "unset", "list"])

      expect(await s.result("checkpoint/save", { thread_id: id, checkpoint_id: "before-refactor", state: { step: 3 } })).toMatchObject({ checkpoint_id: "before-refactor", state: { step: 3 } })
      expect((await s.result("checkpoint/load", { thread_id: id })).checkpoint_id).toBe("before-refactor")
      expect((await s.result("checkpoint/load", { thread_id: id, checkpoint_id: "latest" })).state.reason).toBe("prompt_response")
      expect((await s.result("checkpoint/list", { thread_id: id })).checkpoints.map((c: { checkpoint_id: string }) => c.checkpoint_id)).toEqual(["before-refactor", "latest"])

      expect(await s.result("shutdown")).toEqual({ ok: true, status: "stopped" })
      expect(await s.exited).toBe(0)
    } finally {
      s.proc.kill()
    }
  }, 300_000)

  it("malformed lines, bad requests, unknown methods and invalid params get the right error; the server keeps serving and stores nothing", async () => {
    const s = fresh().start()
    try {
      const { head_position: head } = await s.result("events/head")
      const from = s.messages.length
      s.sendLine("{not json")
      s.sendLine("")
      s.sendLine("42")
      s.sendLine(JSON.stringify({ jsonrpc: "1.0", id: "v", method: "healthz" }))
      s.sendLine(JSON.stringify({ jsonrpc: "2.0", id: { no: 1 }, method: "healthz" }))
      s.sendLine("[]")
      const parse = await s.waitFor((m) => m.error?.code === -32700, from)
      expect(parse).toMatchObject({ id: null, error: { data: null } })
      expect(parse.error!.message).toContain("invalid json")
      expect((await s.waitFor((m) => m.id === "v", from)).error).toMatchObject({ code: -32600, message: "jsonrpc version must be 2.0" })
      await s.waitFor((m) => m.error?.message === "a request must be a JSON object", from)
      await s.waitFor((m) => m.error?.message === "id must be a string, a number or null", from)
      await s.waitFor((m) => m.error?.message === "an empty batch is not a request", from)

      const unknown = await s.call("thread/explode", {})
      expect(unknown.error).toMatchObject({ code: -32601 })
      expect(unknown.error!.message).toContain("unsupported method: thread/explode")
      const missing = await s.call("thread/message", { thread_id: "thread-x" })
      expect(missing.error).toMatchObject({ code: -32602, message: "invalid params for thread/message: params.input is required" })
      expect((await s.call("thread/request", null)).error?.code).toBe(-32602)
      expect((await s.call("prompt/request")).error?.code).toBe(-32602)
      expect((await s.call("thread/start", [1, 2])).error?.code).toBe(-32602)
      expect((await s.call("tool/invoke", { call: { name: "exec_shell", payload: { type: "teleport" }, source: "direct" } })).error?.code).toBe(-32602)
      expect((await s.call("approval/respond", { approval_id: "approval-x", decision: { type: "maybe" } })).error?.code).toBe(-32602)
      const notFound = await s.call("thread/message", { thread_id: "thread-nope", input: "hi" })
      expect(notFound.error).toMatchObject({ code: -32000, data: { tag: "ThreadNotFound" } })
      const unknownApproval = await s.call("approval/respond", { approval_id: "approval-nope", decision: { type: "approved" } })
      expect(unknownApproval.error?.code).toBe(-32000)
      const badJob = await s.call("jobs/cancel", { job_id: "job-nope" })
      expect(badJob.error).toMatchObject({ code: -32000, data: { tag: "JobNotFound" } })
      const badConfig = await s.call("app/config/set", { key: "approval_policy", value: "sometimes" })
      expect(badConfig.error).toMatchObject({ code: -32000, data: { tag: "RuntimeConfigError", key: "approval_policy" } })

      // A notification (no id) is executed but not answered; a batch gets one array line.
      s.sendLine(JSON.stringify({ jsonrpc: "2.0", method: "healthz" }))
      s.sendLine(JSON.stringify([{ jsonrpc: "2.0", id: "b1", method: "healthz" }, { jsonrpc: "2.0", id: "b2", method: "nope" }]))
      expect(await s.result("healthz")).toMatchObject({ status: "ok" })
      expect((await s.result("events/head")).head_position).toBe(head)
      await s.close()
      const batch = s.messages.find((m) => Array.isArray(m)) as unknown as Array<{ id: string; error?: { code: number } }>
      expect(batch.map((m) => [m.id, m.error?.code ?? null])).toEqual([["b1", null], ["b2", -32601]])
      expect(s.messages.filter((m) => m.id === null && m.result !== undefined)).toEqual([])
    } finally {
      s.proc.kill()
    }
  }, 300_000)

  it("tool/invoke, approvals and grants: allowed, denied, asked then approved; approved_for_session makes a grant that can be revoked", async () => {
    const env = fresh()
    const s = env.start()
    try {
      const thread = (await s.result("thread/start", { cwd: env.work })).thread_id
      const allowed = await s.result("tool/invoke", { call: shell("echo served"), thread_id: thread })
      expect(allowed).toMatchObject({ ok: true, status: "completed", execution_kind: "shell" })
      expect(allowed.output.body.stdout).toContain("served")
      expect(allowed.events.map((e: { event: string }) => e.event)).toContain("tool_call_start")
      const denied = await s.result("tool/invoke", { call: shell("rm -rf ./x"), thread_id: thread })
      expect(denied).toMatchObject({ ok: false, status: "denied" })

      const asked = await s.result("tool/invoke", { call: shell("touch a.txt"), thread_id: thread })
      expect(asked.status).toBe("approval_required")
      expect(asked.events[0].event).toBe("exec_approval_request")
      const pending = await s.result("approval/list", { thread_id: thread })
      expect(pending.approvals.map((a: { approval_id: string }) => a.approval_id)).toEqual([asked.approval_id])
      const approved = await s.result("approval/respond", { approval_id: asked.approval_id, decision: { type: "approved" } })
      expect(approved.status).toBe("completed")
      expect(NodeFs.existsSync(NodePath.join(env.work, "a.txt"))).toBe(true)
      const twice = await s.call("approval/respond", { approval_id: asked.approval_id, decision: { type: "approved" } })
      expect(twice.error).toMatchObject({ code: -32000, data: { tag: "ApprovalAlreadyResolved" } })

      const again = await s.result("tool/invoke", { call: shell("touch b.txt"), thread_id: thread })
      const session = await s.result("approval/respond", { approval_id: again.approval_id, decision: { type: "approved_for_session" } })
      expect(session.status).toBe("completed")
      const grants = (await s.result("grants/list", { thread_id: thread })).grants
      expect(grants).toHaveLength(1)
      expect(grants[0]).toMatchObject({ threadId: thread, tool: "exec_shell", command: "touch b.txt" })
      const byGrant = await s.result("tool/invoke", { call: shell("touch b.txt"), thread_id: thread })
      expect(byGrant).toMatchObject({ status: "completed", authorized_by: "grant" })
      expect(await s.result("grants/revoke", { grant_id: grants[0].grantId, reason: "test" })).toEqual({ ok: true, grant_id: grants[0].grantId })
      expect((await s.result("tool/invoke", { call: shell("touch b.txt"), thread_id: thread })).status).toBe("approval_required")
      expect((await s.call("grants/revoke", { grant_id: grants[0].grantId })).error?.code).toBe(-32000)
      await s.close()
    } finally {
      s.proc.kill()
    }
  }, 300_000)

  it("jobs/* and app/status: the built-in exec_shell job runs; transitions are validated", async () => {
    const s = fresh().start()
    try {
      const { job } = await s.result("jobs/enqueue", { name: "exec_shell", input: { command: "echo from a job" } })
      expect(job).toMatchObject({ name: "exec_shell", status: "queued" })
      const done = await (async () => {
        for (let i = 0; i < 300; i++) {
          const j = (await s.result("jobs/get", { job_id: job.id })).job
          if (j.status === "completed" || j.status === "failed") return j
          await new Promise((r) => setTimeout(r, 100))
        }
        throw new Error("job did not finish")
      })()
      expect(done.status).toBe("completed")
      const history = (await s.result("jobs/history", { job_id: job.id })).history.map((h: { phase: string }) => h.phase)
      expect(history).toEqual(["created", "running", "completed"])

      const parked = (await s.result("jobs/enqueue", { name: "no-handler-here" })).job
      expect((await s.result("jobs/pause", { job_id: parked.id })).job.status).toBe("paused")
      expect((await s.result("jobs/resume", { job_id: parked.id })).job.status).toBe("queued")
      expect((await s.result("jobs/cancel", { job_id: parked.id, reason: "test" })).job.status).toBe("cancelled")
      const invalid = await s.call("jobs/resume", { job_id: parked.id })
      expect(invalid.error).toMatchObject({ code: -32000, data: { tag: "InvalidJobTransition" } })
      const list = await s.result("jobs/list", { status: ["cancelled"] })
      expect(list.jobs.map((j: { id: string }) => j.id)).toEqual([parked.id])
      expect(list.handlers).toContain("exec_shell")
      const status = await s.result("app/status")
      expect(status.ok).toBe(true)
      expect(status.data.jobs.map((j: { id: string }) => j.id).sort()).toEqual([job.id, parked.id].sort())
      const delta = JSON.parse(status.events[0].delta)
      expect(delta.kind).toBe("job_transition")
      await s.close()
    } finally {
      s.proc.kill()
    }
  }, 300_000)

  it("mcp/startup starts a real server from npm and its tools go through tool/invoke; mcp/status shows it", async () => {
    const env = fresh(
      `\n[[policy_extra]]\n`.replace(/.*/s, "") +
        `\n[mcp_servers.everything]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(everything)}, "stdio"]\nstartup_timeout_ms = 30000\n`
    )
    NodeFs.appendFileSync(NodePath.join(env.dir, "policy.toml"), `\n[[user.rules]]\naction = "allow"\ntool = "mcp__everything__get-sum"\n`)
    const s = env.start()
    try {
      expect((await s.result("mcp/status")).servers).toEqual([expect.objectContaining({ name: "everything", status: "idle" })])
      const startup = await s.result("mcp/startup")
      expect(startup.summary).toEqual({ ready: ["everything"], failed: [], cancelled: [] })
      expect(startup.events.at(-1).event).toBe("mcp_startup_complete")
      expect(startup.tools).toContain("mcp__everything__get-sum")
      expect((await s.result("mcp/status")).servers[0]).toMatchObject({ name: "everything", status: "ready" })
      const sum = await s.result("tool/invoke", {
        call: { name: "mcp__everything__get-sum", payload: { type: "mcp", server: "everything", tool: "get-sum", raw_arguments: { a: 2, b: 40 } }, source: "direct" }
      })
      expect(sum.status).toBe("completed")
      expect(JSON.stringify(sum.output)).toContain("42")
      await s.close()
    } finally {
      s.proc.kill()
    }
  }, 300_000)

  it("events/subscribe streams history then live events, survives a reconnect with no gap or duplicate, and resyncs on an unusable cursor", async () => {
    const env = fresh()
    const a = env.start()
    let lastSeen = 0
    let firstIds: Array<string> = []
    try {
      const sub = await a.result("events/subscribe", { after_position: 0 })
      expect(sub).toMatchObject({ after_position: 0, resync: false })
      const t = (await a.result("thread/start", {})).thread_id
      await a.result("thread/message", { thread_id: t, input: "one" })
      await a.waitFor((m) => m.method === "events/event" && m.params.event.eventType === "thread.message_added")
      const seen = a.events(sub.subscription_id)
      expect(seen.map((e) => e.position)).toEqual([...seen.map((e) => e.position)].sort((x, y) => x - y))
      lastSeen = seen.at(-1).position
      firstIds = seen.map((e) => e.eventId)
      await a.close()
    } finally {
      a.proc.kill()
    }
    // Events written while no one listens.
    const b = env.start()
    try {
      const t = (await b.result("thread/start", {})).thread_id
      await b.result("thread/message", { thread_id: t, input: "two" })
      const { head_position: head } = await b.result("events/head")
      await b.close()
      const c = env.start()
      try {
        const sub = await c.result("events/subscribe", { after_position: lastSeen })
        await c.waitFor((m) => m.method === "events/event" && m.params.event.position === head)
        const resumed = c.events(sub.subscription_id)
        expect(resumed[0].position).toBe(lastSeen + 1)
        const positions = resumed.map((e) => e.position)
        expect(positions).toEqual(Array.from({ length: positions.length }, (_, i) => lastSeen + 1 + i))
        expect(resumed.filter((e) => firstIds.includes(e.eventId))).toEqual([])

        const stale = await c.result("events/subscribe", { after_position: head + 1000 })
        expect(stale).toMatchObject({ resync: true, after_position: 0 })
        const resync = await c.waitFor((m) => m.method === "events/resync" && m.params.subscription_id === stale.subscription_id)
        expect(resync.params.reason).toContain("beyond the log's head")
        await c.waitFor((m) => m.method === "events/event" && m.params.subscription_id === stale.subscription_id && m.params.event.position === 1)
        expect(await c.result("events/unsubscribe", { subscription_id: stale.subscription_id })).toEqual({ ok: true })
        await c.close()
      } finally {
        c.proc.kill()
      }
    } finally {
      b.proc.kill()
    }
  }, 300_000)

  it("two server processes on one database see each other's events", async () => {
    const env = fresh()
    const a = env.start()
    const b = env.start()
    try {
      const subA = await a.result("events/subscribe", {})
      const subB = await b.result("events/subscribe", {})
      const fromA = (await a.result("thread/start", { name: "from A" })).thread_id
      const fromB = (await b.result("thread/start", { name: "from B" })).thread_id
      await a.waitFor((m) => m.method === "events/event" && m.params.event.streamId === fromB)
      await b.waitFor((m) => m.method === "events/event" && m.params.event.streamId === fromA)
      expect((await b.result("thread/read", { thread_id: fromA })).thread.name).toBe("from A")
      await b.result("thread/message", { thread_id: fromA, input: "written by B" })
      expect((await a.result("thread/read", { thread_id: fromA })).data.history.map((h: { content: string }) => h.content)).toEqual(["written by B"])
      const ids = (s: typeof a, id: string) => s.events(id).map((e) => e.eventId)
      await a.waitFor((m) => m.method === "events/event" && m.params.event.eventType === "thread.message_added")
      expect(new Set(ids(a, subA.subscription_id)).size).toBe(ids(a, subA.subscription_id).length)
      expect(ids(b, subB.subscription_id).length).toBeGreaterThan(0)
      await Promise.all([a.close(), b.close()])
    } finally {
      a.proc.kill()
      b.proc.kill()
    }
  }, 300_000)
})
