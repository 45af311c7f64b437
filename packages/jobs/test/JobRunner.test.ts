import { IdGenerator, JobRunnerStarted, makeEnvelope, type RecordedEvent } from "@codewhale/protocol"
import { EventStore, layerMemory } from "@codewhale/state"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Random, Ref, Scope, TestClock, Exit } from "effect"
import { type JobContext, JobStore, type JobState, makeJobRunner } from "../src/index.ts"

const TestLayer = Layer.provideMerge(JobStore.layer, Layer.mergeAll(layerMemory, IdGenerator.layerTest(0)))

const jobEvents = (jobId: string) =>
  Effect.flatMap(EventStore, (store) => store.readStream(jobId)).pipe(
    Effect.map((records: ReadonlyArray<RecordedEvent>) => records.map((r) => ({ type: r.eventType, payload: r.payload as Record<string, unknown> })))
  )

const is = (status: JobState["status"]) => (job: JobState) => job.status === status

describe("JobRunner on TestClock", () => {
  it.scoped("runs a queued job, reports progress (clamped) and completes it", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const seen = yield* Ref.make<ReadonlyArray<unknown>>([])
      yield* makeJobRunner({
        runnerId: "runner-a",
        handlers: {
          index: (ctx) =>
            Effect.gen(function*() {
              yield* Ref.set(seen, [ctx.name, ctx.input, ctx.run, ctx.attempt, ctx.runnerId])
              yield* ctx.progress(40, "halfway")
              yield* ctx.progress(150, null)
            })
        }
      })
      const job = yield* jobs.enqueue("index", { input: { path: "/src" } })
      const done = yield* jobs.awaitJob(job.id, is("completed"))
      expect(yield* Ref.get(seen)).toEqual(["index", { path: "/src" }, 1, 0, "runner-a"])
      expect(done.history.map((h) => [h.phase, h.status, h.progress, h.detail])).toEqual([
        ["created", "queued", 0, null],
        ["running", "running", 0, null],
        ["progress_updated", "running", 40, "halfway"],
        ["progress_updated", "running", 100, null],
        ["completed", "completed", 100, null]
      ])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("retries on the seed's backoff at exactly the due times, then fails for good", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      yield* makeJobRunner({ runnerId: "runner-a", handlers: { flaky: (ctx) => Effect.fail(`boom on run ${ctx.run}`) } })
      const job = yield* jobs.enqueue("flaky")
      const first = yield* jobs.awaitJob(job.id, (j) => j.status === "failed" && j.runs === 1)
      expect(first.retry).toEqual({ attempt: 1, maxAttempts: 3, backoffBaseMs: 500, nextBackoffMs: 500, nextRetryAt: 500 })
      expect(first.detail).toBe("boom on run 1")
      yield* TestClock.adjust("499 millis")
      expect((yield* jobs.get(job.id)).runs).toBe(1)
      yield* TestClock.adjust("1 millis")
      const second = yield* jobs.awaitJob(job.id, (j) => j.status === "failed" && j.runs === 2)
      expect(second.retry).toMatchObject({ attempt: 2, nextBackoffMs: 1000, nextRetryAt: 1500 })
      yield* TestClock.adjust("999 millis")
      expect((yield* jobs.get(job.id)).runs).toBe(2)
      yield* TestClock.adjust("1 millis")
      const third = yield* jobs.awaitJob(job.id, (j) => j.status === "failed" && j.runs === 3)
      expect(third.retry).toMatchObject({ attempt: 3, nextBackoffMs: 2000, nextRetryAt: 3500 })
      yield* TestClock.adjust("2 seconds")
      const last = yield* jobs.awaitJob(job.id, (j) => j.status === "failed" && j.runs === 4)
      expect(last.retry).toMatchObject({ attempt: 3, nextBackoffMs: 0, nextRetryAt: null })
      const starts = (yield* jobEvents(job.id)).filter((e) => e.type === "job.started").map((e) => [e.payload["run"], e.payload["at"]])
      expect(starts).toEqual([[1, 0], [2, 500], [3, 1500], [4, 3500]])
      yield* TestClock.adjust("1 minute")
      expect((yield* jobs.get(job.id)).runs).toBe(4)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("jitter comes from the injected random source and is recorded", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      yield* makeJobRunner({ jitterRatio: 0.5, random: Random.fixed([0.5]), handlers: { flaky: () => Effect.fail("no") } })
      const job = yield* jobs.enqueue("flaky")
      const failed = yield* jobs.awaitJob(job.id, is("failed"))
      expect(failed.retry.nextRetryAt).toBe(625)
      const event = (yield* jobEvents(job.id)).find((e) => e.type === "job.failed")
      expect(event?.payload).toMatchObject({ nextBackoffMs: 500, jitterMs: 125, nextRetryAt: 625 })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("typed errors and defects become the failure detail", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      yield* makeJobRunner({
        handlers: { typed: () => Effect.fail(new Error("disk full")), defect: () => Effect.die(new Error("bug")) }
      })
      const a = yield* jobs.enqueue("typed", { maxAttempts: 0 })
      const b = yield* jobs.enqueue("defect", { maxAttempts: 0 })
      expect((yield* jobs.awaitJob(a.id, is("failed"))).detail).toBe("disk full")
      expect((yield* jobs.awaitJob(b.id, is("failed"))).detail).toBe("defect: bug")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("never runs more jobs at once than its concurrency", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const current = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const gates = new Map<string, Deferred.Deferred<void>>()
      const gate = (id: string) => {
        let d = gates.get(id)
        if (d === undefined) {
          d = Deferred.unsafeMake<void>(undefined as never)
          gates.set(id, d)
        }
        return d
      }
      yield* makeJobRunner({
        concurrency: 2,
        handlers: {
          work: (ctx) =>
            Effect.gen(function*() {
              const now = yield* Ref.updateAndGet(current, (n) => n + 1)
              yield* Ref.update(peak, (p) => Math.max(p, now))
              yield* Deferred.await(gate(ctx.jobId))
              yield* Ref.update(current, (n) => n - 1)
            })
        }
      })
      const ids: Array<string> = []
      for (let i = 0; i < 5; i++) ids.push((yield* jobs.enqueue("work")).id)
      const running = (id: string) => jobs.awaitJob(id, is("running"))
      const done = (id: string) => jobs.awaitJob(id, is("completed"))
      yield* running(ids[0]!)
      yield* running(ids[1]!)
      expect((yield* jobs.get(ids[2]!)).status).toBe("queued")
      yield* Deferred.succeed(gate(ids[0]!), undefined)
      yield* done(ids[0]!)
      yield* running(ids[2]!)
      expect((yield* jobs.get(ids[3]!)).status).toBe("queued")
      for (const id of ids) yield* Deferred.succeed(gate(id), undefined)
      for (const id of ids) yield* done(id)
      expect(yield* Ref.get(peak)).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("cancel interrupts the handler's fiber and nothing else is recorded", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      yield* makeJobRunner({
        handlers: {
          long: () =>
            Deferred.succeed(started, undefined).pipe(
              Effect.zipRight(Effect.sleep("30 seconds")),
              Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
            )
        }
      })
      const job = yield* jobs.enqueue("long")
      yield* Deferred.await(started)
      yield* jobs.cancel(job.id, { reason: "not needed", actor: "test" })
      yield* Deferred.await(interrupted)
      yield* TestClock.adjust("1 minute")
      const events = (yield* jobEvents(job.id)).map((e) => e.type)
      expect(events).toEqual(["job.created", "job.started", "job.cancelled"])
      expect((yield* jobs.get(job.id)).status).toBe("cancelled")
      const refused = yield* Effect.flip(jobs.complete(job.id))
      expect(refused._tag).toBe("InvalidJobTransition")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("pause interrupts the handler, the job waits, resume runs it again", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      yield* makeJobRunner({
        handlers: {
          long: (ctx) =>
            ctx.run === 1
              ? Deferred.succeed(started, undefined).pipe(
                Effect.zipRight(Effect.never),
                Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
              )
              : ctx.progress(100, "second run")
        }
      })
      const job = yield* jobs.enqueue("long")
      yield* Deferred.await(started)
      const paused = yield* jobs.pause(job.id, { detail: "maintenance" })
      expect(paused.status).toBe("paused")
      yield* Deferred.await(interrupted)
      yield* TestClock.adjust("1 minute")
      expect((yield* jobs.get(job.id))).toMatchObject({ status: "paused", runs: 1 })
      yield* jobs.resume(job.id)
      const done = yield* jobs.awaitJob(job.id, is("completed"))
      expect(done.history.map((h) => h.phase)).toEqual([
        "created",
        "running",
        "paused",
        "resumed",
        "running",
        "progress_updated",
        "completed"
      ])
      expect(done.runs).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a job whose name has no handler here stays queued", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const runner = yield* makeJobRunner({ handlers: {} })
      const job = yield* jobs.enqueue("unknown")
      yield* TestClock.adjust("10 seconds")
      expect((yield* jobs.get(job.id)).status).toBe("queued")
      yield* runner.register("unknown", () => Effect.void)
      yield* jobs.awaitJob(job.id, is("completed"))
    }).pipe(Effect.provide(TestLayer)))

  it.effect("closing the runner requeues what it was running (runner_stopped keeps the attempt)", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const started = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      yield* makeJobRunner({
        runnerId: "runner-a",
        handlers: { long: () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never) }
      }).pipe(Scope.extend(scope))
      const job = yield* jobs.enqueue("long")
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      const after = yield* jobs.get(job.id)
      expect(after).toMatchObject({ status: "queued", lease: null })
      expect(after.retry.attempt).toBe(0)
      expect(after.history.at(-1)?.phase).toBe("queued_after_resume")
      const runnerEvents = yield* Effect.flatMap(EventStore, (s) => s.readStream("jobrunner-runner-a"))
      expect(runnerEvents.at(-1)?.eventType).toBe("job.runner_stopped")
    }).pipe(Effect.provide(TestLayer)))
})

describe("crash recovery and claims", () => {
  it.scoped("a runner restarted with the same id recovers its previous jobs at once", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const job = yield* jobs.enqueue("work")
      yield* jobs.start(job.id, "runner-a")
      yield* makeJobRunner({ runnerId: "runner-a", handlers: { work: () => Effect.void } })
      const done = yield* jobs.awaitJob(job.id, is("completed"))
      expect(done.history.map((h) => h.phase)).toEqual(["created", "running", "queued_after_resume", "running", "completed"])
      expect(done.retry.attempt).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("another runner's jobs are recovered only after its lease expired", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const store = yield* EventStore
      const job = yield* jobs.enqueue("work")
      // A runner that announced a lease until t=1000, claimed the job, and died.
      const announce = yield* makeEnvelope(JobRunnerStarted, {
        runnerId: "runner-dead",
        pid: 1,
        hostname: "h",
        leaseMs: 1_000,
        concurrency: 1,
        expiresAt: 1_000,
        at: 0
      })
      yield* store.append("jobrunner-runner-dead", [announce])
      yield* jobs.start(job.id, "runner-dead")
      yield* makeJobRunner({ runnerId: "runner-b", handlers: { work: () => Effect.void } })
      yield* TestClock.adjust("999 millis")
      expect((yield* jobs.get(job.id)).status).toBe("running")
      yield* TestClock.adjust("1 millis")
      const done = yield* jobs.awaitJob(job.id, is("completed"))
      expect(done.history.map((h) => h.phase)).toEqual(["created", "running", "queued_after_resume", "running", "completed"])
      const interrupted = (yield* jobEvents(job.id)).find((e) => e.type === "job.interrupted")
      expect(interrupted?.payload).toMatchObject({
        run: 1,
        runnerId: "runner-dead",
        reason: "runner_lost",
        requeued: true,
        attempt: 1,
        recordedBy: "runner-b",
        at: 1_000
      })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a live runner's job is never taken over, however long it runs", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const started = yield* Deferred.make<string>()
      const handler = (ctx: JobContext) => Effect.zipRight(Deferred.succeed(started, ctx.runnerId), Effect.never)
      yield* makeJobRunner({ runnerId: "runner-a", leaseMs: 1_000, handlers: { work: handler } })
      const job = yield* jobs.enqueue("work")
      const holder = yield* Deferred.await(started)
      yield* makeJobRunner({ runnerId: "runner-b", leaseMs: 1_000, handlers: { work: handler } })
      for (let i = 0; i < 100; i++) yield* TestClock.adjust("100 millis")
      expect(yield* jobs.get(job.id)).toMatchObject({ status: "running", runs: 1, lease: { runnerId: holder, run: 1 } })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("two runners on one log never run the same job at once, and each job runs once", () =>
    Effect.gen(function*() {
      const jobs = yield* JobStore
      const inFlight = new Map<string, number>()
      const executions = new Map<string, number>()
      const runners = new Set<string>()
      let overlap = false
      const handler = (ctx: JobContext) =>
        Effect.gen(function*() {
          const n = (inFlight.get(ctx.jobId) ?? 0) + 1
          if (n > 1) overlap = true
          inFlight.set(ctx.jobId, n)
          executions.set(ctx.jobId, (executions.get(ctx.jobId) ?? 0) + 1)
          runners.add(ctx.runnerId)
          yield* Effect.sleep("50 millis")
          inFlight.set(ctx.jobId, (inFlight.get(ctx.jobId) ?? 1) - 1)
        })
      yield* makeJobRunner({ runnerId: "runner-a", concurrency: 3, handlers: { work: handler } })
      yield* makeJobRunner({ runnerId: "runner-b", concurrency: 3, handlers: { work: handler } })
      const ids: Array<string> = []
      for (let i = 0; i < 30; i++) ids.push((yield* jobs.enqueue("work")).id)
      for (let i = 0; i < 200 && (yield* jobs.list({ status: ["completed"] })).length < ids.length; i++) {
        yield* TestClock.adjust("10 millis")
      }
      const done = yield* jobs.list({ status: ["completed"] })
      expect(done).toHaveLength(30)
      expect(overlap).toBe(false)
      expect([...executions.values()].every((n) => n === 1)).toBe(true)
      expect(done.every((j) => j.runs === 1)).toBe(true)
      expect(runners).toEqual(new Set(["runner-a", "runner-b"]))
    }).pipe(Effect.provide(TestLayer)))
})
