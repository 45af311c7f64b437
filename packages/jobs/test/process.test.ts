/**
 * Process-level tests: real runner processes on one SQLite file, killed with SIGKILL.
 */
import { IdGenerator } from "@codewhale/protocol"
import { EventStore, layerSqlite } from "@codewhale/state"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { JobStore, makeJobRunner } from "../src/index.ts"

const root = NodePath.resolve(import.meta.dirname, "../../..")
const fixture = NodePath.join(import.meta.dirname, "fixtures/runner.ts")

interface Runner {
  readonly child: ChildProcess
  /** Resolves with the first stdout line matching `pattern`. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>
  /** Sends `signal` and resolves when the process has exited. */
  readonly kill: (signal: NodeJS.Signals) => Promise<void>
  readonly output: () => string
}

const spawnRunner = (args: ReadonlyArray<string>): Runner => {
  const child = spawn(process.execPath, ["--conditions=@codewhale/source", "--import", "tsx", fixture, ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  const listeners = new Set<() => void>()
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    for (const l of listeners) l()
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  return {
    child,
    output: () => `${stdout}\n--- stderr ---\n${stderr}`,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          for (const line of stdout.split("\n")) {
            const m = line.match(pattern)
            if (m !== null) {
              listeners.delete(check)
              clearTimeout(timer)
              resolve(m)
              return
            }
          }
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${stdout}\n--- stderr ---\n${stderr}`))
        }, timeoutMs)
        listeners.add(check)
        void exited.then(() => {
          if (listeners.has(check)) {
            check()
            if (listeners.has(check)) {
              listeners.delete(check)
              clearTimeout(timer)
              reject(new Error(`runner exited (${child.exitCode}) before ${pattern}; output:\n${stdout}\n--- stderr ---\n${stderr}`))
            }
          }
        })
        check()
      }),
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
}

const tempDirs: Array<string> = []
afterAll(() => {
  for (const dir of tempDirs) NodeFs.rmSync(dir, { recursive: true, force: true })
})
const tempDb = () => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-jobs-"))
  tempDirs.push(dir)
  return NodePath.join(dir, "state.db")
}

const dbLayer = (filename: string) =>
  Layer.provideMerge(JobStore.layer, Layer.mergeAll(Layer.orDie(layerSqlite({ filename })), IdGenerator.layer))

describe("runner processes", () => {
  it.live("a runner killed with SIGKILL mid-job: a new runner records the interruption and finishes the job", () => {
    const db = tempDb()
    const runners: Array<Runner> = []
    return Effect.gen(function*() {
      const jobs = yield* JobStore
      const store = yield* EventStore
      const job = yield* jobs.enqueue("work", { input: { n: 1 } })
      const a = spawnRunner(["--db", db, "--runner", "runner-a", "--mode", "hang", "--lease", "1000", "--heartbeat", "200"])
      runners.push(a)
      const [, startedId] = yield* Effect.promise(() => a.waitFor(/^started (\S+) 1$/, 240_000))
      expect(startedId).toBe(job.id)
      yield* Effect.promise(() => a.kill("SIGKILL"))
      expect(a.child.signalCode).toBe("SIGKILL")
      expect((yield* jobs.get(job.id)).status).toBe("running")

      const b = spawnRunner(["--db", db, "--runner", "runner-b", "--mode", "finish", "--lease", "1000"])
      runners.push(b)
      const done = yield* jobs.awaitJob(job.id, (j) => j.status === "completed").pipe(
        Effect.timeoutFail({ duration: "300 seconds", onTimeout: () => new Error(`job not completed; runner b:\n${b.output()}`) })
      )
      expect(done.history.map((h) => h.phase)).toEqual([
        "created",
        "running",
        "progress_updated",
        "queued_after_resume",
        "running",
        "completed"
      ])
      expect(done.runs).toBe(2)
      expect(done.retry.attempt).toBe(1)
      const records = yield* store.readStream(job.id)
      const interrupted = records.find((r) => r.eventType === "job.interrupted")
      expect(interrupted?.payload).toMatchObject({ run: 1, runnerId: "runner-a", reason: "runner_lost", requeued: true, recordedBy: "runner-b" })
      const starts = records.filter((r) => r.eventType === "job.started").map((r) => (r.payload as { runnerId: string }).runnerId)
      expect(starts).toEqual(["runner-a", "runner-b"])
      // A clean stop (SIGTERM) records the runner's stop.
      yield* Effect.promise(() => b.kill("SIGTERM"))
      const last = yield* store.readStream("jobrunner-runner-b", { backwards: true, limit: 1 })
      expect(last[0]?.eventType).toBe("job.runner_stopped")
    }).pipe(
      Effect.provide(dbLayer(db)),
      Effect.ensuring(Effect.promise(() => Promise.all(runners.map((r) => r.kill("SIGKILL")))))
    )
  }, 600_000)

  it.live("two runner processes on one database never run the same job at once, and run each once", () => {
    const db = tempDb()
    const trace = NodePath.join(NodePath.dirname(db), "trace.log")
    NodeFs.writeFileSync(trace, "")
    const total = 64
    const runners: Array<Runner> = []
    return Effect.gen(function*() {
      const jobs = yield* JobStore
      for (const name of ["runner-a", "runner-b"]) {
        const r = spawnRunner(["--db", db, "--runner", name, "--mode", "slow", "--concurrency", "4", "--lease", "60000", "--trace", trace])
        runners.push(r)
      }
      // Both runners are up and watching the log before the first job exists, so they compete for every job.
      for (const r of runners) yield* Effect.promise(() => r.waitFor(/^ready$/, 240_000))
      const ids = yield* Effect.forEach(Array.from({ length: total }), () => Effect.map(jobs.enqueue("work"), (j) => j.id), {
        concurrency: 16
      })
      for (const id of ids) {
        yield* jobs.awaitJob(id, (j) => j.status === "completed").pipe(
          Effect.timeoutFail({ duration: "300 seconds", onTimeout: () => new Error(`${id} not completed:\n${runners.map((r) => r.output()).join("\n")}`) })
        )
      }
      const all = yield* jobs.list()
      expect(all.filter((j) => j.status === "completed")).toHaveLength(total)
      expect(all.every((j) => j.runs === 1)).toBe(true)
      const lines = NodeFs.readFileSync(trace, "utf8").trim().split("\n")
      const open = new Set<string>()
      const runs = new Map<string, number>()
      for (const line of lines) {
        const [kind, id] = line.split(" ")
        if (kind === "start") {
          expect(open.has(id!), `${id} started twice at once`).toBe(false)
          open.add(id!)
          runs.set(id!, (runs.get(id!) ?? 0) + 1)
        } else {
          open.delete(id!)
        }
      }
      expect(runs.size).toBe(total)
      expect([...runs.values()].every((n) => n === 1)).toBe(true)
      const byRunner = new Set(lines.map((l) => l.split(" ")[2]))
      expect(byRunner).toEqual(new Set(["runner-a", "runner-b"]))
    }).pipe(
      Effect.provide(dbLayer(db)),
      Effect.ensuring(Effect.promise(() => Promise.all(runners.map((r) => r.kill("SIGKILL")))))
    )
  }, 600_000)

  it.live("10,000 jobs running in a killed process are all recovered and completed after restart", () => {
    const db = tempDb()
    const runners: Array<Runner> = []
    const total = 10_000
    return Effect.gen(function*() {
      const a = spawnRunner([
        "--db", db, "--runner", "runner-a", "--mode", "hang", "--enqueue", String(total),
        "--concurrency", String(total), "--lease", "1000", "--heartbeat", "250", "--quiet"
      ])
      runners.push(a)
      yield* Effect.promise(() => a.waitFor(new RegExp(`^running ${total}$`), 600_000))
      yield* Effect.promise(() => a.kill("SIGKILL"))

      const jobs = yield* JobStore
      const before = yield* jobs.list({ status: ["running"] })
      expect(before).toHaveLength(total)

      // Restart: a new runner in this process.
      const ran = new Map<string, number>()
      let finished = 0
      yield* makeJobRunner({
        runnerId: "runner-b",
        concurrency: 64,
        handlers: {
          work: (ctx) =>
            Effect.sync(() => {
              ran.set(ctx.jobId, (ran.get(ctx.jobId) ?? 0) + 1)
              finished++
            })
        }
      })
      while (finished < total) yield* Effect.sleep("200 millis")
      let completed = 0
      for (let i = 0; i < 100 && completed < total; i++) {
        completed = (yield* jobs.list({ status: ["completed"] })).length
        if (completed < total) yield* Effect.sleep("200 millis")
      }
      const after = yield* jobs.list()
      expect(after).toHaveLength(total)
      expect(after.filter((j) => j.status === "completed")).toHaveLength(total)
      expect(after.every((j) => j.history.some((h) => h.phase === "queued_after_resume") && j.runs === 2)).toBe(true)
      expect(ran.size).toBe(total)
      expect([...ran.values()].every((n) => n === 1)).toBe(true)
    }).pipe(
      Effect.scoped,
      Effect.provide(dbLayer(db)),
      Effect.ensuring(Effect.promise(() => Promise.all(runners.map((r) => r.kill("SIGKILL")))))
    )
  }, 900_000)
})
