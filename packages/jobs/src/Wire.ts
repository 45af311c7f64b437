/**
 * Jobs in the seed's JSON: the job object, its history entries, the `app/status` response and its
 * `job_transition` frames. Times become the seed's unix seconds: `at` rounded down, `next_retry_at`
 * rounded up (never earlier than the retry is really due).
 */
import type { JobHistoryEntryJson, JobJson, JobRetryJson, JobsAppStatus, JobTransitionDelta, JobTransitionFrame } from "@codewhale/protocol"
import type { JobHistoryEntry, JobRetry, JobState } from "./JobState.ts"

/** Epoch milliseconds to the seed's unix seconds. */
export const toUnixSeconds = (ms: number): number => Math.floor(ms / 1000)

/** The seed's retry JSON. */
export const retryToJson = (retry: JobRetry): JobRetryJson => ({
  attempt: retry.attempt,
  max_attempts: retry.maxAttempts,
  backoff_base_ms: retry.backoffBaseMs,
  next_backoff_ms: retry.nextBackoffMs,
  next_retry_at: retry.nextRetryAt === null ? null : Math.ceil(retry.nextRetryAt / 1000)
})

/** The seed's history entry JSON. */
export const historyEntryToJson = (entry: JobHistoryEntry): JobHistoryEntryJson => ({
  at: toUnixSeconds(entry.at),
  phase: entry.phase,
  status: entry.status,
  progress: entry.progress,
  detail: entry.detail,
  retry: retryToJson(entry.retry)
})

/** The seed's job JSON (`created_at`/`updated_at` are not part of it). */
export const jobToJson = (job: JobState): JobJson => ({
  id: job.id,
  name: job.name,
  status: job.status,
  progress: job.progress,
  detail: job.detail,
  retry: retryToJson(job.retry),
  history: job.history.map(historyEntryToJson)
})

/** One `job_transition` delta per history entry. */
export const transitionDeltas = (job: JobState): ReadonlyArray<JobTransitionDelta> =>
  job.history.map((entry) => ({
    kind: "job_transition",
    job_id: job.id,
    phase: entry.phase,
    status: entry.status,
    progress: entry.progress,
    detail: entry.detail,
    retry: retryToJson(entry.retry),
    at: toUnixSeconds(entry.at)
  }))

/** One `response_delta` frame per history entry, `delta` being the transition as a JSON string. */
export const transitionFrames = (job: JobState): ReadonlyArray<JobTransitionFrame> =>
  transitionDeltas(job).map((delta) => ({ event: "response_delta", response_id: job.id, delta: JSON.stringify(delta) }))

/** Orders jobs as the seed's `list()` does (newest update first), with the log position as the tie-breaker. */
export const newestFirst = (jobs: ReadonlyArray<JobState>): ReadonlyArray<JobState> =>
  [...jobs].sort((a, b) => b.position - a.position)

/** The seed's `app_status()` response over the given jobs (sorted newest first here). */
export const appStatus = (jobs: ReadonlyArray<JobState>): JobsAppStatus => {
  const sorted = newestFirst(jobs)
  return {
    ok: true,
    data: { jobs: sorted.map(jobToJson) },
    events: sorted.flatMap(transitionFrames)
  }
}
