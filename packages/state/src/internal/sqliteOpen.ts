/**
 * Opening a database file safely: a read-only probe with the raw driver decides whether the file
 * is ours, foreign, corrupt or newer than this code before anything writes to it.
 */
import Database from "better-sqlite3"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { DatabaseOpenError } from "../Errors.ts"
import type { Migration } from "../Migrations.ts"
import { ApplicationId, MigrationsTable } from "./sqliteSchema.ts"

/** What the probe found. */
export type ProbeResult = { readonly _tag: "New" } | { readonly _tag: "Existing"; readonly migration: number }

const SqliteMagic = "SQLite format 3\u0000"

/** Probes `filename` without modifying it. */
export const probeDatabase = (
  filename: string,
  migrations: ReadonlyArray<Migration>,
  options: { readonly readonly: boolean; readonly mustExist?: boolean | undefined }
): Effect.Effect<ProbeResult, DatabaseOpenError> =>
  Effect.try({
    try: (): ProbeResult | DatabaseOpenError => {
      const fail = (reason: DatabaseOpenError["reason"], detail: string) => new DatabaseOpenError({ filename, reason, detail })
      if (filename === ":memory:") return { _tag: "New" }
      if (!NodeFs.existsSync(filename)) {
        if (options.readonly) return fail("missing", "no such file; a read-only open never creates a database")
        if (options.mustExist === true) return fail("missing", "no such file; this open never creates a database")
        NodeFs.mkdirSync(NodePath.dirname(NodePath.resolve(filename)), { recursive: true })
        return { _tag: "New" }
      }
      const size = NodeFs.statSync(filename).size
      if (size === 0) return options.readonly || options.mustExist === true ? fail("missing", "the file is empty") : { _tag: "New" }
      const fd = NodeFs.openSync(filename, "r")
      const header = Buffer.alloc(16)
      try {
        NodeFs.readSync(fd, header, 0, 16, 0)
      } finally {
        NodeFs.closeSync(fd)
      }
      if (header.toString("latin1") !== SqliteMagic) return fail("not-a-database", "the file is not an SQLite database")
      const db = new Database(filename, { readonly: true, fileMustExist: true })
      try {
        const appId = Number(db.pragma("application_id", { simple: true }))
        const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name)
        if (appId !== 0 && appId !== ApplicationId) {
          return fail("foreign-database", `application_id is 0x${appId.toString(16)}, not a Codewhale event log`)
        }
        if (!tables.includes(MigrationsTable)) {
          if (tables.length === 0) return options.readonly ? fail("schema-outdated", "the database has no event log yet") : { _tag: "New" }
          return fail("foreign-database", `it holds tables (${tables.slice(0, 5).join(", ")}) but no event log`)
        }
        const row = db.prepare(`SELECT max(id) AS id FROM ${MigrationsTable}`).get() as { id: number | null }
        const migration = Number(row.id ?? 0)
        const known = Math.max(0, ...migrations.map((m) => m.id))
        if (migration > known) {
          return fail("schema-too-new", `the database is at schema ${migration}, this code knows up to ${known}; upgrade Codewhale`)
        }
        const needed = migrations.filter((m) => m.id > migration && m.readCompatible !== true)
        if (options.readonly && needed.length > 0) {
          return fail(
            "schema-outdated",
            `the database is at schema ${migration}, this code needs ${needed.map((m) => `${m.id} (${m.name})`).join(", ")} to read it; open it once for writing to migrate`
          )
        }
        return { _tag: "Existing", migration }
      } finally {
        db.close()
      }
    },
    catch: (cause) =>
      new DatabaseOpenError({
        filename,
        reason: "unreadable",
        detail: cause instanceof Error ? cause.message : String(cause)
      })
  }).pipe(Effect.flatMap((r) => (r instanceof DatabaseOpenError ? Effect.fail(r) : Effect.succeed(r))))
