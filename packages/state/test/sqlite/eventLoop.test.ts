/** Reading or appending to the log never keeps the event loop from running timers and I/O for long. */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { EventStore } from "../../src/EventStore.ts"
import { layerMemory } from "../../src/layers.ts"
import { envelopes, layerSqliteTemp } from "../fixtures/helpers.ts"

const backends = [
  ["sqlite", layerSqliteTemp()],
  ["memory", layerMemory]
] as const

describe("paged reads and the event loop", () => {
  for (const [name, layer] of backends) {
    it.scopedLive(`${name}: a timer due before a long read fires while the read is still paging`, () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        for (let s = 0; s < 10; s++) yield* store.append(`loop-${s}`, envelopes(50))
        let fired = false
        const timer = setTimeout(() => {
          fired = true
        }, 0)
        yield* Effect.addFinalizer(() => Effect.sync(() => clearTimeout(timer)))
        // 500 events, 10 a page: whether the timer had fired, as each page arrives.
        const seen = yield* store.streamAll({ limit: 10 }).pipe(
          Stream.chunks,
          Stream.map(() => fired),
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray)
        )
        expect(seen.length).toBeGreaterThanOrEqual(50)
        expect(seen[0]).toBe(false)
        expect(seen.slice(-10).every((f) => f)).toBe(true)
      }).pipe(Effect.provide(layer)))

    it.scopedLive(`${name}: a subscription catching up on history lets a due timer fire`, () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        for (let s = 0; s < 30; s++) yield* store.append(`loop-${s}`, envelopes(100))
        let fired = false
        const timer = setTimeout(() => {
          fired = true
        }, 0)
        yield* Effect.addFinalizer(() => Effect.sync(() => clearTimeout(timer)))
        // 3,000 events arrive in pages of 1,000: the last page comes after the timer fired.
        const seen = yield* store.subscribe().pipe(
          Stream.take(3_000),
          Stream.chunks,
          Stream.map(() => fired),
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray)
        )
        expect(seen[0]).toBe(false)
        expect(seen[seen.length - 1]).toBe(true)
      }).pipe(Effect.provide(layer)))
  }

  it.scopedLive("sqlite: appenders that append again the moment their commit returns still let the event loop turn", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      let ran = false
      let immediate: ReturnType<typeof setImmediate> | undefined
      yield* Effect.addFinalizer(() => Effect.sync(() => clearImmediate(immediate)))
      // 8 appenders, 100 single events each: about 100 group commits, each written as soon as the
      // appenders it resumed have queued again. Once appender 0 has made 10 appends, a callback is
      // queued for the event loop's next turn: whether it has run, at each later append.
      const seen = yield* Effect.forEach(
        Array.from({ length: 8 }, (_, f) => f),
        (f) =>
          Effect.forEach(envelopes(100, { f }), (e, i) =>
            Effect.map(store.append(`loop-${f}`, [e]), () => {
              if (f === 0 && i === 9) {
                immediate = setImmediate(() => {
                  ran = true
                })
              }
              return ran
            })),
        { concurrency: 8 }
      )
      // Groups written back to back from microtasks are capped, so the turn comes within a few groups.
      expect(seen[0]!.slice(30)).toEqual(Array.from({ length: 70 }, () => true))
      expect(yield* store.headPosition).toBe(800)
    }).pipe(Effect.provide(layerSqliteTemp({ synchronous: "normal" }))))
})
