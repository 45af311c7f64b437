/**
 * The two layers of the `EventStore`: `layerMemory` and `layerSqlite({ filename })`.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { SqlClient } from "@effect/sql"
import { Cause, Duration, Effect, Layer, Option } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { DatabaseOpenError, EventStoreError } from "./Errors.ts"
import { EventStore } from "./EventStore.ts"
import { type MigrationError, runMigrations } from "./Migrations.ts"
import { makeMemoryStore } from "./internal/memoryStore.ts"
import { probeDatabase } from "./internal/sqliteOpen.ts"
import { eventLogMigrations, MigrationsTable } from "./internal/sqliteSchema.ts"
import { makeSqliteStore } from "./internal/sqliteStore.ts"

/** A volatile, in-process event log. */
export const layerMemory: Layer.Layer<EventStore> = Layer.effect(EventStore, makeMemoryStore)

/** Options of the SQLite event log. */
export interface SqliteOptions {
  /** The database file (created with its directory when missing, unless read-only), or `:memory:`. */
  readonly filename: string
  /** Open without writing anything: appends fail, migrations are not run. */
  readonly readonly?: boolean | undefined
  /** Refuse (`DatabaseOpenError`, reason `missing`) instead of creating a database that is not there. */
  readonly mustExist?: boolean | undefined
  /**
   * `full` (default): a commit is synced to disk before the append returns, so it survives power
   * loss; concurrent appends share one sync (group commit). `normal`: commits survive a crash of
   * the process but the last ones may roll back after power loss or an OS crash.
   */
  readonly synchronous?: "normal" | "full" | undefined
  /** How often commits of other processes are looked for; 100 ms by default. */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/** The durability of a log opened with `options`: `full` unless `normal` is asked for. */
const synchronousOf = (options: SqliteOptions): "normal" | "full" => options.synchronous ?? "full"

/** Pragmas set on every open, never left to the driver's defaults. */
const pragmas = (options: SqliteOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    if (options.readonly !== true) yield* sql.unsafe("PRAGMA journal_mode = WAL")
    yield* sql.unsafe(`PRAGMA synchronous = ${synchronousOf(options).toUpperCase()}`)
    yield* sql.unsafe("PRAGMA busy_timeout = 5000")
    yield* sql.unsafe("PRAGMA foreign_keys = ON")
  })

/** The SQLite client for a file, opened only after the file was checked to be ours. */
export const layerSqliteClient = (
  options: SqliteOptions
): Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, DatabaseOpenError | EventStoreError | MigrationError> => {
  const readonly = options.readonly === true
  const openError = (detail: string) => new DatabaseOpenError({ filename: options.filename, reason: "unreadable", detail })
  const client = Layer.unwrapEffect(
    Effect.as(
      probeDatabase(options.filename, eventLogMigrations, { readonly, mustExist: options.mustExist }),
      SqliteClient.layer({ filename: options.filename, readonly, disableWAL: true })
    )
  ).pipe(
    Layer.catchAllCause((cause) => {
      const failure = Cause.failureOption(cause)
      return Layer.fail(
        Option.isSome(failure) && failure.value._tag === "DatabaseOpenError" ? failure.value : openError(Cause.pretty(cause))
      )
    })
  )
  const setup = Layer.effectDiscard(
    Effect.gen(function*() {
      yield* pragmas(options)
      if (!readonly) yield* runMigrations(MigrationsTable, eventLogMigrations)
    }).pipe(
      Effect.catchTag("SqlError", (e) => Effect.fail(new EventStoreError({ operation: "open", detail: e.message })))
    )
  )
  return Layer.provideMerge(setup, client)
}

/** A private temporary file standing in for `:memory:`, removed when the layer's scope closes. */
const memoryFile = Effect.acquireRelease(
  Effect.sync(() => NodePath.join(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-memory-")), "memory.db")),
  (file) => Effect.sync(() => NodeFs.rmSync(NodePath.dirname(file), { recursive: true, force: true }))
)

/**
 * The event log in an SQLite file (WAL), also exposing its `SqlClient` for read models.
 * `:memory:` is a private temporary file (the log keeps a second connection for its hot paths,
 * and an SQLite in-memory database cannot be shared between connections).
 */
export const layerSqlite = (
  options: SqliteOptions
): Layer.Layer<EventStore | SqliteClient.SqliteClient | SqlClient.SqlClient, DatabaseOpenError | EventStoreError | MigrationError> =>
  Layer.unwrapScoped(
    Effect.map(options.filename === ":memory:" ? memoryFile : Effect.succeed(options.filename), (filename) =>
      Layer.scoped(
        EventStore,
        makeSqliteStore({
          filename,
          readonly: options.readonly === true,
          synchronous: synchronousOf(options),
          describe: `sqlite ${options.filename} (WAL, synchronous=${synchronousOf(options).toUpperCase()})`,
          pollInterval: options.pollInterval ?? Duration.millis(100)
        })
      ).pipe(Layer.provideMerge(layerSqliteClient({ ...options, filename }))))
  )
