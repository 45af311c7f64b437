/** Typed errors of thread operations; each names the thread (or input) and what was wrong. */
import type { EventDecodeError, EventEncodeError } from "@codewhale/protocol"
import { Schema } from "effect"
import type { AppendError, EventStoreError } from "../Errors.ts"

/** No thread has this id. */
export class ThreadNotFound extends Schema.TaggedError<ThreadNotFound>()("ThreadNotFound", {
  threadId: Schema.String
}) {
  override get message(): string {
    return `thread ${this.threadId} not found`
  }
}

/** The thread is archived, and the operation would change its conversation. */
export class ThreadIsArchived extends Schema.TaggedError<ThreadIsArchived>()("ThreadIsArchived", {
  threadId: Schema.String,
  operation: Schema.String
}) {
  override get message(): string {
    return this.operation === "resume"
      ? `thread ${this.threadId} is archived: resume it with unarchive to reopen it, or unarchive it first`
      : `thread ${this.threadId} is archived: cannot ${this.operation} (unarchive it first)`
  }
}

/** A thread id was generated twice (never expected: ids are UUIDv7). */
export class ThreadAlreadyExists extends Schema.TaggedError<ThreadAlreadyExists>()("ThreadAlreadyExists", {
  threadId: Schema.String
}) {
  override get message(): string {
    return `thread ${this.threadId} already exists`
  }
}

/** A field of a request is missing, malformed, empty or too long. */
export class InvalidThreadInput extends Schema.TaggedError<InvalidThreadInput>()("InvalidThreadInput", {
  field: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.field}: ${this.detail}`
  }
}

/** A history entry that is not part of this thread's tree. */
export class EntryNotFound extends Schema.TaggedError<EntryNotFound>()("EntryNotFound", {
  threadId: Schema.String,
  entryId: Schema.String
}) {
  override get message(): string {
    return `entry ${this.entryId} is not in the history of thread ${this.threadId}`
  }
}

/** No checkpoint of this name (or none at all) was saved for the thread. */
export class CheckpointNotFound extends Schema.TaggedError<CheckpointNotFound>()("CheckpointNotFound", {
  threadId: Schema.String,
  checkpointId: Schema.NullOr(Schema.String)
}) {
  override get message(): string {
    return this.checkpointId === null
      ? `thread ${this.threadId} has no checkpoint`
      : `thread ${this.threadId} has no checkpoint named "${this.checkpointId}"`
  }
}

/** A page size above the maximum (never silently capped) or below 1. */
export class PageSizeOutOfRange extends Schema.TaggedError<PageSizeOutOfRange>()("PageSizeOutOfRange", {
  what: Schema.String,
  requested: Schema.Number,
  maximum: Schema.Number
}) {
  override get message(): string {
    return this.requested > this.maximum
      ? `${this.what} page size ${this.requested} is above the maximum of ${this.maximum}`
      : `${this.what} page size ${this.requested} must be between 1 and ${this.maximum}`
  }
}

/** A list cursor this code did not produce. */
export class InvalidCursor extends Schema.TaggedError<InvalidCursor>()("InvalidCursor", {
  cursor: Schema.String
}) {
  override get message(): string {
    return `invalid list cursor "${this.cursor}": pass the next_cursor of a previous page`
  }
}

/** A fork version outside the parent's stream (1..head). */
export class ForkVersionOutOfRange extends Schema.TaggedError<ForkVersionOutOfRange>()("ForkVersionOutOfRange", {
  threadId: Schema.String,
  version: Schema.Number,
  head: Schema.Number
}) {
  override get message(): string {
    return `cannot fork ${this.threadId} at version ${this.version}: its versions are 1..${this.head}`
  }
}

/** The read model's storage failed. */
export class ThreadStorageError extends Schema.TaggedError<ThreadStorageError>()("ThreadStorageError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `thread storage ${this.operation} failed: ${this.detail}`
  }
}

/** What a decider can refuse a command with. */
export type ThreadDecisionError =
  | ThreadNotFound
  | ThreadIsArchived
  | ThreadAlreadyExists
  | InvalidThreadInput
  | EntryNotFound

/** Any error of a thread operation. */
export type ThreadError =
  | ThreadDecisionError
  | CheckpointNotFound
  | PageSizeOutOfRange
  | InvalidCursor
  | ForkVersionOutOfRange
  | ThreadStorageError
  | AppendError
  | EventStoreError
  | EventDecodeError
  | EventEncodeError
