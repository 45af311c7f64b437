import {
  defineEvent,
  evolveEvent,
  IdGenerator,
  makeEnvelope,
  makeEventRegistry,
  type RecordedEvent
} from "@codewhale/protocol"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"

const RenamedV1 = defineEvent("note.renamed", Schema.Struct({ name: Schema.String }))
const RenamedV2 = evolveEvent(RenamedV1, Schema.Struct({ name: Schema.String, reason: Schema.String }), (v1) => ({
  name: v1.name,
  reason: "unknown"
}))
const Renamed = evolveEvent(
  RenamedV2,
  Schema.Struct({ title: Schema.String, reason: Schema.String }),
  (v2) => ({ title: v2.name, reason: v2.reason })
)
const Added = defineEvent("note.added", Schema.Struct({ text: Schema.String, at: Schema.Number }))
const registry = Either.getOrThrow(makeEventRegistry([Renamed, Added]))

const record = (eventType: string, schemaVersion: number, payload: unknown): RecordedEvent => ({
  position: 7,
  streamId: "note-1",
  streamVersion: 3,
  eventId: "01890a5d-ac96-774b-bcce-b302099a8057" as RecordedEvent["eventId"],
  eventType,
  schemaVersion,
  payload,
  metadata: {},
  recordedAt: 0
})

describe("event registry", () => {
  it("decodes the latest version as is", () => {
    const decoded = Either.getOrThrow(registry.decode(record("note.renamed", 3, { title: "t", reason: "r" })))
    assert.strictEqual(decoded._tag, "Known")
    assert.deepStrictEqual(decoded._tag === "Known" ? decoded.payload : undefined, { title: "t", reason: "r" })
  })

  it("upcasts version 1 through every step to the latest", () => {
    const decoded = Either.getOrThrow(registry.decode(record("note.renamed", 1, { name: "old" })))
    assert.deepStrictEqual(decoded._tag === "Known" ? decoded.payload : undefined, { title: "old", reason: "unknown" })
  })

  it("upcasts version 2 without applying the version-2 upcaster again", () => {
    const decoded = Either.getOrThrow(registry.decode(record("note.renamed", 2, { name: "n", reason: "typo" })))
    assert.deepStrictEqual(decoded._tag === "Known" ? decoded.payload : undefined, { title: "n", reason: "typo" })
  })

  it("passes unknown types and unknown versions through instead of failing", () => {
    const unknownType = Either.getOrThrow(registry.decode(record("note.deleted", 1, {})))
    assert.deepStrictEqual(unknownType._tag === "Unknown" ? unknownType.reason : undefined, "unknown-type")
    const newer = Either.getOrThrow(registry.decode(record("note.renamed", 4, { anything: true })))
    assert.deepStrictEqual(newer._tag === "Unknown" ? newer.reason : undefined, "unknown-version")
  })

  it("reports a known event whose payload does not match, naming position, type and version", () => {
    const result = registry.decode(record("note.added", 1, { text: 42 }))
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left._tag, "EventDecodeError")
      assert.include(result.left.message, "position 7")
      assert.include(result.left.message, "note.added@1")
    }
  })

  it("decodeKnown: the typed event, upcast; undefined for unknown types, unknown versions and undecodable payloads", () => {
    const known = registry.decodeKnown(record("note.renamed", 1, { name: "old" }))
    assert.strictEqual(known?.type, "note.renamed")
    assert.deepStrictEqual(known?.payload, { title: "old", reason: "unknown" })
    assert.strictEqual(known?.record.position, 7)
    assert.isUndefined(registry.decodeKnown(record("note.deleted", 1, {})))
    assert.isUndefined(registry.decodeKnown(record("note.renamed", 4, { anything: true })))
    assert.isUndefined(registry.decodeKnown(record("note.added", 1, { text: 42 })))
  })

  it("refuses a type registered twice and version gaps", () => {
    assert.isTrue(Either.isLeft(makeEventRegistry([Added, Added])))
    const gap = { ...Renamed, versions: Renamed.versions.filter((v) => v.version !== 2) }
    assert.isTrue(Either.isLeft(makeEventRegistry([gap])))
  })

  it("encodes with the latest schema and refuses a payload that does not match", () => {
    const ok = Either.getOrThrow(registry.encode(Renamed, { title: "a", reason: "b" }))
    assert.deepStrictEqual(ok, { eventType: "note.renamed", schemaVersion: 3, payload: { title: "a", reason: "b" } })
    const bad = registry.encode(Added, { text: "x", at: "nope" } as unknown as { text: string; at: number })
    assert.isTrue(Either.isLeft(bad))
  })
})

describe("makeEnvelope", () => {
  it.effect("stamps a fresh UUIDv7 and the latest version", () =>
    Effect.gen(function*() {
      const a = yield* makeEnvelope(Added, { text: "x", at: 1 }, { actor: "user" })
      const b = yield* makeEnvelope(Added, { text: "y", at: 2 })
      assert.strictEqual(a.eventType, "note.added")
      assert.strictEqual(a.schemaVersion, 1)
      assert.deepStrictEqual(a.metadata, { actor: "user" })
      assert.match(a.eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.notStrictEqual(a.eventId, b.eventId)
    }).pipe(Effect.provide(IdGenerator.layer)))

  it.effect("fails with EventEncodeError when the payload does not match its schema", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeEnvelope(Added, { text: 1 } as unknown as { text: string; at: number }))
      assert.strictEqual(error._tag, "EventEncodeError")
      assert.include(error.message, "note.added")
    }).pipe(Effect.provide(IdGenerator.layer)))
})
