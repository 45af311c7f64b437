/**
 * The `threads` SQL read model: the thread list and metadata (`threads_list`), the history tree
 * (`threads_entries`, keyed by entry id with its parent), branch tips (`threads_tips`) and named
 * checkpoints (`threads_checkpoints`) and each thread's goal (the `goal` column, JSON), maintained a page at a time from the log. A page of history
 * is a bounded walk up the parent links, so its cost does not depend on the thread's length.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Either } from "effect"
import { type ReadModel, readModelQuery } from "../ReadModel.ts"
import {
  type CheckpointRow,
  checkpointOf,
  type EntryRow,
  entryOf,
  evolveThreadRow,
  type ThreadEvent,
  ThreadCategory,
  threadRegistry,
  type ThreadRow,
  type ThreadsDump
} from "./model.ts"

type ColumnKind = "text" | "int" | "bool" | "json"

/** `threads_list` columns: row field, SQL column, SQL type, nullable. */
const threadColumns: ReadonlyArray<readonly [keyof ThreadRow, string, ColumnKind, boolean]> = [
  ["threadId", "thread_id", "text", false],
  ["version", "version", "int", false],
  ["createdAt", "created_at", "int", false],
  ["updatedAt", "updated_at", "int", false],
  ["lastPosition", "last_position", "int", false],
  ["status", "status", "text", false],
  ["statusBeforeArchive", "status_before_archive", "text", true],
  ["preview", "preview", "text", false],
  ["name", "name", "text", true],
  ["cwd", "cwd", "text", false],
  ["model", "model", "text", true],
  ["modelProvider", "model_provider", "text", false],
  ["ephemeral", "ephemeral", "bool", false],
  ["source", "source", "text", false],
  ["path", "path", "text", true],
  ["cliVersion", "cli_version", "text", false],
  ["gitSha", "git_sha", "text", true],
  ["gitBranch", "git_branch", "text", true],
  ["gitOriginUrl", "git_origin_url", "text", true],
  ["approvalPolicy", "approval_policy", "text", true],
  ["sandbox", "sandbox", "text", true],
  ["forkedFromThreadId", "forked_from_thread_id", "text", true],
  ["forkedFromVersion", "forked_from_version", "int", true],
  ["forkBaseEntryId", "fork_base_entry_id", "text", true],
  ["leafId", "leaf_id", "text", true],
  ["messageCount", "message_count", "int", false],
  ["goal", "goal", "json", true]
]

const sqlType = (kind: ColumnKind) => (kind === "text" || kind === "json" ? "TEXT" : "INTEGER")

/** The tables of the read model (idempotent). */
const ddl: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS threads_list (
    ${threadColumns.map(([, c, k, n]) => `${c} ${sqlType(k)}${n ? "" : " NOT NULL"}`).join(",\n    ")},
    PRIMARY KEY (thread_id)
  ) STRICT`,
  `CREATE INDEX IF NOT EXISTS threads_list_by_activity ON threads_list (last_position DESC, thread_id)`,
  `CREATE INDEX IF NOT EXISTS threads_list_by_cwd ON threads_list (cwd, last_position DESC)`,
  `CREATE TABLE IF NOT EXISTS threads_entries (
    entry_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    parent_id TEXT,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    item TEXT,
    created_at INTEGER NOT NULL,
    position INTEGER NOT NULL
  ) STRICT`,
  `CREATE INDEX IF NOT EXISTS threads_entries_by_thread ON threads_entries (thread_id, position)`,
  `CREATE TABLE IF NOT EXISTS threads_tips (
    thread_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, entry_id)
  ) STRICT`,
  `CREATE TABLE IF NOT EXISTS threads_checkpoints (
    thread_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    position INTEGER NOT NULL,
    entry_id TEXT,
    PRIMARY KEY (thread_id, checkpoint_id)
  ) STRICT`,
  `CREATE INDEX IF NOT EXISTS threads_checkpoints_by_position ON threads_checkpoints (thread_id, position DESC)`
]

const threadSelect = threadColumns.map(([, c]) => c).join(", ")

/** Turns a `threads_list` row into a `ThreadRow`. */
const toThreadRow = (r: Record<string, unknown>): ThreadRow => {
  const out: Record<string, unknown> = {}
  for (const [field, column, kind] of threadColumns) {
    const v = r[column]
    out[field] = v === null || v === undefined
      ? null
      : kind === "bool"
      ? Number(v) !== 0
      : kind === "int"
      ? Number(v)
      : kind === "json"
      ? JSON.parse(String(v))
      : String(v)
  }
  return out as unknown as ThreadRow
}

const threadValues = (row: ThreadRow): ReadonlyArray<unknown> =>
  threadColumns.map(([field, , kind]) => {
    const v = row[field]
    return kind === "bool" ? (v ? 1 : 0) : kind === "json" ? (v === null ? null : JSON.stringify(v)) : v
  })

const EntryColumns = "entry_id, thread_id, parent_id, role, content, item, created_at, position"

/** Turns a `threads_entries` row into an `EntryRow`. */
const toEntryRow = (r: Record<string, unknown>): EntryRow => ({
  entryId: String(r["entry_id"]),
  threadId: String(r["thread_id"]),
  parentId: r["parent_id"] === null || r["parent_id"] === undefined ? null : String(r["parent_id"]),
  role: String(r["role"]),
  content: String(r["content"]),
  item: r["item"] === null || r["item"] === undefined ? null : String(r["item"]),
  createdAt: Number(r["created_at"]),
  position: Number(r["position"])
})

const CheckpointColumns = "thread_id, checkpoint_id, state, created_at, position, entry_id"

const toCheckpointRow = (r: Record<string, unknown>): CheckpointRow => ({
  threadId: String(r["thread_id"]),
  checkpointId: String(r["checkpoint_id"]),
  state: String(r["state"]),
  createdAt: Number(r["created_at"]),
  position: Number(r["position"]),
  entryId: r["entry_id"] === null || r["entry_id"] === undefined ? null : String(r["entry_id"])
})

const query = readModelQuery

/** Applies a page of thread events: rows evolve in memory, then each table is written in bulk. */
const applyPage = (records: Parameters<ReadModel["apply"]>[0]) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const events: Array<ThreadEvent> = []
    for (const record of records) {
      const decoded = threadRegistry.decode(record)
      if (Either.isLeft(decoded)) return yield* Effect.fail(decoded.left)
      if (decoded.right._tag === "Known") events.push(decoded.right as ThreadEvent)
    }
    if (events.length === 0) return
    const ids = [...new Set(events.map((e) => e.record.streamId))]
    const existing = yield* query(
      sql,
      `SELECT ${threadSelect} FROM threads_list WHERE thread_id IN (SELECT value FROM json_each(?))`,
      [JSON.stringify(ids)]
    )
    const rows = new Map<string, ThreadRow>(existing.map((r) => [String(r["thread_id"]), toThreadRow(r)]))
    const changed = new Set<string>()
    const entries: Array<EntryRow> = []
    const tipsAdded = new Map<string, readonly [string, string]>()
    const tipsRemoved = new Map<string, readonly [string, string]>()
    const checkpoints = new Map<string, CheckpointRow>()
    for (const event of events) {
      const id = event.record.streamId
      const next = evolveThreadRow(rows.get(id), event)
      if (next !== undefined) {
        rows.set(id, next)
        changed.add(id)
      }
      if (event.type === "thread.message_added") {
        const entry = entryOf(event)
        entries.push(entry)
        if (entry.parentId !== null) {
          const parentKey = `${id}\u0000${entry.parentId}`
          if (tipsAdded.has(parentKey)) tipsAdded.delete(parentKey)
          else tipsRemoved.set(parentKey, [id, entry.parentId])
        }
        tipsAdded.set(`${id}\u0000${entry.entryId}`, [id, entry.entryId])
      } else if (event.type === "thread.checkpoint_saved") {
        const cp = checkpointOf(event)
        checkpoints.set(`${cp.threadId}\u0000${cp.checkpointId}`, cp)
      }
    }
    const placeholders = threadColumns.map((_, i) => `value ->> '$[${i}]'`).join(", ")
    const upserts = [...changed].map((id) => threadValues(rows.get(id)!))
    yield* query(
      sql,
      `INSERT OR REPLACE INTO threads_list (${threadSelect}) SELECT ${placeholders} FROM json_each(?)`,
      [JSON.stringify(upserts)]
    )
    if (entries.length > 0) {
      yield* query(
        sql,
        `INSERT INTO threads_entries (${EntryColumns})
         SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]', value ->> '$[4]', value ->> '$[5]',
                value ->> '$[6]', value ->> '$[7]'
         FROM json_each(?)`,
        [JSON.stringify(entries.map((e) => [e.entryId, e.threadId, e.parentId, e.role, e.content, e.item, e.createdAt, e.position]))]
      )
    }
    if (tipsRemoved.size > 0) {
      yield* query(
        sql,
        `DELETE FROM threads_tips WHERE (thread_id, entry_id) IN (SELECT value ->> '$[0]', value ->> '$[1]' FROM json_each(?))`,
        [JSON.stringify([...tipsRemoved.values()])]
      )
    }
    if (tipsAdded.size > 0) {
      yield* query(
        sql,
        `INSERT OR IGNORE INTO threads_tips (thread_id, entry_id) SELECT value ->> '$[0]', value ->> '$[1]' FROM json_each(?)`,
        [JSON.stringify([...tipsAdded.values()])]
      )
    }
    for (const cp of checkpoints.values()) {
      yield* query(
        sql,
        `INSERT OR REPLACE INTO threads_checkpoints (${CheckpointColumns}) VALUES (?, ?, ?, ?, ?, ?)`,
        [cp.threadId, cp.checkpointId, cp.state, cp.createdAt, cp.position, cp.entryId]
      )
    }
  })

/**
 * Creates the tables, and adds the columns later versions introduced to tables an older version
 * created (version 2: `goal`); a concurrent process adding the same column first is fine.
 */
const setup = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.gen(function*() {
    yield* Effect.forEach(ddl, (s) => query(sql, s), { discard: true })
    const columns = yield* query(sql, `SELECT name FROM pragma_table_info('threads_list')`)
    const present = new Set(columns.map((c) => String(c["name"])))
    for (const [, column, kind] of threadColumns) {
      if (present.has(column)) continue
      yield* query(sql, `ALTER TABLE threads_list ADD COLUMN ${column} ${sqlType(kind)}`).pipe(
        Effect.catchIf((e) => e.message.includes("duplicate column") || String(e.cause).includes("duplicate column"), () => Effect.succeed([]))
      )
    }
  }))

/** The canonical content of the read model (every table, rows sorted). */
export const dumpThreads: Effect.Effect<ThreadsDump, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const threads = yield* query(sql, `SELECT ${threadSelect} FROM threads_list ORDER BY thread_id`)
  const entries = yield* query(sql, `SELECT ${EntryColumns} FROM threads_entries ORDER BY position`)
  const tips = yield* query(sql, `SELECT thread_id, entry_id FROM threads_tips ORDER BY thread_id, entry_id`)
  const checkpoints = yield* query(sql, `SELECT ${CheckpointColumns} FROM threads_checkpoints ORDER BY thread_id, checkpoint_id`)
  return {
    threads: threads.map(toThreadRow),
    entries: entries.map(toEntryRow),
    tips: tips.map((r) => ({ threadId: String(r["thread_id"]), entryId: String(r["entry_id"]) })),
    checkpoints: checkpoints.map(toCheckpointRow)
  }
})

/** The `threads` read model, for `ReadModels.layer` and `codewhale log rebuild|verify threads`. */
export const threadsReadModel: ReadModel = {
  name: "threads",
  /** 2: thread rows carry the goal. */
  version: 2,
  category: ThreadCategory,
  setup,
  reset: Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.forEach(
      ["threads_list", "threads_entries", "threads_tips", "threads_checkpoints"],
      (t) => query(sql, `DELETE FROM ${t}`),
      { discard: true }
    )),
  apply: applyPage,
  dump: dumpThreads
}

// ---------------------------------------------------------------------------------------------
// Queries

/** One thread's row, if the read model has it. */
export const selectThread = (threadId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      query(sql, `SELECT ${threadSelect} FROM threads_list WHERE thread_id = ?`, [threadId]),
      (rows) => (rows[0] === undefined ? undefined : toThreadRow(rows[0]))
    ))

/** Filters and position of a thread list page. */
export interface ThreadListQuery {
  /** true: only archived; false: only not archived; undefined: both. */
  readonly archived?: boolean | undefined
  readonly cwd?: string | undefined
  readonly search?: string | undefined
  /** Start after this (position, id) in the order "last activity desc, id asc". */
  readonly after?: { readonly position: number; readonly threadId: string } | undefined
  readonly limit: number
}

/** One page of the thread list (up to `limit + 1` rows, so the caller knows whether more follow). */
export const selectThreads = (q: ThreadListQuery) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const where: Array<string> = []
    const params: Array<unknown> = []
    if (q.archived === true) where.push("status = 'archived'")
    if (q.archived === false) where.push("status <> 'archived'")
    if (q.cwd !== undefined) {
      where.push("cwd = ?")
      params.push(q.cwd)
    }
    if (q.search !== undefined) {
      where.push("(instr(lower(coalesce(name, '')), lower(?)) > 0 OR instr(lower(preview), lower(?)) > 0)")
      params.push(q.search, q.search)
    }
    if (q.after !== undefined) {
      where.push("(last_position < ? OR (last_position = ? AND thread_id > ?))")
      params.push(q.after.position, q.after.position, q.after.threadId)
    }
    params.push(q.limit + 1)
    return Effect.map(
      query(
        sql,
        `SELECT ${threadSelect} FROM threads_list ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
         ORDER BY last_position DESC, thread_id ASC LIMIT ?`,
        params
      ),
      (rows) => rows.map(toThreadRow)
    )
  })

/** The SQL of a history page: walk at most `?` entries up the parent links from `?`, oldest first. */
export const HistoryPageSql = `WITH RECURSIVE walk(entry_id, n) AS (
    SELECT ?, 1
    UNION ALL
    SELECT e.parent_id, walk.n + 1 FROM walk JOIN threads_entries e ON e.entry_id = walk.entry_id
    WHERE e.parent_id IS NOT NULL
    LIMIT ?
  )
  SELECT ${EntryColumns.split(", ").map((c) => `e.${c}`).join(", ")}, walk.n AS n
  FROM walk JOIN threads_entries e ON e.entry_id = walk.entry_id
  ORDER BY walk.n DESC`

/**
 * The path ending at `from` (inclusive), newest `limit` entries, oldest first, and whether older
 * entries exist. Reads at most `limit + 1` entries, whatever the thread's length.
 */
export const selectHistory = (from: string, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(query(sql, HistoryPageSql, [from, limit + 1]), (rows) => {
      const more = rows.length > limit
      const page = (more ? rows.slice(1) : rows).map(toEntryRow)
      return { entries: page, more, visited: rows.length }
    }))

/** One entry, if any thread has it. */
export const selectEntry = (entryId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      query(sql, `SELECT ${EntryColumns} FROM threads_entries WHERE entry_id = ?`, [entryId]),
      (rows) => (rows[0] === undefined ? undefined : toEntryRow(rows[0]))
    ))

/** Whether `entryId` is `from` or one of its ancestors. */
export const isAncestorOrSelf = (entryId: string, from: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      query(
        sql,
        `WITH RECURSIVE up(entry_id) AS (
           SELECT ?
           UNION ALL
           SELECT e.parent_id FROM up JOIN threads_entries e ON e.entry_id = up.entry_id WHERE e.parent_id IS NOT NULL
         )
         SELECT 1 AS found FROM up WHERE entry_id = ? LIMIT 1`,
        [from, entryId]
      ),
      (rows) => rows.length > 0
    ))

/** The branch tips of a thread, newest first. */
export const selectTips = (threadId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      query(
        sql,
        `SELECT ${EntryColumns.split(", ").map((c) => `e.${c}`).join(", ")}
         FROM threads_tips t JOIN threads_entries e ON e.entry_id = t.entry_id
         WHERE t.thread_id = ? ORDER BY e.position DESC`,
        [threadId]
      ),
      (rows) => rows.map(toEntryRow)
    ))

/** A named checkpoint, or the most recently saved one when `checkpointId` is undefined. */
export const selectCheckpoint = (threadId: string, checkpointId?: string | undefined) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      checkpointId === undefined
        ? query(sql, `SELECT ${CheckpointColumns} FROM threads_checkpoints WHERE thread_id = ? ORDER BY position DESC LIMIT 1`, [threadId])
        : query(sql, `SELECT ${CheckpointColumns} FROM threads_checkpoints WHERE thread_id = ? AND checkpoint_id = ?`, [
          threadId,
          checkpointId
        ]),
      (rows) => (rows[0] === undefined ? undefined : toCheckpointRow(rows[0]))
    ))

/** Every named checkpoint of a thread, most recently saved first. */
export const selectCheckpoints = (threadId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      query(sql, `SELECT ${CheckpointColumns} FROM threads_checkpoints WHERE thread_id = ? ORDER BY position DESC`, [threadId]),
      (rows) => rows.map(toCheckpointRow)
    ))
