/**
 * The `JobRunner` service: executes queued jobs with the handlers registered by job name.
 *
 * - Claims: a runner starts a job by appending `job.started` at the version it decided on; a
 *   runner that loses the race gets `WrongExpectedVersion`, re-decides on the new state, is
 *   refused, and moves on. Two runners never hold the same attempt.
 * - Liveness: each runner has a stream `jobrunner-<runnerId>` where it records
 *   `job.runner_started` and a `job.runner_heartbeat` every `heartbeatMs`, each extending its
 *   lease to `now + leaseMs`. A job `running` under a runner whose lease has expired (by this
 *   runner's clock) or who recorded `job.runner_stopped` is recorded as interrupted
 *   (`runner_lost`) and requeued, or failed when no attempt is left. A runner restarted with the
 *   same id recovers its own previous jobs at once.
 * - Control: a cancel or pause of a running job (from any process) interrupts the handler's fiber;
 *   so does losing the job to another runner. Every outcome command carries the attempt's fence
 *   (`runnerId`, `run`), so a stale runner can never complete or fail a job it no longer holds.
 * - Retries: a failed job with a retry scheduled is started again when its `nextRetryAt` is due.
 *   Time comes from Effect's `Clock`, jitter from Effect's `Random` (or `options.random`).
 * - Shutdown (closing the layer's scope): no new claims; running handlers are interrupted and their
 *   jobs recorded as interrupted (`runner_stopped`, which keeps the attempt) and requeued.
 */
import * as NodeOs from "node:os"
import {
  type EventDefinition,
  IdGenerator,
  JobRunnerHeartbeat,
  JobRunnerStarted,
  JobRunnerStopped,
  makeEnvelope,
  makeStreamId
} from "@codewhale/protocol"
import { EventStore } from "@codewhale/state"
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Queue,
  Random,
  Schedule,
  Scope,
  Stream
} from "effect"
import type { JobFence } from "./Decider.ts"
import { backoffMs, dueAt, jobRunnerRegistry, type JobState } from "./JobState.ts"
import { JobCategory, type JobStoreShape, makeJobStore } from "./JobStore.ts"
import { applyRecord, emptyIndex } from "./internal/JobIndex.ts"

/** What a handler knows about the attempt it runs, and how it reports progress. */
export interface JobContext {
  readonly jobId: string
  readonly name: string
  readonly input: unknown
  /** 1 for the first execution of the job, +1 for each later one. */
  readonly run: number
  /** The seed's retry counter (0 until the first failure). */
  readonly attempt: number
  readonly runnerId: string
  /** Records progress (clamped to 0–100) and replaces the detail. Never fails the handler. */
  readonly progress: (progress: number, detail?: string | null) => Effect.Effect<void>
}

/** A job handler: an Effect per attempt. Success completes the job, failure fails the attempt. */
export type JobHandler = (context: JobContext) => Effect.Effect<unknown, unknown>

/** Options of a runner. */
export interface JobRunnerOptions {
  /** Handlers by job name; more can be added with `register`. */
  readonly handlers?: Readonly<Record<string, JobHandler>> | undefined
  /** How many jobs run at once (default 4). */
  readonly concurrency?: number | undefined
  /** Defaults to a fresh `runner-<uuidv7>`; a stable id lets a restarted runner recover its jobs at once. */
  readonly runnerId?: string | undefined
  /** How long a heartbeat keeps this runner's attempts alive (default 30 s). */
  readonly leaseMs?: number | undefined
  /** How often the lease is renewed (default a third of the lease). */
  readonly heartbeatMs?: number | undefined
  /** Jitter added to each retry's backoff, as a fraction of it (default 0: the seed's exact backoff). */
  readonly jitterRatio?: number | undefined
  /** The random source of the jitter (default: Effect's `Random` when the runner is built). */
  readonly random?: Random.Random | undefined
  /** The longest the runner sleeps without looking at the index (default 1 s). */
  readonly pollMs?: number | undefined
}

/** An attempt this runner is executing. */
export interface ActiveAttempt {
  readonly jobId: string
  /** Null while the claim is being appended. */
  readonly run: number | null
}

/** A running job runner. */
export interface JobRunnerShape {
  readonly runnerId: string
  /** Registers (or replaces) the handler of a job name. */
  readonly register: (name: string, handler: JobHandler) => Effect.Effect<void>
  /** The attempts this runner is executing now. */
  readonly active: Effect.Effect<ReadonlyArray<ActiveAttempt>>
  /** Asks the runner to look at the index now. */
  readonly wake: Effect.Effect<void>
}

/** The stream id of a runner's liveness stream. */
export const runnerStreamId = (runnerId: string): string => makeStreamId("jobrunner", runnerId)

const describeError = (error: unknown): string => {
  if (typeof error === "string") return error
  if (typeof error === "object" && error !== null) {
    const tag = "_tag" in error && typeof error._tag === "string" ? error._tag : undefined
    const message = "message" in error && typeof error.message === "string" ? error.message : undefined
    if (message !== undefined && message !== "") return tag !== undefined && !message.includes(tag) ? `${tag}: ${message}` : message
    if (tag !== undefined) return tag
    try {
      return JSON.stringify(error)
    } catch {
      return String(error)
    }
  }
  return String(error)
}

/** The error text recorded for a failed attempt. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return describeError(failure.value)
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) return `defect: ${describeError(defect.value)}`
  return Cause.pretty(cause)
}

interface Attempt {
  readonly token: object
  /** The index's position of the job when the attempt was launched. */
  readonly seenPosition: number
  run: number | null
  /** The log position of the claim; the index must have passed it before it can contradict the claim. */
  position: number
  fiber: Fiber.RuntimeFiber<void, never> | undefined
}

interface Liveness {
  readonly expiresAt: number
  readonly stopped: boolean
}

/** Builds a runner in the current scope; closing the scope stops it cleanly. */
export const makeJobRunner = (
  options: JobRunnerOptions = {}
): Effect.Effect<JobRunnerShape, never, EventStore | IdGenerator | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const ids = yield* IdGenerator
    const jobs: JobStoreShape = yield* makeJobStore
    const runnerId = options.runnerId ?? (yield* ids.domainId("runner"))
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4))
    const leaseMs = Math.max(1, Math.floor(options.leaseMs ?? 30_000))
    const heartbeatMs = Math.max(1, Math.floor(options.heartbeatMs ?? leaseMs / 3))
    const pollMs = Math.max(1, Math.floor(options.pollMs ?? 1_000))
    const jitterRatio = Math.max(0, options.jitterRatio ?? 0)
    const random = options.random ?? (yield* Effect.random)
    const handlers = new Map<string, JobHandler>(Object.entries(options.handlers ?? {}))
    const runnerStream = runnerStreamId(runnerId)
    const wakeQueue = yield* Queue.sliding<void>(1)
    const wake = Effect.asVoid(Queue.offer(wakeQueue, undefined))
    const active = new Map<string, Attempt>()
    // Claims that failed, by job: not retried until the index has seen a newer event of the job.
    const lostClaims = new Map<string, { readonly position: number; readonly until: number }>()
    const liveness = new Map<string, Liveness>()
    // Attempts whose outcome this runner recorded, until the index shows it (not mistaken for lost ones).
    const settled = new Map<string, number>()
    const index = emptyIndex()
    let stopping = false

    const appendRunnerEvent = <T extends string, A, I>(definition: EventDefinition<T, A, I>, payload: A) =>
      Effect.flatMap(makeEnvelope(definition, payload, { producer: "@codewhale/jobs", actor: runnerId }), (envelope) =>
        store.append(runnerStream, [envelope]))

    // 1. Announce this runner and its lease.
    const startedAt = yield* Clock.currentTimeMillis
    yield* appendRunnerEvent(JobRunnerStarted, {
      runnerId,
      pid: process.pid,
      hostname: NodeOs.hostname(),
      leaseMs,
      concurrency,
      expiresAt: startedAt + leaseMs,
      at: startedAt
    }).pipe(Effect.orDie)

    // 2. The index of unfinished jobs: history up to the head, then live.
    const head = yield* store.headPosition.pipe(Effect.orDie)
    yield* store.streamAll({ category: JobCategory, until: head, limit: 5_000 }).pipe(
      Stream.runForEach((record) => applyRecord(index, store, record)),
      Effect.orDie
    )
    index.position = Math.max(index.position, head)
    // Live: resumes after the last applied position when the subscription fails.
    yield* Effect.suspend(() =>
      store.subscribe({ category: JobCategory, after: index.position }).pipe(
        Stream.runForEach((record) => Effect.zipRight(applyRecord(index, store, record), wake))
      )
    ).pipe(
      Effect.tapError((error) => Effect.logWarning(`job runner ${runnerId}: the job subscription failed; resubscribing: ${error.message}`)),
      Effect.retry(Schedule.spaced(Duration.millis(pollMs))),
      Effect.forkScoped
    )

    // 3. Heartbeats.
    yield* Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* appendRunnerEvent(JobRunnerHeartbeat, { runnerId, expiresAt: now + leaseMs, at: now })
    }).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("job runner: heartbeat failed", cause)),
      Effect.repeat(Schedule.spaced(Duration.millis(heartbeatMs))),
      Effect.delay(Duration.millis(heartbeatMs)),
      Effect.forkScoped
    )

    const isAlive = (owner: string, now: number) =>
      Effect.gen(function*() {
        const cached = liveness.get(owner)
        if (cached !== undefined && !cached.stopped && cached.expiresAt > now) return true
        const last = yield* store.readStream(runnerStreamId(owner), { backwards: true, limit: 1 })
        let seen: Liveness = { expiresAt: 0, stopped: false }
        const record = last[0]
        if (record !== undefined) {
          const event = jobRunnerRegistry.decodeKnown(record)
          if (event !== undefined) {
            seen = event.type === "job.runner_stopped"
              ? { expiresAt: 0, stopped: true }
              : { expiresAt: event.payload.expiresAt, stopped: false }
          }
        }
        liveness.set(owner, seen)
        return !seen.stopped && seen.expiresAt > now
      })

    // The attempt itself: claim, run the handler, record the outcome (nothing when interrupted).
    const execute = (jobId: string, attempt: Attempt) =>
      Effect.gen(function*() {
        const claimed = yield* Effect.either(jobs.start(jobId, runnerId))
        if (Either.isLeft(claimed)) {
          // The job moved on (another runner claimed it, it was paused...) in an event this
          // runner's index has not seen yet: leave it alone until the index shows that event.
          // After a storage error, wait a poll interval before trying again.
          const now = yield* Clock.currentTimeMillis
          const refused = claimed.left._tag === "InvalidJobTransition" || claimed.left._tag === "WrongExpectedVersion"
          lostClaims.set(jobId, { position: attempt.seenPosition, until: refused ? Number.POSITIVE_INFINITY : now + pollMs })
          yield* Effect.logDebug(`job runner ${runnerId}: did not claim ${jobId}: ${claimed.left.message}`)
          return
        }
        const state = claimed.right
        const run = state.lease!.run
        attempt.run = run
        attempt.position = state.position
        const fence: JobFence = { runnerId, run }
        const handler = handlers.get(state.name)
        const context: JobContext = {
          jobId,
          name: state.name,
          input: state.input,
          run,
          attempt: state.retry.attempt,
          runnerId,
          progress: (progress, detail) =>
            jobs.updateProgress(jobId, progress, detail ?? null, fence).pipe(
              Effect.catchAll((e) => Effect.logDebug(`job runner ${runnerId}: progress of ${jobId} not recorded: ${e.message}`)),
              Effect.asVoid
            )
        }
        const exit = yield* Effect.exit(
          handler === undefined ? Effect.fail(`no handler is registered for job name ${state.name}`) : Effect.suspend(() => handler(context))
        )
        const outcome = Exit.isSuccess(exit)
          ? jobs.complete(jobId, fence)
          : Cause.isInterruptedOnly(exit.cause)
          ? undefined
          : Effect.flatMap(random.next, (r) =>
            jobs.fail(jobId, describeCause(exit.cause), {
              jitterMs: Math.floor(r * jitterRatio * backoffMs(state.retry.backoffBaseMs, state.retry.attempt + 1)),
              fence
            }))
        if (outcome !== undefined) {
          yield* outcome.pipe(
            Effect.tap(() => Effect.sync(() => void settled.set(jobId, run))),
            Effect.catchAll((e) => Effect.logDebug(`job runner ${runnerId}: outcome of ${jobId} run ${run} not recorded: ${e.message}`))
          )
        }
      }).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError(`job runner ${runnerId}: attempt of ${jobId} failed`, cause)
        ),
        Effect.ensuring(Effect.suspend(() => {
          if (active.get(jobId)?.token === attempt.token) active.delete(jobId)
          return wake
        }))
      )

    const handlersScope = yield* Scope.make()
    const launch = (job: JobState) =>
      Effect.gen(function*() {
        const attempt: Attempt = { token: {}, seenPosition: job.position, run: null, position: Number.MAX_SAFE_INTEGER, fiber: undefined }
        active.set(job.id, attempt)
        attempt.fiber = yield* Effect.forkIn(execute(job.id, attempt), handlersScope)
      })

    const tick = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      // Our attempts the log no longer gives us (cancelled, paused, taken over): interrupt them.
      for (const [jobId, attempt] of active) {
        if (attempt.run === null) continue
        const job = index.jobs.get(jobId)
        const ours = job !== undefined && job.status === "running" && job.lease?.runnerId === runnerId && job.lease.run === attempt.run
        if (!ours && (job === undefined || job.position >= attempt.position)) {
          active.delete(jobId)
          if (attempt.fiber !== undefined) yield* Fiber.interruptFork(attempt.fiber)
        }
      }
      // Running jobs whose runner is gone: record the interruption (requeue, or fail when out of attempts).
      const lost: Array<{ jobId: string; fence: JobFence }> = []
      for (const [jobId, run] of settled) {
        if (index.jobs.get(jobId)?.lease?.run !== run) settled.delete(jobId)
      }
      for (const jobId of index.running) {
        const lease = index.jobs.get(jobId)?.lease
        if (lease === null || lease === undefined) continue
        const dead = lease.runnerId === runnerId
          ? !active.has(jobId) && settled.get(jobId) !== lease.run
          : !(yield* isAlive(lease.runnerId, now))
        if (dead) lost.push({ jobId, fence: { runnerId: lease.runnerId, run: lease.run } })
      }
      if (lost.length > 0) {
        const recovered = yield* Effect.forEach(
          lost,
          ({ fence, jobId }) =>
            jobs.interrupt(jobId, { reason: "runner_lost", recordedBy: runnerId, fence }).pipe(
              Effect.tap((state) =>
                Effect.logDebug(`job runner ${runnerId}: ${jobId} run ${fence.run} of runner ${fence.runnerId} interrupted, now ${state.status}`)
              ),
              Effect.as(1),
              Effect.catchAll((e) => Effect.as(Effect.logDebug(`job runner ${runnerId}: ${jobId} not recovered: ${e.message}`), 0))
            ),
          { concurrency: 64 }
        )
        const count = recovered.reduce((a, b) => a + b, 0)
        if (count > 0) yield* Effect.logInfo(`job runner ${runnerId}: recorded ${count} attempt(s) of lost runners as interrupted`)
      }
      // Start what is due, oldest first, up to the concurrency limit.
      for (const [jobId, lost] of lostClaims) {
        const job = index.jobs.get(jobId)
        if (job === undefined || job.position > lost.position || lost.until <= now) lostClaims.delete(jobId)
      }
      let free = concurrency - active.size
      if (free > 0 && !stopping) {
        for (const job of index.jobs.values()) {
          if (free <= 0) break
          if (active.has(job.id) || lostClaims.has(job.id) || !handlers.has(job.name)) continue
          const due = dueAt(job)
          if (due === null || due > now) continue
          yield* launch(job)
          free--
        }
      }
      // When to look again: the next retry, the next lease expiry, or the poll interval.
      let next = now + pollMs
      for (const jobId of index.retrying) {
        const at = index.jobs.get(jobId)?.retry.nextRetryAt
        if (at !== null && at !== undefined && at > now && at < next) next = at
      }
      for (const seen of liveness.values()) {
        if (!seen.stopped && seen.expiresAt > now && seen.expiresAt < next) next = seen.expiresAt
      }
      for (const lost of lostClaims.values()) {
        if (lost.until > now && lost.until < next) next = lost.until
      }
      return next - now
    })

    const loop = Effect.gen(function*() {
      while (true) {
        const wait = yield* tick.pipe(
          Effect.catchAllCause((cause) => Effect.as(Effect.logError(`job runner ${runnerId}: tick failed`, cause), pollMs))
        )
        yield* Effect.raceFirst(Queue.take(wakeQueue), Effect.sleep(Duration.millis(Math.max(0, wait))))
      }
    })
    const loopFiber = yield* Effect.forkScoped(loop)

    // Shutdown: no new claims, interrupt the handlers, requeue what they held, record the stop.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        stopping = true
        yield* Fiber.interrupt(loopFiber)
        const held = [...active.keys()]
        yield* Scope.close(handlersScope, Exit.void)
        yield* Effect.forEach(
          held,
          (jobId) =>
            Effect.flatMap(jobs.find(jobId), (found) => {
              const job = Option.getOrNull(found)
              if (job === null || job.status !== "running" || job.lease?.runnerId !== runnerId) return Effect.void
              return jobs.interrupt(jobId, { reason: "runner_stopped", recordedBy: runnerId, fence: { runnerId, run: job.lease.run } })
            }).pipe(Effect.catchAll((e) => Effect.logWarning(`job runner ${runnerId}: ${jobId} not requeued on stop: ${e.message}`))),
          { concurrency: 16, discard: true }
        )
        const now = yield* Clock.currentTimeMillis
        yield* appendRunnerEvent(JobRunnerStopped, { runnerId, at: now }).pipe(
          Effect.catchAll((e) => Effect.logWarning(`job runner ${runnerId}: stop not recorded: ${e.message}`))
        )
      })
    )

    return {
      runnerId,
      register: (name, handler) => Effect.zipRight(Effect.sync(() => void handlers.set(name, handler)), wake),
      active: Effect.sync(() => [...active].map(([jobId, a]) => ({ jobId, run: a.run }))),
      wake
    } satisfies JobRunnerShape
  })

/** A job runner over the event log. */
export class JobRunner extends Context.Tag("@codewhale/jobs/JobRunner")<JobRunner, JobRunnerShape>() {
  /** A runner living as long as the layer; closing it requeues what it was running. */
  static readonly layer = (options: JobRunnerOptions = {}): Layer.Layer<JobRunner, never, EventStore | IdGenerator> =>
    Layer.scoped(JobRunner, makeJobRunner(options))
}

