import { it, expect } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { IdGenerator } from "@codewhale/protocol"
import { EventStore, ExpectedVersion, layerSqlite } from "@codewhale/state"

it.scoped("smoke", () => Effect.gen(function*() {
  const store = yield* EventStore
  const ids = yield* IdGenerator
  const mk = (n: number) => Effect.map(ids.eventId, (eventId) => ({ eventId, eventType: "t.x", schemaVersion: 1, payload: { n }, metadata: {} }))
  const r1 = yield* store.append("thread-a", [yield* mk(1)], { expected: ExpectedVersion.NoStream() })
  const r2 = yield* store.append("thread-a", [yield* mk(2), yield* mk(3)], { expected: ExpectedVersion.Exact({ version: 1 }) })
  const e = yield* Effect.flip(store.append("thread-a", [yield* mk(4)], { expected: ExpectedVersion.Exact({ version: 1 }) }))
  console.log(r1, r2, e.message, yield* store.readStream("thread-a"))
  expect(r2.nextExpectedVersion).toBe(3)
}).pipe(Effect.provide(Layer.merge(layerSqlite({ filename: ":memory:" }), IdGenerator.layer))))
