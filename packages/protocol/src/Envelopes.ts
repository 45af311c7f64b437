/** Building envelopes for typed events: encode with the latest schema, stamp a fresh event id. */
import { Effect, Schema } from "effect"
import type { EventEnvelope, EventMetadata } from "./Envelope.ts"
import { EventEncodeError, type EventDefinition } from "./EventRegistry.ts"
import { IdGenerator } from "./Ids.ts"
import { ParseResult } from "effect"

const encoders = new WeakMap<object, (u: unknown) => ReturnType<ReturnType<typeof Schema.encodeUnknownEither>>>()

/** Encodes `payload` with the latest schema of `definition` into an envelope with a fresh UUIDv7 id. */
export const makeEnvelope = <T extends string, A, I>(
  definition: EventDefinition<T, A, I>,
  payload: A,
  metadata: EventMetadata = {}
): Effect.Effect<EventEnvelope, EventEncodeError, IdGenerator> =>
  Effect.gen(function*() {
    let encode = encoders.get(definition)
    if (encode === undefined) {
      encode = Schema.encodeUnknownEither(definition.schema as Schema.Schema.AnyNoContext)
      encoders.set(definition, encode)
    }
    const encoded = encode(payload)
    if (encoded._tag === "Left") {
      return yield* new EventEncodeError({ eventType: definition.type, detail: ParseResult.TreeFormatter.formatErrorSync(encoded.left) })
    }
    const ids = yield* IdGenerator
    return {
      eventId: yield* ids.eventId,
      eventType: definition.type,
      schemaVersion: definition.version,
      payload: encoded.right,
      metadata
    }
  })
