/**
 * The `grants` and `policy_amendments` SQL read models: one `grants_list` row per session grant and
 * one `policy_amendments_list` row per user-policy amendment, holding exactly what `Grant` and
 * `PolicyAmendment` list, plus the log position of the event that created them (the list order).
 * They are maintained a page at a time from the `grant` and `policy_amendment` events, so
 * `Grants.layerSql` answers `listGrants`, `findGrant` (an indexed lookup) and `listAmendments`
 * without replaying the log. Events that do not decode are skipped, as the fold of `Grants.layer` does.
 */
import {
  GrantCategory,
  GrantCreated,
  GrantRevoked,
  makeEventRegistry,
  PolicyAmendmentAdded,
  PolicyAmendmentCategory,
  PolicyAmendmentRevoked,
  type AnyEventDefinition,
  type EventOf,
  type EventRegistry,
  type RecordedEvent
} from "@codewhale/protocol"
import { type ReadModel, readModelQuery } from "@codewhale/state"
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Either, ParseResult, Schema } from "effect"
import type { Grant, GrantKey, PolicyAmendment } from "./Grants.ts"
import { CorruptReadModelRow } from "./ToolErrors.ts"

const grantRegistry = Either.getOrThrow(makeEventRegistry([GrantCreated, GrantRevoked]))
const amendmentRegistry = Either.getOrThrow(makeEventRegistry([PolicyAmendmentAdded, PolicyAmendmentRevoked]))

const query = readModelQuery

const runAll = (statements: ReadonlyArray<string>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.forEach(statements, (s) => query(sql, s), { discard: true }))

/** The columns of `grants_list` besides `position`, in `Grant` order. */
const GrantColumns = "grant_id, thread_id, scope, tool, command, path, approval_id, call_id, actor, created_at, revoked_at, revoke_reason"

const grantsDdl: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS grants_list (
    grant_id TEXT NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL,
    thread_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    tool TEXT NOT NULL,
    command TEXT NOT NULL,
    path TEXT,
    approval_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    actor TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoke_reason TEXT
  )`,
  `CREATE INDEX IF NOT EXISTS grants_list_by_position ON grants_list (position)`,
  `CREATE INDEX IF NOT EXISTS grants_list_by_thread ON grants_list (thread_id, position)`,
  `CREATE INDEX IF NOT EXISTS grants_list_active_by_key ON grants_list (thread_id, tool, command, path, position) WHERE revoked_at IS NULL`
]

/** The columns of `policy_amendments_list` besides `position`, in `PolicyAmendment` order. */
const AmendmentColumns = "amendment_id, prefixes, approval_id, call_id, actor, created_at, revoked_at"

const amendmentsDdl: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS policy_amendments_list (
    amendment_id TEXT NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL,
    prefixes TEXT NOT NULL,
    approval_id TEXT,
    call_id TEXT,
    actor TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  )`,
  `CREATE INDEX IF NOT EXISTS policy_amendments_list_by_position ON policy_amendments_list (position)`,
  `CREATE INDEX IF NOT EXISTS policy_amendments_list_active ON policy_amendments_list (position) WHERE revoked_at IS NULL`
]

/**
 * Applies a page of `registry`'s events in log order with `apply`; events that do not decode, or
 * of unknown types or versions, are skipped (as the folds of `Grants.layer` skip them).
 */
const applyKnown = <D extends AnyEventDefinition>(
  registry: EventRegistry<D>,
  apply: (sql: SqlClient.SqlClient, event: EventOf<D>, record: RecordedEvent) => Effect.Effect<unknown, SqlError.SqlError>
) =>
(records: ReadonlyArray<RecordedEvent>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const record of records) {
      const event = registry.decodeKnown(record)
      if (event !== undefined) yield* apply(sql, event, record)
    }
  })

/** Applies grant events (a re-created id keeps its first position, as the fold's map does). */
const applyGrants = applyKnown(grantRegistry, (sql, event, record) => {
  if (event.type === "grant.created") {
    const p = event.payload
    return query(
      sql,
      `INSERT INTO grants_list (position, ${GrantColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)
       ON CONFLICT (grant_id) DO UPDATE SET thread_id = excluded.thread_id, scope = excluded.scope, tool = excluded.tool,
         command = excluded.command, path = excluded.path, approval_id = excluded.approval_id, call_id = excluded.call_id,
         actor = excluded.actor, created_at = excluded.created_at, revoked_at = NULL, revoke_reason = NULL`,
      [record.position, p.grant_id, p.thread_id, p.scope, p.tool, p.command, p.path, p.approval_id, p.call_id, p.actor, p.at]
    )
  }
  const p = event.payload
  return query(sql, "UPDATE grants_list SET revoked_at = ?, revoke_reason = ? WHERE grant_id = ?", [p.at, p.reason, p.grant_id])
})

/** Applies amendment events. */
const applyAmendments = applyKnown(amendmentRegistry, (sql, event, record) => {
  if (event.type === "policy_amendment.added") {
    const p = event.payload
    return query(
      sql,
      `INSERT INTO policy_amendments_list (position, ${AmendmentColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
       ON CONFLICT (amendment_id) DO UPDATE SET prefixes = excluded.prefixes, approval_id = excluded.approval_id,
         call_id = excluded.call_id, actor = excluded.actor, created_at = excluded.created_at, revoked_at = NULL`,
      [record.position, p.amendment_id, JSON.stringify(p.prefixes), p.approval_id, p.call_id, p.actor, p.at]
    )
  }
  const p = event.payload
  return query(sql, "UPDATE policy_amendments_list SET revoked_at = ? WHERE amendment_id = ?", [p.at, p.amendment_id])
})

/** The `grants` read model (stream category `grant`), for `Grants.layerSql` and `codewhale log rebuild|verify grants`. */
export const grantsReadModel: ReadModel = {
  name: "grants",
  version: 1,
  category: GrantCategory,
  setup: runAll(grantsDdl),
  reset: runAll(["DELETE FROM grants_list"]),
  apply: applyGrants,
  dump: Effect.flatMap(SqlClient.SqlClient, (sql) => query(sql, `SELECT position, ${GrantColumns} FROM grants_list ORDER BY grant_id`))
}

/** The `policy_amendments` read model (stream category `policy_amendment`), for `Grants.layerSql` and `codewhale log rebuild|verify policy_amendments`. */
export const policyAmendmentsReadModel: ReadModel = {
  name: "policy_amendments",
  version: 1,
  category: PolicyAmendmentCategory,
  setup: runAll(amendmentsDdl),
  reset: runAll(["DELETE FROM policy_amendments_list"]),
  apply: applyAmendments,
  dump: Effect.flatMap(SqlClient.SqlClient, (sql) =>
    query(sql, `SELECT position, ${AmendmentColumns} FROM policy_amendments_list ORDER BY amendment_id`))
}

/** A `grants_list` row: the `grant.created` payload (its `at` as `created_at`) plus the revocation. */
const GrantRow = Schema.extend(
  GrantCreated.schema.pipe(Schema.omit("at")),
  Schema.Struct({ created_at: Schema.Number, revoked_at: Schema.NullOr(Schema.Number), revoke_reason: Schema.NullOr(Schema.String) })
)

const AmendmentRow = Schema.Struct({
  amendment_id: Schema.String,
  prefixes: Schema.parseJson(Schema.Array(Schema.String)),
  approval_id: Schema.NullOr(Schema.String),
  call_id: Schema.NullOr(Schema.String),
  actor: Schema.NullOr(Schema.String),
  created_at: Schema.Number,
  revoked_at: Schema.NullOr(Schema.Number)
})

const decodeGrantRow = Schema.decodeUnknownEither(GrantRow)
const decodeAmendmentRow = Schema.decodeUnknownEither(AmendmentRow)

const corrupt = (table: string, rowId: unknown) => (e: ParseResult.ParseError) =>
  new CorruptReadModelRow({ table, rowId: String(rowId), detail: ParseResult.TreeFormatter.formatErrorSync(e) })

/** A `grants_list` row as a `Grant`, or a `CorruptReadModelRow` naming the grant. */
const grantOf = (row: Record<string, unknown>): Either.Either<Grant, CorruptReadModelRow> =>
  Either.map(Either.mapLeft(decodeGrantRow(row), corrupt("grants_list", row["grant_id"])), (r) => ({
    grantId: r.grant_id,
    threadId: r.thread_id,
    scope: r.scope,
    tool: r.tool,
    command: r.command,
    path: r.path,
    approvalId: r.approval_id,
    callId: r.call_id,
    actor: r.actor,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    revokeReason: r.revoke_reason
  }))

/** A `policy_amendments_list` row as a `PolicyAmendment`, or a `CorruptReadModelRow` naming the amendment. */
const amendmentOf = (row: Record<string, unknown>): Either.Either<PolicyAmendment, CorruptReadModelRow> =>
  Either.map(Either.mapLeft(decodeAmendmentRow(row), corrupt("policy_amendments_list", row["amendment_id"])), (r) => ({
    amendmentId: r.amendment_id,
    prefixes: r.prefixes,
    approvalId: r.approval_id,
    callId: r.call_id,
    actor: r.actor,
    createdAt: r.created_at,
    revokedAt: r.revoked_at
  }))

/** Grants from `grants_list`, oldest first, optionally of one thread and active only (what `listGrants` answers). */
export const selectGrants = (options?: { readonly threadId?: string | undefined; readonly activeOnly?: boolean | undefined }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const where: Array<string> = []
    const params: Array<unknown> = []
    if (options?.threadId !== undefined) {
      where.push("thread_id = ?")
      params.push(options.threadId)
    }
    if (options?.activeOnly === true) where.push("revoked_at IS NULL")
    return query(sql, `SELECT ${GrantColumns} FROM grants_list ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`} ORDER BY position`, params).pipe(
      Effect.flatMap((rows) => Effect.forEach(rows, grantOf))
    )
  })

/** The oldest active grant with exactly this key (an indexed lookup), or undefined (what `findGrant` answers). */
export const selectGrant = (key: GrantKey) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    query(
      sql,
      `SELECT ${GrantColumns} FROM grants_list
       WHERE thread_id = ? AND tool = ? AND command = ? AND path IS ? AND revoked_at IS NULL ORDER BY position LIMIT 1`,
      [key.threadId, key.tool, key.command, key.path]
    ).pipe(Effect.flatMap((rows) => rows[0] === undefined ? Effect.succeed(undefined) : grantOf(rows[0]))))

/** Amendments from `policy_amendments_list`, oldest first, active only unless `includeRevoked` (what `listAmendments` answers). */
export const selectAmendments = (options?: { readonly includeRevoked?: boolean | undefined }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    query(
      sql,
      `SELECT ${AmendmentColumns} FROM policy_amendments_list ${options?.includeRevoked === true ? "" : "WHERE revoked_at IS NULL"} ORDER BY position`
    ).pipe(Effect.flatMap((rows) => Effect.forEach(rows, amendmentOf))))
