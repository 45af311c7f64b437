/** Given/when/then helpers for the job decider, and event builders. */
import { Either } from "effect"
import { expect } from "@effect/vitest"
import { decide, evolveJob, type JobCommand, type JobEvent, type JobState } from "../src/index.ts"

/** The job id every decider test uses. */
export const jobId = "job-0192aaaa-0000-7000-8000-000000000001"

/** Folds events into a state, with synthetic versions and positions. */
export const foldEvents = (events: ReadonlyArray<JobEvent>, cap?: number): JobState | null =>
  events.reduce<JobState | null>((s, e, i) => evolveJob(s, e, { version: i + 1, position: i + 1 }, cap), null)

/** `given(events).when(command)`: the decision and the state it was made on. */
export const given = (...events: ReadonlyArray<JobEvent>) => {
  const state = foldEvents(events)
  return {
    state,
    when: (command: JobCommand) => {
      const decision = decide(jobId, state, command)
      return {
        decision,
        /** The command was accepted with exactly these events; returns the state after them. */
        then: (expected: ReadonlyArray<JobEvent>): JobState => {
          expect(Either.isRight(decision), Either.isLeft(decision) ? decision.left.message : "").toBe(true)
          const produced = Either.getOrThrow(decision)
          expect(produced).toEqual(expected)
          return foldEvents([...events, ...produced])!
        },
        /** The command was accepted; returns the state after its events. */
        thenState: (): JobState => {
          expect(Either.isRight(decision), Either.isLeft(decision) ? decision.left.message : "").toBe(true)
          return foldEvents([...events, ...Either.getOrThrow(decision)])!
        },
        /** The command was refused with this error tag; returns the error. */
        thenRefused: (tag: string) => {
          expect(Either.isLeft(decision), `expected ${tag}, got ${JSON.stringify(decision)}`).toBe(true)
          const error = Either.getLeft(decision)
          if (error._tag === "None") throw new Error("unreachable")
          expect(error.value._tag).toBe(tag)
          return error.value
        }
      }
    }
  }
}

/** Event builders with the seed's defaults. */
export const ev = {
  created: (at = 0, options: { maxAttempts?: number; backoffBaseMs?: number; name?: string } = {}): JobEvent => ({
    type: "job.created",
    payload: { jobId, name: options.name ?? "index", maxAttempts: options.maxAttempts ?? 3, backoffBaseMs: options.backoffBaseMs ?? 500, at }
  }),
  started: (run: number, attempt: number, at = 0, runnerId = "runner-a"): JobEvent => ({
    type: "job.started",
    payload: { jobId, run, attempt, runnerId, at }
  }),
  progress: (run: number, progress: number, detail: string | null, at = 0): JobEvent => ({
    type: "job.progress_updated",
    payload: { jobId, run, progress, detail, at }
  }),
  completed: (run: number, at = 0): JobEvent => ({ type: "job.completed", payload: { jobId, run, at } }),
  failed: (run: number, attempt: number, nextBackoffMs: number, nextRetryAt: number | null, at = 0, error = "boom"): JobEvent => ({
    type: "job.failed",
    payload: { jobId, run, error, attempt, nextBackoffMs, jitterMs: 0, nextRetryAt, at }
  }),
  cancelled: (at = 0): JobEvent => ({ type: "job.cancelled", payload: { jobId, at } }),
  paused: (at = 0, run?: number): JobEvent => ({ type: "job.paused", payload: { jobId, ...(run === undefined ? {} : { run }), at } }),
  resumed: (at = 0): JobEvent => ({ type: "job.resumed", payload: { jobId, at } })
}

/** Histories that leave the job in each situation the decider distinguishes. */
export const situations = {
  queued: [ev.created()],
  running: [ev.created(), ev.started(1, 0)],
  paused: [ev.created(), ev.paused()],
  completed: [ev.created(), ev.started(1, 0), ev.completed(1)],
  retryPending: [ev.created(), ev.started(1, 0), ev.failed(1, 1, 500, 500)],
  failedFinal: [ev.created(0, { maxAttempts: 0 }), ev.started(1, 0), ev.failed(1, 0, 0, null)],
  cancelled: [ev.created(), ev.cancelled()]
} satisfies Record<string, ReadonlyArray<JobEvent>>
