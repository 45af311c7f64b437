/**
 * The `JobStore` service: job commands (fold the job's stream, decide, append at the version the
 * decision was made on, retry on a concurrent write) and job queries (one job, its full history,
 * the list, the seed's `app/status` output).
 */
import {
  type AnyEventDefinition,
  type EventDecodeError,
  type EventEncodeError,
  IdGenerator,
  type JobInterruptReason,
  jobEventDefinitions,
  type JobsAppStatus,
  type JobStatus,
  makeEnvelope,
  makeStreamId
} from "@codewhale/protocol"
import { type AppendError, catchUp, type EventStoreError, EventStore, ExpectedVersion, foldStream } from "@codewhale/state"
import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Layer, Option, Schedule, Stream } from "effect"
import { decide, JobCommand, type JobFence } from "./Decider.ts"
import { type CorruptJobRow, type JobCommandError, JobListUnavailable, JobNotFound } from "./Errors.ts"
import { jobsReadModel, selectJobs } from "./JobsReadModel.ts"
import {
  DefaultBackoffBaseMs,
  DefaultMaxAttempts,
  evolveJob,
  evolveRecorded,
  type JobHistoryEntry,
  jobFullHistoryProjection,
  jobProjection,
  jobRegistry,
  type JobState
} from "./JobState.ts"
import { appStatus, newestFirst } from "./Wire.ts"

/** The stream category of jobs: a job `job-<uuid>` lives in the stream of the same name. */
export const JobCategory = "job"

/** The stream id of a job id (`job-…` ids are kept as they are). */
export const jobStreamId = (jobId: string): string => makeStreamId(JobCategory, jobId)

/** Anything a job command can fail with. */
export type JobStoreError = JobCommandError | AppendError | EventDecodeError | EventEncodeError

/** Anything a job query can fail with (the last two only with the SQL job list of `JobStore.layerSql`). */
export type JobQueryError = EventStoreError | EventDecodeError | JobListUnavailable | CorruptJobRow

/** Options of `enqueue`. */
export interface EnqueueOptions {
  /** Defaults to a fresh `job-<uuidv7>`. */
  readonly jobId?: string | undefined
  /** Arguments for the handler (JSON, never a secret). */
  readonly input?: unknown
  /** Retries a failing job may schedule (default 3, as in the seed). */
  readonly maxAttempts?: number | undefined
  /** The backoff base (default 500 ms, as in the seed). */
  readonly backoffBaseMs?: number | undefined
  readonly actor?: string | undefined
}

/** Options of `list`. */
export interface ListJobsOptions {
  readonly status?: ReadonlyArray<JobStatus> | undefined
  readonly name?: string | undefined
  /** At most this many jobs, newest update first. */
  readonly limit?: number | undefined
}

/** Who issues a user command (recorded in the event's metadata and payload). */
export interface ActorOptions {
  readonly actor?: string | undefined
}

/** Job commands and queries. */
export interface JobStoreShape {
  /** Enqueues a job (status `queued`, phase `created`). */
  readonly enqueue: (name: string, options?: EnqueueOptions) => Effect.Effect<JobState, JobStoreError>
  /** Runs a command built from the clock reading on one job; returns the job's new state. */
  readonly execute: (
    jobId: string,
    command: (at: number) => JobCommand,
    options?: ActorOptions
  ) => Effect.Effect<JobState, JobStoreError>
  /** Claims a queued (or due) job for a runner: the append at the decided version is the claim. */
  readonly start: (jobId: string, runnerId: string) => Effect.Effect<JobState, JobStoreError>
  readonly updateProgress: (
    jobId: string,
    progress: number,
    detail?: string | null,
    fence?: JobFence
  ) => Effect.Effect<JobState, JobStoreError>
  readonly complete: (jobId: string, fence?: JobFence) => Effect.Effect<JobState, JobStoreError>
  readonly fail: (
    jobId: string,
    error: string,
    options?: { readonly jitterMs?: number | undefined; readonly fence?: JobFence | undefined }
  ) => Effect.Effect<JobState, JobStoreError>
  readonly cancel: (jobId: string, options?: ActorOptions & { readonly reason?: string | undefined }) => Effect.Effect<JobState, JobStoreError>
  readonly pause: (jobId: string, options?: ActorOptions & { readonly detail?: string | undefined }) => Effect.Effect<JobState, JobStoreError>
  readonly resume: (jobId: string, options?: ActorOptions & { readonly detail?: string | undefined }) => Effect.Effect<JobState, JobStoreError>
  /** Records that a running attempt's runner died or stopped; requeues or fails the job. */
  readonly interrupt: (
    jobId: string,
    options: { readonly reason: JobInterruptReason; readonly recordedBy: string; readonly fence?: JobFence | undefined }
  ) => Effect.Effect<JobState, JobStoreError>
  /** One job with its last 64 history entries. */
  readonly get: (jobId: string) => Effect.Effect<JobState, JobNotFound | JobQueryError>
  /** One job, if it exists. */
  readonly find: (jobId: string) => Effect.Effect<Option.Option<JobState>, JobQueryError>
  /** Every history entry of a job, from `created` on (not capped). */
  readonly history: (jobId: string) => Effect.Effect<ReadonlyArray<JobHistoryEntry>, JobNotFound | JobQueryError>
  /**
   * Jobs, newest update first (log position order): from the `jobs` read model brought up to the
   * log's head (`JobStore.layerSql`), or folded from the log a page at a time (`JobStore.layer`).
   */
  readonly list: (options?: ListJobsOptions) => Effect.Effect<ReadonlyArray<JobState>, JobQueryError>
  /** The seed's `app_status()` output over every job. */
  readonly appStatus: Effect.Effect<JobsAppStatus, JobQueryError>
  /** Waits (on the log's subscription, no polling) until the job exists and `until` holds; returns that state. */
  readonly awaitJob: (jobId: string, until: (job: JobState) => boolean) => Effect.Effect<JobState, JobQueryError>
}

const definitions = new Map<string, AnyEventDefinition>(jobEventDefinitions.map((d) => [d.type, d as AnyEventDefinition]))

/** The job store on the event log; `list`/`appStatus` answer from the `jobs` read model when `sql` is given. */
const make = (sql: Option.Option<SqlClient.SqlClient>): Effect.Effect<JobStoreShape, never, EventStore | IdGenerator> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const ids = yield* IdGenerator
    const context = Context.make(EventStore, store).pipe(Context.add(IdGenerator, ids))

    const fold = (jobId: string) => foldStream(jobProjection, jobStreamId(jobId)).pipe(Effect.provide(context))

    const run = (jobId: string, command: (at: number) => JobCommand, options: ActorOptions | undefined, fresh: boolean) => {
      const streamId = jobStreamId(jobId)
      // A freshly generated id has no stream: decide on "no job" without reading; if the id existed
      // after all, the append fails on the expected version and the retry reads the stream.
      let assumeNew = fresh
      const attempt = Effect.gen(function*() {
        const { state, version } = assumeNew ? { state: null, version: 0 } : yield* fold(streamId)
        assumeNew = false
        const at = yield* Clock.currentTimeMillis
        const events = yield* decide(streamId, state, command(at))
        const metadata = { producer: "@codewhale/jobs", ...(options?.actor === undefined ? {} : { actor: options.actor }) }
        const envelopes = yield* Effect.forEach(events, (e) => makeEnvelope(definitions.get(e.type)!, e.payload, metadata))
        const result = yield* store.append(streamId, envelopes, { expected: ExpectedVersion.Exact({ version }) })
        let next = state
        events.forEach((e, i) => {
          next = evolveJob(next, e, { version: version + i + 1, position: result.firstPosition + i })
        })
        return next!
      })
      return attempt.pipe(
        Effect.retry({ while: (e) => e._tag === "WrongExpectedVersion", schedule: Schedule.recurs(8) }),
        Effect.provide(context)
      )
    }
    const execute: JobStoreShape["execute"] = (jobId, command, options) => run(jobId, command, options, false)

    const find: JobStoreShape["find"] = (jobId) => Effect.map(fold(jobId), ({ state }) => Option.fromNullable(state))

    // Suspended: each run folds into a fresh map (a shared one made a second run of `appStatus` fold every event twice).
    const foldList: JobStoreShape["list"] = (options) =>
      Effect.suspend(() =>
        store.streamAll({ category: JobCategory, limit: 5_000 }).pipe(
          Stream.runFoldEffect(new Map<string, JobState>(), (jobs, record) =>
            Effect.map(jobRegistry.decode(record), (event) => {
              if (event._tag === "Unknown") return jobs
              const next = evolveRecorded(jobs.get(record.streamId) ?? null, event)
              if (next !== null) jobs.set(record.streamId, next)
              return jobs
            })),
          Effect.map((jobs) => {
            const statuses = options?.status === undefined ? undefined : new Set(options.status)
            const selected = [...jobs.values()].filter((j) =>
              (statuses === undefined || statuses.has(j.status)) && (options?.name === undefined || j.name === options.name)
            )
            const sorted = newestFirst(selected)
            return options?.limit === undefined ? sorted : sorted.slice(0, Math.max(0, options.limit))
          })
        )
      )

    /** Catches the read model up to the log's head first: read-your-writes, also across processes. */
    const sqlList = (client: SqlClient.SqlClient): JobStoreShape["list"] => (options) =>
      catchUp(jobsReadModel).pipe(
        Effect.zipRight(selectJobs(options)),
        Effect.catchTag("SqlError", (e) => Effect.fail(new JobListUnavailable({ operation: "catch up and read", detail: e.message }))),
        Effect.provideService(SqlClient.SqlClient, client),
        Effect.provideService(EventStore, store)
      )

    const list = Option.match(sql, { onNone: () => foldList, onSome: sqlList })

    return {
      enqueue: (name, options) =>
        Effect.flatMap(options?.jobId === undefined ? ids.domainId(JobCategory) : Effect.succeed(jobStreamId(options.jobId)), (jobId) =>
          run(
            jobId,
            (at) =>
              JobCommand.Enqueue({
                name,
                ...(options?.input === undefined ? {} : { input: options.input }),
                maxAttempts: options?.maxAttempts ?? DefaultMaxAttempts,
                backoffBaseMs: options?.backoffBaseMs ?? DefaultBackoffBaseMs,
                at
              }),
            { actor: options?.actor },
            options?.jobId === undefined
          )),
      execute,
      start: (jobId, runnerId) => execute(jobId, (at) => JobCommand.Start({ runnerId, at }), { actor: runnerId }),
      updateProgress: (jobId, progress, detail, fence) =>
        execute(jobId, (at) => JobCommand.UpdateProgress({ progress, detail: detail ?? null, fence, at }), { actor: fence?.runnerId }),
      complete: (jobId, fence) => execute(jobId, (at) => JobCommand.Complete({ fence, at }), { actor: fence?.runnerId }),
      fail: (jobId, error, options) =>
        execute(jobId, (at) => JobCommand.Fail({ error, jitterMs: options?.jitterMs ?? 0, fence: options?.fence, at }), {
          actor: options?.fence?.runnerId
        }),
      cancel: (jobId, options) =>
        execute(jobId, (at) => JobCommand.Cancel({ reason: options?.reason, actor: options?.actor, at }), { actor: options?.actor }),
      pause: (jobId, options) =>
        execute(jobId, (at) => JobCommand.Pause({ detail: options?.detail, actor: options?.actor, at }), { actor: options?.actor }),
      resume: (jobId, options) =>
        execute(jobId, (at) => JobCommand.Resume({ detail: options?.detail, actor: options?.actor, at }), { actor: options?.actor }),
      interrupt: (jobId, options) =>
        execute(
          jobId,
          (at) => JobCommand.Interrupt({ reason: options.reason, recordedBy: options.recordedBy, fence: options.fence, at }),
          { actor: options.recordedBy }
        ),
      get: (jobId) =>
        Effect.flatMap(find(jobId), Option.match({
          onNone: () => Effect.fail(new JobNotFound({ jobId: jobStreamId(jobId) })),
          onSome: Effect.succeed
        })),
      find,
      history: (jobId) =>
        foldStream(jobFullHistoryProjection, jobStreamId(jobId)).pipe(
          Effect.provide(context),
          Effect.flatMap(({ state }) => state === null ? Effect.fail(new JobNotFound({ jobId: jobStreamId(jobId) })) : Effect.succeed(state.history))
        ),
      list,
      appStatus: Effect.map(list(), appStatus),
      awaitJob: (jobId, until) =>
        Effect.gen(function*() {
          const streamId = jobStreamId(jobId)
          const current = yield* find(streamId)
          if (Option.isSome(current) && until(current.value)) return current.value
          const after = Option.match(current, { onNone: () => 0, onSome: (job) => job.position })
          const found = yield* store.subscribe({ category: JobCategory, after }).pipe(
            Stream.filter((record) => record.streamId === streamId),
            Stream.mapEffect(() => find(streamId)),
            Stream.filterMap((job) => Option.filter(job, until)),
            Stream.runHead
          )
          return yield* Option.match(found, {
            onNone: () => Effect.dieMessage(`the subscription ended before job ${streamId} got there`),
            onSome: Effect.succeed
          })
        })
    }
  })

/** The job store on the event log: `list`/`appStatus` fold the `job` category of the log on every call. */
export const makeJobStore: Effect.Effect<JobStoreShape, never, EventStore | IdGenerator> = make(Option.none())

/** The job store whose `list`/`appStatus` answer from the `jobs` SQL read model (caught up before each answer). */
export const makeJobStoreSql: Effect.Effect<JobStoreShape, never, EventStore | IdGenerator | SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (client) => make(Option.some(client))
)

/** Job commands and queries over the event log. */
export class JobStore extends Context.Tag("@codewhale/jobs/JobStore")<JobStore, JobStoreShape>() {
  /** The job store on the `EventStore` and `IdGenerator` in context; the list is a fold of the log (any backend). */
  static readonly layer: Layer.Layer<JobStore, never, EventStore | IdGenerator> = Layer.effect(JobStore, makeJobStore)
  /** The same on SQLite (`layerSqlite`): the list and `appStatus` come from the `jobs` read model. */
  static readonly layerSql: Layer.Layer<JobStore, never, EventStore | IdGenerator | SqlClient.SqlClient> = Layer.effect(
    JobStore,
    makeJobStoreSql
  )
}

/** Whether a value is one of the job statuses. */
export const isJobStatus = (value: string): value is JobStatus =>
  value === "queued" || value === "running" || value === "paused" || value === "completed" || value === "failed" || value === "cancelled"

