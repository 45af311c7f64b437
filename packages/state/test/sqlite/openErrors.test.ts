/** Files the event log must refuse with a typed error that names the file and the reason, leaving them untouched. */
import { describe, expect, it } from "@effect/vitest"
import { EventDecodeError, defineEvent, makeEventRegistry } from "@codewhale/protocol"
import Database from "better-sqlite3"
import { Effect, Either, Schema } from "effect"
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import type { DatabaseOpenError } from "../../src/Errors.ts"
import { envelope, fileHash, tempFile } from "../fixtures/helpers.ts"
import { open, openError } from "./helpers.ts"

const expectRefused = (
  filename: string,
  reason: DatabaseOpenError["reason"],
  options?: { readonly readonly?: boolean; readonly mustExist?: boolean }
) =>
  Effect.gen(function*() {
    const before = fileHash(filename)
    const error = yield* openError(filename, options)
    expect(error._tag).toBe("DatabaseOpenError")
    const e = error as DatabaseOpenError
    expect(e.filename).toBe(filename)
    expect(e.reason).toBe(reason)
    expect(e.message).toContain(filename)
    expect(e.message).toContain(reason)
    expect(fileHash(filename)).toBe(before)
    return e
  })

describe("sqlite: files that are not a usable event log", () => {
  it.scoped("a file of random bytes", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      NodeFs.writeFileSync(filename, NodeCrypto.randomBytes(8192))
      for (const readonly of [false, true]) yield* expectRefused(filename, "not-a-database", { readonly })
    }))

  it.scoped("an SQLite header followed by garbage", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      NodeFs.writeFileSync(filename, Buffer.concat([Buffer.from("SQLite format 3\u0000", "latin1"), NodeCrypto.randomBytes(8192)]))
      const before = fileHash(filename)
      const error = yield* openError(filename)
      expect(error._tag).toBe("DatabaseOpenError")
      expect((error as DatabaseOpenError).filename).toBe(filename)
      expect(["unreadable", "not-a-database"]).toContain((error as DatabaseOpenError).reason)
      expect(fileHash(filename)).toBe(before)
    }))

  it.scoped("a foreign SQLite database: other tables, or another application_id", () =>
    Effect.gen(function*() {
      const withTables = yield* tempFile("notes.db")
      const db1 = new Database(withTables)
      db1.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')")
      db1.close()
      const e1 = yield* expectRefused(withTables, "foreign-database")
      expect(e1.message).toContain("notes")
      yield* expectRefused(withTables, "foreign-database", { readonly: true })

      const otherApp = yield* tempFile("other.db")
      const db2 = new Database(otherApp)
      db2.pragma("application_id = 305419896")
      db2.exec("CREATE TABLE es_migrations (id INTEGER PRIMARY KEY, name TEXT, applied_at INTEGER)")
      db2.close()
      yield* expectRefused(otherApp, "foreign-database")
    }))

  it.scoped("a database whose schema is newer than this code", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      yield* Effect.scoped(Effect.flatMap(open(filename), ({ store }) => store.append("thread-a", [envelope({})])))
      const db = new Database(filename)
      db.prepare("INSERT INTO es_migrations (id, name, applied_at) VALUES (99, 'from_the_future', 0)").run()
      db.close()
      const e = yield* expectRefused(filename, "schema-too-new")
      expect(e.message).toContain("99")
      yield* expectRefused(filename, "schema-too-new", { readonly: true })
    }))

  it.scoped("a read-only open reads a file that lacks only read-compatible migrations; other gaps are schema-outdated", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const first = envelope({})
      yield* Effect.scoped(Effect.flatMap(open(filename), ({ store }) => store.append("thread-a", [first])))
      // A file from before migration 2 (events_no_replace): its trigger and its row are not there.
      const db = new Database(filename)
      db.exec("DROP TRIGGER events_no_replace; DELETE FROM es_migrations WHERE id = 2")
      db.close()
      const before = fileHash(filename)
      const read = yield* Effect.scoped(Effect.flatMap(open(filename, { readonly: true }), ({ store }) => store.readStream("thread-a")))
      expect(read.map((e) => e.eventId)).toEqual([first.eventId])
      expect(fileHash(filename)).toBe(before)
      // A read-write open migrates it.
      yield* Effect.scoped(open(filename))
      const migrated = new Database(filename, { readonly: true })
      const trigger = migrated.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = 'events_no_replace'").get()
      migrated.close()
      expect(trigger).toEqual({ name: "events_no_replace" })
      // Lacking migration 1 (the events table itself) is another matter.
      const empty = yield* tempFile("bare.db")
      const bare = new Database(empty)
      bare.exec("CREATE TABLE es_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT")
      bare.close()
      const e = yield* expectRefused(empty, "schema-outdated", { readonly: true })
      expect(e.message).toContain("1 (create_events)")
    }))

  it.scoped("a read-only open of a missing file does not create it", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      yield* expectRefused(filename, "missing", { readonly: true })
      expect(NodeFs.existsSync(filename)).toBe(false)
    }))

  it.scoped("a read-write open with mustExist refuses a missing or empty file and creates nothing", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const e = yield* expectRefused(filename, "missing", { mustExist: true })
      expect(e.message).toContain("never creates a database")
      expect(NodeFs.existsSync(filename)).toBe(false)
      NodeFs.writeFileSync(filename, "")
      yield* expectRefused(filename, "missing", { mustExist: true })
      expect(NodeFs.statSync(filename).size).toBe(0)
      yield* Effect.scoped(Effect.flatMap(open(filename), ({ store }) => store.append("thread-a", [envelope({})])))
      const { store } = yield* open(filename, { mustExist: true })
      expect((yield* store.append("thread-a", [envelope({})])).lastPosition).toBe(2)
    }))

  it.scoped("a read-only open of an empty SQLite database (no event log yet)", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      new Database(filename).close()
      const error = yield* openError(filename, { readonly: true })
      expect(error._tag).toBe("DatabaseOpenError")
    }))
})

describe("sqlite: an event that cannot be read", () => {
  const Counted = defineEvent("test.counted", Schema.Struct({ n: Schema.Number }))
  const registry = Either.getOrThrow(makeEventRegistry([Counted]))

  it.scoped("a stored payload that fails its schema decodes to EventDecodeError naming position, type and version", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const { store } = yield* open(filename)
      yield* store.append("thread-a", [envelope({ n: 1 }, { type: "test.counted" })])
      // Valid JSON and valid metadata, but the payload does not match `test.counted` v1.
      yield* store.append("thread-a", [envelope({ n: "one" }, { type: "test.counted" })])
      yield* store.append("thread-a", [envelope({ anything: true }, { type: "test.unknown" })])
      const [good, bad, unknown] = yield* store.readStream("thread-a")
      expect(Either.isRight(registry.decode(good!))).toBe(true)
      const decoded = registry.decode(bad!)
      assertLeft(decoded)
      expect(decoded.left).toBeInstanceOf(EventDecodeError)
      expect(decoded.left).toMatchObject({ position: 2, streamId: "thread-a", eventType: "test.counted", schemaVersion: 1 })
      expect(decoded.left.message).toMatch(/position 2.*test\.counted@1/)
      const skipped = registry.decode(unknown!)
      expect(Either.isRight(skipped) && skipped.right._tag).toBe("Unknown")
    }))
})

describe("sqlite: a row that is not JSON", () => {
  it.scoped("reads that reach it fail with EventStoreError naming the position; other reads work", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      yield* Effect.scoped(Effect.flatMap(open(filename), ({ store }) => store.append("thread-a", [envelope({ n: 1 })])))
      // Only a connection that switches CHECK constraints off can store such a row.
      const db = new Database(filename)
      db.pragma("ignore_check_constraints = ON")
      db.prepare(
        `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
         VALUES ('thread-b', 'thread', 1, '0192b6a0-0000-7000-8000-000000000001', 'test.counted', 1, '{broken', '{}', 0)`
      ).run()
      db.close()
      const { store } = yield* open(filename, { readonly: true })
      const error = yield* Effect.flip(store.readAll())
      expect(error._tag).toBe("EventStoreError")
      expect(error.message).toMatch(/position 2 is unreadable/)
      expect((yield* Effect.flip(store.readStream("thread-b"))).message).toMatch(/position 2/)
      expect((yield* store.readStream("thread-a")).length).toBe(1)
      expect((yield* store.readAll({ until: 1 })).length).toBe(1)
    }))
})

function assertLeft<A, E>(e: Either.Either<A, E>): asserts e is Either.Left<E, A> {
  expect(Either.isLeft(e)).toBe(true)
}
