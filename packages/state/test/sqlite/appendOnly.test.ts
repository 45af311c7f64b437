/** What the SQLite database itself guarantees, whatever the code above it does. */
import { SqlClient } from "@effect/sql"
import Database from "better-sqlite3"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { EventStore } from "../../src/EventStore.ts"
import { envelopes, layerSqliteTemp, newEventId, tempFile } from "../fixtures/helpers.ts"
import { open } from "./helpers.ts"

const withLog = <A, E>(body: Effect.Effect<A, E, EventStore | SqlClient.SqlClient>) =>
  Effect.provide(body, layerSqliteTemp())

const sqlFailure = <A, E extends { readonly message: string; readonly cause?: unknown }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.flip(effect), (e) => `${e.message} ${e.cause instanceof Error ? e.cause.message : String(e.cause)}`)

const rawInsert = (streamId: string, category: string, version: number, payload = "{}") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(
      `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
       VALUES (?, ?, ?, ?, 'test.raw', 1, ?, '{}', 0)`,
      [streamId, category, version, newEventId(), payload]
    ))

describe("sqlite: the database protects the log", () => {
  it.scoped("UPDATE and DELETE of events are rejected by the database", () =>
    withLog(Effect.gen(function*() {
      const store = yield* EventStore
      const sql = yield* SqlClient.SqlClient
      yield* store.append("thread-a", envelopes(3))
      const before = yield* sql.unsafe("SELECT * FROM events ORDER BY position")
      for (const statement of [
        "UPDATE events SET payload = '{\"x\":1}' WHERE position = 2",
        "UPDATE events SET position = 99 WHERE position = 3",
        "UPDATE events SET stream_id = stream_id",
        "DELETE FROM events WHERE position = 3",
        "DELETE FROM events",
        "INSERT OR REPLACE INTO events SELECT * FROM events WHERE position = 1",
        "REPLACE INTO events SELECT * FROM events WHERE position = 2",
        // REPLACE deletes the conflicting row without firing delete triggers: by position...
        `REPLACE INTO events (position, stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
         VALUES (1, 'thread-a', 'thread', 4, '${newEventId()}', 't', 1, '{}', '{}', 0)`,
        // ...and by event id.
        `INSERT OR REPLACE INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
         SELECT 'thread-b', 'thread', 1, event_id, 't', 1, '{}', '{}', 0 FROM events WHERE position = 2`,
        "INSERT INTO events SELECT * FROM events WHERE position = 3 ON CONFLICT DO UPDATE SET payload = '{}'"
      ]) {
        const failure = yield* sqlFailure(sql.unsafe(statement))
        expect(failure, statement).toMatch(/append-only|gapless|UNIQUE/)
      }
      expect(yield* sql.unsafe("SELECT * FROM events ORDER BY position")).toEqual(before)
      // Nor inside a transaction that tries to hide it.
      const inTx = yield* sqlFailure(sql.withTransaction(sql.unsafe("DELETE FROM events WHERE position = 1")))
      expect(inTx).toMatch(/append-only/)
      expect(yield* sql.unsafe("SELECT * FROM events ORDER BY position")).toEqual(before)
    })))

  it.scoped("the gapless trigger and the constraints reject bad raw inserts", () =>
    withLog(Effect.gen(function*() {
      const store = yield* EventStore
      const sql = yield* SqlClient.SqlClient
      yield* store.append("thread-a", envelopes(2))
      expect(yield* sqlFailure(rawInsert("thread-a", "thread", 5))).toMatch(/gapless/)
      expect(yield* sqlFailure(rawInsert("thread-a", "thread", 2))).toMatch(/gapless|UNIQUE/)
      expect(yield* sqlFailure(rawInsert("thread-b", "thread", 2))).toMatch(/gapless/)
      expect(yield* sqlFailure(rawInsert("thread-b", "thread", 0))).toMatch(/gapless|CHECK/)
      expect(yield* sqlFailure(rawInsert("thread-b", "job", 1))).toMatch(/CHECK/)
      expect(yield* sqlFailure(rawInsert("thread-b", "thread", 1, "{not json"))).toMatch(/CHECK/)
      const dup = yield* sql.unsafe<{ event_id: string }>("SELECT event_id FROM events WHERE position = 1")
      expect(yield* sqlFailure(sql.unsafe(
        `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
         VALUES ('thread-c', 'thread', 1, ?, 't', 1, '{}', '{}', 0)`,
        [dup[0]!.event_id]
      ))).toMatch(/append-only|UNIQUE/)
      expect(yield* store.headPosition).toBe(2)
      // The next version is accepted: the trigger checks, it does not block.
      yield* rawInsert("thread-a", "thread", 3)
      expect(yield* store.streamVersion("thread-a")).toBe(3)
    })))

  it.scoped("migrations are recorded in es_migrations and run once", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      for (let i = 0; i < 3; i++) {
        const rows = yield* Effect.scoped(Effect.flatMap(open(filename), ({ sql }) =>
          sql.unsafe<{ id: number; name: string }>("SELECT id, name FROM es_migrations ORDER BY id")))
        expect(rows).toEqual([{ id: 1, name: "create_events" }, { id: 2, name: "events_no_replace" }])
      }
    }))

  it.scoped("a database at migration 1 gets migration 2 on the next writable open", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      yield* Effect.scoped(open(filename))
      const db = new Database(filename)
      db.exec("DROP TRIGGER events_no_replace; DELETE FROM es_migrations WHERE id = 2")
      db.close()
      const triggers = yield* Effect.scoped(Effect.flatMap(open(filename), ({ sql }) =>
        sql.unsafe<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")))
      expect(triggers.map((t) => t.name)).toEqual(["events_gapless", "events_no_delete", "events_no_replace", "events_no_update"])
    }))

  it.scoped("pragmas are set on every open", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const pragmas = (options?: { readonly synchronous?: "normal" | "full"; readonly readonly?: boolean }) =>
        Effect.scoped(Effect.flatMap(open(filename, options), ({ sql }) =>
          Effect.all({
            journal: sql.unsafe<{ journal_mode: string }>("PRAGMA journal_mode"),
            synchronous: sql.unsafe<{ synchronous: number }>("PRAGMA synchronous"),
            busy: sql.unsafe<{ timeout: number }>("PRAGMA busy_timeout"),
            foreignKeys: sql.unsafe<{ foreign_keys: number }>("PRAGMA foreign_keys"),
            applicationId: sql.unsafe<{ application_id: number }>("PRAGMA application_id")
          })))
      // First open of a new file (where the driver's default would leave synchronous = FULL), then
      // later opens (where it would be NORMAL): FULL (2) unless NORMAL (1) is asked for.
      const opens = [{ synchronous: "normal" as const }, undefined, { synchronous: "normal" as const }, { synchronous: "full" as const }, undefined, { readonly: true }]
      for (const options of opens) {
        const p = yield* pragmas(options)
        expect(p.journal[0]!.journal_mode).toBe("wal")
        expect(p.synchronous[0]!.synchronous).toBe(options !== undefined && "synchronous" in options && options.synchronous === "normal" ? 1 : 2)
        expect(p.busy[0]!.timeout).toBe(5000)
        expect(p.foreignKeys[0]!.foreign_keys).toBe(1)
        expect(p.applicationId[0]!.application_id).toBe(0x43574c47)
      }
    }))

  it.scoped("reopening a file shows the same log, read-write and read-only", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const { store } = yield* open(filename)
        yield* store.append("thread-a", envelopes(3))
        yield* store.append("job-b", envelopes(2))
        return yield* store.readAll()
      }))
      const second = yield* Effect.scoped(Effect.gen(function*() {
        const { store } = yield* open(filename)
        expect(yield* store.headPosition).toBe(5)
        const r = yield* store.append("thread-a", envelopes(1))
        expect([r.firstPosition, r.nextExpectedVersion]).toEqual([6, 4])
        return yield* store.readAll()
      }))
      expect(second.slice(0, 5)).toEqual(first)
      const third = yield* Effect.scoped(Effect.gen(function*() {
        const { store } = yield* open(filename, { readonly: true })
        expect(yield* store.listStreams()).toHaveLength(2)
        return yield* store.readAll()
      }))
      expect(third).toEqual(second)
    }))

  it.scoped("a read-only open refuses appends with a typed error and writes nothing", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      yield* Effect.scoped(Effect.flatMap(open(filename), ({ store }) => store.append("thread-a", envelopes(2))))
      yield* Effect.scoped(Effect.gen(function*() {
        const { store, sql } = yield* open(filename, { readonly: true })
        const error = yield* Effect.flip(store.append("thread-a", envelopes(1)))
        expect(error._tag).toBe("EventStoreError")
        expect(error.message).toMatch(/read-only/)
        // The connection itself is read-only too.
        const raw = yield* Effect.flip(sql.unsafe("CREATE TABLE x (a)"))
        expect(String((raw.cause as Error).message)).toMatch(/readonly/i)
        expect(yield* store.headPosition).toBe(2)
      }))
    }))

  it.scoped("group commit: many concurrent appends, some refused, all land exactly as reported", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const sql = yield* SqlClient.SqlClient
      const results = yield* Effect.all(
        Array.from({ length: 300 }, (_, i) =>
          Effect.either(store.append(`thread-${i % 7}`, envelopes(1 + (i % 4)), {
            expected: i % 5 === 0 ? { _tag: "NoStream" } as never : undefined
          }))),
        { concurrency: "unbounded" }
      )
      const landed = results.filter((r) => r._tag === "Right")
      const refused = results.filter((r) => r._tag === "Left")
      expect(refused.every((r) => r.left._tag === "WrongExpectedVersion")).toBe(true)
      const count = yield* sql.unsafe<{ n: number }>("SELECT count(*) AS n FROM events")
      expect(count[0]!.n).toBe(landed.reduce((n, r) => n + r.right.lastPosition - r.right.firstPosition + 1, 0))
    }).pipe(Effect.provide(Layer.fresh(layerSqliteTemp()))))
})
