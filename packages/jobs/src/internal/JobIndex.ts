/**
 * The runner's index of unfinished jobs: built once from the `job` category (a page at a time),
 * then kept current from a live subscription. Finished jobs are dropped, so memory follows the
 * number of unfinished jobs, not the size of the log; a finished job that comes back (a resumed
 * failure) is re-read from its stream.
 */
import type { RecordedEvent } from "@codewhale/protocol"
import { type EventStoreShape, foldStream, EventStore } from "@codewhale/state"
import { Effect, Either } from "effect"
import { evolveRecorded, isRetryPending, isTerminal, jobRegistry, type JobState, jobProjection } from "../JobState.ts"

/** The index of unfinished jobs. */
export interface JobIndex {
  /** Unfinished jobs by stream id, in the order they entered the index (oldest first). */
  readonly jobs: Map<string, JobState>
  /** Ids of jobs whose status is `running`. */
  readonly running: Set<string>
  /** Ids of failed jobs with a retry scheduled. */
  readonly retrying: Set<string>
  /** The position of the last job event applied. */
  position: number
}

/** An empty index. */
export const emptyIndex = (): JobIndex => ({ jobs: new Map(), running: new Set(), retrying: new Set(), position: 0 })

const put = (index: JobIndex, id: string, state: JobState | null) => {
  if (state === null || isTerminal(state)) {
    index.jobs.delete(id)
    index.running.delete(id)
    index.retrying.delete(id)
    return
  }
  index.jobs.set(id, state)
  if (state.status === "running") index.running.add(id)
  else index.running.delete(id)
  if (isRetryPending(state)) index.retrying.add(id)
  else index.retrying.delete(id)
}

/** Applies one recorded job event; an event for a job the index dropped re-reads that job's stream. */
export const applyRecord = (index: JobIndex, store: EventStoreShape, record: RecordedEvent) =>
  Effect.gen(function*() {
    if (record.position <= index.position) return
    const decoded = jobRegistry.decode(record)
    if (Either.isRight(decoded) && decoded.right._tag === "Known") {
      const event = decoded.right
      const known = index.jobs.get(record.streamId)
      if (known !== undefined || event.type === "job.created") {
        put(index, record.streamId, evolveRecorded(known ?? null, event, 0))
      } else {
        const { state } = yield* foldStream(jobProjection, record.streamId, { toVersion: record.streamVersion }).pipe(
          Effect.provideService(EventStore, store)
        )
        put(index, record.streamId, state === null ? null : { ...state, history: [] })
      }
    } else if (Either.isLeft(decoded)) {
      yield* Effect.logWarning(`job index: skipping an undecodable event: ${decoded.left.message}`)
    }
    index.position = record.position
  })
