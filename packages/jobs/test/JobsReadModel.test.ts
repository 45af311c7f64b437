import { IdGenerator } from "@codewhale/protocol"
import { catchUp, EventStore, layerSqlite, verifyLog } from "@codewhale/state"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { jobRegistry, jobsReadModel, JobStore, type JobStoreShape, type ListJobsOptions, makeJobStore, makeJobStoreSql } from "../src/index.ts"

const tempDirs: Array<string> = []
afterAll(() => {
  for (const dir of tempDirs) NodeFs.rmSync(dir, { recursive: true, force: true })
})
const tempDb = () => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-jobs-rm-"))
  tempDirs.push(dir)
  return NodePath.join(dir, "state.db")
}

const base = (filename: string, seed = 0) => Layer.mergeAll(Layer.orDie(layerSqlite({ filename })), IdGenerator.layerTest(seed))

/** Both list implementations over the same log: the read model and the old full-replay fold. */
const bothStores = Effect.all({ sql: makeJobStoreSql, fold: makeJobStore })

const queries: ReadonlyArray<ListJobsOptions | undefined> = [
  undefined,
  {},
  { status: ["queued"] },
  { status: ["running"] },
  { status: ["paused"] },
  { status: ["completed"] },
  { status: ["failed"] },
  { status: ["cancelled"] },
  { status: ["queued", "failed", "cancelled"] },
  { status: [] },
  { name: "beta" },
  { name: "nobody" },
  { name: "gamma", status: ["completed", "failed"] },
  { limit: 0 },
  { limit: 1 },
  { limit: 7 },
  { limit: 10_000 },
  { limit: -3 },
  { name: "alpha", limit: 3 },
  { status: ["running", "paused"], limit: 2 }
]

const sameAnswers = (sql: JobStoreShape, fold: JobStoreShape) =>
  Effect.gen(function*() {
    for (const q of queries) {
      const fromModel = yield* sql.list(q)
      const fromFold = yield* fold.list(q)
      expect(fromModel, JSON.stringify(q)).toEqual(fromFold)
      expect(JSON.stringify(fromModel)).toBe(JSON.stringify(fromFold))
    }
    expect(yield* sql.appStatus).toEqual(yield* fold.appStatus)
  })

const names = ["alpha", "beta", "gamma"] as const

/** Enqueues `n` jobs and drives them into every status, touching older jobs again so update order differs from creation order. */
const populate = (jobs: JobStoreShape, n: number, check?: Effect.Effect<void, unknown>) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    for (let i = 0; i < n; i++) {
      const job = yield* jobs.enqueue(names[i % names.length]!, { input: { i, nested: { z: 1, a: [i] } }, maxAttempts: i % 4 === 0 ? 0 : 2 })
      ids.push(job.id)
      yield* TestClock.adjust("250 millis")
      switch (i % 7) {
        case 0:
          break
        case 1:
          yield* jobs.start(job.id, "runner-a")
          yield* jobs.updateProgress(job.id, (i * 13) % 100, `step ${i}`)
          break
        case 2:
          yield* jobs.pause(job.id, { detail: "hold", actor: "tester" })
          break
        case 3:
          yield* jobs.start(job.id, "runner-b")
          yield* jobs.updateProgress(job.id, 33.5)
          yield* jobs.complete(job.id)
          break
        case 4:
          yield* jobs.start(job.id, "runner-a")
          yield* jobs.fail(job.id, `boom ${i}`, { jitterMs: i })
          break
        case 5:
          yield* jobs.cancel(job.id, { reason: "not needed", actor: "tester" })
          break
        case 6:
          yield* jobs.start(job.id, "runner-c")
          yield* jobs.interrupt(job.id, { reason: "runner_lost", recordedBy: "runner-d" })
          break
      }
      // Older jobs move again: the newest update is not the newest job.
      if (i % 5 === 4) {
        const older = ids[Math.floor(i / 2)]!
        const current = yield* jobs.get(older)
        if (current.status === "running") yield* jobs.updateProgress(older, 99, "almost")
        else if (current.status === "paused") yield* jobs.resume(older, { detail: "go" })
        else if (current.status === "queued") yield* jobs.start(older, "runner-e")
      }
      if (check !== undefined && i % 9 === 0) yield* check
    }
    return ids
  })

describe("jobs read model", () => {
  it.effect("answers list and app/status exactly as the full replay of the log does, read model caught up page by page", () => {
    const filename = tempDb()
    return Effect.gen(function*() {
      const { sql, fold } = yield* bothStores
      // Compare while the log grows, so rows evolve from stored rows as well as in one page.
      yield* populate(sql, 80, sameAnswers(sql, fold))
      yield* sameAnswers(sql, fold)
      const statuses = new Set((yield* fold.list()).map((j) => j.status))
      expect([...statuses].sort()).toEqual(["cancelled", "completed", "failed", "paused", "queued", "running"])
      const failed = yield* fold.list({ status: ["failed"] })
      expect(failed.some((j) => j.retry.nextRetryAt === null)).toBe(true)
      expect(failed.some((j) => j.retry.nextRetryAt !== null)).toBe(true)
      // Newest update first: strictly decreasing log positions.
      const all = yield* sql.list()
      expect(all.length).toBe(80)
      expect(all.map((j) => j.position)).toEqual([...all.map((j) => j.position)].sort((a, b) => b - a))
      // `log verify`: the model equals a fresh rebuild.
      const report = yield* verifyLog({ registry: jobRegistry, readModels: [jobsReadModel] })
      expect(report.readModels).toEqual([{ name: "jobs", ok: true, detail: expect.stringContaining("equal to a fresh rebuild") }])
    }).pipe(Effect.provide(base(filename)))
  }, 120_000)

  it.effect("read-your-writes: a job enqueued just before list is in the answer, also when another connection wrote it", () => {
    const filename = tempDb()
    return Effect.gen(function*() {
      // Two connections to one file, open for the whole test: a reader on the read model, a writer on the fold.
      const reader = yield* makeJobStoreSql.pipe(Effect.provide(yield* Layer.build(base(filename, 1))))
      expect(yield* reader.list()).toEqual([])
      const writer = yield* makeJobStore.pipe(Effect.provide(yield* Layer.build(base(filename, 2))))
      const job = yield* writer.enqueue("remote")
      expect((yield* reader.list()).map((j) => j.id)).toEqual([job.id])
      yield* writer.start(job.id, "runner-z")
      const mine = yield* reader.enqueue("local")
      expect((yield* reader.list()).map((j) => [j.id, j.status])).toEqual([[mine.id, "queued"], [job.id, "running"]])
      expect((yield* reader.appStatus).data.jobs.map((j) => j.id)).toEqual([mine.id, job.id])
    }).pipe(Effect.scoped)
  }, 60_000)

  it.effect("a version change rebuilds the model; a corrupt row is a typed error until the model is rebuilt", () => {
    const filename = tempDb()
    return Effect.gen(function*() {
      const { sql, fold } = yield* bothStores
      const client = yield* SqlClient.SqlClient
      yield* populate(sql, 14)
      yield* sameAnswers(sql, fold)
      const victim = (yield* fold.list({ status: ["queued", "running", "paused"] }))[1]!
      yield* client.unsafe("UPDATE jobs_list SET state = '{not json' WHERE job_id = ?", [victim.id])
      const error = yield* Effect.flip(sql.list())
      expect(error._tag).toBe("CorruptJobRow")
      expect(error.message).toContain(victim.id)
      // A row missing a field is as corrupt as one that is not JSON.
      yield* client.unsafe("UPDATE jobs_list SET state = '{\"id\":\"x\"}' WHERE job_id = ?", [victim.id])
      expect((yield* Effect.flip(sql.appStatus))._tag).toBe("CorruptJobRow")
      // An event for the corrupt job: applying it fails with a typed error, nothing is half-written.
      yield* sql.cancel(victim.id, { reason: "corrupt row test" })
      const applying = yield* Effect.flip(sql.list())
      expect(applying._tag).toBe("JobListUnavailable")
      // The stored model version differs from the code's: the next catch-up rebuilds it.
      yield* client.unsafe("UPDATE projection_checkpoints SET version = 0 WHERE name = 'jobs'")
      yield* sameAnswers(sql, fold)
      const checkpoint = yield* client.unsafe<{ version: number; position: number }>(
        "SELECT version, position FROM projection_checkpoints WHERE name = 'jobs'"
      ).withoutTransform
      const store = yield* EventStore
      expect(checkpoint.map((c) => [Number(c.version), Number(c.position)])).toEqual([[jobsReadModel.version, yield* store.headPosition]])
    }).pipe(Effect.provide(base(filename)))
  }, 60_000)

  it.effect("catchUp rebuilds from nothing to the same rows (log rebuild jobs)", () => {
    const filename = tempDb()
    return Effect.gen(function*() {
      const { sql } = yield* bothStores
      yield* populate(sql, 20)
      yield* sql.list()
      const before = yield* jobsReadModel.dump
      const client = yield* SqlClient.SqlClient
      yield* client.unsafe("DELETE FROM projection_checkpoints WHERE name = 'jobs'")
      yield* catchUp(jobsReadModel)
      expect(yield* jobsReadModel.dump).toEqual(before)
    }).pipe(Effect.provide(base(filename)))
  }, 60_000)

  it.effect("JobStore.layerSql serves the same list as JobStore.layer", () => {
    const filename = tempDb()
    return Effect.gen(function*() {
      const jobs = yield* JobStore
      const a = yield* jobs.enqueue("a")
      yield* TestClock.adjust("1 second")
      const b = yield* jobs.enqueue("b")
      yield* jobs.start(a.id, "r")
      expect((yield* jobs.list()).map((j) => j.id)).toEqual([a.id, b.id])
    }).pipe(Effect.provide(Layer.provideMerge(JobStore.layerSql, base(filename))))
  }, 60_000)
})
