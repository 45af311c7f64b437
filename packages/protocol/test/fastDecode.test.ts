/** The registry's fast decoding path returns exactly what the Schema decoder returns. */
import { allEventDefinitions, makeEventRegistry, type RecordedEvent } from "@codewhale/protocol"
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import { compileFastCheck, Fast } from "../src/internal/fastCheck.ts"

const record = (eventType: string, schemaVersion: number, payload: unknown): RecordedEvent => ({
  position: 1,
  streamId: "thread-1",
  streamVersion: 1,
  eventId: "01890a5d-ac96-774b-bcce-b302099a8057" as RecordedEvent["eventId"],
  eventType,
  schemaVersion,
  payload,
  metadata: {},
  recordedAt: 0
})

/** What the registry returns for a payload, reduced to comparable data. */
const viaRegistry = (registry: ReturnType<typeof registryOf>, type: string, version: number, payload: unknown) => {
  const decoded = registry.decode(record(type, version, payload))
  return Either.isLeft(decoded) ? { ok: false } : { ok: true, payload: decoded.right._tag === "Known" ? decoded.right.payload : undefined }
}

const registryOf = (definitions: typeof allEventDefinitions) => Either.getOrThrow(makeEventRegistry(definitions))

/** Variations a stored payload can show: as written, with an extra key, a key missing, a key of the wrong type. */
const variations = (value: unknown): ReadonlyArray<unknown> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [value, "x", 1, null]
  const keys = Object.keys(value)
  const out: Array<unknown> = [value, { ...value, zz_extra: 1 }]
  for (const key of keys.slice(0, 3)) {
    const { [key]: _dropped, ...rest } = value as Record<string, unknown>
    out.push(rest, { ...value, [key]: 12345 }, { ...value, [key]: "text" }, { ...value, [key]: null })
  }
  return out
}

describe("fast decoding", () => {
  it("equals the Schema decoder for every registered event version, on valid and broken payloads", () => {
    const registry = registryOf(allEventDefinitions)
    let checked = 0
    for (const definition of allEventDefinitions) {
      for (const version of definition.versions) {
        // A version the registry only keeps for upcasting still decodes with its own schema.
        const schema = version.schema
        const slow = Schema.decodeUnknownEither(schema, { errors: "first" })
        const encode = Schema.encodeUnknownSync(schema)
        FastCheck.assert(
          FastCheck.property(Arbitrary.make(schema), (value) => {
            const stored: unknown = JSON.parse(JSON.stringify(encode(value)))
            for (const payload of variations(stored)) {
              const expected = slow(payload)
              if (version.version !== definition.version) {
                // Older versions are upcast: only validity must agree.
                assert.strictEqual(viaRegistry(registry, definition.type, version.version, payload).ok, Either.isRight(expected))
                continue
              }
              const actual = viaRegistry(registry, definition.type, version.version, payload)
              assert.strictEqual(actual.ok, Either.isRight(expected), `${definition.type}@${version.version}: ${JSON.stringify(payload)}`)
              if (Either.isRight(expected)) assert.deepStrictEqual(actual.payload, expected.right)
              checked++
            }
          }),
          { numRuns: 25 }
        )
      }
    }
    assert.isAbove(checked, allEventDefinitions.length * 25)
  })

  it("uses a valid plain payload as is, and decodes anything it is unsure of", () => {
    const Plain = Schema.Struct({ a: Schema.String, n: Schema.optional(Schema.Number), tags: Schema.Array(Schema.Literal("x", "y")) })
    const check = compileFastCheck(Plain.ast)
    assert.isDefined(check)
    assert.strictEqual(check!({ a: "s", tags: ["x"] }), Fast.Exact)
    assert.strictEqual(check!({ a: "s", n: 2, tags: [] }), Fast.Exact)
    assert.strictEqual(check!({ a: "s", tags: ["z"] }), Fast.Invalid)
    assert.strictEqual(check!({ tags: [] }), Fast.Invalid)
    assert.strictEqual(check!({ a: "s", tags: [], extra: true }), Fast.Unsure)
    assert.strictEqual(check!([]), Fast.Invalid)
  })

  it("is unsure when more than one union member matches, and applies refinements", () => {
    const Either2 = Schema.Union(Schema.Struct({ kind: Schema.String }), Schema.Struct({ kind: Schema.Literal("a") }))
    assert.strictEqual(compileFastCheck(Either2.ast)!({ kind: "a" }), Fast.Unsure)
    assert.strictEqual(compileFastCheck(Either2.ast)!({ kind: "b" }), Fast.Exact)
    const Positive = Schema.Struct({ n: Schema.Int.pipe(Schema.positive()) })
    assert.strictEqual(compileFastCheck(Positive.ast)!({ n: 3 }), Fast.Exact)
    assert.strictEqual(compileFastCheck(Positive.ast)!({ n: -3 }), Fast.Invalid)
    assert.strictEqual(compileFastCheck(Positive.ast)!({ n: 1.5 }), Fast.Invalid)
  })

  it("has no fast path for schemas that transform", () => {
    assert.isUndefined(compileFastCheck(Schema.NumberFromString.ast))
    assert.isUndefined(compileFastCheck(Schema.Struct({ d: Schema.optionalWith(Schema.String, { default: () => "x" }) }).ast))
    assert.isUndefined(compileFastCheck(Schema.Struct({ at: Schema.Date }).ast))
  })
})
