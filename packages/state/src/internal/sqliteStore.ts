/**
 * The SQLite event log. The file is opened and migrated through `@effect/sql-sqlite-node` (whose
 * `SqlClient` also serves read models and snapshots); the log's own hot paths run on a second,
 * dedicated connection with prepared statements, synchronously within one JavaScript turn, so no
 * transaction of this process is ever open across an await.
 *
 * - Appends run in `BEGIN IMMEDIATE` transactions: the write lock is taken first (never a
 *   `SQLITE_BUSY` from upgrading a read lock), then each append checks its expected version and
 *   inserts its whole batch.
 * - Concurrent appends are group-committed: appends queue up, and one flush (scheduled with
 *   `setImmediate`, so every fiber ready to append has queued by then) writes them all in one
 *   `BEGIN IMMEDIATE` transaction (each append keeps its own version check and outcome). The
 *   appenders a commit resumes that append again at once are written from a microtask behind
 *   them, up to 8 groups in a row before the event loop gets its turn.
 * - This connection's busy timeout is 0: a lock held by another process or connection is waited
 *   for asynchronously (backoff), never by blocking the event loop.
 * - The head position is published only after commit; other processes' commits are noticed by
 *   polling `PRAGMA data_version`.
 */
import type { RecordedEvent } from "@codewhale/protocol"
import Database from "better-sqlite3"
import { SqlClient } from "@effect/sql"
import { Context, Duration, Effect, Either, Option, Schedule } from "effect"
import { EventIdConflict, EventStoreError, type AppendError, InvalidAppend, WrongExpectedVersion } from "../Errors.ts"
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
import { type PreparedEvent, prepareAppendSync } from "./appendInput.ts"
import { type Checkpointer, DefaultCheckpointPages, noCheckpointer, SafetyNetPages, startCheckpointer } from "./checkpointer.ts"
import { codeOf, messageOf } from "./driverErrors.ts"
import { makeHeadSignal } from "./headSignal.ts"
import { pagedStream, subscribeStream } from "./subscription.ts"

const Columns = "position, stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at"

// Appends run inside `BEGIN IMMEDIATE` (the write lock is taken first, so a read lock is never
// upgraded): the stream's version is read, the expected version checked, then plain inserts. No
// statement reads `events` while inserting into it, which would make SQLite materialise the read.
const InsertOne = `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

const InsertMany = `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
SELECT ?, ?, ? + 1 + j.key, j.value ->> '$.i', j.value ->> '$.t', j.value ->> '$.s', j.value -> '$.p', j.value -> '$.m', ?
FROM json_each(?) AS j
ORDER BY j.key
RETURNING position`

/** The metadata of events recorded without any, shared (and frozen) rather than parsed each time. */
const NoMetadata: RecordedEvent["metadata"] = Object.freeze({})

type Row = readonly [number, string, number, string, string, number, string, string, number]

/** Whether a stream at `version` satisfies the expected version. */
const expectedHolds = (expected: ExpectedVersion, version: number): boolean => {
  switch (expected._tag) {
    case "Any":
      return true
    case "NoStream":
      return version === 0
    case "StreamExists":
      return version > 0
    case "Exact":
      return version === expected.version
  }
}

/** A driver error of the log's own connection, with SQLite's code kept for retry decisions. */
class DriverFailure {
  readonly _tag = "DriverFailure"
  constructor(readonly cause: unknown) {}
  get busy(): boolean {
    const code = codeOf(this.cause)
    return code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_") || code === "SQLITE_LOCKED"
  }
}

/** How often a lock held by another process is waited out: about 15 s in all before giving up. */
const MaxBusyRetries = 80

/** The wait before busy retry `n` (0-based): 2 ms growing by half each time, at most 250 ms. */
const busyDelayMs = (n: number): number => Math.min(250, 2 * 1.5 ** n)

/** `busyDelayMs` as a schedule, for driver work run as an effect. */
const busyRetry = Schedule.recurs(MaxBusyRetries).pipe(Schedule.addDelay((n) => Duration.millis(busyDelayMs(n))))

interface PendingAppend {
  readonly streamId: string
  readonly category: string
  readonly events: ReadonlyArray<PreparedEvent>
  readonly expected: ExpectedVersion
  readonly recordedAt: number | undefined
  /** Hands the append its outcome (called once, after commit or failure); an `Either` is an effect. */
  readonly resume: (outcome: Effect.Effect<AppendResult, AppendError>) => void
}

/** The most appends written in one transaction. */
const MaxGroup = 512

/** The most groups written from microtasks in a row before the event loop gets a turn. */
const MaxChainedGroups = 8

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

    // With `NORMAL`, checkpoints run on a worker thread (should it be unavailable, SQLite's default
    // comes back); with `FULL` the writer keeps SQLite's default (see checkpointer.ts for why).
    const checkpointer: Checkpointer = options.readonly
      ? noCheckpointer
      : options.synchronous === "full"
      ? yield* Effect.sync(() => db.pragma(`wal_autocheckpoint = ${DefaultCheckpointPages}`)).pipe(Effect.as(noCheckpointer))
      : yield* Effect.sync(() => db.pragma(`wal_autocheckpoint = ${SafetyNetPages}`)).pipe(
        Effect.zipRight(startCheckpointer(options.filename, () => {
          if (db.open) db.pragma(`wal_autocheckpoint = ${DefaultCheckpointPages}`)
        }))
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
      insertMany: prepare(InsertMany).pluck(),
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
      rollback: prepare("ROLLBACK"),
      dataVersion: prepare("PRAGMA data_version").pluck()
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
              metadata: r[7] === "{}" ? NoMetadata : JSON.parse(r[7]),
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

    /** Inserts an append's events after `version`; returns the first and last position. */
    const insertSync = (p: PendingAppend, version: number): readonly [number, number] => {
      const now = p.recordedAt ?? Date.now()
      if (p.events.length === 1) {
        const e = p.events[0]!
        const info = statements.insertOne.run(p.streamId, p.category, version + 1, e.eventId, e.eventType, e.schemaVersion, e.payloadJson, e.metadataJson, now)
        const position = Number(info.lastInsertRowid)
        return [position, position]
      }
      let batch = "["
      for (let i = 0; i < p.events.length; i++) {
        const e = p.events[i]!
        batch += `${i === 0 ? "" : ","}{"i":${JSON.stringify(e.eventId)},"t":${JSON.stringify(e.eventType)},"s":${e.schemaVersion},"p":${e.payloadJson},"m":${e.metadataJson}}`
      }
      batch += "]"
      const positions = statements.insertMany.all(p.streamId, p.category, version, now, batch) as Array<number>
      let first = Number.MAX_SAFE_INTEGER, last = 0
      for (const position of positions) {
        if (position < first) first = position
        if (position > last) last = position
      }
      return [first, last]
    }

    // Stream versions as of this connection's own commits, valid while no other connection has
    // committed (`data_version` unchanged, read inside the write transaction): an append to a
    // stream this process just wrote skips reading its version.
    const versions = new Map<string, number>()
    let versionsAsOf = -1

    /** One append inside the group's transaction: version check, then the inserts. */
    const runOneSync = (p: PendingAppend): Outcome => {
      const version = versions.get(p.streamId) ?? Number(statements.version.get(p.streamId))
      if (!expectedHolds(p.expected, version)) {
        versions.delete(p.streamId)
        return notLandedSync(p)
      }
      let positions: readonly [number, number]
      try {
        positions = insertSync(p, version)
      } catch (cause) {
        // A constraint (an event id already stored) decides the outcome; anything else aborts the group.
        versions.delete(p.streamId)
        if (codeOf(cause).startsWith("SQLITE_CONSTRAINT")) return notLandedSync(p)
        throw cause
      }
      if (versions.size >= 10_000) versions.clear()
      versions.set(p.streamId, version + p.events.length)
      return Either.right({
        streamId: p.streamId,
        firstPosition: positions[0],
        lastPosition: positions[1],
        nextExpectedVersion: version + p.events.length,
        duplicate: false
      })
    }

    const writeGroupSync = (group: ReadonlyArray<PendingAppend>): ReadonlyArray<Outcome> => {
      statements.begin.run()
      try {
        const asOf = Number(statements.dataVersion.get())
        if (asOf !== versionsAsOf) {
          versions.clear()
          versionsAsOf = asOf
        }
        const results = group.map(runOneSync)
        statements.commit.run()
        return results
      } catch (cause) {
        versions.clear()
        versionsAsOf = -1
        if (db.inTransaction) statements.rollback.run()
        throw cause
      }
    }

    // Group commit: appends queue up and one flush, scheduled with `setImmediate`, writes every
    // append queued by then in one transaction. `setImmediate` runs once the fibers that were ready
    // have run, so concurrent appenders join the same group; a lone appender pays one hop.
    //
    // After a group settles, the appenders it resumed run in the microtasks that follow (Effect's
    // scheduler resumes fibers there) and most of them append again at once: a microtask queued
    // behind them writes their next group without waiting for the event loop's next turn. At most
    // `MaxChainedGroups` groups are written that way in a row; then the event loop gets its turn
    // (timers, I/O, other work) before the next group.
    const queue: Array<PendingAppend> = []
    let flushScheduled = false
    let waitingOutLock = false
    let busyAttempts = 0
    let chainedGroups = 0

    const scheduleFlush = (): void => {
      if (flushScheduled) return
      flushScheduled = true
      setImmediate(flushScheduledWrites)
    }

    /** Publishes the group's head (after commit) and hands every append its outcome. */
    const settle = (group: ReadonlyArray<PendingAppend>, results: ReadonlyArray<Outcome>): void => {
      let top = 0
      for (const r of results) if (Either.isRight(r) && !r.right.duplicate && r.right.lastPosition > top) top = r.right.lastPosition
      head.publish(top)
      for (let i = 0; i < group.length; i++) group[i]!.resume(results[i]!)
    }

    /** The `setImmediate` flush: the event loop has had its turn, so a new chain may start. */
    function flushScheduledWrites(): void {
      flushScheduled = false
      chainedGroups = 0
      writeQueued()
    }

    /** The backoff timer's retry after another connection held the write lock. */
    function retryAfterLock(): void {
      waitingOutLock = false
      writeQueued()
    }

    /** The microtask behind the appenders a group resumed: writes what they queued again. */
    function writeChained(): void {
      if (queue.length > 0) writeQueued()
    }

    /** Writes the queue in groups; another process's lock is waited out with backoff, off the event loop. */
    function writeQueued(): void {
      if (waitingOutLock) return
      let settled = false
      while (queue.length > 0) {
        const group = queue.splice(0, MaxGroup)
        let results: ReadonlyArray<Outcome>
        try {
          results = writeGroupSync(group)
          busyAttempts = 0
        } catch (cause) {
          const failure = new DriverFailure(cause)
          if (failure.busy && busyAttempts < MaxBusyRetries) {
            queue.unshift(...group)
            waitingOutLock = true
            setTimeout(retryAfterLock, busyDelayMs(busyAttempts++))
            return
          }
          busyAttempts = 0
          const error = new EventStoreError({ operation: "append", detail: messageOf(cause) })
          results = group.map((): Outcome => Either.left(error))
        }
        settle(group, results)
        checkpointer.committed()
        settled = true
      }
      if (settled && chainedGroups < MaxChainedGroups) {
        chainedGroups++
        queueMicrotask(writeChained)
      }
    }

    const readOnlyError = new EventStoreError({ operation: "append", detail: "the database was opened read-only" })
    const insideTransactionError = new EventStoreError({
      operation: "append",
      detail: "an append cannot run inside a transaction of this database's own SqlClient: the transaction holds " +
        "(or will take) the write lock the append needs, so the two would wait for each other; append before or after it"
    })
    const anyVersion = ExpectedVersion.Any()

    // The connection of the SqlClient on this file (read models, snapshots): an append inside one of
    // its transactions would wait for the transaction's write lock while the transaction waits for
    // the append, until the busy retries give up (about 15 s). It is refused at once instead.
    const sqlConnection = yield* Effect.serviceOption(SqlClient.SqlClient).pipe(
      Effect.flatMap(Option.match({ onNone: () => Effect.succeed(undefined), onSome: (sql) => Effect.scoped(sql.reserve) })),
      Effect.orElseSucceed(() => undefined)
    )

    const enqueue = (streamId: string, events: ReadonlyArray<unknown>, appendOptions: Parameters<EventStoreShape["append"]>[2]) =>
      Effect.async<AppendResult, AppendError>((resume) => {
        const prepared = prepareAppendSync(streamId, events)
        if (prepared instanceof InvalidAppend) return resume(Effect.fail(prepared))
        const request: PendingAppend = {
          streamId,
          category: prepared.category,
          events: prepared.events,
          expected: appendOptions?.expected ?? anyVersion,
          recordedAt: appendOptions?.recordedAt,
          resume
        }
        queue.push(request)
        scheduleFlush()
        // No canceler: an append whose caller is interrupted while it waits may still be
        // written, whole, as with any commit in flight; retrying with the same event ids is
        // idempotent. (A canceler made every append cost several microseconds more.)
      })

    const append: EventStoreShape["append"] = (streamId, events, appendOptions) =>
      options.readonly
        ? Effect.fail(readOnlyError)
        : sqlConnection === undefined
        ? enqueue(streamId, events, appendOptions)
        : Effect.withFiberRuntime((fiber) => {
          const transaction = Context.getOption(fiber.currentContext, SqlClient.TransactionConnection)
          return Option.isSome(transaction) && transaction.value[0] === sqlConnection
            ? Effect.fail(insideTransactionError)
            : enqueue(streamId, events, appendOptions)
        })

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
