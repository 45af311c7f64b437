/** The writer's cached stream versions never outlive another connection's commit. */
import { SqlClient } from "@effect/sql"
import Database from "better-sqlite3"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { EventStore, ExpectedVersion } from "../../src/EventStore.ts"
import { layerSqlite } from "../../src/layers.ts"
import { envelopes, newEventId, tempFile } from "../fixtures/helpers.ts"

const rawAppend = (filename: string, streamId: string, version: number) => {
  const db = new Database(filename)
  try {
    db.prepare(
      `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
       VALUES (?, 'cache', ?, ?, 'test.raw', 1, '{}', '{}', 0)`
    ).run(streamId, version, newEventId())
  } finally {
    db.close()
  }
}

describe("sqlite: stream versions after other connections' commits", () => {
  it.scoped("an append after another process wrote the same stream lands after its events", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      yield* Effect.gen(function*() {
        const store = yield* EventStore
        const first = yield* store.append("cache-a", envelopes(2))
        expect(first.nextExpectedVersion).toBe(2)
        // Another process appends versions 3 and 4 behind this writer's back.
        rawAppend(filename, "cache-a", 3)
        rawAppend(filename, "cache-a", 4)
        const any = yield* store.append("cache-a", envelopes(1))
        expect(any.nextExpectedVersion).toBe(5)
        rawAppend(filename, "cache-a", 6)
        const stale = yield* Effect.flip(store.append("cache-a", envelopes(1), { expected: ExpectedVersion.Exact({ version: 5 }) }))
        expect(stale._tag).toBe("WrongExpectedVersion")
        const exact = yield* store.append("cache-a", envelopes(1), { expected: ExpectedVersion.Exact({ version: 6 }) })
        expect(exact.nextExpectedVersion).toBe(7)
        // A commit through this process's own SqlClient connection counts as another connection's.
        const sql = yield* SqlClient.SqlClient
        yield* sql.unsafe(
          `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
           VALUES ('cache-a', 'cache', 8, ?, 'test.raw', 1, '{}', '{}', 0)`,
          [newEventId()]
        )
        const after = yield* store.append("cache-a", envelopes(1))
        expect(after.nextExpectedVersion).toBe(9)
        const versions = (yield* store.readStream("cache-a")).map((e) => e.streamVersion)
        expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
      }).pipe(Effect.provide(Layer.fresh(layerSqlite({ filename }))))
    }))
})
