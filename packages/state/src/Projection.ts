/**
 * Projections are data: `{ name, version, registry, initial, evolve }`, pure and deterministic.
 * This module folds them over events: on demand per stream (with snapshots keyed by projection
 * version) and over the whole log up to any position (replay).
 */
import type { AnyEventDefinition, EventDecodeError, EventOf, EventRegistry, RecordedEvent } from "@codewhale/protocol"
import { Context, Effect, Either, Layer, Option, Schema, Stream } from "effect"
import { SqlClient } from "@effect/sql"
import { EventStoreError } from "./Errors.ts"
import { EventStore, type ReadAllOptions } from "./EventStore.ts"

/** A projection: how a state evolves from the events it knows. Time comes from the events. */
export interface Projection<S, D extends AnyEventDefinition = AnyEventDefinition> {
  readonly name: string
  /** Bump when `evolve` changes meaning: snapshots and read models of older versions are discarded. */
  readonly version: number
  readonly registry: EventRegistry<D>
  readonly initial: S
  readonly evolve: (state: S, event: EventOf<D>) => S
  /**
   * How the state is stored in snapshots; without it the projection is never snapshotted. Any
   * encoded form will do (it is stored as JSON), so a plain `Schema.Struct` fits without a cast.
   */
  readonly stateSchema?: Schema.Schema<S, Schema.Schema.AnyNoContext["Encoded"]> | undefined
}

/** Any projection, whatever its state. */
export interface AnyProjection {
  readonly name: string
  readonly version: number
}

/** Applies one recorded event; unknown types/versions are skipped, undecodable known ones fail. */
export const evolveRecord = <S, D extends AnyEventDefinition>(
  projection: Projection<S, D>,
  state: S,
  record: RecordedEvent
): Either.Either<S, EventDecodeError> => {
  const decoded = projection.registry.decode(record)
  if (Either.isLeft(decoded)) return Either.left(decoded.left)
  const event = decoded.right
  return Either.right(event._tag === "Unknown" ? state : projection.evolve(state, event as EventOf<D>))
}

/** Folds recorded events into a projection's state, starting from `from` (default: `initial`). */
export const foldRecords = <S, D extends AnyEventDefinition>(
  projection: Projection<S, D>,
  records: Iterable<RecordedEvent>,
  from: S = projection.initial
): Either.Either<S, EventDecodeError> => {
  let state = from
  for (const record of records) {
    const next = evolveRecord(projection, state, record)
    if (Either.isLeft(next)) return next
    state = next.right
  }
  return Either.right(state)
}

/** A stored snapshot of one projection over one stream. */
export interface Snapshot {
  readonly projectionVersion: number
  readonly streamVersion: number
  readonly state: unknown
}

/** Where snapshots live: memory or the event log's SQLite file. */
export class SnapshotStore extends Context.Tag("@codewhale/state/SnapshotStore")<
  SnapshotStore,
  {
    readonly load: (streamId: string, projection: string) => Effect.Effect<Option.Option<Snapshot>, EventStoreError>
    readonly save: (streamId: string, projection: string, snapshot: Snapshot) => Effect.Effect<void, EventStoreError>
  }
>() {
  /** Snapshots in a process-local map. */
  static readonly layerMemory: Layer.Layer<SnapshotStore> = Layer.sync(SnapshotStore, () => {
    const map = new Map<string, Snapshot>()
    return {
      load: (streamId, projection) => Effect.sync(() => Option.fromNullable(map.get(`${projection}\u0000${streamId}`))),
      save: (streamId, projection, snapshot) => Effect.sync(() => void map.set(`${projection}\u0000${streamId}`, snapshot))
    }
  })

  /** Snapshots in the `snapshots` table of the event log's database. */
  static readonly layerSql: Layer.Layer<SnapshotStore, never, SqlClient.SqlClient> = Layer.effect(
    SnapshotStore,
    Effect.map(SqlClient.SqlClient, (sql) => {
      const fail = (operation: string) => (e: { readonly message: string }) => new EventStoreError({ operation, detail: e.message })
      return {
        load: (streamId, projection) =>
          sql.unsafe<{ projection_version: number; stream_version: number; state: string }>(
            "SELECT projection_version, stream_version, state FROM snapshots WHERE stream_id = ? AND projection = ?",
            [streamId, projection]
          ).withoutTransform.pipe(
            Effect.map((rows) =>
              Option.map(Option.fromNullable(rows[0]), (r) => ({
                projectionVersion: Number(r.projection_version),
                streamVersion: Number(r.stream_version),
                state: JSON.parse(r.state) as unknown
              }))
            ),
            Effect.mapError(fail("snapshot load"))
          ),
        save: (streamId, projection, snapshot) =>
          sql.unsafe(
            `INSERT INTO snapshots (stream_id, projection, projection_version, stream_version, state) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (stream_id, projection) DO UPDATE SET projection_version = excluded.projection_version,
               stream_version = excluded.stream_version, state = excluded.state`,
            [streamId, projection, snapshot.projectionVersion, snapshot.streamVersion, JSON.stringify(snapshot.state)]
          ).pipe(Effect.asVoid, Effect.mapError(fail("snapshot save")))
      }
    })
  )
}

/** The state of a projection over one stream and the stream version it reflects. */
export interface StreamState<S> {
  readonly state: S
  readonly version: number
}

/** Options of an on-demand stream fold. */
export interface FoldStreamOptions {
  /** Fold only up to this stream version (inclusive). */
  readonly toVersion?: number | undefined
  /** Save a snapshot when at least this many events were folded past the last one (default 500). */
  readonly snapshotEvery?: number | undefined
}

/**
 * Folds one stream on demand. With a `SnapshotStore` and a `stateSchema`, starts from the latest
 * snapshot of the same projection version and saves a new one every `snapshotEvery` events.
 */
export const foldStream = <S, D extends AnyEventDefinition>(
  projection: Projection<S, D>,
  streamId: string,
  options?: FoldStreamOptions
): Effect.Effect<StreamState<S>, EventStoreError | EventDecodeError, EventStore> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const snapshots = yield* Effect.serviceOption(SnapshotStore)
    const schema = projection.stateSchema
    const toVersion = options?.toVersion
    let state = projection.initial
    let version = 0
    if (Option.isSome(snapshots) && schema !== undefined) {
      const snap = yield* snapshots.value.load(streamId, projection.name)
      if (
        Option.isSome(snap) && snap.value.projectionVersion === projection.version &&
        (toVersion === undefined || snap.value.streamVersion <= toVersion)
      ) {
        const decoded = Schema.decodeUnknownEither(schema)(snap.value.state)
        if (Either.isRight(decoded)) {
          state = decoded.right
          version = snap.value.streamVersion
        }
      }
    }
    const fromSnapshot = version
    const pageSize = 5_000
    while (true) {
      const page = yield* store.readStream(streamId, { fromVersion: version + 1, toVersion, limit: pageSize })
      state = yield* foldRecords(projection, page, state)
      const last = page[page.length - 1]
      if (last !== undefined) version = last.streamVersion
      if (page.length < pageSize) break
    }
    const every = options?.snapshotEvery ?? 500
    // Only a fold to the head is saved: a fold up to an older version must not replace a newer snapshot.
    if (Option.isSome(snapshots) && schema !== undefined && toVersion === undefined && version - fromSnapshot >= every) {
      const encoded = Schema.encodeEither(schema)(state)
      if (Either.isRight(encoded)) {
        yield* snapshots.value.save(streamId, projection.name, {
          projectionVersion: projection.version,
          streamVersion: version,
          state: encoded.right
        })
      }
    }
    return { state, version }
  })

/** Replays a projection over the whole log (or a category) up to `until`, a page at a time. */
export const replay = <S, D extends AnyEventDefinition>(
  projection: Projection<S, D>,
  options?: Pick<ReadAllOptions, "until" | "category">
): Effect.Effect<S, EventStoreError | EventDecodeError, EventStore> =>
  Effect.flatMap(EventStore, (store) =>
    store.streamAll({ ...options, limit: 5_000 }).pipe(
      Stream.chunks,
      Stream.runFoldEffect(projection.initial, (state, chunk) => foldRecords(projection, chunk, state))
    ))
