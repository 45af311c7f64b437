/**
 * The rows thread projections are made of (one thread's metadata, one history entry, one
 * checkpoint) and the pure functions that evolve them from thread events. The in-memory folds, the
 * decider's state and the SQL read model all use these functions, so they cannot disagree.
 */
import {
  type EventOf,
  makeEventRegistry,
  type RecordedEvent,
  threadEventDefinitions,
  ThreadGoalStatus,
  ThreadSourceValue,
  ThreadStatusValue
} from "@codewhale/protocol"
import { Either, Schema } from "effect"
import * as NodeCrypto from "node:crypto"

/** The stream category of threads: a thread's id is its stream id, `thread-<uuidv7>`. */
export const ThreadCategory = "thread"

/** The registry of thread events (every version of every `thread.*` type). */
export const threadRegistry = Either.getOrThrow(makeEventRegistry(threadEventDefinitions))

/** A decoded thread event. */
export type ThreadEvent = EventOf<(typeof threadEventDefinitions)[number]>

/** A thread's goal as the projections keep it (at most one per thread). */
export const GoalRow = Schema.Struct({
  goalId: Schema.String,
  objective: Schema.String,
  status: ThreadGoalStatus,
  tokenBudget: Schema.NullOr(Schema.Int),
  tokensUsed: Schema.Int,
  timeUsedSeconds: Schema.Int,
  /** Epoch milliseconds. */
  createdAt: Schema.Int,
  /** Epoch milliseconds. */
  updatedAt: Schema.Int
})
/** A thread's goal as the projections keep it. */
export type GoalRow = typeof GoalRow.Type

/** A thread's metadata as the projections keep it: one row of the thread list. */
export const ThreadRow = Schema.Struct({
  threadId: Schema.String,
  /** The stream version this row reflects. */
  version: Schema.Int,
  /** Epoch milliseconds. */
  createdAt: Schema.Int,
  /** Epoch milliseconds of the last activity. */
  updatedAt: Schema.Int,
  /** Log position of the last activity: the list's order. */
  lastPosition: Schema.Int,
  status: ThreadStatusValue,
  /** The status to restore on unarchive (set while archived). */
  statusBeforeArchive: Schema.NullOr(ThreadStatusValue),
  preview: Schema.String,
  name: Schema.NullOr(Schema.String),
  cwd: Schema.String,
  model: Schema.NullOr(Schema.String),
  modelProvider: Schema.String,
  ephemeral: Schema.Boolean,
  source: ThreadSourceValue,
  path: Schema.NullOr(Schema.String),
  cliVersion: Schema.String,
  gitSha: Schema.NullOr(Schema.String),
  gitBranch: Schema.NullOr(Schema.String),
  gitOriginUrl: Schema.NullOr(Schema.String),
  approvalPolicy: Schema.NullOr(Schema.String),
  sandbox: Schema.NullOr(Schema.String),
  forkedFromThreadId: Schema.NullOr(Schema.String),
  forkedFromVersion: Schema.NullOr(Schema.Int),
  /** For a fork: the parent's entry its history continues from. */
  forkBaseEntryId: Schema.NullOr(Schema.String),
  /** The entry the active branch ends at (null: no history). */
  leafId: Schema.NullOr(Schema.String),
  /** Entries written in this thread (inherited fork history not counted). */
  messageCount: Schema.Int,
  /** The thread's goal (null: none). */
  goal: Schema.NullOr(GoalRow)
})
/** A thread's metadata as the projections keep it. */
export type ThreadRow = typeof ThreadRow.Type

/** One history entry: a node of the thread's tree. */
export const EntryRow = Schema.Struct({
  entryId: Schema.String,
  /** The thread the entry was written in. */
  threadId: Schema.String,
  parentId: Schema.NullOr(Schema.String),
  role: Schema.String,
  content: Schema.String,
  /** The entry's structured item as JSON text, if any. */
  item: Schema.NullOr(Schema.String),
  createdAt: Schema.Int,
  position: Schema.Int
})
/** One history entry. */
export type EntryRow = typeof EntryRow.Type

/** One named checkpoint (the latest save of that name). */
export const CheckpointRow = Schema.Struct({
  threadId: Schema.String,
  checkpointId: Schema.String,
  /** The saved state as JSON text. */
  state: Schema.String,
  createdAt: Schema.Int,
  /** Log position of the save: "latest" is the greatest. */
  position: Schema.Int,
  entryId: Schema.NullOr(Schema.String)
})
/** One named checkpoint. */
export type CheckpointRow = typeof CheckpointRow.Type

/** The longest preview, in characters (the seed's 120). */
export const PreviewLength = 120

/** The first 120 characters (code points) of a text. */
export const truncatePreview = (text: string): string => {
  const chars = Array.from(text)
  return chars.length <= PreviewLength ? text : chars.slice(0, PreviewLength).join("")
}

/** JSON text with object keys sorted, so equal values give equal text. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

/** A stable fingerprint of a JSON value (sha256 of its canonical text). */
export const fingerprint = (value: unknown): string =>
  NodeCrypto.createHash("sha256").update(canonicalJson(value) ?? "null").digest("hex")

const activity = (row: ThreadRow, record: RecordedEvent, at: number): ThreadRow => ({
  ...row,
  version: record.streamVersion,
  updatedAt: at,
  lastPosition: record.position
})

/** Evolves one thread's row by one of its events (undefined until `thread.created`). */
export const evolveThreadRow = (row: ThreadRow | undefined, event: ThreadEvent): ThreadRow | undefined => {
  const record = event.record
  if (event.type === "thread.created") {
    const p = event.payload
    return {
      threadId: record.streamId,
      version: record.streamVersion,
      createdAt: p.at,
      updatedAt: p.at,
      lastPosition: record.position,
      status: "running",
      statusBeforeArchive: null,
      preview: p.preview,
      name: p.name ?? null,
      cwd: p.cwd,
      model: p.model ?? null,
      modelProvider: p.modelProvider,
      ephemeral: p.ephemeral,
      source: p.source,
      path: p.path ?? null,
      cliVersion: p.cliVersion,
      gitSha: p.git?.sha ?? null,
      gitBranch: p.git?.branch ?? null,
      gitOriginUrl: p.git?.originUrl ?? null,
      approvalPolicy: p.approvalPolicy ?? null,
      sandbox: p.sandbox ?? null,
      forkedFromThreadId: p.forkedFrom?.threadId ?? null,
      forkedFromVersion: p.forkedFrom?.version ?? null,
      forkBaseEntryId: p.forkedFrom?.entryId ?? null,
      leafId: p.forkedFrom?.entryId ?? null,
      messageCount: 0,
      goal: null
    }
  }
  if (row === undefined) return undefined
  switch (event.type) {
    case "thread.resumed": {
      const c = event.payload.changes
      const next: ThreadRow = { ...activity(row, record, event.payload.at), status: "running" }
      return {
        ...next,
        cwd: c.cwd?.to ?? next.cwd,
        model: c.model === undefined ? next.model : c.model.to,
        modelProvider: c.modelProvider?.to ?? next.modelProvider,
        path: c.path === undefined ? next.path : c.path.to,
        approvalPolicy: c.approvalPolicy === undefined ? next.approvalPolicy : c.approvalPolicy.to,
        sandbox: c.sandbox === undefined ? next.sandbox : c.sandbox.to,
        gitSha: c.gitSha === undefined ? next.gitSha : c.gitSha.to,
        gitBranch: c.gitBranch === undefined ? next.gitBranch : c.gitBranch.to,
        gitOriginUrl: c.gitOriginUrl === undefined ? next.gitOriginUrl : c.gitOriginUrl.to
      }
    }
    case "thread.renamed":
      return { ...activity(row, record, event.payload.at), name: event.payload.name }
    case "thread.archived":
      return { ...row, version: record.streamVersion, status: "archived", statusBeforeArchive: event.payload.previousStatus }
    case "thread.unarchived":
      return { ...row, version: record.streamVersion, status: event.payload.restoredStatus, statusBeforeArchive: null }
    case "thread.message_added": {
      const p = event.payload
      const next: ThreadRow = { ...activity(row, record, p.at), leafId: p.entryId, messageCount: row.messageCount + 1 }
      return p.role === "user" ? { ...next, preview: truncatePreview(p.content), status: "running" } : next
    }
    case "thread.leaf_moved":
      return { ...activity(row, record, event.payload.at), leafId: event.payload.to }
    case "thread.checkpoint_saved":
      return activity(row, record, event.payload.at)
    case "thread.goal_set": {
      const p = event.payload
      return {
        ...row,
        version: record.streamVersion,
        goal: {
          goalId: p.goalId,
          objective: p.objective,
          status: "active",
          tokenBudget: p.tokenBudget ?? null,
          tokensUsed: 0,
          timeUsedSeconds: 0,
          createdAt: p.at,
          updatedAt: p.at
        }
      }
    }
    case "thread.goal_cleared":
      return { ...row, version: record.streamVersion, goal: null }
  }
}

/** The history entry a `thread.message_added` event adds. */
export const entryOf = (event: ThreadEvent & { readonly type: "thread.message_added" }): EntryRow => ({
  entryId: event.payload.entryId,
  threadId: event.record.streamId,
  parentId: event.payload.parentId,
  role: event.payload.role,
  content: event.payload.content,
  item: event.payload.item === undefined ? null : JSON.stringify(event.payload.item),
  createdAt: event.payload.at,
  position: event.record.position
})

/** The checkpoint row a `thread.checkpoint_saved` event writes. */
export const checkpointOf = (event: ThreadEvent & { readonly type: "thread.checkpoint_saved" }): CheckpointRow => ({
  threadId: event.record.streamId,
  checkpointId: event.payload.checkpointId,
  state: JSON.stringify(event.payload.state),
  createdAt: event.payload.at,
  position: event.record.position,
  entryId: event.payload.entryId
})

/** The canonical content of the thread read model, as `dump` returns it and the folds rebuild it. */
export interface ThreadsDump {
  /** Sorted by thread id. */
  readonly threads: ReadonlyArray<ThreadRow>
  /** Sorted by position. */
  readonly entries: ReadonlyArray<EntryRow>
  /** Branch tips (entries of a thread with no child in that thread), sorted by thread then entry id. */
  readonly tips: ReadonlyArray<{ readonly threadId: string; readonly entryId: string }>
  /** Sorted by thread then checkpoint id. */
  readonly checkpoints: ReadonlyArray<CheckpointRow>
}
