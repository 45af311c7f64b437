/**
 * The `EventStore` service: one append-only log of immutable events in streams, with optimistic
 * concurrency, idempotent appends, paged reads and gap-free subscriptions.
 * Layers: `layerMemory` (tests, embedding) and `layerSqlite({ filename })` (the default).
 */
import type { RecordedEvent, EventEnvelope } from "@codewhale/protocol"
import { Context, Data, type Effect, type Stream } from "effect"
import type { AppendError, EventStoreError } from "./Errors.ts"

/** The version a stream must be at for an append to go through. */
export type ExpectedVersion = Data.TaggedEnum<{
  /** Append whatever the stream's version. */
  Any: {}
  /** The stream must not exist yet. */
  NoStream: {}
  /** The stream must exist (version >= 1). */
  StreamExists: {}
  /** The stream must be exactly at `version` (0 = no stream). */
  Exact: { readonly version: number }
}>

/** Constructors of `ExpectedVersion`. */
export const ExpectedVersion = Data.taggedEnum<ExpectedVersion>()

/** Renders an expected version as text for errors and logs. */
export const formatExpected = (expected: ExpectedVersion): string =>
  expected._tag === "Exact" ? `exactly ${expected.version}` : expected._tag === "Any" ? "any" : expected._tag === "NoStream" ? "no stream" : "stream exists"

/** Options of an append. */
export interface AppendOptions {
  /** Defaults to `Any`. */
  readonly expected?: ExpectedVersion | undefined
  /**
   * The recording time to store (unix ms) instead of now: only for `import` of an exported log,
   * so projections that read time from events replay identically.
   */
  readonly recordedAt?: number | undefined
}

/** Where an append landed. For an idempotent re-append, the original positions. */
export interface AppendResult {
  readonly streamId: string
  readonly firstPosition: number
  readonly lastPosition: number
  /** The stream's version after this append (the version to expect next time). */
  readonly nextExpectedVersion: number
  /** True when every event id was already stored and nothing new was written. */
  readonly duplicate: boolean
}

/** Options for reading one stream. Versions are inclusive. */
export interface ReadStreamOptions {
  readonly fromVersion?: number | undefined
  readonly toVersion?: number | undefined
  readonly limit?: number | undefined
  /** Newest first. */
  readonly backwards?: boolean | undefined
}

/** Options for reading the whole log (or one category) after an exclusive position. */
export interface ReadAllOptions {
  /** Exclusive: events with `position > after`. Defaults to 0. */
  readonly after?: number | undefined
  /** Inclusive upper bound on the position. */
  readonly until?: number | undefined
  readonly category?: string | undefined
  /** Page size; defaults to 1,000, at most 10,000. */
  readonly limit?: number | undefined
}

/** A stream as listed by `listStreams`. */
export interface StreamInfo {
  readonly streamId: string
  readonly category: string
  readonly version: number
  readonly firstPosition: number
  readonly lastPosition: number
}

/** The largest page `readAll` returns. */
export const MaxPageSize = 10_000
/** The page size used when none is given. */
export const DefaultPageSize = 1_000

/** The event log. */
export interface EventStoreShape {
  /**
   * Appends a batch atomically to one stream, checking the expected version first. It succeeds
   * once the batch is committed (with SQLite's default `synchronous=FULL`, synced to disk).
   * Interrupting a waiting append leaves its outcome unknown, as with any commit in flight: the
   * batch is then written whole or not at all, and retrying with the same event ids is idempotent.
   */
  readonly append: (
    streamId: string,
    events: ReadonlyArray<EventEnvelope>,
    options?: AppendOptions
  ) => Effect.Effect<AppendResult, AppendError>
  /** Reads one stream in version order (or backwards). */
  readonly readStream: (streamId: string, options?: ReadStreamOptions) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>
  /** The current version of a stream; 0 when it does not exist. */
  readonly streamVersion: (streamId: string) => Effect.Effect<number, EventStoreError>
  /** One page of the log after an exclusive position, in position order. */
  readonly readAll: (options?: ReadAllOptions) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>
  /** Every event after `after` (up to `until`), paged under the hood: never holds the whole log. */
  readonly streamAll: (options?: ReadAllOptions) => Stream.Stream<RecordedEvent, EventStoreError>
  /** The position of the newest committed event; 0 for an empty log. */
  readonly headPosition: Effect.Effect<number, EventStoreError>
  /** The streams of the log (or of one category), ordered by stream id, paged by `after` (exclusive id). */
  readonly listStreams: (options?: {
    readonly category?: string | undefined
    readonly after?: string | undefined
    readonly limit?: number | undefined
  }) => Effect.Effect<ReadonlyArray<StreamInfo>, EventStoreError>
  /**
   * History after `after`, then live events as they are committed (by this or another process),
   * with no gap and no duplicate. Never ends by itself.
   */
  readonly subscribe: (options?: {
    readonly after?: number | undefined
    readonly category?: string | undefined
  }) => Stream.Stream<RecordedEvent, EventStoreError>
  /** Waits until the log's known head is at least `position` (read-your-writes across processes). */
  readonly awaitPosition: (position: number) => Effect.Effect<void>
  /** A description of the backend and its durability setting, for diagnostics and benchmarks. */
  readonly describe: string
}

/** The event log service. */
export class EventStore extends Context.Tag("@codewhale/state/EventStore")<EventStore, EventStoreShape>() {}
