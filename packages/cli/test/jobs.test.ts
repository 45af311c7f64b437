import { IdGenerator, JobJson, JobsAppStatus } from "@codewhale/protocol"
import { layerSqlite } from "@codewhale/state"
import { JobStore } from "@codewhale/jobs"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { runCli } from "./support/runCli.ts"

const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-jobs-cli-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

const home = NodePath.join(dir, "home")
const env = { CODEWHALE_HOME: home }
const cli = (args: ReadonlyArray<string>) => runCli(args, { env })

/** Runs job commands in this process on the default database ($CODEWHALE_HOME/state.db). */
const withJobs = <A, E>(f: (jobs: typeof JobStore.Service) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.flatMap(JobStore, f).pipe(
      Effect.provide(Layer.provideMerge(JobStore.layer, Layer.mergeAll(Layer.orDie(layerSqlite({ filename: NodePath.join(home, "state.db") })), IdGenerator.layer)))
    )
  )

describe("codewhale jobs", () => {
  const ids = { busy: "", queued: "", long: "" }
  beforeAll(async () => {
    await withJobs((jobs) =>
      Effect.gen(function*() {
        ids.queued = (yield* jobs.enqueue("reindex")).id
        ids.busy = (yield* jobs.enqueue("backup", { maxAttempts: 5 })).id
        yield* jobs.start(ids.busy, "runner-test")
        yield* jobs.updateProgress(ids.busy, 40, "copying")
        ids.long = (yield* jobs.enqueue("long")).id
        yield* jobs.start(ids.long, "runner-test")
        for (let i = 0; i < 80; i++) yield* jobs.updateProgress(ids.long, i, `step ${i}`)
      })
    )
  }, 600_000)

  it("list prints every job, newest first, and filters by status", async () => {
    const r = await cli(["jobs", "list"])
    expect(r.status, r.stderr).toBe(0)
    const lines = r.stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS\s+PROGRESS\s+ATTEMPT\s+UPDATED$/)
    expect(lines.slice(1, 4).map((l) => l.split(/\s+/)[0])).toEqual([ids.long, ids.busy, ids.queued])
    expect(lines.find((l) => l.startsWith(ids.busy))).toMatch(/backup\s+running\s+40%\s+0\/5\s+\S+\s+copying/)
    expect(lines.at(-1)).toBe("3 job(s)")
    const running = await cli(["jobs", "list", "--status", "queued"])
    expect(running.stdout).toContain(ids.queued)
    expect(running.stdout).not.toContain(ids.busy)
    const bad = await cli(["jobs", "list", "--status", "sleeping"])
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain("unknown status sleeping")
  }, 600_000)

  it("no jobs command creates a database that is not there", async () => {
    const missing = NodePath.join(dir, "nowhere", "state.db")
    for (const args of [["jobs", "list", "--db", missing], ["jobs", "cancel", "job-x", "--db", missing]]) {
      const r = await cli(args)
      expect(r.status, args.join(" ")).toBe(1)
      expect(r.stderr).toContain(missing)
      expect(r.stderr).toContain("never creates a database")
    }
    expect(NodeFs.existsSync(NodePath.dirname(missing))).toBe(false)
  }, 600_000)

  it("list --json is the app/status output with one job_transition frame per history entry", async () => {
    const r = await cli(["jobs", "list", "--json"])
    expect(r.status, r.stderr).toBe(0)
    const status = Schema.decodeUnknownSync(JobsAppStatus)(JSON.parse(r.stdout))
    expect(status.ok).toBe(true)
    expect(status.data.jobs.map((j) => j.id)).toEqual([ids.long, ids.busy, ids.queued])
    expect(status.data.jobs[0]!.history).toHaveLength(64)
    expect(status.events).toHaveLength(64 + 3 + 1)
    expect(JSON.parse(status.events[0]!.delta)).toMatchObject({ kind: "job_transition", job_id: ids.long })
  }, 600_000)

  it("show prints one job; history prints every entry, beyond the 64 the projection keeps", async () => {
    const shown = await cli(["jobs", "show", ids.busy])
    expect(shown.status, shown.stderr).toBe(0)
    expect(shown.stdout).toContain("status    running (run 1 on runner-test")
    expect(shown.stdout).toContain("retry     attempt 0/5")
    const asJson = Schema.decodeUnknownSync(JobJson)(JSON.parse((await cli(["jobs", "show", ids.busy, "--json"])).stdout))
    expect(asJson).toMatchObject({ id: ids.busy, name: "backup", status: "running", progress: 40, detail: "copying" })
    const history = await cli(["jobs", "history", ids.long, "--json"])
    expect(history.status, history.stderr).toBe(0)
    const entries = JSON.parse(history.stdout) as Array<{ phase: string }>
    expect(entries).toHaveLength(82)
    expect(entries[0]?.phase).toBe("created")
  }, 600_000)

  it("pause, resume and cancel change the job; refused transitions and unknown ids fail with a clear message", async () => {
    const paused = await cli(["jobs", "pause", ids.busy, "--detail", "maintenance"])
    expect(paused.status, paused.stderr).toBe(0)
    expect(paused.stdout.trim()).toBe(`${ids.busy}  paused  maintenance`)
    const resumed = await cli(["jobs", "resume", ids.busy, "--json"])
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ id: ids.busy, status: "queued" })
    const cancelled = await cli(["jobs", "cancel", ids.queued, "--reason", "obsolete"])
    expect(cancelled.stdout.trim()).toBe(`${ids.queued}  cancelled  obsolete`)
    const refused = await cli(["jobs", "resume", ids.queued])
    expect(refused.status).toBe(1)
    expect(refused.stderr).toContain(`cannot resume job ${ids.queued}: it is cancelled`)
    const missing = await cli(["jobs", "cancel", "job-nope"])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toContain("job job-nope does not exist")
    const history = await withJobs((jobs) => jobs.history(ids.busy))
    expect(history.slice(-2).map((h) => h.phase)).toEqual(["paused", "resumed"])
  }, 600_000)

  it("list answers from the jobs read model: another process's new job is listed; log verify and log rebuild jobs know the model", async () => {
    const fresh = await withJobs((jobs) => jobs.enqueue("late"))
    const r = await cli(["jobs", "list", "--limit", "1"])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout.trim().split("\n")[1]?.split(/\s+/)[0]).toBe(fresh.id)
    const verify = await cli(["log", "verify", "--json"])
    expect(verify.status, verify.stderr).toBe(0)
    const models = (JSON.parse(verify.stdout) as { readModels: ReadonlyArray<{ name: string; ok: boolean }> }).readModels
    expect(models.find((m) => m.name === "jobs")).toMatchObject({ ok: true })
    const rebuilt = await cli(["log", "rebuild", "jobs"])
    expect(rebuilt.status, rebuilt.stderr).toBe(0)
    expect(rebuilt.stdout).toMatch(/^rebuilt jobs up to position \d+/)
    const after = await cli(["jobs", "list", "--json"])
    expect((JSON.parse(after.stdout) as { data: { jobs: ReadonlyArray<{ id: string }> } }).data.jobs.map((j) => j.id)).toEqual([
      fresh.id,
      ids.queued,
      ids.busy,
      ids.long
    ])
  }, 600_000)
})
