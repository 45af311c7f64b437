/** On-demand folds with snapshots, and replay up to a position. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Layer, Option } from "effect"
import { EventStore } from "../../src/EventStore.ts"
import { layerMemory } from "../../src/layers.ts"
import { foldRecords, foldStream, replay, SnapshotStore } from "../../src/Projection.ts"
import { layerSqliteTemp } from "../fixtures/helpers.ts"
import { counted, counter, named, other } from "./model.ts"

const backends = [
  ["memory", () => Layer.merge(layerMemory, SnapshotStore.layerMemory)],
  ["sqlite", () => Layer.provideMerge(SnapshotStore.layerSql, layerSqliteTemp())]
] as const

const fullFold = (streamId: string, version = 1) =>
  Effect.flatMap(EventStore, (store) =>
    Effect.flatMap(store.readStream(streamId), (records) => Either.getOrThrow(Either.map(foldRecords(counter(version), records), Effect.succeed))))

for (const [name, makeLayer] of backends) {
  describe(`projections (${name})`, () => {
    it.effect.prop(
      "snapshot + tail == full fold",
      [fc.array(fc.integer({ min: -100, max: 100 }), { minLength: 1, maxLength: 60 }), fc.nat({ max: 60 }), fc.integer({ min: 1, max: 20 })],
      ([ns, splitAt, every]) =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const snapshots = yield* SnapshotStore
          const split = Math.min(splitAt, ns.length)
          const events = ns.map((n, i) => (i % 7 === 3 ? named(`n${i}`) : i % 11 === 5 ? other() : counted(n)))
          if (split > 0) yield* store.append("thread-a", events.slice(0, split))
          const head = yield* foldStream(counter(), "thread-a", { snapshotEvery: every })
          const snap = yield* snapshots.load("thread-a", "counter")
          // A snapshot is saved once at least `every` events were folded.
          expect(Option.isSome(snap)).toBe(split >= every)
          if (split < ns.length) yield* store.append("thread-a", events.slice(split))
          const tail = yield* foldStream(counter(), "thread-a", { snapshotEvery: every })
          const full = yield* fullFold("thread-a")
          expect(tail.state).toEqual(full)
          expect(tail.version).toBe(ns.length)
          expect(head.version).toBe(split)
        }).pipe(Effect.provide(makeLayer())),
      { fastCheck: { numRuns: 20 } }
    )

    it.effect("folds start from the snapshot of the same projection version, and ignore others", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const snapshots = yield* SnapshotStore
        yield* store.append("thread-a", [counted(1), counted(2), named("a"), counted(3)])
        // A snapshot whose state differs from the real fold shows whether the fold started from it.
        yield* snapshots.save("thread-a", "counter", { projectionVersion: 1, streamVersion: 2, state: { sum: 1000, count: 2, names: [] } })
        const fromSnapshot = yield* foldStream(counter(1), "thread-a", { snapshotEvery: 1_000 })
        expect(fromSnapshot).toEqual({ state: { sum: 1003, count: 4, names: ["a"] }, version: 4 })
        // A projection version bump ignores the old snapshot: the full fold.
        const bumped = yield* foldStream(counter(2), "thread-a", { snapshotEvery: 1_000 })
        expect(bumped).toEqual({ state: { sum: 6, count: 4, names: ["a"] }, version: 4 })
        // A snapshot past `toVersion` is not used either.
        const upTo = yield* foldStream(counter(1), "thread-a", { toVersion: 1, snapshotEvery: 1_000 })
        expect(upTo).toEqual({ state: { sum: 1, count: 1, names: [] }, version: 1 })
        // A snapshot that no longer decodes is ignored, not trusted.
        yield* snapshots.save("thread-a", "counter", { projectionVersion: 1, streamVersion: 2, state: { sum: "x" } })
        expect((yield* foldStream(counter(1), "thread-a", { snapshotEvery: 1_000 })).state).toEqual({ sum: 6, count: 4, names: ["a"] })
        // The version bump saves its own snapshot, which version 1 then ignores.
        yield* foldStream(counter(2), "thread-a", { snapshotEvery: 1 })
        const saved = yield* snapshots.load("thread-a", "counter")
        expect(Option.map(saved, (s) => [s.projectionVersion, s.streamVersion])).toEqual(Option.some([2, 4]))
        expect((yield* foldStream(counter(1), "thread-a", { snapshotEvery: 1_000 })).state.sum).toBe(6)
      }).pipe(Effect.provide(makeLayer())))

    it.effect("unknown event types are skipped; an undecodable known one fails with EventDecodeError", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("thread-a", [other(), counted(5), other(), named("x"), other()])
        expect(yield* foldStream(counter(), "thread-a")).toEqual({ state: { sum: 5, count: 2, names: ["x"] }, version: 5 })
        yield* store.append("thread-b", [counted(1), { ...counted(1), payload: { n: "one" } }])
        const error = yield* Effect.flip(foldStream(counter(), "thread-b"))
        expect(error).toMatchObject({ _tag: "EventDecodeError", position: 7, streamId: "thread-b", eventType: "test.counted", schemaVersion: 1 })
      }).pipe(Effect.provide(makeLayer())))

    it.effect("replay({ until }) is the state as of that position, per category too", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("thread-a", [counted(1), counted(2)])
        yield* store.append("job-a", [counted(10), other()])
        yield* store.append("thread-b", [named("b"), counted(3)])
        expect(yield* replay(counter())).toEqual({ sum: 16, count: 5, names: ["b"] })
        expect(yield* replay(counter(), { until: 0 })).toEqual({ sum: 0, count: 0, names: [] })
        expect(yield* replay(counter(), { until: 3 })).toEqual({ sum: 13, count: 3, names: [] })
        expect(yield* replay(counter(), { until: 5 })).toEqual({ sum: 13, count: 4, names: ["b"] })
        expect(yield* replay(counter(), { category: "thread" })).toEqual({ sum: 6, count: 4, names: ["b"] })
        expect(yield* replay(counter(), { category: "thread", until: 4 })).toEqual({ sum: 3, count: 2, names: [] })
        // Replay is deterministic: twice the same.
        expect(yield* replay(counter())).toEqual(yield* replay(counter()))
      }).pipe(Effect.provide(makeLayer())))

    it.effect("replay pages through a log larger than one page", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const ns = Array.from({ length: 12_345 }, (_, i) => i % 13)
        yield* store.append("thread-a", ns.map(counted))
        const state = yield* replay(counter())
        expect(state.count).toBe(12_345)
        expect(state.sum).toBe(ns.reduce((a, b) => a + b, 0))
      }).pipe(Effect.provide(makeLayer())))
  })
}
