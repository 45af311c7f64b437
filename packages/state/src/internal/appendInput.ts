/** Validation and encoding of append input, shared by every backend. */
import { categoryOf, EventEnvelope, StreamId } from "@codewhale/protocol"
import { Effect, ParseResult, Schema } from "effect"
import { InvalidAppend } from "../Errors.ts"

/** An envelope checked and serialised for storage. */
export interface PreparedEvent {
  readonly eventId: string
  readonly eventType: string
  readonly schemaVersion: number
  readonly payload: unknown
  readonly payloadJson: string
  readonly metadataJson: string
  readonly metadata: Record<string, unknown>
}

const isStreamId = Schema.is(StreamId)
const decodeEnvelope = Schema.decodeUnknownEither(EventEnvelope)

const toJson = (value: unknown): string | undefined => {
  try {
    const text = JSON.stringify(value)
    return typeof text === "string" ? text : undefined
  } catch {
    return undefined
  }
}

/** Checks a batch: stream id shape, non-empty, valid envelopes, JSON payloads, distinct ids. */
export const prepareAppend = (
  streamId: string,
  events: ReadonlyArray<unknown>
): Effect.Effect<{ readonly category: string; readonly events: ReadonlyArray<PreparedEvent> }, InvalidAppend> =>
  Effect.suspend(() => {
    const fail = (detail: string) => Effect.fail(new InvalidAppend({ streamId, detail }))
    if (!isStreamId(streamId)) return fail("a stream id is `<category>-<id>` with a lowercase category")
    if (events.length === 0) return fail("a batch holds at least one event")
    const prepared: Array<PreparedEvent> = []
    const seen = new Set<string>()
    for (let i = 0; i < events.length; i++) {
      const decoded = decodeEnvelope(events[i])
      if (decoded._tag === "Left") {
        return fail(`event ${i}: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`)
      }
      const e = decoded.right
      if (seen.has(e.eventId)) return fail(`event id ${e.eventId} appears twice in the batch`)
      seen.add(e.eventId)
      const payloadJson = toJson(e.payload)
      if (payloadJson === undefined) return fail(`event ${i} (${e.eventType}): payload is not JSON-serialisable`)
      const metadataJson = toJson(e.metadata) ?? "{}"
      prepared.push({
        eventId: e.eventId,
        eventType: e.eventType,
        schemaVersion: e.schemaVersion,
        payload: JSON.parse(payloadJson),
        payloadJson,
        metadataJson,
        metadata: JSON.parse(metadataJson)
      })
    }
    return Effect.succeed({ category: categoryOf(streamId), events: prepared })
  })
