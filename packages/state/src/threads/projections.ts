/**
 * Thread projections as data: the per-stream state a decider decides on (`threadStateProjection`),
 * the in-memory thread list with checkpoints (`threadsProjection`, registered as `threads` for
 * `codewhale log replay`), and the history tree (`threadHistoryProjection`). `foldedDump` turns
 * the two log-wide folds into the read model's canonical dump, for `verify` and property tests.
 */
import { HashMap, HashSet, Schema } from "effect"
import type { Projection } from "../Projection.ts"
import {
  type CheckpointRow,
  checkpointOf,
  type EntryRow,
  entryOf,
  evolveThreadRow,
  fingerprint,
  threadRegistry,
  ThreadRow,
  type ThreadsDump
} from "./model.ts"

/** What a decider knows about one thread: its row and the fingerprints of imported history items. */
export interface ThreadState {
  readonly row: ThreadRow | null
  /** Fingerprints of the items recorded by resumes (`history` entries), in order. */
  readonly imported: ReadonlyArray<string>
}

const ThreadStateSchema = Schema.Struct({
  row: Schema.NullOr(ThreadRow),
  imported: Schema.Array(Schema.String)
})

/** The state of one thread's stream, folded on demand (and snapshotted) for deciding. */
export const threadStateProjection: Projection<ThreadState, (typeof threadRegistry.definitions)[number]> = {
  name: "thread-state",
  /** 2: rows carry the goal. */
  version: 2,
  registry: threadRegistry,
  initial: { row: null, imported: [] },
  evolve: (state, event) => {
    const row = evolveThreadRow(state.row ?? undefined, event) ?? null
    const imported = event.type === "thread.message_added" && event.payload.role === "history"
      ? [...state.imported, fingerprint(event.payload.item ?? null)]
      : state.imported
    return { row, imported }
  },
  stateSchema: ThreadStateSchema as unknown as Schema.Schema<ThreadState, unknown>
}

/** The thread list (every thread's row) and the latest save of every named checkpoint. */
export interface ThreadsState {
  readonly threads: HashMap.HashMap<string, ThreadRow>
  /** Keyed by `<threadId> <checkpointId>`. */
  readonly checkpoints: HashMap.HashMap<string, CheckpointRow>
}

/** The thread list as an in-memory fold over the whole log: `codewhale log replay threads`. */
export const threadsProjection: Projection<ThreadsState, (typeof threadRegistry.definitions)[number]> = {
  name: "threads",
  /** 2: rows carry the goal. */
  version: 2,
  registry: threadRegistry,
  initial: { threads: HashMap.empty(), checkpoints: HashMap.empty() },
  evolve: (state, event) => {
    const id = event.record.streamId
    const row = evolveThreadRow(HashMap.get(state.threads, id).pipe((o) => (o._tag === "Some" ? o.value : undefined)), event)
    const threads = row === undefined ? state.threads : HashMap.set(state.threads, id, row)
    const checkpoints = event.type === "thread.checkpoint_saved"
      ? HashMap.set(state.checkpoints, `${id}\u0000${event.payload.checkpointId}`, checkpointOf(event))
      : state.checkpoints
    return { threads, checkpoints }
  }
}

/** Every history entry of every thread, and each thread's branch tips. */
export interface ThreadHistoryState {
  readonly entries: HashMap.HashMap<string, EntryRow>
  /** Per thread: its entries that have no child in that thread. */
  readonly tips: HashMap.HashMap<string, HashSet.HashSet<string>>
}

/** The history trees as an in-memory fold over the whole log. */
export const threadHistoryProjection: Projection<ThreadHistoryState, (typeof threadRegistry.definitions)[number]> = {
  name: "thread-history",
  version: 1,
  registry: threadRegistry,
  initial: { entries: HashMap.empty(), tips: HashMap.empty() },
  evolve: (state, event) => {
    if (event.type !== "thread.message_added") return state
    const entry = entryOf(event)
    const current = HashMap.get(state.tips, entry.threadId).pipe((o) => (o._tag === "Some" ? o.value : HashSet.empty<string>()))
    const withoutParent = entry.parentId === null ? current : HashSet.remove(current, entry.parentId)
    return {
      entries: HashMap.set(state.entries, entry.entryId, entry),
      tips: HashMap.set(state.tips, entry.threadId, HashSet.add(withoutParent, entry.entryId))
    }
  }
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The canonical dump of the two log-wide folds: equal to the read model's `dump` when both are right. */
export const foldedDump = (threads: ThreadsState, history: ThreadHistoryState): ThreadsDump => ({
  threads: [...HashMap.values(threads.threads)].sort((a, b) => byString(a.threadId, b.threadId)),
  entries: [...HashMap.values(history.entries)].sort((a, b) => a.position - b.position),
  tips: [...HashMap.entries(history.tips)]
    .flatMap(([threadId, set]) => [...set].map((entryId) => ({ threadId, entryId })))
    .sort((a, b) => byString(a.threadId, b.threadId) || byString(a.entryId, b.entryId)),
  checkpoints: [...HashMap.values(threads.checkpoints)].sort((a, b) =>
    byString(a.threadId, b.threadId) || byString(a.checkpointId, b.checkpointId)
  )
})

/** The thread list of a `threadsProjection` state in list order (last activity first, then id), as plain rows. */
export const threadListOf = (state: ThreadsState): ReadonlyArray<ThreadRow> =>
  [...HashMap.values(state.threads)].sort((a, b) => b.lastPosition - a.lastPosition || byString(a.threadId, b.threadId))
