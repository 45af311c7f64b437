/**
 * Catch-up SQL read models: a fiber per model reads the log after the model's checkpoint and
 * applies each page in one transaction that also moves the checkpoint (write-first, compare-and-
 * set), so a page is applied exactly once even with several processes on one file. A version
 * change rebuilds the model from the log. `whenCaughtUp(position)` gives read-your-writes.
 */
import type { EventDecodeError, RecordedEvent } from "@codewhale/protocol"
import { SqlClient, type SqlError } from "@effect/sql"
import { Context, Duration, Effect, Layer, Schedule, Schema, Stream, SubscriptionRef } from "effect"
import { EventStoreError } from "./Errors.ts"
import { EventStore } from "./EventStore.ts"

/** A SQL read model maintained from the log. */
export interface ReadModel {
  readonly name: string
  /** Bump when `apply` changes meaning: the model is reset and rebuilt from the log. */
  readonly version: number
  /** Only events of this category are applied (all events when absent). */
  readonly category?: string | undefined
  /** Creates the model's tables if they do not exist. */
  readonly setup: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient>
  /** Deletes every row of the model's tables (before a rebuild). */
  readonly reset: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient>
  /** Applies a page of events, inside the transaction that moves the checkpoint. */
  readonly apply: (events: ReadonlyArray<RecordedEvent>) => Effect.Effect<void, SqlError.SqlError | EventDecodeError, SqlClient.SqlClient>
  /** The model's content in a canonical form (rows sorted), to compare with a fresh rebuild. */
  readonly dump: Effect.Effect<unknown, SqlError.SqlError, SqlClient.SqlClient>
}

/**
 * Runs SQL text with positional parameters and returns the rows as SQLite gives them (column
 * names untouched): the query helper read models build their tables and answers with.
 */
export const readModelQuery = (sql: SqlClient.SqlClient, text: string, params: ReadonlyArray<unknown> = []) =>
  sql.unsafe<Record<string, unknown>>(text, params as Array<unknown>).withoutTransform

/** A read model name nobody registered. */
export class UnknownReadModel extends Schema.TaggedError<UnknownReadModel>()("UnknownReadModel", {
  name: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `unknown read model "${this.name}" (known: ${this.known.join(", ") || "none"})`
  }
}

/** A read model that failed to apply events. */
export class ReadModelError extends Schema.TaggedError<ReadModelError>()("ReadModelError", {
  name: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `read model ${this.name}: ${this.detail}`
  }
}

const PageSize = 1_000

const toModelError = (name: string) => (e: { readonly message: string }) => new ReadModelError({ name, detail: e.message })

/** Reads the stored checkpoint of a model: `{ version, position }`, or none. */
const loadCheckpoint = (name: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql.unsafe<{ version: number; position: number }>(
        "SELECT version, position FROM projection_checkpoints WHERE name = ?",
        [name]
      ).withoutTransform,
      (rows) => (rows[0] === undefined ? undefined : { version: Number(rows[0].version), position: Number(rows[0].position) })
    ))

/** Resets a model and its checkpoint to position 0 at its current version, in one transaction. */
const resetModel = (model: ReadModel) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(
      Effect.gen(function*() {
        yield* sql.unsafe(
          `INSERT INTO projection_checkpoints (name, version, position, updated_at) VALUES (?, ?, 0, ?)
           ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = 0, updated_at = excluded.updated_at`,
          [model.name, model.version, Date.now()]
        )
        yield* model.reset
      })
    ))

/**
 * Applies one page after `from` and moves the checkpoint to `to`; returns false (nothing applied)
 * when another process moved the checkpoint first.
 */
const applyPage = (model: ReadModel, from: number, to: number, page: ReadonlyArray<RecordedEvent>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(
      Effect.gen(function*() {
        const moved = yield* sql.unsafe(
          "UPDATE projection_checkpoints SET position = ?, updated_at = ? WHERE name = ? AND position = ? AND version = ?",
          [to, Date.now(), model.name, from, model.version]
        ).raw
        const changes = Number((moved as unknown as { changes?: number }).changes ?? 0)
        if (changes === 0) return false
        if (page.length > 0) yield* model.apply(page)
        return true
      })
    ))

const setupDone = new WeakMap<SqlClient.SqlClient, Set<string>>()

/**
 * Brings a model up to the log's head once (setup, version check, pages), returning the position
 * it reached. Used by the catch-up fiber, by `rebuild`, and by tools that run one-shot.
 */
export const catchUp = (model: ReadModel, until?: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const sql = yield* SqlClient.SqlClient
    // Tables are created once per connection, not on every catch-up.
    const ready = setupDone.get(sql) ?? new Set<string>()
    if (!ready.has(model.name)) {
      yield* model.setup
      ready.add(model.name)
      setupDone.set(sql, ready)
    }
    let checkpoint = yield* loadCheckpoint(model.name)
    if (checkpoint === undefined || checkpoint.version !== model.version) {
      yield* resetModel(model)
      checkpoint = { version: model.version, position: 0 }
    }
    let cursor = checkpoint.position
    const head = until ?? (yield* store.headPosition)
    while (cursor < head) {
      const page = yield* store.readAll({ after: cursor, until: head, category: model.category, limit: PageSize })
      const last = page[page.length - 1]
      const next = page.length === PageSize && last !== undefined ? last.position : head
      if (page.length === 0) {
        // Nothing of the model's category up to the head: it is caught up, and a read stays a
        // read (no write transaction). The stored checkpoint stays behind; the next catch-up
        // finds the same empty range through the category index.
        cursor = next
        continue
      }
      const applied = yield* applyPage(model, cursor, next, page)
      if (applied) {
        cursor = next
      } else {
        const now = yield* loadCheckpoint(model.name)
        cursor = now?.position ?? 0
      }
    }
    return cursor
  })

/** Catch-up read models of this process: their fibers, progress and rebuild. */
export class ReadModels extends Context.Tag("@codewhale/state/ReadModels")<
  ReadModels,
  {
    /** The registered models, by name. */
    readonly models: ReadonlyMap<string, ReadModel>
    /** Waits until a model has applied everything up to `position` (read-your-writes). */
    readonly whenCaughtUp: (name: string, position: number) => Effect.Effect<void, UnknownReadModel>
    /** Resets a model and applies the whole log again. */
    readonly rebuild: (name: string) => Effect.Effect<number, UnknownReadModel | ReadModelError | EventStoreError>
    /** The position a model has applied up to. */
    readonly position: (name: string) => Effect.Effect<number, UnknownReadModel>
  }
>() {
  /** Starts one catch-up fiber per model for the lifetime of the layer. */
  static readonly layer = (
    models: ReadonlyArray<ReadModel>
  ): Layer.Layer<ReadModels, ReadModelError | EventStoreError, EventStore | SqlClient.SqlClient> =>
    Layer.scoped(
      ReadModels,
      Effect.gen(function*() {
        const store = yield* EventStore
        const byName = new Map(models.map((m) => [m.name, m] as const))
        const progress = new Map<string, SubscriptionRef.SubscriptionRef<number>>()
        for (const model of models) {
          const start = yield* catchUp(model).pipe(
            Effect.catchTag("SqlError", toModelError(model.name)),
            Effect.catchTag("EventDecodeError", toModelError(model.name))
          )
          progress.set(model.name, yield* SubscriptionRef.make(start))
        }
        const lookup = <A>(name: string, f: (model: ReadModel, ref: SubscriptionRef.SubscriptionRef<number>) => A) => {
          const model = byName.get(name)
          const ref = progress.get(name)
          return model === undefined || ref === undefined
            ? Effect.fail(new UnknownReadModel({ name, known: [...byName.keys()] }))
            : Effect.succeed(f(model, ref))
        }
        const sql = yield* SqlClient.SqlClient
        // Each model follows the log: catch up, then sleep until the committed head moves past it.
        for (const model of models) {
          const ref = progress.get(model.name)!
          // A failure (another connection holding the lock past its timeout, a decode error after a
          // code change) is logged and retried with backoff: the model never stops following the log.
          const step = catchUp(model).pipe(
            Effect.tap((reached) => SubscriptionRef.update(ref, (old) => Math.max(old, reached))),
            Effect.tapErrorCause((cause) => Effect.logWarning(`read model ${model.name} failed to catch up; retrying`, cause)),
            Effect.retry(Schedule.exponential(Duration.millis(50)).pipe(Schedule.union(Schedule.spaced(Duration.seconds(5)))))
          )
          yield* Effect.gen(function*() {
            while (true) {
              const reached = yield* step
              yield* store.awaitPosition(reached + 1)
            }
          }).pipe(
            Effect.provideService(SqlClient.SqlClient, sql),
            Effect.provideService(EventStore, store),
            Effect.forkScoped
          )
        }
        return {
          models: byName,
          whenCaughtUp: (name, position) =>
            Effect.flatMap(
              lookup(name, (_, ref) => ref),
              (ref) => ref.changes.pipe(Stream.filter((p) => p >= position), Stream.take(1), Stream.runDrain)
            ),
          position: (name) => Effect.flatMap(lookup(name, (_, ref) => ref), SubscriptionRef.get),
          rebuild: (name) =>
            Effect.flatMap(lookup(name, (model, ref) => [model, ref] as const), ([model, ref]) =>
              Effect.gen(function*() {
                yield* resetModel(model)
                const reached = yield* catchUp(model)
                yield* SubscriptionRef.set(ref, reached)
                return reached
              }).pipe(
                Effect.catchTag("SqlError", toModelError(name)),
                Effect.catchTag("EventDecodeError", toModelError(name)),
                Effect.provideService(SqlClient.SqlClient, sql),
                Effect.provideService(EventStore, store)
              ))
        }
      })
    )
}
