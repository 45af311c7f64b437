/**
 * Job events (`job.*`): the life of one background job in stream `job-<id>`, and the liveness of
 * the runners that execute jobs in stream `jobrunner-<runnerId>`. Times are epoch milliseconds
 * read from the producer's clock; every retry decision (backoff, jitter, due time) is recorded so
 * replay never recomputes it.
 */
import { Schema } from "effect"
import { defineEvent } from "../EventRegistry.ts"

const Millis = Schema.Int.pipe(Schema.nonNegative())
const Count = Schema.Int.pipe(Schema.nonNegative())
const Run = Schema.Int.pipe(Schema.positive())

/** Why a running attempt was interrupted by a runner rather than by a user. */
export const JobInterruptReason = Schema.Literal("runner_lost", "runner_stopped").annotations({
  description: "`runner_lost`: the runner that held the attempt stopped heartbeating (crash); `runner_stopped`: it shut down cleanly"
})
/** Why a running attempt was interrupted by a runner rather than by a user. */
export type JobInterruptReason = typeof JobInterruptReason.Type

/** A job was enqueued: status `queued`, progress 0, history phase `created`. */
export const JobCreated = defineEvent(
  "job.created",
  Schema.Struct({
    jobId: Schema.String,
    name: Schema.String.pipe(Schema.minLength(1)),
    /** Arguments for the handler (JSON); never a secret. */
    input: Schema.optional(Schema.Unknown),
    /** The seed's `max_attempts`: how many retries a failure may schedule (default 3). */
    maxAttempts: Count,
    /** The seed's `backoff_base_ms` (default 500). */
    backoffBaseMs: Millis,
    at: Millis
  }).annotations({ description: "A job was enqueued (status queued, history phase `created`)." })
)

/** A runner claimed the job and started attempt `run`: status `running`, phase `running`. */
export const JobStarted = defineEvent(
  "job.started",
  Schema.Struct({
    jobId: Schema.String,
    /** 1 for the first execution, +1 for each later one. */
    run: Run,
    /** The seed's retry counter at the time of the start (0 on the first run). */
    attempt: Count,
    runnerId: Schema.String,
    at: Millis
  }).annotations({ description: "A runner claimed the job (appended at the version it decided on) and started one attempt." })
)

/** The handler reported progress (clamped to 0–100); `detail` replaces the previous detail. */
export const JobProgressUpdated = defineEvent(
  "job.progress_updated",
  Schema.Struct({
    jobId: Schema.String,
    run: Run,
    progress: Schema.Int.pipe(Schema.between(0, 100)),
    detail: Schema.NullOr(Schema.String),
    at: Millis
  }).annotations({ description: "The running attempt reported progress (history phase `progress_updated`)." })
)

/** The attempt `run` succeeded: status `completed`, progress 100. */
export const JobCompleted = defineEvent(
  "job.completed",
  Schema.Struct({
    jobId: Schema.String,
    run: Run,
    at: Millis
  }).annotations({ description: "The running attempt succeeded (history phase `completed`)." })
)

/**
 * The attempt `run` failed. `attempt`, `nextBackoffMs`, `jitterMs` and `nextRetryAt` are the retry
 * decision: `nextRetryAt` is null when no retry is left.
 */
export const JobFailed = defineEvent(
  "job.failed",
  Schema.Struct({
    jobId: Schema.String,
    run: Run,
    error: Schema.String,
    attempt: Count,
    nextBackoffMs: Millis,
    jitterMs: Millis,
    nextRetryAt: Schema.NullOr(Millis),
    at: Millis
  }).annotations({ description: "The running attempt failed; a retry is scheduled at `nextRetryAt` while attempts remain (history phase `failed`)." })
)

/** The job was cancelled; when it was running, `run` names the attempt whose fiber was interrupted. */
export const JobCancelled = defineEvent(
  "job.cancelled",
  Schema.Struct({
    jobId: Schema.String,
    run: Schema.optional(Run),
    reason: Schema.optional(Schema.String),
    actor: Schema.optional(Schema.String),
    at: Millis
  }).annotations({ description: "The job was cancelled (history phase `cancelled`); a running attempt is interrupted." })
)

/** The job was paused; when it was running, `run` names the attempt whose fiber was interrupted. */
export const JobPaused = defineEvent(
  "job.paused",
  Schema.Struct({
    jobId: Schema.String,
    run: Schema.optional(Run),
    detail: Schema.optional(Schema.String),
    actor: Schema.optional(Schema.String),
    at: Millis
  }).annotations({ description: "The job was paused (history phase `paused`); a running attempt is interrupted." })
)

/** A paused or failed job was put back in the queue (status `queued`, phase `resumed`). */
export const JobResumed = defineEvent(
  "job.resumed",
  Schema.Struct({
    jobId: Schema.String,
    detail: Schema.optional(Schema.String),
    actor: Schema.optional(Schema.String),
    at: Millis
  }).annotations({ description: "A paused or failed job was queued again (history phase `resumed`)." })
)

/**
 * A running attempt ended because its runner died (`runner_lost`, which uses one attempt) or shut
 * down (`runner_stopped`). `requeued` says whether the job went back to the queue (phase
 * `queued_after_resume`) or failed because no attempt was left (phase `failed`).
 */
export const JobInterrupted = defineEvent(
  "job.interrupted",
  Schema.Struct({
    jobId: Schema.String,
    run: Run,
    runnerId: Schema.String,
    reason: JobInterruptReason,
    requeued: Schema.Boolean,
    attempt: Count,
    detail: Schema.String,
    /** The runner that recorded the interruption (the dead runner's successor, or itself when stopping). */
    recordedBy: Schema.String,
    at: Millis
  }).annotations({ description: "A running attempt was cut short by its runner's death or shutdown, and the job requeued or failed." })
)

/** A runner started: it holds a lease on its attempts until `expiresAt` unless it heartbeats. */
export const JobRunnerStarted = defineEvent(
  "job.runner_started",
  Schema.Struct({
    runnerId: Schema.String,
    pid: Schema.Int,
    hostname: Schema.String,
    leaseMs: Millis,
    concurrency: Schema.Int.pipe(Schema.positive()),
    expiresAt: Millis,
    at: Millis
  }).annotations({ description: "A job runner started (stream `jobrunner-<runnerId>`)." })
)

/** A runner renewed its lease. */
export const JobRunnerHeartbeat = defineEvent(
  "job.runner_heartbeat",
  Schema.Struct({
    runnerId: Schema.String,
    expiresAt: Millis,
    at: Millis
  }).annotations({ description: "A job runner renewed its lease until `expiresAt`." })
)

/** A runner shut down cleanly; its lease ends now. */
export const JobRunnerStopped = defineEvent(
  "job.runner_stopped",
  Schema.Struct({
    runnerId: Schema.String,
    at: Millis
  }).annotations({ description: "A job runner shut down cleanly (its attempts were interrupted and requeued first)." })
)

/** The events of one job stream (`job-<id>`). */
export const jobEventDefinitions = [
  JobCreated,
  JobStarted,
  JobProgressUpdated,
  JobCompleted,
  JobFailed,
  JobCancelled,
  JobPaused,
  JobResumed,
  JobInterrupted
] as const

/** The events of one runner stream (`jobrunner-<runnerId>`). */
export const jobRunnerEventDefinitions = [JobRunnerStarted, JobRunnerHeartbeat, JobRunnerStopped] as const

/** Every `job.*` event definition. */
export const allJobEventDefinitions = [...jobEventDefinitions, ...jobRunnerEventDefinitions] as const
