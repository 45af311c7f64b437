/**
 * The SQLite event log on `@effect/sql-sqlite-node`. Appends are single statements that check the
 * expected version and insert the whole batch (atomic, write-first, never `SQLITE_BUSY` from a
 * read-then-write); concurrent appends are group-committed in one transaction by whichever fiber
 * is writing; the head position is published only after commit; other processes' commits are
 * noticed by polling `PRAGMA data_version`.
 */
import type { RecordedEvent } from "@codewhale/protocol"
import { SqlClient, type SqlError } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { Cause, Deferred, Duration, Effect, Either, Exit, Schedule } from "effect"
import {
  EventIdConflict,
  EventStoreError,
  type AppendError,
  WrongExpectedVersion
} from "../Errors.ts"
import {
  type AppendResult,
  DefaultPageSize,
  type EventStoreShape,
  ExpectedVersion,
  formatExpected,
  MaxPageSize,
  type ReadAllOptions,
  type StreamInfo
} from "../EventStore.ts"
import { type PreparedEvent, prepareAppend } from "./appendInput.ts"
import { makeHeadSignal } from "./headSignal.ts"
import { pagedStream, subscribeStream } from "./subscription.ts"

const Columns = "position, stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at"

const InsertOne = `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
SELECT ?, ?, h.v + 1, ?, ?, ?, ?, ?, ?
FROM (SELECT coalesce(max(stream_version), 0) AS v FROM events WHERE stream_id = ?) AS h
WHERE ? = 0 OR (? = 1 AND h.v = 0) OR (? = 2 AND h.v > 0) OR (? = 3 AND h.v = ?)
RETURNING position, stream_version`

const InsertMany = `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
SELECT ?, ?, h.v + 1 + j.key, j.value ->> '$.i', j.value ->> '$.t', j.value ->> '$.s', j.value -> '$.p', j.value -> '$.m', ?
FROM (SELECT coalesce(max(stream_version), 0) AS v FROM events WHERE stream_id = ?) AS h, json_each(?) AS j
WHERE ? = 0 OR (? = 1 AND h.v = 0) OR (? = 2 AND h.v > 0) OR (? = 3 AND h.v = ?)
ORDER BY j.key
RETURNING position, stream_version`

type Row = readonly [number, string, number, string, string, number, string, string, number]

const modeOf = (expected: ExpectedVersion): readonly [number, number] =>
  ExpectedVersion.$match(expected, {
    Any: () => [0, 0] as const,
    NoStream: () => [1, 0] as const,
    StreamExists: () => [2, 0] as const,
    Exact: ({ version }) => [3, version] as const
  })

const storeError = (operation: string) => (error: SqlError.SqlError) =>
  new EventStoreError({ operation, detail: describeCause(error) })

const describeCause = (error: SqlError.SqlError): string => {
  const cause = error.cause
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message
}

const sqliteCode = (error: SqlError.SqlError): string | undefined => {
  const cause = error.cause as { code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : undefined
}

interface PendingAppend {
  readonly streamId: string
  readonly category: string
  readonly events: ReadonlyArray<PreparedEvent>
  readonly expected: ExpectedVersion
  readonly recordedAt: number | undefined
  /** Absent for the writing fiber's own append. */
  readonly done: Deferred.Deferred<AppendResult, AppendError> | undefined
}

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  readonly describe: string
  readonly readonly: boolean
  /** How often other processes' commits are looked for. */
  readonly pollInterval: Duration.DurationInput
}

/** Makes the SQLite event log on the `SqlClient` in context (schema already migrated). */
export const makeSqliteStore = (options: SqliteStoreOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const query = <A extends object>(text: string, params: ReadonlyArray<unknown>) =>
      sql.unsafe<A>(text, params as Array<unknown>).withoutTransform.pipe(Effect.withTracerEnabled(false))
    const values = (text: string, params: ReadonlyArray<unknown>) =>
      sql.unsafe(text, params as Array<unknown>).values.pipe(Effect.withTracerEnabled(false))

    // `data_version` is read before the head: a commit by another process in between changes it,
    // so the first poll picks that commit up (the other order could miss it until the next one).
    const dataVersion = Effect.map(query<{ data_version: number }>("PRAGMA data_version", []), (r) => Number(r[0]?.data_version ?? 0))
    let lastDataVersion = yield* dataVersion.pipe(Effect.orElseSucceed(() => -1))
    const initialHead = yield* query<{ p: number | null }>("SELECT max(position) AS p FROM events", []).pipe(
      Effect.mapError(storeError("open"))
    )
    const head = makeHeadSignal(Number(initialHead[0]?.p ?? 0))

    const toRecord = (row: ReadonlyArray<unknown>): Either.Either<RecordedEvent, EventStoreError> => {
      const r = row as unknown as Row
      try {
        return Either.right({
          position: r[0],
          streamId: r[1],
          streamVersion: r[2],
          eventId: r[3] as RecordedEvent["eventId"],
          eventType: r[4],
          schemaVersion: r[5],
          payload: JSON.parse(r[6]),
          metadata: JSON.parse(r[7]),
          recordedAt: r[8]
        })
      } catch (cause) {
        return Either.left(
          new EventStoreError({ operation: "read", detail: `event at position ${String(r[0])} is unreadable: ${String(cause)}` })
        )
      }
    }
    const toRecords = (rows: ReadonlyArray<ReadonlyArray<unknown>>) =>
      Effect.suspend(() => {
        const out: Array<RecordedEvent> = new Array(rows.length)
        for (let i = 0; i < rows.length; i++) {
          const e = toRecord(rows[i]!)
          if (Either.isLeft(e)) return Effect.fail(e.left)
          out[i] = e.right
        }
        return Effect.succeed(out as ReadonlyArray<RecordedEvent>)
      })

    // The writer runs on a reserved connection: one permit per group, statements executed
    // directly (no per-statement span, compile or acquire), `BEGIN IMMEDIATE` for groups.
    type Rows<A> = Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>
    const exec = <A>(conn: Connection, text: string, params: ReadonlyArray<unknown>): Rows<A> =>
      conn.executeRaw(text, params) as Rows<A>

    const notLanded = (conn: Connection, p: PendingAppend): Effect.Effect<Either.Either<AppendResult, AppendError>, SqlError.SqlError> =>
      Effect.gen(function*() {
        const rows = yield* exec<{ event_id: string; stream_id: string; position: number }>(
          conn,
          `SELECT event_id, stream_id, position FROM events WHERE event_id IN (SELECT value FROM json_each(?))`,
          [JSON.stringify(p.events.map((e) => e.eventId))]
        )
        const head = yield* exec<{ v: number | null }>(conn, "SELECT max(stream_version) AS v FROM events WHERE stream_id = ?", [p.streamId])
        const version = Number(head[0]?.v ?? 0)
        if (rows.length === p.events.length && rows.every((r) => r.stream_id === p.streamId)) {
          // A loop, not Math.min(...): spreading a batch of 100k+ positions overflows the stack.
          let firstPosition = Number.MAX_SAFE_INTEGER, lastPosition = 0
          for (const r of rows) {
            const position = Number(r.position)
            if (position < firstPosition) firstPosition = position
            if (position > lastPosition) lastPosition = position
          }
          return Either.right({
            streamId: p.streamId,
            firstPosition,
            lastPosition,
            nextExpectedVersion: version,
            duplicate: true
          })
        }
        if (rows.length > 0) {
          return Either.left(
            new EventIdConflict({
              streamId: p.streamId,
              eventIds: rows.map((r) => r.event_id),
              detail: rows.some((r) => r.stream_id !== p.streamId)
                ? "these event ids are already stored in another stream"
                : "part of the batch was already stored"
            })
          )
        }
        return Either.left(new WrongExpectedVersion({ streamId: p.streamId, expected: formatExpected(p.expected), actual: version }))
      })

    const insert = (conn: Connection, p: PendingAppend) => {
      const [mode, exact] = modeOf(p.expected)
      const now = p.recordedAt ?? Date.now()
      if (p.events.length === 1) {
        const e = p.events[0]!
        return exec<{ position: number; stream_version: number }>(conn, InsertOne, [
          p.streamId, p.category, e.eventId, e.eventType, e.schemaVersion, e.payloadJson, e.metadataJson, now,
          p.streamId, mode, mode, mode, mode, exact
        ])
      }
      let batch = "["
      p.events.forEach((e, i) => {
        batch += `${i === 0 ? "" : ","}{"i":${JSON.stringify(e.eventId)},"t":${JSON.stringify(e.eventType)},"s":${e.schemaVersion},"p":${e.payloadJson},"m":${e.metadataJson}}`
      })
      batch += "]"
      return exec<{ position: number; stream_version: number }>(conn, InsertMany, [
        p.streamId, p.category, now, p.streamId, batch, mode, mode, mode, mode, exact
      ])
    }

    const runOne = (conn: Connection) => (p: PendingAppend): Effect.Effect<Either.Either<AppendResult, AppendError>, SqlError.SqlError> =>
      insert(conn, p).pipe(
        Effect.flatMap((rows): Effect.Effect<Either.Either<AppendResult, AppendError>, SqlError.SqlError> => {
          if (rows.length === p.events.length && rows.length > 0) {
            let first = Number.MAX_SAFE_INTEGER, last = 0, version = 0
            for (const r of rows) {
              const pos = Number(r.position)
              if (pos < first) first = pos
              if (pos > last) last = pos
              if (Number(r.stream_version) > version) version = Number(r.stream_version)
            }
            return Effect.succeed(Either.right({ streamId: p.streamId, firstPosition: first, lastPosition: last, nextExpectedVersion: version, duplicate: false }))
          }
          return notLanded(conn, p)
        }),
        Effect.catchIf(
          (error) => (sqliteCode(error) ?? "").startsWith("SQLITE_CONSTRAINT"),
          () => notLanded(conn, p)
        )
      )

    // Group commit: the fiber that finds the writer idle writes its own append and every append
    // that queued meanwhile (one transaction per group), then returns its own outcome. When
    // appends are queueing, they join the next group.
    const pending: Array<PendingAppend> = []
    let writing = false
    // Runs uninterruptibly inside the writer. A failed COMMIT rolls back and fails the group (it
    // must not die: every waiter of the group is owed an outcome).
    const rollback = (conn: Connection) => Effect.ignore(conn.executeUnprepared("ROLLBACK", [], undefined))
    const inTransaction = <A>(conn: Connection, work: Effect.Effect<A, SqlError.SqlError>) =>
      Effect.zipRight(conn.executeUnprepared("BEGIN IMMEDIATE", [], undefined), Effect.exit(work)).pipe(
        Effect.flatMap((exit) =>
          Exit.isSuccess(exit)
            ? Effect.as(Effect.tapError(conn.executeUnprepared("COMMIT", [], undefined), () => rollback(conn)), exit.value)
            : Effect.zipRight(rollback(conn), exit)
        )
      )
    type Outcome = Either.Either<AppendResult, AppendError>
    const writeGroup = (group: ReadonlyArray<PendingAppend>): Effect.Effect<ReadonlyArray<Outcome>> =>
      Effect.scoped(
        Effect.flatMap(sql.reserve, (conn) =>
          group.length === 1
            ? Effect.map(runOne(conn)(group[0]!), (r) => [r])
            : inTransaction(conn, Effect.forEach(group, runOne(conn))))
      ).pipe(
        Effect.retry({
          while: (e) => sqliteCode(e) === "SQLITE_BUSY",
          schedule: Schedule.exponential(Duration.millis(20)).pipe(Schedule.intersect(Schedule.recurs(5)))
        }),
        Effect.catchAll((e) => Effect.succeed(group.map((): Outcome => Either.left(storeError("append")(e))))),
        // A defect still owes every waiter of the group an outcome, or they would wait forever.
        Effect.catchAllDefect((defect) =>
          Effect.succeed(group.map((): Outcome => Either.left(new EventStoreError({ operation: "append", detail: `the writer failed: ${Cause.pretty(Cause.die(defect))}` }))))
        ),
        Effect.tap((results) =>
          Effect.suspend(() => {
            let top = 0
            for (const r of results) if (Either.isRight(r) && !r.right.duplicate && r.right.lastPosition > top) top = r.right.lastPosition
            head.publish(top)
            return Effect.forEach(group, (p, i) => {
              const r = results[i]!
              if (p.done === undefined) return Effect.void
              return Either.isRight(r) ? Deferred.succeed(p.done, r.right) : Deferred.fail(p.done, r.left)
            }, { discard: true })
          })
        )
      )
    const lead = (own: PendingAppend): Effect.Effect<AppendResult, AppendError> =>
      Effect.gen(function*() {
        // Let fibers that are ready to append join this group before it commits.
        yield* Effect.yieldNow()
        const results = yield* writeGroup([own, ...pending.splice(0, 511)])
        // Checking the queue and giving up the writer role is one step: a fiber that queues after
        // this sees `writing === false` and leads itself; one that queued before is written here.
        while (true) {
          const next = yield* Effect.sync(() => {
            if (pending.length > 0) return pending.splice(0, 512)
            writing = false
            return undefined
          })
          if (next === undefined) break
          yield* writeGroup(next)
        }
        return results[0]!
      }).pipe(
        // The loop gives the role up itself; only a failure of the leader needs this.
        Effect.onExit((exit) => Exit.isFailure(exit) ? Effect.sync(() => { writing = false }) : Effect.void),
        Effect.uninterruptible,
        Effect.flatten
      )

    const append: EventStoreShape["append"] = (streamId, events, appendOptions) =>
      options.readonly
        ? Effect.fail(new EventStoreError({ operation: "append", detail: "the database was opened read-only" }))
        : Effect.flatMap(prepareAppend(streamId, events), (prepared) =>
          // Uninterruptible from taking the writer role (or queueing) to handing over: an interrupted
          // caller must not leave `writing` set with nobody writing. Only the wait is interruptible.
          Effect.uninterruptibleMask((restore) => {
            const request = {
              streamId,
              category: prepared.category,
              events: prepared.events,
              expected: appendOptions?.expected ?? ExpectedVersion.Any(),
              recordedAt: appendOptions?.recordedAt
            }
            if (!writing) {
              writing = true
              return lead({ ...request, done: undefined })
            }
            const done = Deferred.unsafeMake<AppendResult, AppendError>(undefined as never)
            pending.push({ ...request, done })
            return restore(Deferred.await(done))
          }))

    const readAll = (o?: ReadAllOptions) => {
      const after = o?.after ?? 0
      const until = o?.until ?? Number.MAX_SAFE_INTEGER
      const limit = Math.min(Math.max(1, o?.limit ?? DefaultPageSize), MaxPageSize)
      const rows = o?.category === undefined
        ? values(`SELECT ${Columns} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`, [after, until, limit])
        : values(
          `SELECT ${Columns} FROM events WHERE category = ? AND position > ? AND position <= ? ORDER BY position LIMIT ?`,
          [o.category, after, until, limit]
        )
      return rows.pipe(Effect.mapError(storeError("readAll")), Effect.flatMap(toRecords))
    }

    const readStream: EventStoreShape["readStream"] = (streamId, o) =>
      values(
        `SELECT ${Columns} FROM events WHERE stream_id = ? AND stream_version >= ? AND stream_version <= ? ORDER BY stream_version ${o?.backwards === true ? "DESC" : "ASC"} LIMIT ?`,
        [streamId, o?.fromVersion ?? 1, o?.toVersion ?? Number.MAX_SAFE_INTEGER, o?.limit ?? -1]
      ).pipe(Effect.mapError(storeError("readStream")), Effect.flatMap(toRecords))

    const listStreams: EventStoreShape["listStreams"] = (o) =>
      query<{ stream_id: string; version: number; first: number; last: number }>(
        `SELECT stream_id, max(stream_version) AS version, min(position) AS first, max(position) AS last FROM events
         WHERE stream_id > ? ${o?.category === undefined ? "" : "AND category = ?"}
         GROUP BY stream_id ORDER BY stream_id LIMIT ?`,
        o?.category === undefined ? [o?.after ?? "", o?.limit ?? -1] : [o?.after ?? "", o.category, o?.limit ?? -1]
      ).pipe(
        Effect.map((rows) =>
          rows.map((r): StreamInfo => ({
            streamId: r.stream_id,
            category: r.stream_id.slice(0, r.stream_id.indexOf("-")),
            version: Number(r.version),
            firstPosition: Number(r.first),
            lastPosition: Number(r.last)
          }))
        ),
        Effect.mapError(storeError("listStreams"))
      )

    // Other processes' commits: `data_version` changes when another connection commits.
    yield* Effect.gen(function*() {
      const dv = yield* dataVersion
      if (dv === lastDataVersion) return
      lastDataVersion = dv
      const rows = yield* query<{ p: number | null }>("SELECT max(position) AS p FROM events", [])
      head.publish(Number(rows[0]?.p ?? 0))
    }).pipe(
      Effect.catchAll((e) => Effect.logWarning("event log: polling for other processes' commits failed", e.message)),
      Effect.repeat(Schedule.spaced(options.pollInterval)),
      Effect.forkScoped,
      Effect.interruptible
    )

    const shape: EventStoreShape = {
      append,
      readStream,
      streamVersion: (streamId) =>
        query<{ v: number | null }>("SELECT max(stream_version) AS v FROM events WHERE stream_id = ?", [streamId]).pipe(
          Effect.map((rows) => Number(rows[0]?.v ?? 0)),
          Effect.mapError(storeError("streamVersion"))
        ),
      readAll,
      streamAll: (o) => pagedStream(readAll, o ?? {}),
      headPosition: query<{ p: number | null }>("SELECT max(position) AS p FROM events", []).pipe(
        Effect.map((rows) => Number(rows[0]?.p ?? 0)),
        Effect.tap((p) => Effect.sync(() => head.publish(p))),
        Effect.mapError(storeError("headPosition"))
      ),
      listStreams,
      subscribe: (o) => subscribeStream(readAll, head, o ?? {}),
      awaitPosition: (position) => head.atLeast(position),
      describe: options.describe
    }
    return shape
  })
