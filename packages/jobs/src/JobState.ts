/**
 * The state of one job and how it evolves from its events: the seed's `JobRecord` (status,
 * progress, detail, retry metadata, capped history) plus what the runner needs (runs, the lease
 * of the running attempt, the stream version and log position the state reflects).
 */
import {
  type EventDefinition,
  type EventOf,
  type EventRegistry,
  JobPhase,
  JobStatus,
  jobEventDefinitions,
  jobRunnerEventDefinitions,
  makeEventRegistry
} from "@codewhale/protocol"
import type { Projection } from "@codewhale/state"
import { Either, Schema } from "effect"

/** The seed's `DEFAULT_JOB_MAX_ATTEMPTS`: retries a failing job may schedule. */
export const DefaultMaxAttempts = 3
/** The seed's `DEFAULT_JOB_BACKOFF_BASE_MS`. */
export const DefaultBackoffBaseMs = 500
/** The seed's `MAX_JOB_HISTORY_ENTRIES`: how many history entries the projection keeps. */
export const MaxHistoryEntries = 64

/** The seed's retry metadata. `nextRetryAt` is epoch milliseconds (the wire shows seconds). */
export const JobRetrySchema = Schema.Struct({
  /** Retries scheduled so far (0 = never failed); never reset. */
  attempt: Schema.Number,
  maxAttempts: Schema.Number,
  backoffBaseMs: Schema.Number,
  /** `backoffBaseMs * 2^(attempt-1)` after a failure that scheduled a retry, else 0. */
  nextBackoffMs: Schema.Number,
  /** When the scheduled retry is due (backoff plus recorded jitter), or null. */
  nextRetryAt: Schema.NullOr(Schema.Number)
})
/** The seed's retry metadata. */
export type JobRetry = typeof JobRetrySchema.Type

/** A snapshot of the job taken after one transition. */
export const JobHistoryEntrySchema = Schema.Struct({
  at: Schema.Number,
  phase: JobPhase,
  status: JobStatus,
  progress: Schema.Number,
  detail: Schema.NullOr(Schema.String),
  retry: JobRetrySchema
})
/** A snapshot of the job taken after one transition. */
export type JobHistoryEntry = typeof JobHistoryEntrySchema.Type

/** The attempt currently running: who holds it. */
export const JobLeaseSchema = Schema.Struct({ runnerId: Schema.String, run: Schema.Number, startedAt: Schema.Number })
/** The attempt currently running. */
export type JobLease = typeof JobLeaseSchema.Type

/** One job, as folded from its stream (also how the `jobs` read model stores it). */
export const JobStateSchema = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  input: Schema.Unknown,
  status: JobStatus,
  progress: Schema.Number,
  detail: Schema.NullOr(Schema.String),
  retry: JobRetrySchema,
  /** The newest history entries, at most the cap the fold was run with (64 for the projection). */
  history: Schema.Array(JobHistoryEntrySchema),
  /** How many history entries the job has in total (the log keeps them all). */
  historyLength: Schema.Number,
  /** How many times the job was started. */
  runs: Schema.Number,
  /** The running attempt, when status is `running`. */
  lease: Schema.NullOr(JobLeaseSchema),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  /** The stream version this state reflects: the version to expect on the next append. */
  version: Schema.Number,
  /** The log position of the last event folded (orders jobs by last update). */
  position: Schema.Number
})
/** One job, as folded from its stream. */
export type JobState = typeof JobStateSchema.Type

/** The definitions of a job stream's events. */
export type JobEventDefinition = (typeof jobEventDefinitions)[number]

type FactOf<D> = D extends EventDefinition<infer T, infer A, infer _I> ? { readonly type: T; readonly payload: A } : never

/** A job event as the decider emits it and the fold consumes it: its type and payload. */
export type JobEvent = FactOf<JobEventDefinition>

/** A runner-stream event (`job.runner_*`). */
export type JobRunnerEvent = FactOf<(typeof jobRunnerEventDefinitions)[number]>

/** The registry of the job stream's events. */
export const jobRegistry: EventRegistry<JobEventDefinition> = Either.getOrThrowWith(
  makeEventRegistry(jobEventDefinitions),
  (e) => e
)

/** The registry of the runner stream's events. */
export const jobRunnerRegistry: EventRegistry<(typeof jobRunnerEventDefinitions)[number]> = Either.getOrThrowWith(
  makeEventRegistry(jobRunnerEventDefinitions),
  (e) => e
)

/**
 * The seed's deterministic backoff: 0 for attempt 0, else `base * 2^min(attempt-1, 20)`,
 * saturating at `Number.MAX_SAFE_INTEGER`.
 */
export const backoffMs = (backoffBaseMs: number, attempt: number): number => {
  if (attempt <= 0) return 0
  const exponent = Math.min(attempt - 1, 20)
  return Math.min(backoffBaseMs * 2 ** exponent, Number.MAX_SAFE_INTEGER)
}

/** Statuses no command moves on from, except `failed`, which `resume` re-queues. */
export const isTerminal = (state: Pick<JobState, "status" | "retry">): boolean =>
  state.status === "completed" || state.status === "cancelled" || (state.status === "failed" && state.retry.nextRetryAt === null)

/** A failed job whose retry is scheduled. */
export const isRetryPending = (state: Pick<JobState, "status" | "retry">): boolean =>
  state.status === "failed" && state.retry.nextRetryAt !== null

/** When a runner may start the job: now for `queued`, the retry time for a pending retry, else never (null). */
export const dueAt = (state: Pick<JobState, "status" | "retry" | "createdAt">): number | null =>
  state.status === "queued" ? 0 : isRetryPending(state) ? state.retry.nextRetryAt : null

const clearSchedule = (retry: JobRetry): JobRetry => ({ ...retry, nextBackoffMs: 0, nextRetryAt: null })

/** Where a folded event sits in the log. */
export interface EventPosition {
  readonly version: number
  readonly position: number
}

/**
 * Applies one job event. `historyCap` bounds the kept history (64 in the projection; `Infinity`
 * for the full history; 0 for the runner's index). Events for a job that was never created are
 * ignored.
 */
export const evolveJob = (
  state: JobState | null,
  event: JobEvent,
  at: EventPosition,
  historyCap: number = MaxHistoryEntries
): JobState | null => {
  const push = (next: Omit<JobState, "history" | "historyLength" | "version" | "position">, phase: JobPhase, time: number): JobState => {
    const entry: JobHistoryEntry = {
      at: time,
      phase,
      status: next.status,
      progress: next.progress,
      detail: next.detail,
      retry: next.retry
    }
    const previous = state?.history ?? []
    const history = historyCap <= 0
      ? []
      : previous.length >= historyCap
      ? [...previous.slice(previous.length - historyCap + 1), entry]
      : [...previous, entry]
    return {
      ...next,
      updatedAt: time,
      history,
      historyLength: (state?.historyLength ?? 0) + 1,
      version: at.version,
      position: at.position
    }
  }
  if (event.type === "job.created") {
    if (state !== null) return state
    const p = event.payload
    return push(
      {
        id: p.jobId,
        name: p.name,
        input: p.input,
        status: "queued",
        progress: 0,
        detail: null,
        retry: { attempt: 0, maxAttempts: p.maxAttempts, backoffBaseMs: p.backoffBaseMs, nextBackoffMs: 0, nextRetryAt: null },
        runs: 0,
        lease: null,
        createdAt: p.at,
        updatedAt: p.at
      },
      "created",
      p.at
    )
  }
  if (state === null) return null
  switch (event.type) {
    case "job.started": {
      const p = event.payload
      return push(
        {
          ...state,
          status: "running",
          retry: clearSchedule(state.retry),
          runs: p.run,
          lease: { runnerId: p.runnerId, run: p.run, startedAt: p.at }
        },
        "running",
        p.at
      )
    }
    case "job.progress_updated": {
      const p = event.payload
      return push({ ...state, progress: p.progress, detail: p.detail }, "progress_updated", p.at)
    }
    case "job.completed": {
      const p = event.payload
      return push({ ...state, status: "completed", progress: 100, retry: clearSchedule(state.retry), lease: null }, "completed", p.at)
    }
    case "job.failed": {
      const p = event.payload
      return push(
        {
          ...state,
          status: "failed",
          detail: p.error,
          retry: { ...state.retry, attempt: p.attempt, nextBackoffMs: p.nextBackoffMs, nextRetryAt: p.nextRetryAt },
          lease: null
        },
        "failed",
        p.at
      )
    }
    case "job.cancelled": {
      const p = event.payload
      return push(
        { ...state, status: "cancelled", detail: p.reason ?? state.detail, retry: clearSchedule(state.retry), lease: null },
        "cancelled",
        p.at
      )
    }
    case "job.paused": {
      const p = event.payload
      return push({ ...state, status: "paused", detail: p.detail ?? state.detail, lease: null }, "paused", p.at)
    }
    case "job.resumed": {
      const p = event.payload
      return push(
        { ...state, status: "queued", detail: p.detail ?? state.detail, retry: clearSchedule(state.retry) },
        "resumed",
        p.at
      )
    }
    case "job.interrupted": {
      const p = event.payload
      const retry = clearSchedule({ ...state.retry, attempt: p.attempt })
      return p.requeued
        ? push({ ...state, status: "queued", detail: p.detail, retry, lease: null }, "queued_after_resume", p.at)
        : push({ ...state, status: "failed", detail: p.detail, retry, lease: null }, "failed", p.at)
    }
  }
}

/** Folds a known decoded job event (from the log) into a state. */
export const evolveRecorded = (
  state: JobState | null,
  event: EventOf<JobEventDefinition>,
  historyCap: number = MaxHistoryEntries
): JobState | null =>
  evolveJob(state, event as JobEvent, { version: event.record.streamVersion, position: event.record.position }, historyCap)

/** The job projection over one `job-<id>` stream: the seed's record with the last 64 history entries. */
export const jobProjection: Projection<JobState | null, JobEventDefinition> = {
  name: "jobs.job",
  version: 1,
  registry: jobRegistry,
  initial: null,
  evolve: (state, event) => evolveRecorded(state, event)
}

/** The same fold keeping every history entry: the full history is one stream read away. */
export const jobFullHistoryProjection: Projection<JobState | null, JobEventDefinition> = {
  name: "jobs.job-full-history",
  version: 1,
  registry: jobRegistry,
  initial: null,
  evolve: (state, event) => evolveRecorded(state, event, Number.POSITIVE_INFINITY)
}
