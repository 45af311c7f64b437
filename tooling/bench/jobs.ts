/**
 * Job benchmarks on SQLite (WAL, synchronous=NORMAL), each against raw better-sqlite3 writing the
 * same events one autocommit insert at a time, in the same run:
 * - `jobs-run`: enqueue N jobs, then a runner (concurrency 32, no-op handler) starts and completes
 *   them all (3 events per job);
 * - `jobs-recover`: N jobs left running by a dead runner are recorded as interrupted, restarted and
 *   completed by a new runner (3 events per job).
 */
import { IdGenerator, JobRunnerStarted, makeEnvelope } from "@codewhale/protocol"
import { EventStore, layerSqlite } from "@codewhale/state"
import { JobStore, makeJobRunner } from "@codewhale/jobs"
import Database from "better-sqlite3"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { type BenchCase, type BenchResult, time } from "./harness.ts"

const N = 2_000

const tempFile = (name: string) => NodePath.join(NodeOs.tmpdir(), `codewhale-bench-${process.pid}-${name}-${Date.now()}.db`)
const removeDb = (file: string) => {
  for (const suffix of ["", "-wal", "-shm"]) NodeFs.rmSync(file + suffix, { force: true })
}

const open = async (file: string) => {
  const runtime = ManagedRuntime.make(Layer.provideMerge(JobStore.layer, Layer.merge(layerSqlite({ filename: file, synchronous: "normal" }), IdGenerator.layer)))
  await runtime.runPromise(Effect.void)
  return runtime
}

/** Raw inserts of `events` job events per job, each its own autocommit statement (as each of ours is its own append). */
const rawBaseline = (events: number): number => {
  const file = tempFile("jobs-raw")
  const db = new Database(file)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  db.exec(
    "CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, stream_version INTEGER NOT NULL, event_type TEXT NOT NULL, payload TEXT NOT NULL, UNIQUE (stream_id, stream_version))"
  )
  const insert = db.prepare("INSERT INTO events (stream_id, stream_version, event_type, payload) VALUES (?, ?, ?, ?)")
  const start = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    for (let v = 1; v <= events; v++) insert.run(`job-${i}`, v, "job.x", JSON.stringify({ jobId: `job-${i}`, at: Date.now(), v }))
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  db.close()
  removeDb(file)
  return N / seconds
}

const result = (name: string, rate: number, baselineRate: number): BenchResult => ({
  name,
  rate: Math.round(rate),
  baselineRate: Math.round(baselineRate),
  ratio: Math.round((rate / baselineRate) * 100) / 100,
  unit: "jobs/s",
  target: "-",
  extra: { jobs: N, durability: "WAL, synchronous=NORMAL" }
})

const completedAll = Effect.gen(function*() {
  const jobs = yield* JobStore
  const pending = yield* jobs.list({ status: ["queued", "running", "failed"] })
  return pending.length === 0
})

const runUntilDone = (runnerId: string) =>
  Effect.gen(function*() {
    let done = 0
    yield* makeJobRunner({ runnerId, concurrency: 32, leaseMs: 1_000, handlers: { work: () => Effect.sync(() => void done++) } })
    while (done < N) yield* Effect.sleep("5 millis")
    while (!(yield* completedAll)) yield* Effect.sleep("20 millis")
  }).pipe(Effect.scoped)

/** The job benchmark cases. */
export const cases: ReadonlyArray<BenchCase> = [
  {
    name: "jobs-run",
    run: async () => {
      const file = tempFile("jobs-run")
      const runtime = await open(file)
      const enqueue = await time(() =>
        runtime.runPromise(Effect.flatMap(JobStore, (jobs) => Effect.forEach(Array.from({ length: N }), () => jobs.enqueue("work"), { concurrency: 32, discard: true })))
      )
      const seconds = await time(() => runtime.runPromise(runUntilDone("runner-bench")))
      await runtime.dispose()
      removeDb(file)
      const r = result("jobs-run", N / seconds, rawBaseline(2))
      return { ...r, extra: { ...r.extra, enqueuePerSecond: Math.round(N / enqueue) } }
    }
  },
  {
    name: "jobs-recover",
    run: async () => {
      const file = tempFile("jobs-recover")
      const runtime = await open(file)
      await runtime.runPromise(
        Effect.gen(function*() {
          const jobs = yield* JobStore
          const store = yield* EventStore
          yield* store.append("jobrunner-runner-dead", [
            yield* makeEnvelope(JobRunnerStarted, { runnerId: "runner-dead", pid: 0, hostname: "bench", leaseMs: 0, concurrency: N, expiresAt: 0, at: 0 })
          ])
          yield* Effect.forEach(Array.from({ length: N }), () => Effect.flatMap(jobs.enqueue("work"), (j) => jobs.start(j.id, "runner-dead")), {
            concurrency: 32,
            discard: true
          })
        })
      )
      const seconds = await time(() => runtime.runPromise(runUntilDone("runner-new")))
      await runtime.dispose()
      removeDb(file)
      return result("jobs-recover", N / seconds, rawBaseline(3))
    }
  }
]
