import { categoryOf, IdGenerator, makeStreamId } from "@codewhale/protocol"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const UuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("IdGenerator", () => {
  it.effect("event ids are UUIDv7 and strictly increase, even within one millisecond", () =>
    Effect.gen(function*() {
      const ids = yield* IdGenerator
      const all = yield* Effect.forEach(Array.from({ length: 2_000 }), () => ids.eventId)
      for (const id of all) assert.match(id, UuidV7)
      for (let i = 1; i < all.length; i++) assert.isTrue(all[i]! > all[i - 1]!, `${all[i]} after ${all[i - 1]}`)
      assert.strictEqual(new Set(all).size, all.length)
    }).pipe(Effect.provide(IdGenerator.layer)))

  it.effect("domain ids carry their prefix", () =>
    Effect.gen(function*() {
      const ids = yield* IdGenerator
      const thread = yield* ids.domainId("thread")
      assert.match(thread, /^thread-[0-9a-f-]{36}$/)
      assert.strictEqual(categoryOf(thread), "thread")
    }).pipe(Effect.provide(IdGenerator.layer)))

  it("the test layer is deterministic", () => {
    const run = () =>
      Effect.runSync(
        Effect.flatMap(IdGenerator, (ids) => Effect.all([ids.eventId, ids.eventId, ids.domainId("job")])).pipe(
          Effect.provide(IdGenerator.layerTest(5))
        )
      )
    const first = run()
    assert.deepStrictEqual(first, run())
    for (const id of first.slice(0, 2)) assert.match(id, UuidV7)
    assert.notStrictEqual(first[0], first[1])
  })
})

describe("stream ids", () => {
  it("category is the text before the first dash; makeStreamId does not double the prefix", () => {
    assert.strictEqual(categoryOf("thread-abc-def"), "thread")
    assert.strictEqual(makeStreamId("thread", "abc"), "thread-abc")
    assert.strictEqual(makeStreamId("thread", "thread-abc"), "thread-abc")
  })
})
