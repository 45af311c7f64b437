import { IdGenerator, JobsAppStatus, JobTransitionDelta } from "@codewhale/protocol"
import { layerMemory, layerSqlite } from "@codewhale/state"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema, TestClock } from "effect"
import { JobStore } from "../src/index.ts"

const sqlite = () => Layer.mergeAll(Layer.orDie(layerSqlite({ filename: ":memory:" })), IdGenerator.layerTest(0))
const backends = {
  memory: Layer.provideMerge(JobStore.layer, Layer.mergeAll(layerMemory, IdGenerator.layerTest(0))),
  sqlite: Layer.provideMerge(JobStore.layer, sqlite()),
  "sqlite, jobs read model": Layer.provideMerge(JobStore.layerSql, sqlite())
}

for (const [backend, base] of Object.entries(backends)) {
  describe(`JobStore (${backend})`, () => {
    layer(base, { timeout: 30_000 })((it) => {
      it.effect("app/status: every job newest first, in the seed's JSON, one job_transition frame per history entry", () =>
        Effect.gen(function*() {
          const jobs = yield* JobStore
          const a = yield* jobs.enqueue("alpha")
          yield* TestClock.adjust("1500 millis")
          const b = yield* jobs.enqueue("beta", { maxAttempts: 1, backoffBaseMs: 100 })
          yield* jobs.start(a.id, "runner-x")
          yield* jobs.updateProgress(a.id, 25, "quarter")
          yield* jobs.fail(a.id, "oops")
          const status = yield* jobs.appStatus
          const encoded = JSON.parse(JSON.stringify(status)) as unknown
          expect(Schema.decodeUnknownSync(JobsAppStatus)(encoded)).toEqual(status)
          const mine = status.data.jobs.filter((j) => j.id === a.id || j.id === b.id)
          expect(mine.map((j) => j.id)).toEqual([a.id, b.id])
          expect(Object.keys(mine[0]!)).toEqual(["id", "name", "status", "progress", "detail", "retry", "history"])
          expect(mine[0]).toEqual({
            id: a.id,
            name: "alpha",
            status: "failed",
            progress: 25,
            detail: "oops",
            retry: { attempt: 1, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 500, next_retry_at: 2 },
            history: [
              {
                at: 0,
                phase: "created",
                status: "queued",
                progress: 0,
                detail: null,
                retry: { attempt: 0, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 0, next_retry_at: null }
              },
              {
                at: 1,
                phase: "running",
                status: "running",
                progress: 0,
                detail: null,
                retry: { attempt: 0, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 0, next_retry_at: null }
              },
              {
                at: 1,
                phase: "progress_updated",
                status: "running",
                progress: 25,
                detail: "quarter",
                retry: { attempt: 0, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 0, next_retry_at: null }
              },
              {
                at: 1,
                phase: "failed",
                status: "failed",
                progress: 25,
                detail: "oops",
                retry: { attempt: 1, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 500, next_retry_at: 2 }
              }
            ]
          })
          const frames = status.events.filter((f) => f.response_id === a.id)
          expect(frames).toHaveLength(4)
          expect(Object.keys(frames[0]!)).toEqual(["event", "response_id", "delta"])
          const deltas = frames.map((f) => Schema.decodeUnknownSync(JobTransitionDelta)(JSON.parse(f.delta)))
          expect(Object.keys(JSON.parse(frames[3]!.delta) as object)).toEqual(["kind", "job_id", "phase", "status", "progress", "detail", "retry", "at"])
          expect(deltas.map((d) => [d.kind, d.job_id, d.phase, d.at])).toEqual([
            ["job_transition", a.id, "created", 0],
            ["job_transition", a.id, "running", 1],
            ["job_transition", a.id, "progress_updated", 1],
            ["job_transition", a.id, "failed", 1]
          ])
          expect(status.events.length).toBe(status.data.jobs.reduce((n, j) => n + j.history.length, 0))
        }))

      it.effect("the projection shows 64 entries; history() returns every one from created on", () =>
        Effect.gen(function*() {
          const jobs = yield* JobStore
          const job = yield* jobs.enqueue("long")
          yield* jobs.start(job.id, "runner-x")
          for (let i = 0; i < 100; i++) yield* jobs.updateProgress(job.id, i, `step ${i}`)
          const state = yield* jobs.get(job.id)
          expect(state.history).toHaveLength(64)
          expect(state.historyLength).toBe(102)
          const full = yield* jobs.history(job.id)
          expect(full).toHaveLength(102)
          expect(full[0]?.phase).toBe("created")
          expect(full.at(-1)?.detail).toBe("step 99")
        }))

      it.effect("refused commands are typed and change nothing; unknown ids are JobNotFound", () =>
        Effect.gen(function*() {
          const jobs = yield* JobStore
          const job = yield* jobs.enqueue("x")
          yield* jobs.cancel(job.id)
          const before = yield* jobs.get(job.id)
          const error = yield* Effect.flip(jobs.resume(job.id))
          expect(error._tag).toBe("InvalidJobTransition")
          expect(error.message).toContain(job.id)
          expect(yield* jobs.get(job.id)).toEqual(before)
          expect((yield* Effect.flip(jobs.get("job-missing")))._tag).toBe("JobNotFound")
          expect((yield* Effect.flip(jobs.cancel("job-missing")))._tag).toBe("JobNotFound")
          expect((yield* Effect.flip(jobs.history("job-missing")))._tag).toBe("JobNotFound")
        }))

      it.effect("concurrent commands on one job are serialised by the expected version, none lost", () =>
        Effect.gen(function*() {
          const jobs = yield* JobStore
          const job = yield* jobs.enqueue("x")
          yield* jobs.start(job.id, "runner-x")
          yield* Effect.forEach([1, 2, 3, 4, 5, 6, 7, 8], (p) => jobs.updateProgress(job.id, p, `p${p}`), { concurrency: "unbounded" })
          const state = yield* jobs.get(job.id)
          expect(state.history.filter((h) => h.phase === "progress_updated")).toHaveLength(8)
          expect(state.version).toBe(10)
        }))

      it.effect("only one of several concurrent claims wins", () =>
        Effect.gen(function*() {
          const jobs = yield* JobStore
          const job = yield* jobs.enqueue("x")
          const results = yield* Effect.forEach(["r1", "r2", "r3", "r4"], (r) => Effect.either(jobs.start(job.id, r)), { concurrency: "unbounded" })
          expect(results.filter((r) => r._tag === "Right")).toHaveLength(1)
          expect(results.filter((r) => r._tag === "Left").map((r) => r._tag === "Left" && r.left._tag)).toEqual([
            "InvalidJobTransition",
            "InvalidJobTransition",
            "InvalidJobTransition"
          ])
        }))

      it.effect("list filters by status and name and honours the limit", () =>
        Effect.gen(function*() {
          const jobs = yield* JobStore
          const a = yield* jobs.enqueue("list-a")
          yield* jobs.enqueue("list-b")
          yield* jobs.pause(a.id)
          const paused = yield* jobs.list({ status: ["paused"], name: "list-a" })
          expect(paused.map((j) => j.id)).toEqual([a.id])
          expect(paused[0]?.status).toBe("paused")
          expect(yield* jobs.list({ limit: 1 })).toHaveLength(1)
        }))
    })
  })
}
