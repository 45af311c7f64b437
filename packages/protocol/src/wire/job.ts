/**
 * Jobs in the seed's wire shapes, as a downstream app sees them: the job JSON
 * `{id, name, status, progress, detail, retry, history}`, the `app/status` response
 * `{ok, data: {jobs}, events}` and its `job_transition` frames (a `response_delta` whose `delta` is a
 * JSON string). Times on the wire are the seed's unix seconds.
 */
import { Schema } from "effect"

/** The six job statuses, with the seed's string forms. */
export const JobStatus = Schema.Literal("queued", "running", "paused", "completed", "failed", "cancelled")
/** A job status. */
export type JobStatus = typeof JobStatus.Type

/** The seed's history phase names. */
export const JobPhase = Schema.Literal(
  "created",
  "running",
  "progress_updated",
  "completed",
  "failed",
  "cancelled",
  "paused",
  "resumed",
  "queued_after_resume"
)
/** A history phase name. */
export type JobPhase = typeof JobPhase.Type

/** `{attempt, max_attempts, backoff_base_ms, next_backoff_ms, next_retry_at}` (`next_retry_at`: unix seconds or null). */
export const JobRetryJson = Schema.Struct({
  attempt: Schema.Int,
  max_attempts: Schema.Int,
  backoff_base_ms: Schema.Int,
  next_backoff_ms: Schema.Int,
  next_retry_at: Schema.NullOr(Schema.Int)
})
/** The seed's retry JSON. */
export type JobRetryJson = typeof JobRetryJson.Type

/** `{at, phase, status, progress, detail, retry}` (`at`: unix seconds). */
export const JobHistoryEntryJson = Schema.Struct({
  at: Schema.Int,
  phase: Schema.String,
  status: JobStatus,
  progress: Schema.NullOr(Schema.Int),
  detail: Schema.NullOr(Schema.String),
  retry: JobRetryJson
})
/** The seed's history entry JSON. */
export type JobHistoryEntryJson = typeof JobHistoryEntryJson.Type

/** `{id, name, status, progress, detail, retry, history}`: one job of `app/status`. */
export const JobJson = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  status: JobStatus,
  progress: Schema.NullOr(Schema.Int),
  detail: Schema.NullOr(Schema.String),
  retry: JobRetryJson,
  history: Schema.Array(JobHistoryEntryJson)
})
/** The seed's job JSON. */
export type JobJson = typeof JobJson.Type

/** The decoded `delta` of a `job_transition` frame: `{kind, job_id, phase, status, progress, detail, retry, at}`. */
export const JobTransitionDelta = Schema.Struct({
  kind: Schema.Literal("job_transition"),
  job_id: Schema.String,
  phase: Schema.String,
  status: JobStatus,
  progress: Schema.NullOr(Schema.Int),
  detail: Schema.NullOr(Schema.String),
  retry: JobRetryJson,
  at: Schema.Int
})
/** A decoded `job_transition` delta. */
export type JobTransitionDelta = typeof JobTransitionDelta.Type

/**
 * `{"event":"response_delta","response_id":<job id>,"delta":"<JobTransitionDelta as JSON>"}`;
 * `channel` is omitted (text), as the seed serialises it.
 */
export const JobTransitionFrame = Schema.Struct({
  event: Schema.Literal("response_delta"),
  response_id: Schema.String,
  delta: Schema.String
})
/** A `job_transition` frame. */
export type JobTransitionFrame = typeof JobTransitionFrame.Type

/** `{ok, data: {jobs}, events}`: the seed's `app_status()` response (jobs newest first). */
export const JobsAppStatus = Schema.Struct({
  ok: Schema.Boolean,
  data: Schema.Struct({ jobs: Schema.Array(JobJson) }),
  events: Schema.Array(JobTransitionFrame)
})
/** The `app/status` response. */
export type JobsAppStatus = typeof JobsAppStatus.Type
