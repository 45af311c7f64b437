/**
 * `codewhale grants list|revoke`: session grants and user-policy amendments, listed and revoked.
 * Like `jobs list`, `list` answers from the `grants` / `policy_amendments` read models, which it
 * brings up to the log's head first, so it opens the database read-write (and never creates one).
 */
import { Args, Command, Options } from "@effect/cli"
import { Grants } from "@codewhale/runtime"
import { Console, Effect, Layer, Option } from "effect"
import { databaseLayer, dbOption } from "../Database.ts"

const json = Options.boolean("json").pipe(Options.withDescription("print JSON"))
/** Grants on the database of `--db`: read-write (the read models catch up first), never created. */
const layer = (db: Option.Option<string>) =>
  Grants.layerSql.pipe(Layer.provideMerge(databaseLayer(db, { readonly: false, mustExist: true })))

const list = Command.make(
  "list",
  {
    db: dbOption,
    json,
    all: Options.boolean("all").pipe(Options.withDescription("include revoked grants and amendments")),
    thread: Options.text("thread").pipe(Options.withDescription("only this thread"), Options.optional)
  },
  (o) =>
    Effect.gen(function*() {
      const grants = yield* Grants
      const list = yield* grants.listGrants({ threadId: Option.getOrUndefined(o.thread), activeOnly: !o.all })
      const amendments = yield* grants.listAmendments({ includeRevoked: o.all })
      for (const g of list) {
        yield* Console.log(o.json
          ? JSON.stringify({ kind: "grant", ...g })
          : `${g.grantId}  thread ${g.threadId}  ${g.tool} ${JSON.stringify(g.command)}${g.path === null ? "" : ` path ${g.path}`}  by ${g.actor ?? "-"} via ${g.approvalId}${g.revokedAt === null ? "" : "  (revoked)"}`)
      }
      for (const a of amendments) {
        yield* Console.log(o.json
          ? JSON.stringify({ kind: "amendment", ...a })
          : `${a.amendmentId}  user policy allows ${a.prefixes.map((p) => JSON.stringify(p)).join(", ")}  by ${a.actor ?? "-"}${a.revokedAt === null ? "" : "  (revoked)"}`)
      }
      if (!o.json) yield* Console.log(`${list.length} grant(s), ${amendments.length} amendment(s)`)
    }).pipe(Effect.provide(layer(o.db)))
).pipe(Command.withDescription("list session grants and user-policy amendments"))

const revoke = Command.make(
  "revoke",
  {
    db: dbOption,
    reason: Options.text("reason").pipe(Options.optional),
    id: Args.text({ name: "id" }).pipe(Args.withDescription("a grant id (grant-…) or an amendment id (policy_amendment-…)"))
  },
  (o) =>
    Effect.gen(function*() {
      const grants = yield* Grants
      const options = { reason: Option.getOrUndefined(o.reason), actor: `cli:${process.env["USER"] ?? "user"}` }
      if (o.id.startsWith("policy_amendment-")) yield* grants.revokeAmendment(o.id, options)
      else yield* grants.revokeGrant(o.id, options)
      yield* Console.log(`revoked ${o.id}`)
    }).pipe(Effect.provide(layer(o.db)))
).pipe(Command.withDescription("revoke a grant or an amendment"))

/** `codewhale grants ...`. */
export const grantsCommand = Command.make("grants").pipe(
  Command.withDescription("session grants and policy amendments"),
  Command.withSubcommands([list, revoke])
)
