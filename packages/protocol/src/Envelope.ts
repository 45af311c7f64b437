/**
 * The event envelope: what a caller appends (`EventEnvelope`) and what the log returns
 * (`RecordedEvent`, with its position, stream version and recording time).
 */
import { Schema } from "effect"
import { EventId } from "./Ids.ts"
import { StreamId } from "./StreamId.ts"

/** Who or what caused an event, for audit and tracing. Extra keys are kept. */
export const EventMetadata = Schema.Struct(
  {
    correlationId: Schema.optional(Schema.String),
    causationId: Schema.optional(Schema.String),
    actor: Schema.optional(Schema.String),
    producer: Schema.optional(Schema.String)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)
/** Who or what caused an event, for audit and tracing. */
export type EventMetadata = typeof EventMetadata.Type

/** An event as appended: the caller chooses the id (idempotency) and encodes the payload. */
export const EventEnvelope = Schema.Struct({
  eventId: EventId,
  eventType: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  schemaVersion: Schema.Int.pipe(Schema.positive()),
  payload: Schema.Unknown,
  metadata: EventMetadata
})
/** An event as appended. */
export type EventEnvelope = typeof EventEnvelope.Type

/** An event as stored in the log. `position` orders the whole log; `recordedAt` is for display only. */
export const RecordedEvent = Schema.Struct({
  position: Schema.Int.pipe(Schema.positive()),
  streamId: StreamId,
  streamVersion: Schema.Int.pipe(Schema.positive()),
  eventId: EventId,
  eventType: Schema.String,
  schemaVersion: Schema.Int.pipe(Schema.positive()),
  payload: Schema.Unknown,
  metadata: EventMetadata,
  recordedAt: Schema.Int
})
/** An event as stored in the log. */
export type RecordedEvent = typeof RecordedEvent.Type
