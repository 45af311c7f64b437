/**
 * The `jobs` SQL read model: one `jobs_list` row per job (id, name, status, attempt, progress,
 * timestamps, the log position of its last event and the folded `JobState` as JSON), maintained a
 * page at a time from the `job` events with `evolveRecorded`, the fold `JobStore.list` used to run
 * over the whole log. Queries answer the list and `app/status` without replaying the log.
 */
import { type EventOf, type JobStatus } from "@codewhale/protocol"
import { type ReadModel, readModelQuery } from "@codewhale/state"
import { SqlClient, SqlError } from "@effect/sql"
import { Effect, Either, ParseResult, Schema } from "effect"
import { CorruptJobRow } from "./Errors.ts"
import { evolveRecorded, type JobEventDefinition, type JobState, JobStateSchema, jobRegistry } from "./JobState.ts"

/** A job state stored as JSON text (the `state` column). */
const JobStateJson: Schema.Schema<JobState, string> = Schema.parseJson(JobStateSchema)

/** Keys keep their stored order, so a row evolved from the table equals one from a fresh rebuild. */
const decodeState = Schema.decodeUnknownEither(JobStateJson, { propertyOrder: "original" })

/** The columns of `jobs_list`, in insert order. */
const Columns = "job_id, name, status, attempt, progress, created_at, updated_at, last_position, state"

const ddl: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS jobs_list (
    job_id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    progress REAL NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_position INTEGER NOT NULL,
    state TEXT NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS jobs_list_by_activity ON jobs_list (last_position DESC)`,
  `CREATE INDEX IF NOT EXISTS jobs_list_by_status ON jobs_list (status, last_position DESC)`,
  `CREATE INDEX IF NOT EXISTS jobs_list_by_name ON jobs_list (name, last_position DESC)`
]

const query = readModelQuery

/** The stored state of a row, or a `CorruptJobRow` naming the job. */
const rowState = (row: Record<string, unknown>): Either.Either<JobState, CorruptJobRow> =>
  Either.mapLeft(
    decodeState(row["state"]),
    (e) => new CorruptJobRow({ jobId: String(row["job_id"]), detail: ParseResult.TreeFormatter.formatErrorSync(e) })
  )

const rowValues = (job: JobState, streamId: string): ReadonlyArray<unknown> => [
  streamId,
  job.name,
  job.status,
  job.retry.attempt,
  job.progress,
  job.createdAt,
  job.updatedAt,
  job.position,
  JSON.stringify(job)
]

/** Applies a page of job events: rows evolve in memory with `evolveRecorded`, then are upserted in bulk. */
const applyPage = (records: Parameters<ReadModel["apply"]>[0]) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const events: Array<EventOf<JobEventDefinition>> = []
    for (const record of records) {
      const decoded = jobRegistry.decode(record)
      if (Either.isLeft(decoded)) return yield* Effect.fail(decoded.left)
      if (decoded.right._tag === "Known") events.push(decoded.right)
    }
    if (events.length === 0) return
    const ids = [...new Set(events.map((e) => e.record.streamId))]
    const existing = yield* query(sql, `SELECT job_id, state FROM jobs_list WHERE job_id IN (SELECT value FROM json_each(?))`, [
      JSON.stringify(ids)
    ])
    const jobs = new Map<string, JobState>()
    for (const row of existing) {
      const state = rowState(row)
      if (Either.isLeft(state)) return yield* Effect.fail(new SqlError.SqlError({ cause: state.left, message: state.left.message }))
      jobs.set(String(row["job_id"]), state.right)
    }
    const changed = new Set<string>()
    for (const event of events) {
      const id = event.record.streamId
      const next = evolveRecorded(jobs.get(id) ?? null, event)
      if (next !== null) {
        jobs.set(id, next)
        changed.add(id)
      }
    }
    if (changed.size === 0) return
    const placeholders = Columns.split(", ").map((_, i) => `value ->> '$[${i}]'`).join(", ")
    yield* query(sql, `INSERT OR REPLACE INTO jobs_list (${Columns}) SELECT ${placeholders} FROM json_each(?)`, [
      JSON.stringify([...changed].map((id) => rowValues(jobs.get(id)!, id)))
    ])
  })

/** The canonical content of the read model: every row, by job id, the state as stored. */
const dump = Effect.flatMap(SqlClient.SqlClient, (sql) => query(sql, `SELECT ${Columns} FROM jobs_list ORDER BY job_id`))

/** The `jobs` read model (stream category `job`, as `JobCategory`), for `JobStore.layerSql` and `codewhale log rebuild|verify jobs`. */
export const jobsReadModel: ReadModel = {
  name: "jobs",
  version: 1,
  category: "job",
  setup: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.forEach(ddl, (s) => query(sql, s), { discard: true })),
  reset: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(query(sql, "DELETE FROM jobs_list"))),
  apply: applyPage,
  dump
}

/** Filters of a job list query (the same as `ListJobsOptions`). */
export interface JobListQuery {
  readonly status?: ReadonlyArray<JobStatus> | undefined
  readonly name?: string | undefined
  readonly limit?: number | undefined
}

/** `limit` as `Array.slice` reads it: undefined for no limit, else a whole number of rows (at least 0). */
const rowLimit = (limit: number | undefined): number | undefined => {
  if (limit === undefined) return undefined
  const n = Math.trunc(limit)
  if (Number.isNaN(n)) return 0
  if (n === Number.POSITIVE_INFINITY) return undefined
  return Math.max(0, n)
}

/** Jobs from `jobs_list`, newest update (log position) first, filtered by status and name, at most `limit`. */
export const selectJobs = (q: JobListQuery = {}) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const where: Array<string> = []
    const params: Array<unknown> = []
    if (q.status !== undefined) {
      where.push("status IN (SELECT value FROM json_each(?))")
      params.push(JSON.stringify(q.status))
    }
    if (q.name !== undefined) {
      where.push("name = ?")
      params.push(q.name)
    }
    const limit = rowLimit(q.limit)
    if (limit !== undefined) params.push(limit)
    return query(
      sql,
      `SELECT job_id, state FROM jobs_list ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
       ORDER BY last_position DESC${limit === undefined ? "" : " LIMIT ?"}`,
      params
    ).pipe(Effect.flatMap((rows) => Effect.forEach(rows, (row) => rowState(row))))
  })
