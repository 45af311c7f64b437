/** Notifications follow commits: in this connection, and from other connections on the same file. */
import { describe, expect, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { Chunk, Effect, Either, Fiber, Stream } from "effect"
import { ExpectedVersion } from "../../src/EventStore.ts"
import { envelopes, tempFile, verifyLog } from "../fixtures/helpers.ts"
import { open } from "./helpers.ts"

describe("sqlite: publication", () => {
  it.scopedLive("every event a subscriber receives is already visible to another connection", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const { store } = yield* open(filename)
      const other = new Database(filename, { readonly: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => other.close()))
      const visible = other.prepare("SELECT count(*) AS n FROM events WHERE position = ?").pluck()
      const invisible: Array<number> = []
      const sub = yield* store.subscribe().pipe(
        Stream.tap((e) => Effect.sync(() => { if (visible.get(e.position) !== 1) invisible.push(e.position) })),
        Stream.takeUntil((e) => e.streamId === "end-x"),
        Stream.runCollect,
        Effect.fork
      )
      const results = yield* Effect.forEach(
        Array.from({ length: 60 }, (_, i) => i),
        (i) => Effect.either(store.append(`thread-${i % 4}`, envelopes(3), { expected: i % 3 === 2 ? ExpectedVersion.NoStream() : ExpectedVersion.Any() })),
        { concurrency: "unbounded" }
      )
      const landed = results.filter(Either.isRight).length
      expect(results.filter(Either.isLeft).length).toBeGreaterThan(0)
      yield* store.append("end-x", envelopes(1))
      const total = landed * 3 + 1
      const got = Chunk.toReadonlyArray(yield* Fiber.join(sub))
      expect(got.map((e) => e.position)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
      expect(invisible).toEqual([])
    }))

  it.scopedLive("a subscription on one connection receives commits made through another", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const writer = yield* open(filename)
      yield* writer.store.append("thread-a", envelopes(2))
      const reader = yield* open(filename, { readonly: true, pollInterval: "10 millis" })
      const sub = yield* reader.store.subscribe({ category: "thread" }).pipe(Stream.take(2 + 50), Stream.runCollect, Effect.fork)
      const waiter = yield* Effect.fork(reader.store.awaitPosition(2 + 50 + 10))
      yield* Effect.forEach(Array.from({ length: 25 }, (_, i) => i), (i) =>
        Effect.zipRight(writer.store.append(`thread-${i % 3}`, envelopes(2)), writer.store.append("job-x", envelopes(i === 24 ? 10 : 0 + 1))), { discard: true })
      const got = Chunk.toReadonlyArray(yield* Fiber.join(sub))
      expect(got).toEqual(yield* writer.store.readAll({ category: "thread" }))
      expect(verifyLog(got)).toEqual([])
      yield* Fiber.join(waiter)
    }))
})
