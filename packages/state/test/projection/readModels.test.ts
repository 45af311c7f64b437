/** Catch-up SQL read models: exactly-once application, checkpoints, rebuilds, several connections. */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { EventStore } from "../../src/EventStore.ts"
import { layerSqlite } from "../../src/layers.ts"
import { catchUp, type ReadModel, ReadModels } from "../../src/ReadModel.ts"
import { envelope, envelopes, tempFile } from "../fixtures/helpers.ts"

/**
 * A model that records, per event, how many times it was applied (`applied`) and with which
 * model version (`weight`). Events with `{ poison: true }` make `apply` fail.
 */
const tracking = (options?: { readonly version?: number; readonly category?: string; readonly name?: string }): ReadModel => {
  const table = options?.name ?? "rm_tracking"
  const version = options?.version ?? 1
  return {
    name: table,
    version,
    category: options?.category,
    setup: Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql.unsafe(`CREATE TABLE IF NOT EXISTS ${table} (event_id TEXT PRIMARY KEY, position INTEGER NOT NULL, applied INTEGER NOT NULL, weight INTEGER NOT NULL)`)).pipe(Effect.asVoid),
    reset: Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`DELETE FROM ${table}`)).pipe(Effect.asVoid),
    apply: (events) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.forEach(events, (e) =>
          (e.payload as { poison?: boolean }).poison === true
            ? sql.unsafe("SELECT * FROM a_table_that_does_not_exist")
            : sql.unsafe(
              `INSERT INTO ${table} (event_id, position, applied, weight) VALUES (?, ?, 1, ?)
               ON CONFLICT (event_id) DO UPDATE SET applied = applied + 1`,
              [e.eventId, e.position, version]
            ), { discard: true })),
    dump: Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`SELECT event_id, position, applied, weight FROM ${table} ORDER BY position`))
  }
}

type Row = { event_id: string; position: number; applied: number; weight: number }

const rows = (table = "rm_tracking") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<Row>(`SELECT event_id, position, applied, weight FROM ${table} ORDER BY position`))

const checkpoint = (name = "rm_tracking") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql.unsafe<{ version: number; position: number }>("SELECT version, position FROM projection_checkpoints WHERE name = ?", [name]), (r) => r[0]))

/** The event log and the read models on `filename`, for the rest of the scope. */
const openWithModels = (filename: string, models: ReadonlyArray<ReadModel>, pollInterval = "10 millis" as const) =>
  Effect.map(
    Layer.build(ReadModels.layer(models).pipe(Layer.provideMerge(layerSqlite({ filename, pollInterval })))),
    (ctx) => ({ store: Context.get(ctx, EventStore), models: Context.get(ctx, ReadModels), sql: Context.get(ctx, SqlClient.SqlClient), ctx })
  )

describe("read models", () => {
  it.scopedLive("catch-up applies each event once and whenCaughtUp gives read-your-writes", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const { store, models, ctx } = yield* openWithModels(filename, [tracking(), tracking({ name: "rm_jobs", category: "job" })])
      yield* store.append("thread-a", envelopes(3))
      const r = yield* store.append("job-a", envelopes(2))
      yield* models.whenCaughtUp("rm_tracking", r.lastPosition)
      yield* models.whenCaughtUp("rm_jobs", r.lastPosition)
      const all = yield* Effect.provide(rows(), ctx)
      expect(all.map((x) => [x.position, x.applied])).toEqual([[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]])
      expect((yield* Effect.provide(rows("rm_jobs"), ctx)).map((x) => x.position)).toEqual([4, 5])
      // More appends, concurrently; then the checkpoint sits at the head and nothing is applied twice.
      yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) => store.append(i % 2 === 0 ? `thread-${i}` : `job-${i}`, envelopes(2)), {
        concurrency: 5,
        discard: true
      })
      const head = yield* store.headPosition
      yield* models.whenCaughtUp("rm_tracking", head)
      yield* models.whenCaughtUp("rm_jobs", head)
      const after = yield* Effect.provide(rows(), ctx)
      expect(after.length).toBe(head)
      expect(after.every((x) => x.applied === 1)).toBe(true)
      expect((yield* Effect.provide(checkpoint(), ctx))?.position).toBe(head)
      // A category model's stored checkpoint stays at its last event when only other categories followed.
      const lastJob = Math.max(...(yield* Effect.provide(rows("rm_jobs"), ctx)).map((x) => x.position))
      expect((yield* Effect.provide(checkpoint("rm_jobs"), ctx))?.position).toBeGreaterThanOrEqual(lastJob)
      expect(yield* models.position("rm_tracking")).toBe(head)
      expect(yield* models.position("rm_jobs")).toBe(head)
      const unknown = yield* Effect.flip(models.whenCaughtUp("rm_nope", 1))
      expect(unknown._tag).toBe("UnknownReadModel")
    }))

  it.scoped("the checkpoint moves in the same transaction as the model's writes", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const model = tracking()
      yield* store.append("thread-a", envelopes(5))
      expect(yield* catchUp(model)).toBe(5)
      expect(yield* checkpoint()).toEqual({ version: 1, position: 5 })
      // A page whose application fails halfway: neither its rows nor the checkpoint move.
      yield* store.append("thread-a", [...envelopes(3), envelope({ poison: true }), ...envelopes(2)])
      const error = yield* Effect.flip(catchUp(model))
      expect(error._tag).toBe("SqlError")
      expect((yield* rows()).length).toBe(5)
      expect(yield* checkpoint()).toEqual({ version: 1, position: 5 })
      // Catching up again tries the same page again: still nothing applied twice.
      yield* Effect.flip(catchUp(model))
      expect((yield* rows()).every((r) => r.applied === 1)).toBe(true)
    }).pipe(Effect.provide(layerSqlite({ filename: ":memory:" }))))

  it.scoped("catching up past events of other categories only reads: nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const sql = yield* SqlClient.SqlClient
      const model = tracking({ name: "rm_jobs", category: "job" })
      yield* store.append("job-a", envelopes(2))
      expect(yield* catchUp(model)).toBe(2)
      yield* store.append("thread-a", envelopes(3))
      const changes = () => Effect.map(sql.unsafe<{ n: number }>("SELECT total_changes() AS n"), (r) => r[0]!.n)
      const before = yield* changes()
      expect(yield* catchUp(model)).toBe(5)
      expect(yield* catchUp(model)).toBe(5)
      expect(yield* changes()).toBe(before)
      expect(yield* checkpoint("rm_jobs")).toEqual({ version: 1, position: 2 })
      // The next event of its category is applied, and the checkpoint jumps to the head.
      yield* store.append("job-b", envelopes(1))
      expect(yield* catchUp(model)).toBe(6)
      expect((yield* rows("rm_jobs")).map((r) => r.position)).toEqual([1, 2, 6])
      expect(yield* checkpoint("rm_jobs")).toEqual({ version: 1, position: 6 })
    }).pipe(Effect.provide(layerSqlite({ filename: ":memory:" }))))

  it.scoped("a version bump resets and rebuilds; rebuild equals incremental", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const v1 = yield* Effect.scoped(Effect.gen(function*() {
        const { store, models, ctx } = yield* openWithModels(filename, [tracking({ version: 1 })])
        for (let i = 0; i < 10; i++) yield* store.append(`thread-${i % 3}`, envelopes(1 + (i % 4)))
        const head = yield* store.headPosition
        yield* models.whenCaughtUp("rm_tracking", head)
        const incremental = yield* Effect.provide(rows(), ctx)
        expect(incremental.every((r) => r.weight === 1 && r.applied === 1)).toBe(true)
        // rebuild: the same content as the incremental catch-up.
        expect(yield* models.rebuild("rm_tracking")).toBe(head)
        expect(yield* Effect.provide(rows(), ctx)).toEqual(incremental)
        return incremental
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const { store, models, ctx } = yield* openWithModels(filename, [tracking({ version: 2 })])
        yield* models.whenCaughtUp("rm_tracking", yield* store.headPosition)
        const rebuilt = yield* Effect.provide(rows(), ctx)
        // Every row was written by version 2, once: the old rows were reset, not applied over.
        expect(rebuilt.map((r) => [r.event_id, r.position])).toEqual(v1.map((r) => [r.event_id, r.position]))
        expect(rebuilt.every((r) => r.weight === 2 && r.applied === 1)).toBe(true)
        expect((yield* Effect.provide(checkpoint(), ctx))?.version).toBe(2)
      }))
    }))

  it.scopedLive("two ReadModels layers (two connections) on one file never double-apply", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const a = yield* openWithModels(filename, [tracking()])
      const b = yield* openWithModels(filename, [tracking()])
      yield* Effect.all([
        Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => a.store.append(`thread-a${i % 4}`, envelopes(1 + (i % 3))), { discard: true }),
        Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => b.store.append(`thread-b${i % 4}`, envelopes(1 + (i % 3))), { discard: true })
      ], { concurrency: "unbounded" })
      const head = Math.max(yield* a.store.headPosition, yield* b.store.headPosition)
      yield* a.models.whenCaughtUp("rm_tracking", head)
      yield* b.models.whenCaughtUp("rm_tracking", head)
      const all = yield* Effect.provide(rows(), a.ctx)
      expect(all.length).toBe(head)
      expect(all.filter((r) => r.applied !== 1)).toEqual([])
      expect((yield* Effect.provide(checkpoint(), b.ctx))?.position).toBe(head)
    }))
})
