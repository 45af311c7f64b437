/**
 * The SQLite event log. The file is opened and migrated through `@effect/sql-sqlite-node` (whose
 * `SqlClient` also serves read models and snapshots); the log's own hot paths run on a second,
 * dedicated connection with prepared statements, synchronously within one JavaScript turn, so no
 * transaction of this process is ever open across an await.
 *
 * - Appends are single statements that check the expected version and insert the whole batch
 *   (atomic, write-first: never a `SQLITE_BUSY` from upgrading a read lock).
 * - Concurrent appends are group-committed: the fiber that finds the writer idle yields once, then
 *   writes its own append and every append queued meanwhile in one `BEGIN IMMEDIATE` transaction
 *   (each append keeps its own version check and outcome).
 * - This connection's busy timeout is 0: a lock held by another process or connection is waited
 *   for asynchronously (backoff), never by blocking the event loop.
 * - The head position is published only after commit; other processes' commits are noticed by
 *   polling `PRAGMA data_version`.
 */
import type { RecordedEvent } from "@codewhale/protocol"
import Database from "better-sqlite3"
import { Cause, Deferred, Duration, Effect, Either, Exit, Schedule } from "effect"
import { EventIdConflict, EventStoreError, type AppendError, WrongExpectedVersion } from "../Errors.ts"
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

const codeOf = (cause: unknown): string => {
  const code = (cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : ""
}
const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** A driver error of the log's own connection, with SQLite's code kept for retry decisions. */
class DriverFailure {
  readonly _tag = "DriverFailure"
  constructor(readonly cause: unknown) {}
  get busy(): boolean {
    const code = codeOf(this.cause)
    return code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_") || code === "SQLITE_LOCKED"
  }
}

/** Waits for another process's lock asynchronously: about 15 s in all before giving up. */
const busyRetry = Schedule.exponential(Duration.millis(2), 1.5).pipe(
  Schedule.union(Schedule.spaced(Duration.millis(250))),
  Schedule.intersect(Schedule.recurs(80))
)

interface PendingAppend {
  readonly streamId: string
  readonly category: string
  readonly events: ReadonlyArray<PreparedEvent>
  readonly expected: ExpectedVersion
  readonly recordedAt: number | undefined
  /** Absent for the writing fiber's own append. */
  readonly done: Deferred.Deferred<AppendResult, AppendError> | undefined
}

type Outcome = Either.Either<AppendResult, AppendError>

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /** The (already migrated) database file. */
  readonly filename: string
  readonly describe: string
  readonly readonly: boolean
  readonly synchronous: "normal" | "full"
  /** How often other processes' commits are looked for. */
  readonly pollInterval: Duration.DurationInput
}

/** Makes the SQLite event log on its own connection to `filename` (schema already migrated). */
export const makeSqliteStore = (options: SqliteStoreOptions) =>
  Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const connection = new Database(options.filename, { readonly: options.readonly, fileMustExist: true, timeout: 0 })
          connection.pragma(`synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
          connection.pragma("busy_timeout = 0")
          connection.defaultSafeIntegers(false)
          return connection
        },
        catch: (cause) => new EventStoreError({ operation: "open", detail: messageOf(cause) })
      }),
      (connection) => Effect.sync(() => connection.close())
    )

    /** Runs synchronous driver work, waiting out other processes' locks asynchronously. */
    const attempt = <A>(operation: string, work: () => A): Effect.Effect<A, EventStoreError> =>
      Effect.try({ try: work, catch: (cause) => new DriverFailure(cause) }).pipe(
        Effect.retry({ while: (f) => f.busy, schedule: busyRetry }),
        Effect.mapError((f) => new EventStoreError({ operation, detail: messageOf(f.cause) }))
      )

    const prepare = (text: string) => db.prepare(text)
    const raw = (text: string) => db.prepare(text).raw(true)
    const statements = yield* attempt("open", () => ({
      insertOne: prepare(InsertOne),
      insertMany: prepare(InsertMany),
      existing: prepare(`SELECT event_id, stream_id, position FROM events WHERE event_id IN (SELECT value FROM json_each(?))`),
      version: prepare("SELECT coalesce(max(stream_version), 0) AS v FROM events WHERE stream_id = ?").pluck(),
      head: prepare("SELECT coalesce(max(position), 0) AS p FROM events").pluck(),
      readAll: raw(`SELECT ${Columns} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`),
      readCategory: raw(`SELECT ${Columns} FROM events WHERE category = ? AND position > ? AND position <= ? ORDER BY position LIMIT ?`),
      readStream: raw(`SELECT ${Columns} FROM events WHERE stream_id = ? AND stream_version >= ? AND stream_version <= ? ORDER BY stream_version ASC LIMIT ?`),
      readStreamBack: raw(`SELECT ${Columns} FROM events WHERE stream_id = ? AND stream_version >= ? AND stream_version <= ? ORDER BY stream_version DESC LIMIT ?`),
      streams: prepare(`SELECT stream_id, max(stream_version) AS version, min(position) AS first, max(position) AS last FROM events
         WHERE stream_id > ? GROUP BY stream_id ORDER BY stream_id LIMIT ?`),
      streamsInCategory: prepare(`SELECT stream_id, max(stream_version) AS version, min(position) AS first, max(position) AS last FROM events
         WHERE stream_id > ? AND category = ? GROUP BY stream_id ORDER BY stream_id LIMIT ?`),
      begin: prepare("BEGIN IMMEDIATE"),
      commit: prepare("COMMIT"),
      rollback: prepare("ROLLBACK")
    }))

    // `data_version` is read before the head: a commit by another process in between changes it,
    // so the first poll picks that commit up (the other order could miss it until the next one).
    const dataVersion = () => Number(db.pragma("data_version", { simple: true }))
    let lastDataVersion = yield* attempt("open", dataVersion)
    const head = makeHeadSignal(Number(yield* attempt("open", () => statements.head.get())))

    const toRecords = (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError> =>
      Effect.suspend(() => {
        const out: Array<RecordedEvent> = new Array(rows.length)
        for (let i = 0; i < rows.length; i++) {
          const r = rows[i] as Row
          try {
            out[i] = {
              position: r[0],
              streamId: r[1],
              streamVersion: r[2],
              eventId: r[3] as RecordedEvent["eventId"],
              eventType: r[4],
              schemaVersion: r[5],
              payload: JSON.parse(r[6]),
              metadata: JSON.parse(r[7]),
              recordedAt: r[8]
            }
          } catch (cause) {
            return Effect.fail(
              new EventStoreError({ operation: "read", detail: `event at position ${String(r[0])} is unreadable: ${messageOf(cause)}` })
            )
          }
        }
        return Effect.succeed(out)
      })

    // ---- the writer: everything below runs synchronously inside one call of `writeGroupSync`.

    const notLandedSync = (p: PendingAppend): Outcome => {
      const rows = statements.existing.all(JSON.stringify(p.events.map((e) => e.eventId))) as Array<{ event_id: string; stream_id: string; position: number }>
      const version = Number(statements.version.get(p.streamId))
      if (rows.length === p.events.length && rows.every((r) => r.stream_id === p.streamId)) {
        // A loop, not Math.min(...): spreading a batch of 100k+ positions overflows the stack.
        let firstPosition = Number.MAX_SAFE_INTEGER, lastPosition = 0
        for (const r of rows) {
          if (r.position < firstPosition) firstPosition = r.position
          if (r.position > lastPosition) lastPosition = r.position
        }
        return Either.right({ streamId: p.streamId, firstPosition, lastPosition, nextExpectedVersion: version, duplicate: true })
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
    }

    const insertSync = (p: PendingAppend): Array<{ position: number; stream_version: number }> => {
      const [mode, exact] = modeOf(p.expected)
      const now = p.recordedAt ?? Date.now()
      if (p.events.length === 1) {
        const e = p.events[0]!
        return statements.insertOne.all(
          p.streamId, p.category, e.eventId, e.eventType, e.schemaVersion, e.payloadJson, e.metadataJson, now,
          p.streamId, mode, mode, mode, mode, exact
        ) as Array<{ position: number; stream_version: number }>
      }
      let batch = "["
      for (let i = 0; i < p.events.length; i++) {
        const e = p.events[i]!
        batch += `${i === 0 ? "" : ","}{"i":${JSON.stringify(e.eventId)},"t":${JSON.stringify(e.eventType)},"s":${e.schemaVersion},"p":${e.payloadJson},"m":${e.metadataJson}}`
      }
      batch += "]"
      return statements.insertMany.all(p.streamId, p.category, now, p.streamId, batch, mode, mode, mode, mode, exact) as Array<
        { position: number; stream_version: number }
      >
    }

    const runOneSync = (p: PendingAppend): Outcome => {
      let rows: Array<{ position: number; stream_version: number }>
      try {
        rows = insertSync(p)
      } catch (cause) {
        // A constraint (event id or version taken meanwhile) decides the outcome; anything else aborts the group.
        if (codeOf(cause).startsWith("SQLITE_CONSTRAINT")) return notLandedSync(p)
        throw cause
      }
      if (rows.length !== p.events.length || rows.length === 0) return notLandedSync(p)
      let first = Number.MAX_SAFE_INTEGER, last = 0, version = 0
      for (const r of rows) {
        if (r.position < first) first = r.position
        if (r.position > last) last = r.position
        if (r.stream_version > version) version = r.stream_version
      }
      return Either.right({ streamId: p.streamId, firstPosition: first, lastPosition: last, nextExpectedVersion: version, duplicate: false })
    }

    const writeGroupSync = (group: ReadonlyArray<PendingAppend>): ReadonlyArray<Outcome> => {
      if (group.length === 1) return [runOneSync(group[0]!)]
      statements.begin.run()
      try {
        const results = group.map(runOneSync)
        statements.commit.run()
        return results
      } catch (cause) {
        if (db.inTransaction) statements.rollback.run()
        throw cause
      }
    }

    // Group commit: the fiber that finds the writer idle writes its own append and every append
    // that queued meanwhile (one transaction per group), then returns its own outcome. While
    // appends are arriving concurrently (`gather`), the writer first yields once so that fibers
    // ready to append join the group; a lone writer does not pay for that yield.
    const pending: Array<PendingAppend> = []
    let writing = false
    let gather = false

    /** Writes a group, waiting out other processes' locks; every append gets an outcome. */
    const writeGroup = (group: ReadonlyArray<PendingAppend>, attemptNo = 0): Effect.Effect<ReadonlyArray<Outcome>> =>
      Effect.suspend(() => {
        try {
          return Effect.succeed(writeGroupSync(group))
        } catch (cause) {
          const failure = new DriverFailure(cause)
          if (failure.busy && attemptNo < 80) {
            return Effect.flatMap(Effect.sleep(Duration.millis(Math.min(250, 2 * 1.5 ** attemptNo))), () => writeGroup(group, attemptNo + 1))
          }
          const error = new EventStoreError({ operation: "append", detail: messageOf(cause) })
          return Effect.succeed(group.map((): Outcome => Either.left(error)))
        }
      })

    /** Publishes the group's head (after commit) and hands every queued append its outcome. */
    const settle = (group: ReadonlyArray<PendingAppend>, results: ReadonlyArray<Outcome>): void => {
      let top = 0
      for (const r of results) if (Either.isRight(r) && !r.right.duplicate && r.right.lastPosition > top) top = r.right.lastPosition
      head.publish(top)
      for (let i = 0; i < group.length; i++) {
        const done = group[i]!.done
        const r = results[i]!
        if (done !== undefined) Deferred.unsafeDone(done, Either.isRight(r) ? Exit.succeed(r.right) : Exit.fail(r.left))
      }
    }

    /** Writes groups until the queue is empty, then gives up the writer role in the same step. */
    const drain = (group: ReadonlyArray<PendingAppend>, own: Outcome | undefined): Effect.Effect<Outcome> =>
      Effect.flatMap(writeGroup(group), (results) => {
        settle(group, results)
        const mine = own ?? results[0]!
        gather = group.length > 1 || pending.length > 0
        if (pending.length > 0) return drain(pending.splice(0, 512), mine)
        writing = false
        return Effect.succeed(mine)
      })

    const lead = (own: PendingAppend): Effect.Effect<AppendResult, AppendError> =>
      (gather ? Effect.zipRight(Effect.yieldNow(), Effect.suspend(() => drain([own, ...pending.splice(0, 511)], undefined))) : drain([own], undefined)).pipe(
        // A defect must not leave the role taken, nor a queued append without an outcome.
        Effect.onExit((exit) =>
          Exit.isFailure(exit)
            ? Effect.sync(() => {
              writing = false
              const error = new EventStoreError({ operation: "append", detail: `the writer failed: ${Cause.pretty(exit.cause)}` })
              for (const p of pending.splice(0)) if (p.done) Deferred.unsafeDone(p.done, Exit.fail(error))
            })
            : Effect.void
        ),
        Effect.uninterruptible,
        Effect.flatMap((outcome) => (Either.isRight(outcome) ? Effect.succeed(outcome.right) : Effect.fail(outcome.left)))
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
            gather = true
            const done = Deferred.unsafeMake<AppendResult, AppendError>(undefined as never)
            pending.push({ ...request, done })
            return restore(Deferred.await(done))
          }))

    const readAll = (o?: ReadAllOptions) => {
      const after = o?.after ?? 0
      const until = o?.until ?? Number.MAX_SAFE_INTEGER
      const limit = Math.min(Math.max(1, o?.limit ?? DefaultPageSize), MaxPageSize)
      return Effect.flatMap(
        attempt("readAll", () =>
          o?.category === undefined
            ? statements.readAll.all(after, until, limit)
            : statements.readCategory.all(o.category, after, until, limit)),
        toRecords
      )
    }

    const readStream: EventStoreShape["readStream"] = (streamId, o) =>
      Effect.flatMap(
        attempt("readStream", () =>
          (o?.backwards === true ? statements.readStreamBack : statements.readStream).all(
            streamId,
            o?.fromVersion ?? 1,
            o?.toVersion ?? Number.MAX_SAFE_INTEGER,
            o?.limit === undefined || o.limit < 0 ? -1 : o.limit
          )),
        toRecords
      )

    const listStreams: EventStoreShape["listStreams"] = (o) =>
      attempt("listStreams", () => {
        const limit = o?.limit === undefined ? -1 : Math.max(0, o.limit)
        const rows = (o?.category === undefined
          ? statements.streams.all(o?.after ?? "", limit)
          : statements.streamsInCategory.all(o?.after ?? "", o.category, limit)) as Array<
            { stream_id: string; version: number; first: number; last: number }
          >
        return rows.map((r): StreamInfo => ({
          streamId: r.stream_id,
          category: r.stream_id.slice(0, r.stream_id.indexOf("-")),
          version: r.version,
          firstPosition: r.first,
          lastPosition: r.last
        }))
      })

    // Other processes' commits: `data_version` changes when another connection commits.
    yield* attempt("poll", () => {
      const dv = dataVersion()
      if (dv === lastDataVersion) return
      lastDataVersion = dv
      head.publish(Number(statements.head.get()))
    }).pipe(
      Effect.catchAll((e) => Effect.logWarning("event log: polling for other processes' commits failed", e.message)),
      Effect.repeat(Schedule.spaced(options.pollInterval)),
      Effect.forkScoped,
      Effect.interruptible
    )

    const shape: EventStoreShape = {
      append,
      readStream,
      streamVersion: (streamId) => attempt("streamVersion", () => Number(statements.version.get(streamId))),
      readAll,
      streamAll: (o) => pagedStream(readAll, o ?? {}),
      headPosition: attempt("headPosition", () => {
        const p = Number(statements.head.get())
        head.publish(p)
        return p
      }),
      listStreams,
      subscribe: (o) => subscribeStream(readAll, head, o ?? {}),
      awaitPosition: (position) => head.atLeast(position),
      describe: options.describe
    }
    return shape
  })
