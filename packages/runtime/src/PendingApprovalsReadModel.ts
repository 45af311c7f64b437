/**
 * The `pending_approvals` SQL read model: one row per tool call whose approval is still pending
 * (written on `approval.requested`, removed on `approval.resolved`, `approval.cancelled` or any
 * event that ends the call), with the request as recorded and the log position of the request
 * (the list order). Maintained a page at a time from the `tool_call` category, so
 * `ToolPipeline.layerSql` answers `pendingApprovals` without replaying every tool call ever made.
 */
import {
  ApprovalCancelled,
  ApprovalRequested,
  ApprovalResolved,
  ExecApprovalRequestEvent,
  type RecordedEvent,
  ToolCallCategory
} from "@codewhale/protocol"
import { type ReadModel, readModelQuery } from "@codewhale/state"
import { SqlClient } from "@effect/sql"
import { Effect, Either, ParseResult, Schema } from "effect"
import { terminalEventTypes, toolCallRegistry } from "./ToolCallState.ts"
import { CorruptReadModelRow } from "./ToolErrors.ts"
import type { PendingApproval } from "./ToolPipeline.ts"

const query = readModelQuery

/** The columns of `pending_approvals`, in insert order. */
const Columns = "stream_id, position, approval_id, call_id, thread_id, requested_at, request"

const ddl: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS pending_approvals (
    stream_id TEXT NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL,
    approval_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    thread_id TEXT,
    requested_at INTEGER NOT NULL,
    request TEXT NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS pending_approvals_by_position ON pending_approvals (position)`,
  `CREATE INDEX IF NOT EXISTS pending_approvals_by_thread ON pending_approvals (thread_id, position)`
]

/** What a page leaves of one call's row: removed, or (re)written. */
type RowChange =
  | { readonly _tag: "Removed" }
  | {
    readonly _tag: "Written"
    /** The row was removed earlier in this page: the new one takes a new position. */
    readonly replaces: boolean
    readonly values: ReadonlyArray<unknown>
  }

const resolvingTypes = new Set<string>([ApprovalResolved.type, ApprovalCancelled.type, ...terminalEventTypes])

/**
 * Applies a page: the changes of each call collapse to one (removed or written), then the page
 * costs one bulk delete and one bulk upsert. A call asked again while its row exists keeps the
 * row's position, as the fold's map keeps the key's place.
 */
const applyPage = (records: ReadonlyArray<RecordedEvent>) =>
  Effect.gen(function*() {
    const changes = new Map<string, RowChange>()
    for (const record of records) {
      if (record.eventType === ApprovalRequested.type) {
        const decoded = toolCallRegistry.decode(record)
        if (Either.isLeft(decoded)) return yield* Effect.fail(decoded.left)
        if (decoded.right._tag === "Unknown") continue
        const p = record.payload as typeof ApprovalRequested.schema.Encoded
        const previous = changes.get(record.streamId)
        const replaces = previous !== undefined && (previous._tag === "Removed" || previous.replaces)
        const position = previous?._tag === "Written" ? previous.values[1] : record.position
        changes.set(record.streamId, {
          _tag: "Written",
          replaces,
          values: [record.streamId, position, p.approval_id, p.call_id, p.thread_id, p.at, JSON.stringify(p.request)]
        })
      } else if (resolvingTypes.has(record.eventType)) {
        changes.set(record.streamId, { _tag: "Removed" })
      }
    }
    if (changes.size === 0) return
    const sql = yield* SqlClient.SqlClient
    const removed = [...changes].flatMap(([id, c]) => (c._tag === "Removed" || c.replaces ? [id] : []))
    const written = [...changes.values()].flatMap((c) => (c._tag === "Written" ? [c.values] : []))
    if (removed.length > 0) {
      yield* query(sql, "DELETE FROM pending_approvals WHERE stream_id IN (SELECT value FROM json_each(?))", [JSON.stringify(removed)])
    }
    if (written.length > 0) {
      const values = Columns.split(", ").map((_, i) => `value ->> '$[${i}]'`).join(", ")
      yield* query(
        sql,
        `INSERT INTO pending_approvals (${Columns}) SELECT ${values} FROM json_each(?) WHERE true
         ON CONFLICT (stream_id) DO UPDATE SET approval_id = excluded.approval_id, call_id = excluded.call_id,
           thread_id = excluded.thread_id, requested_at = excluded.requested_at, request = excluded.request`,
        [JSON.stringify(written)]
      )
    }
  })

/** The `pending_approvals` read model (stream category `tool_call`), for `ToolPipeline.layerSql` and `codewhale log rebuild|verify pending_approvals`. */
export const pendingApprovalsReadModel: ReadModel = {
  name: "pending_approvals",
  version: 1,
  category: ToolCallCategory,
  setup: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.forEach(ddl, (s) => query(sql, s), { discard: true })),
  reset: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(query(sql, "DELETE FROM pending_approvals"))),
  apply: applyPage,
  dump: Effect.flatMap(SqlClient.SqlClient, (sql) => query(sql, `SELECT ${Columns} FROM pending_approvals ORDER BY stream_id`))
}

const Row = Schema.Struct({
  stream_id: Schema.String,
  approval_id: Schema.String,
  call_id: Schema.String,
  thread_id: Schema.NullOr(Schema.String),
  requested_at: Schema.Number,
  request: Schema.parseJson(ExecApprovalRequestEvent)
})

const decodeRow = Schema.decodeUnknownEither(Row)

/** A row as a `PendingApproval` (the same shape the fold gives), or a `CorruptReadModelRow` naming the call. */
const pendingOf = (row: Record<string, unknown>): Either.Either<PendingApproval, CorruptReadModelRow> =>
  Either.map(
    Either.mapLeft(
      decodeRow(row),
      (e) => new CorruptReadModelRow({ table: "pending_approvals", rowId: String(row["stream_id"]), detail: ParseResult.TreeFormatter.formatErrorSync(e) })
    ),
    (r) => ({
      approvalId: r.approval_id,
      callId: r.call_id,
      streamId: r.stream_id,
      threadId: r.thread_id,
      request: r.request,
      frame: { event: "exec_approval_request", request: r.request },
      requestedAt: r.requested_at
    })
  )

/** Pending approvals from `pending_approvals`, oldest request first, optionally of one thread. */
export const selectPendingApprovals = (options?: { readonly threadId?: string | undefined }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    query(
      sql,
      `SELECT ${Columns} FROM pending_approvals ${options?.threadId === undefined ? "" : "WHERE thread_id = ?"} ORDER BY position`,
      options?.threadId === undefined ? [] : [options.threadId]
    ).pipe(Effect.flatMap((rows) => Effect.forEach(rows, pendingOf))))
