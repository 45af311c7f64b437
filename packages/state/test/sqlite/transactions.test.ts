/** Appends and the log's own `SqlClient` transactions on the same file. */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { EventStore } from "../../src/EventStore.ts"
import { layerSqlite } from "../../src/layers.ts"
import { envelopes, tempFile } from "../fixtures/helpers.ts"

describe("sqlite: appends inside SqlClient transactions", () => {
  it.scoped("are refused at once with a typed error; the transaction rolls back and the log is unchanged", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      yield* Effect.gen(function*() {
        const store = yield* EventStore
        const sql = yield* SqlClient.SqlClient
        const [first, second, third] = envelopes(3)
        yield* store.append("thread-a", [first!])

        // After a write the transaction holds the write lock: without the check this append would
        // wait for it until the busy retries gave up (about 15 s), then fail with another message.
        const afterWrite = yield* sql.withTransaction(
          Effect.gen(function*() {
            yield* sql`INSERT INTO projection_checkpoints (name, version, position, updated_at) VALUES ('t', 1, 0, 0)`
            return yield* store.append("thread-a", [second!])
          })
        ).pipe(Effect.flip)
        expect(afterWrite._tag).toBe("EventStoreError")
        expect(afterWrite.message).toContain("inside a transaction of this database's own SqlClient")
        expect(yield* sql`SELECT name FROM projection_checkpoints WHERE name = 't'`).toEqual([])

        // Before any write too: the transaction would take the lock later, or fail on a stale snapshot.
        const beforeWrite = yield* sql.withTransaction(store.append("thread-a", [second!])).pipe(Effect.flip)
        expect(beforeWrite.message).toContain("inside a transaction")

        // Nested (a savepoint) is still inside.
        const nested = yield* sql.withTransaction(sql.withTransaction(store.append("thread-a", [third!]))).pipe(Effect.flip)
        expect(nested.message).toContain("inside a transaction")

        expect((yield* store.readStream("thread-a")).map((e) => e.eventId)).toEqual([first!.eventId])
        // Outside a transaction the same appends go through.
        yield* store.append("thread-a", [second!, third!])
        expect(yield* store.headPosition).toBe(3)
      }).pipe(Effect.provide(layerSqlite({ filename })), Effect.scoped)
    }))

  it.scoped("a transaction of another database's SqlClient does not stop an append", () =>
    Effect.gen(function*() {
      const logFile = yield* tempFile()
      const otherFile = yield* tempFile()
      // Another log's SqlClient, open for the rest of the test.
      const other = Context.get(yield* Layer.build(layerSqlite({ filename: otherFile })), SqlClient.SqlClient)
      const result = yield* Effect.gen(function*() {
        const store = yield* EventStore
        return yield* other.withTransaction(
          Effect.gen(function*() {
            yield* other`INSERT INTO projection_checkpoints (name, version, position, updated_at) VALUES ('t', 1, 0, 0)`
            return yield* store.append("thread-b", envelopes(1))
          })
        )
      }).pipe(Effect.provide(layerSqlite({ filename: logFile })), Effect.scoped)
      expect(result.lastPosition).toBe(1)
      expect(yield* other`SELECT name FROM projection_checkpoints`).toEqual([{ name: "t" }])
    }))
})
