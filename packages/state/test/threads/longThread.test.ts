/**
 * A thread with 100,000 messages: a page of history is a bounded walk in the read model, so
 * reading it reads no events from the log and visits the same number of rows as for a short thread.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { IdGenerator, makeEnvelope, ThreadMessageAdded } from "@codewhale/protocol"
import { SqlClient } from "@effect/sql"
import {
  type EventStoreShape,
  EventStore,
  ExpectedVersion,
  HistoryPageSql,
  layerSqlite,
  makeThreadStore,
  selectHistory,
  SnapshotStore
} from "../../src/index.ts"
import { testConfig } from "./helpers.ts"

/** An EventStore that counts the events it hands out. */
const counting = (inner: EventStoreShape) => {
  const counter = { events: 0 }
  const store: EventStoreShape = {
    ...inner,
    readStream: (id, o) => Effect.tap(inner.readStream(id, o), (es) => void (counter.events += es.length)),
    readAll: (o) => Effect.tap(inner.readAll(o), (es) => void (counter.events += es.length))
  }
  return { store, counter }
}

/** Appends `count` user messages to a thread in batches, straight to the log (fast set-up). */
const appendMessages = (threadId: string, count: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    let version = yield* store.streamVersion(threadId)
    let parent: string | null = null
    const batch = 5_000
    for (let start = 0; start < count; start += batch) {
      const envelopes = yield* Effect.forEach(Array.from({ length: Math.min(batch, count - start) }, (_, i) => start + i), (n) => {
        const entryId = `entry-${threadId.slice(-6)}-${n}`
        const payload = { at: n, entryId, parentId: parent, role: "user", content: `message ${n}` }
        parent = entryId
        return makeEnvelope(ThreadMessageAdded, payload)
      })
      const result = yield* store.append(threadId, envelopes, { expected: ExpectedVersion.Exact({ version }) })
      version = result.nextExpectedVersion
    }
  })

const layer = Layer.provideMerge(
  SnapshotStore.layerMemory,
  Layer.mergeAll(layerSqlite({ filename: ":memory:" }), IdGenerator.layerTest(1))
)

describe("a thread with 100,000 messages", () => {
  it.effect("reads a page of history without folding the thread", () =>
    Effect.gen(function*() {
      const { store, counter } = counting(yield* EventStore)
      const threads = yield* makeThreadStore({ ...testConfig, defaultModelProvider: "deepseek", maxAttempts: 5 }).pipe(
        Effect.provideService(EventStore, store)
      )
      const big = yield* threads.start({ name: "big" })
      const small = yield* threads.start({ name: "small" })
      yield* appendMessages(big.threadId, 100_000)
      yield* appendMessages(small.threadId, 100)
      expect((yield* threads.get(big.threadId)).messageCount).toBe(100_000)

      counter.events = 0
      const page = yield* threads.history(big.threadId, { limit: 50 })
      expect(counter.events).toBe(0)
      expect(page.entries.map((e) => e.content)).toEqual(Array.from({ length: 50 }, (_, i) => `message ${99_950 + i}`))
      const older = yield* threads.history(big.threadId, { limit: 50, before: page.before })
      expect(older.entries[0]!.content).toBe("message 99900")
      expect(counter.events).toBe(0)

      // The same number of rows is visited whatever the thread's length.
      const bigLeaf = (yield* threads.get(big.threadId)).leafId!
      const smallLeaf = (yield* threads.get(small.threadId)).leafId!
      const visitedBig = (yield* selectHistory(bigLeaf, 50)).visited
      const visitedSmall = (yield* selectHistory(smallLeaf, 50)).visited
      expect(visitedBig).toBe(51)
      expect(visitedSmall).toBe(51)

      // The walk looks entries up by key: no scan of the entries table.
      const sql = yield* SqlClient.SqlClient
      const plan = yield* sql.unsafe<{ detail: string }>(`EXPLAIN QUERY PLAN ${HistoryPageSql}`, [bigLeaf, 51])
      const details = plan.map((r) => r.detail)
      expect(details.some((d) => /SEARCH e USING INDEX sqlite_autoindex_threads_entries_1|SEARCH e USING PRIMARY KEY/.test(d))).toBe(true)
      expect(details.filter((d) => /^SCAN (e|threads_entries)\b/.test(d))).toEqual([])

      // Writing to the long thread folds it once; the next write starts from a snapshot.
      yield* threads.addMessage(big.threadId, { content: "one more" })
      counter.events = 0
      yield* threads.addMessage(big.threadId, { content: "and another" })
      expect(counter.events).toBeLessThan(10)
      expect((yield* threads.history(big.threadId, { limit: 2 })).entries.map((e) => e.content)).toEqual(["one more", "and another"])
    }).pipe(Effect.provide(layer)), 120_000)
})
