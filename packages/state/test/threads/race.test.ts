/** Two writers racing on one thread never lose an update: the loser gets WrongExpectedVersion and retries or reports it. */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, Fiber, Layer } from "effect"
import { IdGenerator, makeEnvelope } from "@codewhale/protocol"
import {
  decide,
  EventStore,
  ExpectedVersion,
  foldStream,
  layerSqlite,
  makeThreadStore,
  threadStateProjection,
  ThreadStore
} from "../../src/index.ts"
import { makeTestLayer, testConfig } from "./helpers.ts"

const base = Layer.mergeAll(layerSqlite({ filename: ":memory:" }), IdGenerator.layerTest(1))

/**
 * A ThreadStore whose first append waits until a second append has gone through: the first
 * writer decided on a version that is stale by the time it appends.
 */
const gatedStore = (maxAttempts: number) =>
  Effect.gen(function*() {
    const inner = yield* EventStore
    const firstAtGate = yield* Deferred.make<void>()
    const secondDone = yield* Deferred.make<void>()
    let armed = false
    let calls = 0
    const gated = {
      ...inner,
      append: (...args: Parameters<typeof inner.append>) =>
        Effect.suspend(() => {
          if (!armed) return inner.append(...args)
          calls++
          if (calls === 1) return Deferred.succeed(firstAtGate, undefined).pipe(Effect.zipRight(Deferred.await(secondDone)), Effect.zipRight(inner.append(...args)))
          if (calls === 2) return inner.append(...args).pipe(Effect.ensuring(Deferred.succeed(secondDone, undefined)))
          return inner.append(...args)
        })
    }
    const threads = yield* makeThreadStore({ ...testConfig, cliVersion: "t", defaultModelProvider: "deepseek", maxAttempts }).pipe(
      Effect.provideService(EventStore, gated)
    )
    return { threads, firstAtGate, arm: () => void (armed = true) }
  })

describe("racing writers", () => {
  it.effect("deciding on a stale version: the second append is refused with WrongExpectedVersion", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const store = yield* EventStore
      const { threadId } = yield* threads.start({})
      const a = yield* foldStream(threadStateProjection, threadId)
      const b = yield* foldStream(threadStateProjection, threadId)
      const append = (folded: typeof a, name: string) =>
        Effect.gen(function*() {
          const drafts = yield* decide(threadId, { _tag: "Rename", at: 1, name }, folded.state)
          const envelopes = yield* Effect.forEach(drafts, (d) => makeEnvelope(d.definition, d.payload))
          return yield* store.append(threadId, envelopes, { expected: ExpectedVersion.Exact({ version: folded.version }) })
        })
      yield* append(a, "from A")
      const lost = yield* Effect.flip(append(b, "from B"))
      expect(lost._tag).toBe("WrongExpectedVersion")
      expect((yield* threads.get(threadId)).name).toBe("from A")
    }).pipe(Effect.provide(makeTestLayer())))

  it.effect("the service retries a lost race: both messages land, chained, none lost", () =>
    Effect.gen(function*() {
      const { threads, firstAtGate, arm } = yield* gatedStore(5)
      const { threadId } = yield* threads.start({})
      arm()
      const first = yield* Effect.fork(threads.addMessage(threadId, { content: "first writer" }))
      yield* Deferred.await(firstAtGate)
      yield* threads.addMessage(threadId, { content: "second writer" })
      yield* Fiber.join(first)
      const history = yield* threads.history(threadId)
      expect(history.entries.map((e) => e.content)).toEqual(["second writer", "first writer"])
      expect(history.entries[1]!.parentId).toBe(history.entries[0]!.entryId)
      expect((yield* threads.get(threadId)).messageCount).toBe(2)
    }).pipe(Effect.provide(base)))

  it.effect("without retries the loser reports WrongExpectedVersion and nothing of it is stored", () =>
    Effect.gen(function*() {
      const { threads, firstAtGate, arm } = yield* gatedStore(1)
      const { threadId } = yield* threads.start({})
      arm()
      const first = yield* Effect.fork(Effect.either(threads.rename(threadId, "first")))
      yield* Deferred.await(firstAtGate)
      yield* threads.rename(threadId, "second")
      const result = yield* Fiber.join(first)
      expect(Either.isLeft(result) && result.left._tag).toBe("WrongExpectedVersion")
      expect((yield* threads.get(threadId)).name).toBe("second")
      expect((yield* threads.get(threadId)).version).toBe(2)
    }).pipe(Effect.provide(base)))

  it.effect("many concurrent writers on one thread: every message is stored, in one linear chain", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const { threadId } = yield* threads.start({})
      yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => threads.addMessage(threadId, { content: `m${i}` }), {
        concurrency: "unbounded",
        discard: true
      })
      const history = yield* threads.history(threadId)
      expect(history.entries.map((e) => e.content).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort())
      for (let i = 1; i < history.entries.length; i++) expect(history.entries[i]!.parentId).toBe(history.entries[i - 1]!.entryId)
      expect((yield* threads.get(threadId)).messageCount).toBe(20)
    }).pipe(Effect.provide(makeTestLayer({ maxAttempts: 50 }))))
})
