/**
 * The conformance suite of the `EventStore`: every promise of "The event log" in ARCHITECTURE.md,
 * run against every backend. Each test builds `makeLayer()` afresh (a fresh, empty log).
 */
import type { EventEnvelope, RecordedEvent } from "@codewhale/protocol"
import { assert, describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Either, FastCheck as fc, Fiber, type Layer, Option, Stream } from "effect"
import { EventStore, ExpectedVersion, formatExpected, MaxPageSize } from "../../src/EventStore.ts"
import { envelope, envelopes, newEventId, verifyLog } from "../fixtures/helpers.ts"

/** Reads the whole log through `streamAll`. */
const readWholeLog = Effect.flatMap(EventStore, (store) => Stream.runCollect(store.streamAll()).pipe(Effect.map(Chunk.toReadonlyArray)))

/** Head position and event count: what "nothing was stored" compares. */
const snapshot = Effect.gen(function*() {
  const store = yield* EventStore
  const log = yield* readWholeLog
  return { head: yield* store.headPosition, count: log.length, log }
})

const expectUnchanged = (before: { readonly head: number; readonly count: number }) =>
  Effect.gen(function*() {
    const after = yield* snapshot
    expect(after.head).toBe(before.head)
    expect(after.count).toBe(before.count)
  })

const positionsOf = (events: ReadonlyArray<RecordedEvent>) => events.map((e) => e.position)
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

/** Runs the conformance suite against `makeLayer` (called once per test for a fresh log). */
export const eventStoreSuite = (name: string, makeLayer: () => Layer.Layer<EventStore, unknown>) => {
  const test = <A, E>(title: string, body: () => Effect.Effect<A, E, EventStore | import("effect").Scope.Scope>) =>
    it.scoped(title, () => Effect.scoped(body()).pipe(Effect.provide(makeLayer())))
  // Subscriptions and cross-fiber waits need no clock, but live ones keep polling real.
  const testLive = <A, E>(title: string, body: () => Effect.Effect<A, E, EventStore | import("effect").Scope.Scope>) =>
    it.scopedLive(title, () => Effect.scoped(body()).pipe(Effect.provide(makeLayer())))

  describe(`EventStore conformance: ${name}`, () => {
    describe("append", () => {
      test("positions strictly increase from 1 and stream versions are gapless from 1", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const r1 = yield* store.append("thread-a", envelopes(3))
          const r2 = yield* store.append("thread-b", envelopes(2))
          const r3 = yield* store.append("thread-a", envelopes(1))
          const r4 = yield* store.append("job-x", envelopes(4))
          expect([r1.firstPosition, r1.lastPosition, r1.nextExpectedVersion, r1.duplicate]).toEqual([1, 3, 3, false])
          expect([r2.firstPosition, r2.lastPosition, r2.nextExpectedVersion]).toEqual([4, 5, 2])
          expect([r3.firstPosition, r3.lastPosition, r3.nextExpectedVersion]).toEqual([6, 6, 4])
          expect([r4.firstPosition, r4.lastPosition, r4.nextExpectedVersion]).toEqual([7, 10, 4])
          expect(r4.streamId).toBe("job-x")
          const log = yield* readWholeLog
          expect(positionsOf(log)).toEqual(range(1, 10))
          expect(verifyLog(log)).toEqual([])
          const a = yield* store.readStream("thread-a")
          expect(a.map((e) => [e.streamVersion, e.position])).toEqual([[1, 1], [2, 2], [3, 3], [4, 6]])
          expect(yield* store.streamVersion("thread-a")).toBe(4)
          expect(yield* store.streamVersion("thread-none")).toBe(0)
          expect(yield* store.headPosition).toBe(10)
        }))

      test("an undefined property is an absent one", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-a", [envelope({ a: 1, gone: undefined, nested: { b: undefined, c: [1] } }, { metadata: { actor: undefined } })])
          const [r] = yield* store.readStream("thread-a")
          expect(r?.payload).toEqual({ a: 1, nested: { c: [1] } })
          expect(Object.keys(r?.payload as object)).toEqual(["a", "nested"])
          expect(r?.metadata).toEqual({})
        }))

      test("a recorded event carries the envelope unchanged", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const e = envelope({ text: "héllo \u2603 \"q\"", n: 1.5, nested: { list: [1, null, true, "x"] } }, {
            type: "thread.created",
            metadata: { correlationId: "c-1", causationId: "c-0", actor: "user", producer: "@codewhale/test@0", extra: { k: 1 } }
          })
          yield* store.append("thread-a", [e], { recordedAt: 1_234 })
          const [r] = yield* store.readStream("thread-a")
          assert(r !== undefined)
          expect(r).toEqual({
            position: 1,
            streamId: "thread-a",
            streamVersion: 1,
            eventId: e.eventId,
            eventType: "thread.created",
            schemaVersion: 1,
            payload: e.payload,
            metadata: e.metadata,
            recordedAt: 1_234
          })
        }))

      test("a failing batch leaves nothing behind", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const stored = envelope({ n: 0 })
          yield* store.append("thread-a", [stored, envelope({ n: 1 })])
          yield* store.append("thread-b", envelopes(1))
          const before = yield* snapshot
          // The last event of the batch is invalid.
          const bad = { ...envelope({ n: 2 }), schemaVersion: 0 }
          const e1 = yield* Effect.flip(store.append("thread-a", [envelope({ n: 2 }), envelope({ n: 3 }), bad as EventEnvelope]))
          expect(e1._tag).toBe("InvalidAppend")
          // The last event of the batch is a non-JSON payload.
          const e2 = yield* Effect.flip(store.append("thread-c", [envelope({ n: 2 }), envelope({ big: 1n })]))
          expect(e2._tag).toBe("InvalidAppend")
          // The last event of the batch is already stored in another stream.
          const e3 = yield* Effect.flip(store.append("thread-b", [envelope({ n: 2 }), envelope({ n: 3 }), stored]))
          expect(e3._tag).toBe("EventIdConflict")
          // The batch does not match its expected version.
          const e4 = yield* Effect.flip(store.append("thread-a", envelopes(5), { expected: ExpectedVersion.Exact({ version: 1 }) }))
          expect(e4._tag).toBe("WrongExpectedVersion")
          yield* expectUnchanged(before)
          expect(yield* store.streamVersion("thread-a")).toBe(2)
          expect(yield* store.streamVersion("thread-b")).toBe(1)
          expect(yield* store.streamVersion("thread-c")).toBe(0)
          // The log goes on where it was: no position was consumed by the failures.
          const next = yield* store.append("thread-a", envelopes(1))
          expect(next.firstPosition).toBe(before.head + 1)
          expect(next.nextExpectedVersion).toBe(3)
        }))

      test("a large batch lands whole, in order", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-z", envelopes(1))
          const batch = envelopes(2_500)
          const r = yield* store.append("thread-a", batch, { expected: ExpectedVersion.NoStream() })
          expect([r.firstPosition, r.lastPosition, r.nextExpectedVersion]).toEqual([2, 2_501, 2_500])
          const read = yield* store.readStream("thread-a")
          expect(read.map((e) => e.eventId)).toEqual(batch.map((e) => e.eventId))
          expect(read.map((e) => e.payload)).toEqual(batch.map((e) => e.payload))
          expect(verifyLog(yield* readWholeLog)).toEqual([])
        }))
    })

    describe("expected version", () => {
      const wrong = (streamId: string, expected: ExpectedVersion, actual: number) =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const before = yield* snapshot
          const error = yield* Effect.flip(store.append(streamId, envelopes(2), { expected }))
          assert(error._tag === "WrongExpectedVersion", `expected WrongExpectedVersion, got ${error._tag}`)
          expect({ streamId: error.streamId, expected: error.expected, actual: error.actual }).toEqual({
            streamId,
            expected: formatExpected(expected),
            actual
          })
          expect(error.message).toContain(streamId)
          yield* expectUnchanged(before)
        })

      test("Any appends whatever the version", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const r1 = yield* store.append("thread-a", envelopes(1), { expected: ExpectedVersion.Any() })
          const r2 = yield* store.append("thread-a", envelopes(2), { expected: ExpectedVersion.Any() })
          const r3 = yield* store.append("thread-a", envelopes(1))
          expect([r1.nextExpectedVersion, r2.nextExpectedVersion, r3.nextExpectedVersion]).toEqual([1, 3, 4])
        }))

      test("NoStream: allowed on a new stream, refused on an existing one", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const r = yield* store.append("thread-a", envelopes(2), { expected: ExpectedVersion.NoStream() })
          expect(r.nextExpectedVersion).toBe(2)
          yield* wrong("thread-a", ExpectedVersion.NoStream(), 2)
        }))

      test("StreamExists: refused on a new stream, allowed on an existing one", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* wrong("thread-a", ExpectedVersion.StreamExists(), 0)
          yield* store.append("thread-a", envelopes(1))
          const r = yield* store.append("thread-a", envelopes(2), { expected: ExpectedVersion.StreamExists() })
          expect(r.nextExpectedVersion).toBe(3)
        }))

      test("Exact: allowed at exactly that version (0 = no stream), refused otherwise", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* wrong("thread-a", ExpectedVersion.Exact({ version: 1 }), 0)
          const r0 = yield* store.append("thread-a", envelopes(2), { expected: ExpectedVersion.Exact({ version: 0 }) })
          expect(r0.nextExpectedVersion).toBe(2)
          yield* wrong("thread-a", ExpectedVersion.Exact({ version: 0 }), 2)
          yield* wrong("thread-a", ExpectedVersion.Exact({ version: 1 }), 2)
          yield* wrong("thread-a", ExpectedVersion.Exact({ version: 3 }), 2)
          yield* wrong("thread-a", ExpectedVersion.Exact({ version: -1 }), 2)
          const r2 = yield* store.append("thread-a", envelopes(1), { expected: ExpectedVersion.Exact({ version: r0.nextExpectedVersion }) })
          expect(r2.nextExpectedVersion).toBe(3)
          // Other streams do not count.
          yield* store.append("thread-b", envelopes(5))
          const r3 = yield* store.append("thread-a", envelopes(1), { expected: ExpectedVersion.Exact({ version: 3 }) })
          expect(r3.nextExpectedVersion).toBe(4)
        }))

      test("interrupted appends land whole or not at all, and never stop the writer", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const batches: Array<ReadonlyArray<EventEnvelope>> = []
          for (let round = 0; round < 20; round++) {
            const fibers = yield* Effect.forEach(range(0, 9), (j) => {
              const batch = envelopes(1 + (j % 3), { round, j })
              batches.push(batch)
              return Effect.fork(store.append(`thread-${j % 4}`, batch))
            })
            for (let k = 0; k < round % 4; k++) yield* Effect.yieldNow()
            yield* Fiber.interruptAll(fibers)
            // The writer is free: this append completes.
            const r = yield* store.append("thread-after", envelopes(1))
            expect(r.duplicate).toBe(false)
          }
          const log = yield* readWholeLog
          expect(verifyLog(log)).toEqual([])
          const stored = new Set(log.map((e) => e.eventId as string))
          for (const batch of batches) {
            const n = batch.filter((e) => stored.has(e.eventId)).length
            expect([0, batch.length]).toContain(n)
          }
        }))

      test("concurrent appends with the same expected version: exactly one wins", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-a", envelopes(1))
          const results = yield* Effect.all(
            Array.from({ length: 8 }, () => Effect.either(store.append("thread-a", envelopes(2), { expected: ExpectedVersion.Exact({ version: 1 }) }))),
            { concurrency: "unbounded" }
          )
          const won = results.filter(Either.isRight)
          const lost = results.filter(Either.isLeft)
          expect(won.length).toBe(1)
          for (const l of lost) expect(l.left._tag).toBe("WrongExpectedVersion")
          expect(yield* store.streamVersion("thread-a")).toBe(3)
          expect(verifyLog(yield* readWholeLog)).toEqual([])
        }))
    })

    describe("idempotency by event id", () => {
      test("re-appending a batch returns the original positions and writes nothing, forever", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-z", envelopes(1))
          const batch = envelopes(3)
          const first = yield* store.append("thread-a", batch, { expected: ExpectedVersion.NoStream() })
          yield* store.append("thread-a", envelopes(2))
          yield* store.append("thread-b", envelopes(4))
          const before = yield* snapshot
          // The same batch again, even with an expected version that no longer holds.
          for (const expected of [ExpectedVersion.NoStream(), ExpectedVersion.Exact({ version: 0 }), ExpectedVersion.Any(), undefined]) {
            const again = yield* store.append("thread-a", batch, { expected })
            expect(again).toEqual({ streamId: "thread-a", firstPosition: first.firstPosition, lastPosition: first.lastPosition, nextExpectedVersion: 5, duplicate: true })
          }
          // A subset of an earlier batch, and a single event.
          const one = yield* store.append("thread-a", [batch[1]!])
          expect([one.firstPosition, one.lastPosition, one.duplicate]).toEqual([first.firstPosition + 1, first.firstPosition + 1, true])
          yield* expectUnchanged(before)
          expect(first.duplicate).toBe(false)
        }))

      test("a batch that partly overlaps stored events is an EventIdConflict naming the stored ids", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const batch = envelopes(3)
          yield* store.append("thread-a", batch)
          const before = yield* snapshot
          const fresh = envelope({ fresh: true })
          const error = yield* Effect.flip(store.append("thread-a", [batch[2]!, fresh]))
          assert(error._tag === "EventIdConflict")
          expect(error.streamId).toBe("thread-a")
          expect(error.eventIds).toEqual([batch[2]!.eventId])
          yield* expectUnchanged(before)
          // The fresh event was not stored and can still be appended on its own.
          const r = yield* store.append("thread-a", [fresh])
          expect(r.duplicate).toBe(false)
        }))

      test("an event id stored in another stream is an EventIdConflict", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const batch = envelopes(2)
          yield* store.append("thread-a", batch)
          const before = yield* snapshot
          const whole = yield* Effect.flip(store.append("thread-b", batch))
          assert(whole._tag === "EventIdConflict")
          expect(whole.streamId).toBe("thread-b")
          expect([...whole.eventIds].sort()).toEqual(batch.map((e) => e.eventId).sort())
          const part = yield* Effect.flip(store.append("thread-b", [envelope({}), batch[0]!]))
          assert(part._tag === "EventIdConflict")
          expect(part.eventIds).toEqual([batch[0]!.eventId])
          yield* expectUnchanged(before)
          expect(yield* store.streamVersion("thread-b")).toBe(0)
        }))

      test("the same event id twice in one batch is InvalidAppend", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const e = envelope({})
          const error = yield* Effect.flip(store.append("thread-a", [e, e]))
          expect(error._tag).toBe("InvalidAppend")
          expect(yield* store.headPosition).toBe(0)
        }))
    })

    describe("invalid input", () => {
      const refused = (streamId: string, events: ReadonlyArray<unknown>) =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const before = yield* snapshot
          const error = yield* Effect.flip(store.append(streamId, events as ReadonlyArray<EventEnvelope>))
          assert(error._tag === "InvalidAppend", `expected InvalidAppend, got ${error._tag}: ${error.message}`)
          expect(error.streamId).toBe(streamId)
          yield* expectUnchanged(before)
          return error
        })

      test("an empty batch", () => Effect.gen(function*() {
        const error = yield* refused("thread-a", [])
        expect(error.message).toContain("thread-a")
      }))

      test("bad stream ids", () =>
        Effect.gen(function*() {
          for (const id of ["", "thread", "thread-", "-abc", "Thread-a", "1thread-a", "thr ead-a", "thread\n-a", `thread-${"x".repeat(600)}`]) {
            yield* refused(id, envelopes(1))
          }
        }))

      test("invalid envelopes", () =>
        Effect.gen(function*() {
          const ok = envelope({})
          const bad: Array<unknown> = [
            { ...ok, eventId: "not-a-uuid" },
            { ...ok, eventId: "0192b6a0-0000-4000-8000-000000000000" },
            { ...ok, eventType: "" },
            { ...ok, schemaVersion: 0 },
            { ...ok, schemaVersion: 1.5 },
            { ...ok, metadata: "x" },
            { ...ok, metadata: { actor: 3 } },
            { eventId: ok.eventId, eventType: "x", schemaVersion: 1, payload: {} },
            null,
            "event"
          ]
          for (const e of bad) yield* refused("thread-a", [envelope({}), e])
        }))

      test("payloads and metadata that are not JSON", () =>
        Effect.gen(function*() {
          const cyclic: Record<string, unknown> = {}
          cyclic.self = cyclic
          const payloads: Array<unknown> = [
            undefined,
            1n,
            { n: 1n },
            cyclic,
            () => 1,
            Symbol("s"),
            Number.NaN,
            { n: Number.POSITIVE_INFINITY },
            [1, undefined],
            { f: () => 1 },
            { nested: [{ ok: 1 }, { bad: Number.NaN }] },
            new Map([["a", 1]]),
            new Date(0)
          ]
          for (const payload of payloads) yield* refused("thread-a", [envelope({ fine: 1 }), envelope(payload)])
          yield* refused("thread-a", [envelope({}, { metadata: { actor: "a", extra: 1n } })])
          yield* refused("thread-a", [envelope({}, { metadata: { extra: cyclic } })])
        }))
    })

    describe("readStream", () => {
      test("from, to, limit and backwards", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-a", envelopes(5))
          yield* store.append("thread-b", envelopes(3))
          yield* store.append("thread-a", envelopes(5))
          const versions = (o: Parameters<typeof store.readStream>[1]) =>
            Effect.map(store.readStream("thread-a", o), (es) => es.map((e) => e.streamVersion))
          expect(yield* versions(undefined)).toEqual(range(1, 10))
          expect(yield* versions({ fromVersion: 4 })).toEqual(range(4, 10))
          expect(yield* versions({ toVersion: 3 })).toEqual([1, 2, 3])
          expect(yield* versions({ fromVersion: 3, toVersion: 6 })).toEqual([3, 4, 5, 6])
          expect(yield* versions({ fromVersion: 3, limit: 2 })).toEqual([3, 4])
          expect(yield* versions({ backwards: true })).toEqual(range(1, 10).reverse())
          expect(yield* versions({ backwards: true, limit: 3 })).toEqual([10, 9, 8])
          expect(yield* versions({ backwards: true, fromVersion: 2, toVersion: 5 })).toEqual([5, 4, 3, 2])
          expect(yield* versions({ backwards: true, toVersion: 5, limit: 2 })).toEqual([5, 4])
          expect(yield* versions({ fromVersion: 11 })).toEqual([])
          expect(yield* versions({ fromVersion: 6, toVersion: 5 })).toEqual([])
          expect(yield* versions({ limit: 0 })).toEqual([])
          expect(yield* store.readStream("thread-none")).toEqual([])
          const a = yield* store.readStream("thread-a")
          expect(positionsOf(a)).toEqual([1, 2, 3, 4, 5, 9, 10, 11, 12, 13])
          expect(a.every((e) => e.streamId === "thread-a")).toBe(true)
        }))
    })

    describe("readAll and streamAll", () => {
      const setup = Effect.gen(function*() {
        const store = yield* EventStore
        // 30 events: positions 1..30, categories alternating in runs of 3.
        for (let i = 0; i < 10; i++) {
          yield* store.append(i % 2 === 0 ? `thread-${i % 3}` : `job-${i % 4}`, envelopes(3, { batch: i }))
        }
        return store
      })

      test("readAll pages after an exclusive position, up to an inclusive one, per category", () =>
        Effect.gen(function*() {
          const store = yield* setup
          expect(positionsOf(yield* store.readAll())).toEqual(range(1, 30))
          expect(positionsOf(yield* store.readAll({ after: 0 }))).toEqual(range(1, 30))
          expect(positionsOf(yield* store.readAll({ after: 5 }))).toEqual(range(6, 30))
          expect(positionsOf(yield* store.readAll({ after: 5, limit: 4 }))).toEqual([6, 7, 8, 9])
          expect(positionsOf(yield* store.readAll({ after: 5, until: 7 }))).toEqual([6, 7])
          expect(positionsOf(yield* store.readAll({ after: 7, until: 7 }))).toEqual([])
          expect(positionsOf(yield* store.readAll({ after: 30 }))).toEqual([])
          expect(positionsOf(yield* store.readAll({ until: 3 }))).toEqual([1, 2, 3])
          const threads = yield* store.readAll({ category: "thread" })
          expect(threads.every((e) => e.streamId.startsWith("thread-"))).toBe(true)
          expect(positionsOf(threads)).toEqual([1, 2, 3, 7, 8, 9, 13, 14, 15, 19, 20, 21, 25, 26, 27])
          expect(positionsOf(yield* store.readAll({ category: "thread", after: 3, limit: 4 }))).toEqual([7, 8, 9, 13])
          expect(positionsOf(yield* store.readAll({ category: "job", after: 4, until: 16 }))).toEqual([5, 6, 10, 11, 12, 16])
          expect(yield* store.readAll({ category: "none" })).toEqual([])
          // Paging by the last position seen covers the log exactly once.
          const seen: Array<number> = []
          let after = 0
          while (true) {
            const page = yield* store.readAll({ after, limit: 7 })
            if (page.length === 0) break
            expect(page.length).toBeLessThanOrEqual(7)
            seen.push(...positionsOf(page))
            after = page[page.length - 1]!.position
          }
          expect(seen).toEqual(range(1, 30))
        }))

      test("readAll returns at most the default page size, and never more than MaxPageSize", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-a", envelopes(MaxPageSize + 50))
          expect((yield* store.readAll()).length).toBe(1_000)
          expect((yield* store.readAll({ limit: MaxPageSize * 2 })).length).toBe(MaxPageSize)
          expect((yield* store.readAll({ limit: 0 })).length).toBe(1)
        }))

      test("streamAll pages through everything a page at a time", () =>
        Effect.gen(function*() {
          const store = yield* setup
          const pages = yield* Stream.runCollect(Stream.chunks(store.streamAll({ limit: 4 })))
          const sizes = Chunk.toReadonlyArray(pages).map(Chunk.size)
          expect(sizes.every((n) => n <= 4)).toBe(true)
          expect(sizes.filter((n) => n > 0).length).toBe(8)
          const all = Chunk.toReadonlyArray(pages).flatMap((c) => Chunk.toReadonlyArray(c))
          expect(positionsOf(all)).toEqual(range(1, 30))
          const cat = yield* Stream.runCollect(store.streamAll({ category: "job", after: 4, until: 20, limit: 2 }))
          expect(positionsOf(Chunk.toReadonlyArray(cat))).toEqual([5, 6, 10, 11, 12, 16, 17, 18])
          // Default page size: 1,000; a log of 2,500 events arrives in pages of at most 1,000.
          yield* store.append("thread-big", envelopes(2_470))
          const big = yield* Stream.runCollect(Stream.chunks(store.streamAll()))
          const bigSizes = Chunk.toReadonlyArray(big).map(Chunk.size).filter((n) => n > 0)
          expect(bigSizes).toEqual([1_000, 1_000, 500])
        }))

      test("streamAll with a page size above MaxPageSize still reads to the end", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-a", envelopes(MaxPageSize + 50))
          const pages = yield* Stream.runCollect(Stream.chunks(store.streamAll({ limit: MaxPageSize * 3 })))
          const sizes = Chunk.toReadonlyArray(pages).map(Chunk.size)
          expect(sizes.every((n) => n <= MaxPageSize)).toBe(true)
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(MaxPageSize + 50)
        }))

      test("listStreams: ordered by id, per category, paged by id", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-b", envelopes(2))
          yield* store.append("job-1", envelopes(1))
          yield* store.append("thread-a", envelopes(1))
          yield* store.append("thread-b", envelopes(1))
          expect(yield* store.listStreams()).toEqual([
            { streamId: "job-1", category: "job", version: 1, firstPosition: 3, lastPosition: 3 },
            { streamId: "thread-a", category: "thread", version: 1, firstPosition: 4, lastPosition: 4 },
            { streamId: "thread-b", category: "thread", version: 3, firstPosition: 1, lastPosition: 5 }
          ])
          const ids = (o: Parameters<typeof store.listStreams>[0]) => Effect.map(store.listStreams(o), (s) => s.map((i) => i.streamId))
          expect(yield* ids({ category: "thread" })).toEqual(["thread-a", "thread-b"])
          expect(yield* ids({ category: "job" })).toEqual(["job-1"])
          expect(yield* ids({ category: "none" })).toEqual([])
          expect(yield* ids({ after: "job-1" })).toEqual(["thread-a", "thread-b"])
          expect(yield* ids({ after: "thread-a", category: "thread" })).toEqual(["thread-b"])
          expect(yield* ids({ limit: 2 })).toEqual(["job-1", "thread-a"])
          expect(yield* ids({ limit: 0 })).toEqual([])
        }))
    })

    describe("subscriptions", () => {
      test("hands over from history to live with no gap and no duplicate", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-a", envelopes(5))
          const fiber = yield* store.subscribe().pipe(Stream.take(12), Stream.runCollect, Effect.fork)
          yield* store.append("thread-b", envelopes(3))
          yield* store.append("thread-a", envelopes(4))
          const got = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
          expect(positionsOf(got)).toEqual(range(1, 12))
          const from = yield* store.subscribe({ after: 7 }).pipe(Stream.take(5), Stream.runCollect)
          expect(positionsOf(Chunk.toReadonlyArray(from))).toEqual(range(8, 12))
        }))

      test("a live subscriber waits for commits and receives each exactly once", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const received: Array<number> = []
          const three = yield* Deferred.make<void>()
          yield* store.subscribe().pipe(
            Stream.runForEach((e) =>
              Effect.suspend(() => {
                received.push(e.position)
                return received.length === 3 ? Deferred.succeed(three, undefined) : Effect.void
              })
            ),
            Effect.forkScoped
          )
          yield* Effect.yieldNow()
          expect(received).toEqual([])
          yield* store.append("thread-a", envelopes(3))
          yield* Deferred.await(three)
          const r = yield* store.append("thread-a", envelopes(2))
          yield* store.awaitPosition(r.lastPosition)
          // Wait until the subscriber has seen the last one, then nothing else arrives.
          while (received.length < 5) yield* Effect.yieldNow()
          expect(received).toEqual([1, 2, 3, 4, 5])
        }))

      test("events appended concurrently while history is read arrive once, in order", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          // More history than one page, so the subscriber reads several pages while writers append.
          yield* store.append("thread-h", envelopes(2_600))
          const writers = 4
          const perWriter = 40
          const total = 2_600 + writers * perWriter * 2
          const sub = yield* store.subscribe().pipe(Stream.take(total), Stream.runCollect, Effect.fork)
          yield* Effect.forEach(
            range(1, writers),
            (w) => Effect.forEach(range(1, perWriter), (i) => store.append(`thread-w${w}`, envelopes(2, { w, i })), { discard: true }),
            { concurrency: "unbounded", discard: true }
          )
          const got = Chunk.toReadonlyArray(yield* Fiber.join(sub))
          expect(positionsOf(got)).toEqual(range(1, total))
          expect(verifyLog(got)).toEqual([])
          expect(got).toEqual(yield* readWholeLog)
        }))

      test("category subscriptions see only their category, with no gap or duplicate", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-a", envelopes(2))
          yield* store.append("job-a", envelopes(2))
          const sub = yield* store.subscribe({ category: "job" }).pipe(Stream.take(2 + 20 * 2), Stream.runCollect, Effect.fork)
          yield* Effect.forEach(
            range(1, 20),
            (i) => Effect.zipRight(store.append(`thread-${i % 3}`, envelopes(3)), store.append(`job-${i % 2}`, envelopes(2))),
            { concurrency: 4, discard: true }
          )
          const got = Chunk.toReadonlyArray(yield* Fiber.join(sub))
          const expected = yield* store.readAll({ category: "job", limit: 10_000 })
          expect(got).toEqual(expected)
          expect(got.every((e) => e.streamId.startsWith("job-"))).toBe(true)
          const after = yield* store.subscribe({ category: "job", after: expected[10]!.position }).pipe(Stream.take(expected.length - 11), Stream.runCollect)
          expect(Chunk.toReadonlyArray(after)).toEqual(expected.slice(11))
        }))

      test("a failed append never reaches subscribers", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.append("thread-a", envelopes(2))
          const sub = yield* store.subscribe({ after: 2 }).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
          const stored = envelope({ stored: true })
          yield* store.append("thread-x", [stored])
          const failures = [
            store.append("thread-a", envelopes(3), { expected: ExpectedVersion.Exact({ version: 1 }) }),
            store.append("thread-a", envelopes(3), { expected: ExpectedVersion.NoStream() }),
            store.append("thread-b", [envelope({}), stored]),
            store.append("thread-b", [envelope({}), envelope(1n)]),
            store.append("thread-b", [])
          ]
          for (const f of failures) yield* Effect.flip(f)
          // A duplicate re-append is not new either.
          yield* store.append("thread-x", [stored])
          const ok = yield* store.append("thread-a", envelopes(1, { ok: true }), { expected: ExpectedVersion.Exact({ version: 2 }) })
          const [first] = Chunk.toReadonlyArray(yield* Fiber.join(sub))
          expect(first?.eventId).toBe(stored.eventId)
          const rest = yield* store.subscribe({ after: first!.position }).pipe(Stream.take(1), Stream.runCollect)
          expect(Chunk.toReadonlyArray(rest).map((e) => e.position)).toEqual([ok.firstPosition])
          expect(ok.firstPosition).toBe(4)
          expect(yield* store.headPosition).toBe(4)
        }))

      test("concurrent failing and succeeding appends: subscribers see exactly the successes", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          const sub = yield* store.subscribe().pipe(Stream.runCollect, Effect.fork)
          const results = yield* Effect.all(
            range(0, 59).map((i) =>
              Effect.either(
                store.append(`thread-${i % 5}`, envelopes(1 + (i % 3)), {
                  expected: i % 4 === 0 ? ExpectedVersion.NoStream() : i % 4 === 1 ? ExpectedVersion.Exact({ version: i % 7 }) : ExpectedVersion.Any()
                })
              )
            ),
            { concurrency: "unbounded" }
          )
          const ok = results.filter(Either.isRight).map((r) => r.right)
          const head = yield* store.headPosition
          expect(ok.reduce((n, r) => n + r.lastPosition - r.firstPosition + 1, 0)).toBe(head)
          for (const r of results) if (Either.isLeft(r)) expect(r.left._tag).toBe("WrongExpectedVersion")
          yield* store.awaitPosition(head)
          const got = yield* store.subscribe().pipe(Stream.take(head), Stream.runCollect)
          expect(positionsOf(Chunk.toReadonlyArray(got))).toEqual(range(1, head))
          yield* Fiber.interrupt(sub)
          const log = yield* readWholeLog
          expect(verifyLog(log)).toEqual([])
          for (const r of ok) {
            const slice = log.filter((e) => e.position >= r.firstPosition && e.position <= r.lastPosition)
            expect(slice.every((e) => e.streamId === r.streamId)).toBe(true)
            expect(slice[slice.length - 1]!.streamVersion).toBe(r.nextExpectedVersion)
          }
        }))
    })

    describe("awaitPosition", () => {
      testLive("returns at once for a reached position, waits for a future one", () =>
        Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.awaitPosition(0)
          const r = yield* store.append("thread-a", envelopes(3))
          yield* store.awaitPosition(r.lastPosition)
          yield* store.awaitPosition(1)
          const waiter = yield* Effect.fork(store.awaitPosition(5))
          yield* Effect.yieldNow()
          expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
          yield* store.append("thread-a", envelopes(1))
          yield* Effect.yieldNow()
          expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
          yield* store.append("thread-b", envelopes(1))
          yield* Fiber.join(waiter)
          // Once awaited, the event is readable.
          expect(positionsOf(yield* store.readAll({ after: 4 }))).toEqual([5])
        }))
    })

    describe("properties", () => {
      type Op = { readonly stream: number; readonly n: number; readonly mode: number; readonly version: number; readonly replay: number }
      const opArb = fc.record({
        stream: fc.integer({ min: 0, max: 3 }),
        n: fc.integer({ min: 1, max: 3 }),
        mode: fc.integer({ min: 0, max: 4 }),
        version: fc.integer({ min: 0, max: 6 }),
        replay: fc.integer({ min: -1, max: 30 })
      })
      const expectedOf = (op: Op): ExpectedVersion =>
        op.mode === 0 ? ExpectedVersion.Any() : op.mode === 1 ? ExpectedVersion.NoStream() : op.mode === 2 ? ExpectedVersion.StreamExists() : ExpectedVersion.Exact({ version: op.version })

      it.effect.prop(
        "a sequence of appends with random expected versions and re-appends matches a model",
        [fc.array(opArb, { minLength: 1, maxLength: 40 })],
        ([ops]) =>
          Effect.gen(function*() {
            const store = yield* EventStore
            const model: Array<{ streamId: string; eventId: string; version: number }> = []
            const batches: Array<{ streamId: string; events: ReadonlyArray<EventEnvelope>; first: number }> = []
            for (const op of ops) {
              const replayOf = op.replay >= 0 && op.replay < batches.length ? batches[op.replay] : undefined
              const streamId = replayOf?.streamId ?? `s${op.stream}-x`
              const events = replayOf?.events ?? envelopes(op.n)
              const expected = expectedOf(op)
              const version = model.filter((e) => e.streamId === streamId).length
              const result = yield* Effect.either(store.append(streamId, events, { expected }))
              if (replayOf !== undefined) {
                assert(Either.isRight(result))
                expect(result.right.duplicate).toBe(true)
                expect(result.right.firstPosition).toBe(replayOf.first)
                expect(result.right.nextExpectedVersion).toBe(version)
                continue
              }
              const ok = expected._tag === "Any" || (expected._tag === "NoStream" && version === 0) ||
                (expected._tag === "StreamExists" && version > 0) || (expected._tag === "Exact" && expected.version === version)
              if (ok) {
                assert(Either.isRight(result), "append should have succeeded")
                expect(result.right.firstPosition).toBe(model.length + 1)
                batches.push({ streamId, events, first: model.length + 1 })
                events.forEach((e, i) => model.push({ streamId, eventId: e.eventId, version: version + i + 1 }))
                expect(result.right.nextExpectedVersion).toBe(version + events.length)
              } else {
                assert(Either.isLeft(result))
                assert(result.left._tag === "WrongExpectedVersion")
                expect(result.left.actual).toBe(version)
              }
            }
            const log = yield* readWholeLog
            expect(log.map((e) => ({ streamId: e.streamId, eventId: e.eventId, version: e.streamVersion }))).toEqual(model)
            expect(positionsOf(log)).toEqual(range(1, model.length))
          }).pipe(Effect.provide(makeLayer())),
        { fastCheck: { numRuns: 25 } }
      )

      it.effect.prop(
        "random concurrent appends: every success is in the log where it said, every failure is absent",
        [fc.array(opArb, { minLength: 1, maxLength: 40 })],
        ([ops]) =>
          Effect.gen(function*() {
            const store = yield* EventStore
            const attempts = ops.map((op) => ({ op, events: envelopes(op.n), streamId: `s${op.stream}-x` }))
            const results = yield* Effect.all(
              attempts.map((a) => Effect.either(store.append(a.streamId, a.events, { expected: expectedOf(a.op) }))),
              { concurrency: "unbounded" }
            )
            const log = yield* readWholeLog
            expect(verifyLog(log)).toEqual([])
            const byId = new Map(log.map((e) => [e.eventId as string, e]))
            let stored = 0
            results.forEach((r, i) => {
              const a = attempts[i]!
              if (Either.isRight(r)) {
                stored += a.events.length
                const recs = a.events.map((e) => byId.get(e.eventId))
                expect(recs.every((e) => e !== undefined && e.streamId === a.streamId)).toBe(true)
                expect(recs.map((e) => e!.position)).toEqual(range(r.right.firstPosition, r.right.lastPosition))
                expect(recs[recs.length - 1]!.streamVersion).toBe(r.right.nextExpectedVersion)
              } else {
                expect(r.left._tag).toBe("WrongExpectedVersion")
                expect(a.events.some((e) => byId.has(e.eventId))).toBe(false)
              }
            })
            expect(log.length).toBe(stored)
          }).pipe(Effect.provide(makeLayer())),
        { fastCheck: { numRuns: 25 } }
      )

      it.effect.prop(
        "any JSON payload and metadata round-trip exactly, alone or in a batch",
        [fc.array(fc.jsonValue(), { minLength: 1, maxLength: 5 }), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 })],
        ([payloads, metadata]) =>
          Effect.gen(function*() {
            const store = yield* EventStore
            const canon = (u: unknown) => JSON.parse(JSON.stringify(u)) as unknown
            const batch = payloads.map((p) => envelope(p, { metadata }))
            yield* store.append("thread-a", batch)
            for (const p of payloads) yield* store.append("thread-b", [envelope(p, { metadata })])
            const a = yield* store.readStream("thread-a")
            const b = yield* store.readStream("thread-b")
            expect(a.map((e) => e.payload)).toEqual(payloads.map(canon))
            expect(b.map((e) => e.payload)).toEqual(payloads.map(canon))
            expect(a.map((e) => e.metadata)).toEqual(payloads.map(() => canon(metadata)))
            expect(b.map((e) => e.metadata)).toEqual(payloads.map(() => canon(metadata)))
          }).pipe(Effect.provide(makeLayer())),
        { fastCheck: { numRuns: 30 } }
      )
    })
  })
}

/** Re-exported for suites that build ids themselves. */
export { newEventId }
