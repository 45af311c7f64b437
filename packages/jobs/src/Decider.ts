/**
 * The job decider: `decide(jobId, state, command) -> events | typed error`. Pure: time (`at`),
 * the runner id and the jitter come in the command, so the same inputs always give the same
 * events. Every transition the seed accepted blindly is checked here.
 */
import type { JobInterruptReason } from "@codewhale/protocol"
import { Data, Either } from "effect"
import { InvalidJobInput, InvalidJobTransition, JobAlreadyExists, type JobCommandError, JobNotFound } from "./Errors.ts"
import { backoffMs, dueAt, type JobEvent, type JobState, isRetryPending } from "./JobState.ts"

/** The attempt a runner believes it holds; a command carrying a stale fence is refused. */
export interface JobFence {
  readonly runnerId: string
  readonly run: number
}

/** A command on one job. `at` is the clock reading (epoch ms) the command was issued at. */
export type JobCommand = Data.TaggedEnum<{
  Enqueue: {
    readonly name: string
    readonly input?: unknown
    readonly maxAttempts: number
    readonly backoffBaseMs: number
    readonly at: number
  }
  Start: { readonly runnerId: string; readonly at: number }
  UpdateProgress: {
    readonly progress: number
    readonly detail: string | null
    readonly fence?: JobFence | undefined
    readonly at: number
  }
  Complete: { readonly fence?: JobFence | undefined; readonly at: number }
  Fail: {
    readonly error: string
    /** Extra delay drawn by the caller from its random source; recorded in the event. */
    readonly jitterMs: number
    readonly fence?: JobFence | undefined
    readonly at: number
  }
  Cancel: { readonly reason?: string | undefined; readonly actor?: string | undefined; readonly at: number }
  Pause: { readonly detail?: string | undefined; readonly actor?: string | undefined; readonly at: number }
  Resume: { readonly detail?: string | undefined; readonly actor?: string | undefined; readonly at: number }
  Interrupt: {
    readonly reason: JobInterruptReason
    /** The runner recording the interruption. */
    readonly recordedBy: string
    readonly fence?: JobFence | undefined
    readonly at: number
  }
}>

/** Constructors of `JobCommand`. */
export const JobCommand = Data.taggedEnum<JobCommand>()

/** The transition name a command attempts, as errors show it. */
export const transitionName = (command: JobCommand): string =>
  JobCommand.$match(command, {
    Enqueue: () => "enqueue",
    Start: () => "start",
    UpdateProgress: () => "update progress of",
    Complete: () => "complete",
    Fail: () => "fail",
    Cancel: () => "cancel",
    Pause: () => "pause",
    Resume: () => "resume",
    Interrupt: () => "interrupt"
  })

/** The longest error text a `job.failed` event keeps. */
export const MaxErrorLength = 8_000

const describeStatus = (state: JobState): string =>
  state.status === "failed" ? (isRetryPending(state) ? "failed (retry pending)" : "failed (no retry left)") : state.status

type Decision = Either.Either<ReadonlyArray<JobEvent>, JobCommandError>

/** Decides the events of a command on a job (`state` null: the job does not exist yet). */
export const decide = (jobId: string, state: JobState | null, command: JobCommand): Decision => {
  if (command._tag === "Enqueue") {
    if (state !== null) return Either.left(new JobAlreadyExists({ jobId }))
    if (command.name.trim() === "") return Either.left(new InvalidJobInput({ jobId, field: "name", detail: "a job name must not be empty" }))
    if (!Number.isSafeInteger(command.maxAttempts) || command.maxAttempts < 0) {
      return Either.left(new InvalidJobInput({ jobId, field: "maxAttempts", detail: `expected a non-negative integer, got ${command.maxAttempts}` }))
    }
    if (!Number.isSafeInteger(command.backoffBaseMs) || command.backoffBaseMs < 0) {
      return Either.left(new InvalidJobInput({ jobId, field: "backoffBaseMs", detail: `expected a non-negative integer, got ${command.backoffBaseMs}` }))
    }
    return Either.right([{
      type: "job.created",
      payload: {
        jobId,
        name: command.name,
        ...(command.input === undefined ? {} : { input: command.input }),
        maxAttempts: command.maxAttempts,
        backoffBaseMs: command.backoffBaseMs,
        at: command.at
      }
    }])
  }
  if (state === null) return Either.left(new JobNotFound({ jobId }))
  const refuse = (detail: string): Decision =>
    Either.left(new InvalidJobTransition({ jobId, status: describeStatus(state), transition: transitionName(command), detail }))
  const checkRunning = (fence: JobFence | undefined): Decision | undefined => {
    if (state.status !== "running" || state.lease === null) return refuse("only a running job can do this")
    if (fence !== undefined && (fence.runnerId !== state.lease.runnerId || fence.run !== state.lease.run)) {
      return refuse(
        `run ${fence.run} of runner ${fence.runnerId} no longer holds the job (run ${state.lease.run} of runner ${state.lease.runnerId} does)`
      )
    }
    return undefined
  }
  switch (command._tag) {
    case "Start": {
      if (state.status === "running" && state.lease !== null) {
        return refuse(`run ${state.lease.run} is already running on runner ${state.lease.runnerId}`)
      }
      const due = dueAt(state)
      if (due === null) return refuse("only a queued job or a failed job with a retry due can start")
      if (due > command.at) return refuse(`its retry is due at ${new Date(due).toISOString()}`)
      return Either.right([{
        type: "job.started",
        payload: { jobId, run: state.runs + 1, attempt: state.retry.attempt, runnerId: command.runnerId, at: command.at }
      }])
    }
    case "UpdateProgress": {
      const refused = checkRunning(command.fence)
      if (refused !== undefined) return refused
      if (!Number.isFinite(command.progress)) {
        return Either.left(new InvalidJobInput({ jobId, field: "progress", detail: `expected a number from 0 to 100, got ${command.progress}` }))
      }
      const progress = Math.min(100, Math.max(0, Math.round(command.progress)))
      return Either.right([{
        type: "job.progress_updated",
        payload: { jobId, run: state.lease!.run, progress, detail: command.detail, at: command.at }
      }])
    }
    case "Complete": {
      const refused = checkRunning(command.fence)
      if (refused !== undefined) return refused
      return Either.right([{ type: "job.completed", payload: { jobId, run: state.lease!.run, at: command.at } }])
    }
    case "Fail": {
      const refused = checkRunning(command.fence)
      if (refused !== undefined) return refused
      const retry = state.retry
      const error = command.error.length > MaxErrorLength ? `${command.error.slice(0, MaxErrorLength)}…` : command.error
      if (retry.attempt < retry.maxAttempts) {
        const attempt = retry.attempt + 1
        const nextBackoffMs = backoffMs(retry.backoffBaseMs, attempt)
        const jitterMs = Number.isFinite(command.jitterMs) ? Math.max(0, Math.floor(command.jitterMs)) : 0
        const nextRetryAt = Math.min(command.at + nextBackoffMs + jitterMs, Number.MAX_SAFE_INTEGER)
        return Either.right([{
          type: "job.failed",
          payload: { jobId, run: state.lease!.run, error, attempt, nextBackoffMs, jitterMs, nextRetryAt, at: command.at }
        }])
      }
      return Either.right([{
        type: "job.failed",
        payload: { jobId, run: state.lease!.run, error, attempt: retry.attempt, nextBackoffMs: 0, jitterMs: 0, nextRetryAt: null, at: command.at }
      }])
    }
    case "Cancel": {
      if (state.status === "completed" || state.status === "cancelled" || (state.status === "failed" && !isRetryPending(state))) {
        return refuse("a finished job cannot be cancelled")
      }
      return Either.right([{
        type: "job.cancelled",
        payload: {
          jobId,
          ...(state.lease === null ? {} : { run: state.lease.run }),
          ...(command.reason === undefined ? {} : { reason: command.reason }),
          ...(command.actor === undefined ? {} : { actor: command.actor }),
          at: command.at
        }
      }])
    }
    case "Pause": {
      if (state.status === "paused") return refuse("it is already paused")
      if (state.status !== "queued" && state.status !== "running" && !isRetryPending(state)) {
        return refuse("only a queued, running or retrying job can be paused")
      }
      return Either.right([{
        type: "job.paused",
        payload: {
          jobId,
          ...(state.lease === null ? {} : { run: state.lease.run }),
          ...(command.detail === undefined ? {} : { detail: command.detail }),
          ...(command.actor === undefined ? {} : { actor: command.actor }),
          at: command.at
        }
      }])
    }
    case "Resume": {
      if (state.status !== "paused" && state.status !== "failed") return refuse("only a paused or failed job can be resumed")
      return Either.right([{
        type: "job.resumed",
        payload: {
          jobId,
          ...(command.detail === undefined ? {} : { detail: command.detail }),
          ...(command.actor === undefined ? {} : { actor: command.actor }),
          at: command.at
        }
      }])
    }
    case "Interrupt": {
      const refused = checkRunning(command.fence)
      if (refused !== undefined) return refused
      const lease = state.lease!
      const retry = state.retry
      const lost = command.reason === "runner_lost"
      const requeued = !lost || retry.attempt < retry.maxAttempts
      const attempt = lost && requeued ? retry.attempt + 1 : retry.attempt
      const detail = lost
        ? `interrupted: runner ${lease.runnerId} stopped heartbeating during run ${lease.run}${requeued ? "" : "; no attempt left"}`
        : `interrupted: runner ${lease.runnerId} shut down during run ${lease.run}`
      return Either.right([{
        type: "job.interrupted",
        payload: {
          jobId,
          run: lease.run,
          runnerId: lease.runnerId,
          reason: command.reason,
          requeued,
          attempt,
          detail,
          recordedBy: command.recordedBy,
          at: command.at
        }
      }])
    }
  }
}
