/**
 * `verify`: decodes every event, checks gapless stream versions and strictly increasing
 * positions, and compares each read model with a fresh rebuild of the same log.
 */
import type { EventRegistry } from "@codewhale/protocol"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { SqlClient } from "@effect/sql"
import { Effect, Either, Layer, Stream } from "effect"
import { EventStore } from "./EventStore.ts"
import type { EventStoreError } from "./Errors.ts"
import { runMigrations } from "./Migrations.ts"
import { catchUp, type ReadModel } from "./ReadModel.ts"
import { eventLogMigrations, MigrationsTable } from "./internal/sqliteSchema.ts"

/** What `verify` found. `ok` is false when any problem was found. */
export interface VerifyReport {
  readonly ok: boolean
  readonly events: number
  readonly streams: number
  readonly headPosition: number
  /** Events of types or versions this code does not know (not an error: newer producers). */
  readonly unknownEvents: number
  readonly problems: ReadonlyArray<string>
  readonly readModels: ReadonlyArray<{ readonly name: string; readonly ok: boolean; readonly detail: string }>
}

const MaxProblems = 100

/** Checks the whole log, a page at a time. */
export const verifyLog = (options: {
  readonly registry: EventRegistry
  readonly readModels?: ReadonlyArray<ReadModel> | undefined
}): Effect.Effect<VerifyReport, EventStoreError, EventStore | SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const problems: Array<string> = []
    const report = (p: string) => {
      if (problems.length < MaxProblems) problems.push(p)
    }
    const versions = new Map<string, number>()
    let lastPosition = 0
    let events = 0
    let unknownEvents = 0
    yield* store.streamAll({ limit: 5_000 }).pipe(
      Stream.runForEach((record) =>
        Effect.sync(() => {
          events++
          if (record.position <= lastPosition) report(`position ${record.position} does not increase (after ${lastPosition})`)
          lastPosition = record.position
          const previous = versions.get(record.streamId) ?? 0
          if (record.streamVersion !== previous + 1) {
            report(`${record.streamId}: version ${record.streamVersion} follows ${previous} (position ${record.position})`)
          }
          versions.set(record.streamId, record.streamVersion)
          const decoded = options.registry.decode(record)
          if (Either.isLeft(decoded)) report(decoded.left.message)
          else if (decoded.right._tag === "Unknown") unknownEvents++
        })
      )
    )
    const readModels: Array<{ name: string; ok: boolean; detail: string }> = []
    for (const model of options.readModels ?? []) {
      readModels.push(yield* compareWithRebuild(model))
    }
    for (const m of readModels) if (!m.ok) report(`read model ${m.name}: ${m.detail}`)
    return {
      ok: problems.length === 0,
      events,
      streams: versions.size,
      headPosition: lastPosition,
      unknownEvents,
      problems,
      readModels
    }
  })

/** Rebuilds a read model into a scratch in-memory database up to the stored model's checkpoint and compares. */
const compareWithRebuild = (model: ReadModel) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const stored = yield* sql.unsafe<{ version: number; position: number }>(
      "SELECT version, position FROM projection_checkpoints WHERE name = ?",
      [model.name]
    ).withoutTransform
    const checkpoint = stored[0]
    if (checkpoint === undefined) return { name: model.name, ok: true, detail: "not built in this database" }
    if (Number(checkpoint.version) !== model.version) {
      return { name: model.name, ok: true, detail: `stored at version ${checkpoint.version}, code at ${model.version}: rebuilt on next start` }
    }
    const current = yield* model.dump
    const scratch = Layer.effectDiscard(runMigrations(MigrationsTable, eventLogMigrations)).pipe(
      Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }))
    )
    const rebuilt = yield* catchUp(model, Number(checkpoint.position)).pipe(
      Effect.zipRight(model.dump),
      Effect.provide(scratch)
    )
    const same = JSON.stringify(current) === JSON.stringify(rebuilt)
    return {
      name: model.name,
      ok: same,
      detail: same ? `equal to a fresh rebuild at position ${checkpoint.position}` : `differs from a fresh rebuild at position ${checkpoint.position}`
    }
  }).pipe(
    Effect.catchAll((e) => Effect.succeed({ name: model.name, ok: false, detail: `cannot compare: ${e.message}` }))
  )
