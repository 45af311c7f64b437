/**
 * The database every command works on: `--db <file>`, else `$CODEWHALE_HOME/state.db`, else
 * `~/.codewhale/state.db`. Read commands open it read-only.
 */
import { Options } from "@effect/cli"
import { IdGenerator } from "@codewhale/protocol"
import { layerSqlite, SnapshotStore } from "@codewhale/state"
import { Layer, Option } from "effect"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

/** `--db <file>`: the event-log database to use. */
export const dbOption = Options.file("db").pipe(
  Options.withDescription("the event-log database (default: $CODEWHALE_HOME/state.db, or ~/.codewhale/state.db)"),
  Options.optional
)

/** The Codewhale home directory: `$CODEWHALE_HOME`, or `~/.codewhale`. */
export const codewhaleHome = (): string =>
  process.env["CODEWHALE_HOME"] !== undefined && process.env["CODEWHALE_HOME"] !== ""
    ? NodePath.resolve(process.env["CODEWHALE_HOME"])
    : NodePath.join(NodeOs.homedir(), ".codewhale")

/** The database path for a `--db` value. */
export const resolveDbPath = (db: Option.Option<string>): string =>
  Option.getOrElse(db, () => NodePath.join(codewhaleHome(), "state.db"))

/**
 * The event log (with its SqlClient, snapshots and id generator) for a `--db` value. `mustExist`
 * refuses a missing file instead of creating one (for commands that only act on what is there).
 */
export const databaseLayer = (db: Option.Option<string>, options: { readonly readonly: boolean; readonly mustExist?: boolean }) => {
  const store = layerSqlite({ filename: resolveDbPath(db), readonly: options.readonly, mustExist: options.mustExist })
  return Layer.mergeAll(Layer.provideMerge(SnapshotStore.layerSql, store), IdGenerator.layer)
}
