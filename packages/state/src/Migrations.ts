/**
 * A small migration runner: each schema-owning package keeps its own migrations table, and a run
 * takes the write lock with its first statement so several processes opening one file never
 * see `SQLITE_BUSY`.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Schema } from "effect"

/** One migration: a numbered step that runs inside the migration transaction. */
export interface Migration {
  readonly id: number
  readonly name: string
  readonly up: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient>
  /**
   * Whether a database without this migration reads exactly as one with it (it only adds
   * constraints or triggers that guard writes). A read-only open accepts a database that lacks
   * only such migrations; anything else has to be opened once for writing to migrate.
   */
  readonly readCompatible?: boolean | undefined
}

/** The database holds migrations newer than this code knows. */
export class MigrationError extends Schema.TaggedError<MigrationError>()("MigrationError", {
  table: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `migrations (${this.table}): ${this.detail}`
  }
}

/** Applies the migrations not yet recorded in `table`, in one write-first transaction. */
export const runMigrations = (
  table: string,
  migrations: ReadonlyArray<Migration>
): Effect.Effect<ReadonlyArray<number>, MigrationError | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(
      `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`
    )
    return yield* sql.withTransaction(
      Effect.gen(function*() {
        yield* sql.unsafe(`UPDATE ${table} SET id = id WHERE 0`)
        const rows = yield* sql.unsafe<{ id: number }>(`SELECT id FROM ${table}`)
        const applied = new Set(rows.map((r) => Number(r.id)))
        const known = Math.max(0, ...migrations.map((m) => m.id))
        const newest = Math.max(0, ...applied)
        if (newest > known) {
          return yield* new MigrationError({ table, detail: `database is at migration ${newest}, this code knows up to ${known}` })
        }
        const done: Array<number> = []
        for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
          if (applied.has(m.id)) continue
          yield* m.up
          yield* sql.unsafe(`INSERT INTO ${table} (id, name, applied_at) VALUES (?, ?, ?)`, [m.id, m.name, Date.now()])
          done.push(m.id)
        }
        return done
      })
    )
  })
