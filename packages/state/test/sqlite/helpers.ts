/** Opening SQLite event logs inside a test's scope. */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { EventStore } from "../../src/EventStore.ts"
import { layerSqlite, type SqliteOptions } from "../../src/layers.ts"

/** Opens the event log in `filename` for the rest of the scope: its store and its SQL client. */
export const open = (filename: string, options?: Omit<SqliteOptions, "filename">) =>
  Effect.map(Layer.build(layerSqlite({ ...options, filename })), (ctx) => ({
    store: Context.get(ctx, EventStore),
    sql: Context.get(ctx, SqlClient.SqlClient)
  }))

/** Opens and closes the event log in `filename`, returning why it could not be opened. */
export const openError = (filename: string, options?: Omit<SqliteOptions, "filename">) =>
  Effect.flip(Effect.scoped(open(filename, options)))
