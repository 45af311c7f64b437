/**
 * Identifier generation: UUIDv7 event ids and `<prefix>-<uuidv7>` ids for domain objects
 * (threads, jobs, approvals, ...), as an Effect service with a deterministic test layer.
 */
import { Context, Effect, Layer, Ref, Schema } from "effect"
import * as NodeCrypto from "node:crypto"

/** A UUIDv7 string (time-ordered), used for event ids. */
export const EventId = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
  Schema.brand("EventId")
)
/** A UUIDv7 string (time-ordered), used for event ids. */
export type EventId = typeof EventId.Type

const hex = (bytes: Uint8Array): string => {
  let out = ""
  for (const b of bytes) out += b.toString(16).padStart(2, "0")
  return out
}

/** Formats 16 bytes as a UUIDv7 string, stamping the version and variant bits. */
export const formatUuidV7 = (millis: number, random: Uint8Array): string => {
  const bytes = new Uint8Array(16)
  let ms = Math.max(0, Math.floor(millis))
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  for (let i = 6; i < 16; i++) bytes[i] = random[i - 6] ?? 0
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const h = hex(bytes)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Generates event ids and domain ids. */
export class IdGenerator extends Context.Tag("@codewhale/protocol/IdGenerator")<
  IdGenerator,
  {
    /** A fresh UUIDv7 event id; ids from one generator strictly increase. */
    readonly eventId: Effect.Effect<EventId>
    /** A fresh domain id `<prefix>-<uuidv7>`, e.g. `thread-0192…`. */
    readonly domainId: (prefix: string) => Effect.Effect<string>
  }
>() {
  /** Wall-clock UUIDv7 with a monotonic guard: ids never go backwards within a process. */
  static readonly layer: Layer.Layer<IdGenerator> = Layer.effect(
    IdGenerator,
    Effect.gen(function*() {
      const last = yield* Ref.make({ ms: 0, seq: 0 })
      const next = Effect.flatMap(
        Ref.modify(last, (prev) => {
          const now = Date.now()
          const state = now > prev.ms ? { ms: now, seq: 0 } : { ms: prev.ms, seq: prev.seq + 1 }
          return [state, state] as const
        }),
        ({ ms, seq }) =>
          Effect.sync(() => {
            const random = NodeCrypto.randomBytes(10)
            // 12 bits of sequence in rand_a keep ids ordered within one millisecond.
            random[0] = (seq >> 8) & 0x0f
            random[1] = seq & 0xff
            return formatUuidV7(ms, random)
          })
      )
      return {
        eventId: next as Effect.Effect<EventId>,
        domainId: (prefix: string) => Effect.map(next, (id) => `${prefix}-${id}`)
      }
    })
  )

  /** Deterministic ids for tests: a counter from `seed`, formatted as valid UUIDv7s. */
  static readonly layerTest = (seed = 0): Layer.Layer<IdGenerator> =>
    Layer.effect(
      IdGenerator,
      Effect.gen(function*() {
        const counter = yield* Ref.make(seed)
        const next = Effect.map(Ref.getAndUpdate(counter, (n) => n + 1), (n) => {
          const random = new Uint8Array(10)
          let v = n
          for (let i = 9; i >= 2; i--) {
            random[i] = v % 256
            v = Math.floor(v / 256)
          }
          return formatUuidV7(1_700_000_000_000 + n, random)
        })
        return {
          eventId: next as Effect.Effect<EventId>,
          domainId: (prefix: string) => Effect.map(next, (id) => `${prefix}-${id}`)
        }
      })
    )
}
