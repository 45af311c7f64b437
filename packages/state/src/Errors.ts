/**
 * Typed errors of the event log. Every error names what was wrong; none of them leaves a partial
 * write behind.
 */
import { Schema } from "effect"

/** The stream was not at the version the caller decided on: nothing was appended. */
export class WrongExpectedVersion extends Schema.TaggedError<WrongExpectedVersion>()("WrongExpectedVersion", {
  streamId: Schema.String,
  expected: Schema.String,
  actual: Schema.Number
}) {
  override get message(): string {
    return `wrong expected version on ${this.streamId}: expected ${this.expected}, stream is at ${this.actual}`
  }
}

/** Some (not all) event ids of a batch were already stored, or stored in another stream. */
export class EventIdConflict extends Schema.TaggedError<EventIdConflict>()("EventIdConflict", {
  streamId: Schema.String,
  eventIds: Schema.Array(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    return `event id conflict on ${this.streamId}: ${this.detail} (${this.eventIds.join(", ")})`
  }
}

/** An append the log refuses before touching storage: empty batch, bad stream id, non-JSON payload. */
export class InvalidAppend extends Schema.TaggedError<InvalidAppend>()("InvalidAppend", {
  streamId: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid append to ${this.streamId}: ${this.detail}`
  }
}

/** The storage failed (I/O, lock timeout, a row that cannot be read). */
export class EventStoreError extends Schema.TaggedError<EventStoreError>()("EventStoreError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `event store ${this.operation} failed: ${this.detail}`
  }
}

/** Why a database file could not be opened. */
export const DatabaseOpenReason = Schema.Literal(
  "missing",
  "not-a-database",
  "foreign-database",
  "schema-too-new",
  "schema-outdated",
  "unreadable"
)

/** A database file that cannot be used: it is named, the reason is given, and it is left untouched. */
export class DatabaseOpenError extends Schema.TaggedError<DatabaseOpenError>()("DatabaseOpenError", {
  filename: Schema.String,
  reason: DatabaseOpenReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot open ${this.filename} (${this.reason}): ${this.detail}`
  }
}

/** Any error an append can fail with. */
export type AppendError = WrongExpectedVersion | EventIdConflict | InvalidAppend | EventStoreError
