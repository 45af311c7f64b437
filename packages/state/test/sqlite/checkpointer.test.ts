/** WAL checkpoints run on a worker thread, off the writer's commits. */
import Database from "better-sqlite3"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Schedule } from "effect"
import * as NodeFs from "node:fs"
import { startCheckpointer } from "../../src/internal/checkpointer.ts"
import { tempFile } from "../fixtures/helpers.ts"

/** A WAL database whose writer never checkpoints by itself, with `count` small commits in its WAL. */
const walOnlyDatabase = (filename: string, count: number) => {
  const db = new Database(filename)
  db.pragma("journal_mode = WAL")
  db.pragma("wal_autocheckpoint = 0")
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
  const insert = db.prepare("INSERT INTO t (body) VALUES (?)")
  for (let i = 0; i < count; i++) insert.run("x".repeat(2_000))
  return db
}

const mainFileSize = (filename: string) => NodeFs.statSync(filename).size

describe("sqlite: the checkpoint worker", () => {
  it.scopedLive("copies committed pages from the WAL into the database file after a commit is marked", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile("wal.db")
      const writer = walOnlyDatabase(filename, 300)
      yield* Effect.addFinalizer(() => Effect.sync(() => writer.close()))
      const before = mainFileSize(filename)
      const unavailable: Array<string> = []
      const checkpointer = yield* startCheckpointer(filename, (reason) => void unavailable.push(reason), 10)
      checkpointer.committed()
      // Waits (up to 10 s, for a loaded machine) for the pages to reach the database file.
      yield* Effect.sync(() => mainFileSize(filename)).pipe(
        Effect.repeat({ schedule: Schedule.spaced(Duration.millis(20)), until: (size) => size > before + 300 * 2_000 }),
        Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => new Error("no checkpoint reached the database file") })
      )
      expect(mainFileSize(filename)).toBeGreaterThan(before + 300 * 2_000)
      expect(unavailable).toEqual([])
      expect(writer.prepare("SELECT count(*) FROM t").pluck().get()).toBe(300)
    }))

  it.scopedLive("does nothing until a commit is marked", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile("idle.db")
      const writer = walOnlyDatabase(filename, 50)
      yield* Effect.addFinalizer(() => Effect.sync(() => writer.close()))
      const before = mainFileSize(filename)
      yield* startCheckpointer(filename, () => {}, 5)
      yield* Effect.sleep(Duration.millis(200))
      expect(mainFileSize(filename)).toBe(before)
    }))

  it.scopedLive("reports when it cannot run, so the writer can fall back to SQLite's own checkpoints", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile("missing.db")
      const reported = yield* Deferred.make<string>()
      yield* startCheckpointer(filename, (reason) => void Deferred.unsafeDone(reported, Effect.succeed(reason)))
      const reason = yield* Deferred.await(reported).pipe(Effect.timeout(Duration.seconds(10)))
      expect(reason).toMatch(/exited with code 1|unable to open|SQLITE_CANTOPEN/i)
    }))
})
