/** `codewhale serve` (a child process over stdio): thread goals and lifecycle hooks. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import Database from "better-sqlite3"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { ServeClient } from "./serveClient.ts"

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) NodeFs.rmSync(d, { recursive: true, force: true })
})

/** A fresh home, workspace, database and config file (with the given extra TOML). */
const fresh = (extraConfig: (dir: string) => string = () => "") => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-serve-goals-"))
  dirs.push(dir)
  const home = NodePath.join(dir, "home")
  const work = NodePath.join(dir, "work")
  NodeFs.mkdirSync(home, { recursive: true })
  NodeFs.mkdirSync(work, { recursive: true })
  const config = NodePath.join(dir, "config.toml")
  NodeFs.writeFileSync(config, extraConfig(dir))
  const db = NodePath.join(dir, "state.db")
  const start = () => ServeClient.start(["--db", db, "--config", config, "--cwd", work, "--no-job-runner"], { CODEWHALE_HOME: home })
  return { dir, work, db, start }
}

const goalMethods = ["thread/goal/set", "thread/goal/get", "thread/goal/clear"]

describe("codewhale serve: goals and lifecycle hooks", () => {
  it("thread/goal/set|get|clear and their aliases; capabilities list them with params schemas; invalid params are -32602 and store nothing", async () => {
    const s = fresh().start()
    try {
      const caps = await s.result("capabilities")
      for (const m of [...goalMethods, "thread/goal_set", "thread/goal-set", "thread/goal_get", "thread/goal-get", "thread/goal_clear", "thread/goal-clear"]) {
        expect(caps.methods).toContain(m)
      }
      expect(caps.schemas["thread/goal/set"].params.required).toEqual(["thread_id", "objective"])
      expect(caps.schemas["thread/goal/set"].params.properties.token_budget).toBeDefined()
      expect(caps.schemas["thread/goal/clear"].params.required).toEqual(["thread_id"])
      expect((await s.result("thread/capabilities")).methods).toEqual(expect.arrayContaining(goalMethods))

      const id = (await s.result("thread/start", {})).thread_id as string
      const set = await s.result("thread/goal/set", { thread_id: id, objective: "ship goals", token_budget: 1000 })
      expect(set).toMatchObject({ thread_id: id, status: "ok", goal: { thread_id: id, objective: "ship goals", status: "active", token_budget: 1000, tokens_used: 0 } })
      expect(set.events).toEqual([{ event: "thread_goal_updated", goal: set.goal }])
      expect(set.data).toEqual({ goal: set.goal })
      const aliased = await s.result("thread/goal-set", { thread_id: id, objective: "ship goals, take two", token_budget: null })
      expect(aliased.goal.goal_id).not.toBe(set.goal.goal_id)
      expect(aliased.goal).not.toHaveProperty("token_budget")
      expect((await s.result("thread/goal_get", { thread_id: id })).goal).toEqual(aliased.goal)
      expect((await s.result("thread/read", { thread_id: id })).goal).toEqual(aliased.goal)
      expect((await s.result("thread/list", {})).threads.find((t: { id: string }) => t.id === id).goal).toEqual(aliased.goal)
      expect((await s.result("thread/request", { kind: "goal_get", thread_id: id })).goal).toEqual(aliased.goal)

      const cleared = await s.result("thread/goal/clear", { thread_id: id })
      expect(cleared).toMatchObject({ status: "cleared", events: [{ event: "thread_goal_cleared", thread_id: id }], data: { cleared: true } })
      expect(await s.result("thread/goal-clear", { thread_id: id })).toMatchObject({ status: "empty", events: [], data: { cleared: false } })
      expect(await s.result("thread/goal/get", { thread_id: id })).toMatchObject({ status: "ok", data: { goal: null } })
      expect(await s.result("thread/goal/set", { thread_id: "thread-nope", objective: "x" })).toMatchObject({ status: "missing", data: { error: "thread not found" } })

      const { head_position: head } = await s.result("events/head")
      const invalid = [
        [{ thread_id: id }, "invalid params for thread/goal/set: params.objective is required"],
        [{ thread_id: id, objective: "   " }, "invalid params for thread/goal/set: params.objective must not be empty"],
        [{ thread_id: id, objective: "x", token_budget: 0 }, "invalid params for thread/goal/set: params.token_budget must be a positive integer"],
        [{ thread_id: id, objective: "x", token_budget: 1.5 }, "invalid params for thread/goal/set: params.token_budget"],
        [{ objective: "x" }, "invalid params for thread/goal/set: params.thread_id is required"]
      ] as const
      for (const [params, message] of invalid) {
        const answer = await s.call("thread/goal/set", params)
        expect(answer.error?.code, JSON.stringify(params)).toBe(-32602)
        expect(answer.error?.message).toContain(message)
      }
      expect((await s.call("thread/goal/clear", {})).error?.code).toBe(-32602)
      expect((await s.call("thread/goal/get", { thread_id: 7 })).error?.code).toBe(-32602)
      expect((await s.result("events/head")).head_position).toBe(head)
      expect((await s.result("thread/goal/get", { thread_id: id })).data).toEqual({ goal: null })
      await s.close()
    } finally {
      s.proc.kill()
    }
  }, 300_000)

  it("lifecycle hooks from config.toml: SessionStart, a blocking UserPromptSubmit, and SessionEnd after shutdown, all recorded", async () => {
    const env = fresh((dir) => {
      const calls = NodePath.join(dir, "calls.jsonl")
      NodeFs.writeFileSync(NodePath.join(dir, "record.sh"), `#!/bin/sh\ncat >> "${calls}"\n`)
      NodeFs.writeFileSync(NodePath.join(dir, "gate.sh"), `#!/bin/sh\ninput=$(cat)\nprintf '%s\\n' "$input" >> "${calls}"\ncase "$input" in *deploy*) echo "deploys need a ticket" >&2; exit 2;; esac\nexit 0\n`)
      return [
        `[[hooks.SessionStart]]`,
        `command = "sh ${NodePath.join(dir, "record.sh")}"`,
        `[[hooks.UserPromptSubmit]]`,
        `command = "sh ${NodePath.join(dir, "gate.sh")}"`,
        `[[hooks.SessionEnd]]`,
        `command = "sh ${NodePath.join(dir, "record.sh")}"`,
        ""
      ].join("\n")
    })
    const calls = () => NodeFs.readFileSync(NodePath.join(env.dir, "calls.jsonl"), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
    const s = env.start()
    try {
      const id = (await s.result("thread/start", { cwd: env.work })).thread_id as string
      expect(calls()).toEqual([expect.objectContaining({ hook_event_name: "SessionStart", session_id: id, source: "startup", cwd: env.work })])
      const ok = await s.result("prompt/run", { thread_id: id, prompt: "explain the build" })
      expect(ok.status).toBeUndefined()
      const blocked = await s.result("prompt/run", { thread_id: id, prompt: "deploy to production" })
      expect(blocked).toMatchObject({ status: "blocked", blocked_by: { reason: "deploys need a ticket" } })
      expect(blocked.events.map((e: { event: string }) => e.event)).toEqual(["response_start", "error", "response_end"])
      const history = (await s.result("thread/read", { thread_id: id })).data.history.map((h: { content: string }) => h.content)
      expect(history).toHaveLength(2)
      expect(history[0]).toBe("explain the build")
      expect(await s.result("shutdown")).toEqual({ ok: true, status: "stopped" })
      expect(await s.exited).toBe(0)
      expect(calls().map((c) => c.hook_event_name)).toEqual(["SessionStart", "UserPromptSubmit", "UserPromptSubmit", "SessionEnd"])
      expect(calls().at(-1)).toMatchObject({ session_id: id, reason: "shutdown" })
      const db = new Database(env.db, { readonly: true })
      const rows = db.prepare("SELECT stream_id, payload FROM events WHERE event_type = 'hook.run_finished' ORDER BY position").all() as Array<{ stream_id: string; payload: string }>
      db.close()
      expect(rows.map((r) => [JSON.parse(r.payload).hook_event, JSON.parse(r.payload).outcome])).toEqual([
        ["SessionStart", "success"],
        ["UserPromptSubmit", "success"],
        ["UserPromptSubmit", "blocked"],
        ["SessionEnd", "success"]
      ])
      expect(new Set(rows.map((r) => r.stream_id)).size).toBe(1)
      expect(rows[0]!.stream_id).toMatch(/^session-/)
    } finally {
      s.proc.kill()
    }
  }, 300_000)
})
