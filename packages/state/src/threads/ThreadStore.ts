/**
 * The `ThreadStore` service: every thread operation of the seed's `ThreadManager`, event-sourced.
 * A write folds the thread's stream (with snapshots when a `SnapshotStore` is provided), decides,
 * and appends with the version it decided on; on `WrongExpectedVersion` it folds again and
 * re-decides (a few times, then reports the conflict). Reads come from the `threads` read model,
 * brought up to the log's head first, so a caller always reads its own writes.
 */
import { IdGenerator, makeEnvelope, type ThreadGit, ThreadIdString, type ThreadRequest, type ThreadResponse } from "@codewhale/protocol"
import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Either, Layer, Option, Schema } from "effect"
import { type AppendResult, EventStore, ExpectedVersion } from "../EventStore.ts"
import { foldStream, SnapshotStore } from "../Projection.ts"
import { catchUp } from "../ReadModel.ts"
import { decide, type ResumeField, type ThreadCommand } from "./decide.ts"
import {
  CheckpointNotFound,
  EntryNotFound,
  ForkVersionOutOfRange,
  InvalidCursor,
  InvalidThreadInput,
  PageSizeOutOfRange,
  type ThreadError,
  ThreadNotFound,
  ThreadStorageError
} from "./errors.ts"
import type { CheckpointRow, EntryRow, GoalRow, ThreadRow } from "./model.ts"
import { type ThreadState, threadStateProjection } from "./projections.ts"
import {
  isAncestorOrSelf,
  selectCheckpoint,
  selectCheckpoints,
  selectEntry,
  selectHistory,
  selectThread,
  selectThreads,
  selectTips,
  threadsReadModel
} from "./readModel.ts"
import { handleThreadRequest } from "./wire.ts"

/** The default and largest page of the thread list. */
export const ThreadListPage = { default: 50, maximum: 200 } as const
/** The default and largest page of a thread's history. */
export const HistoryPage = { default: 100, maximum: 1_000 } as const

/** Options of a new thread (`start`). */
export interface StartThreadInput {
  readonly model?: string | undefined
  readonly modelProvider?: string | undefined
  readonly cwd?: string | undefined
  /** `ephemeral` is its negation (the seed's rule). */
  readonly persistExtendedHistory?: boolean | undefined
  readonly name?: string | undefined
  readonly approvalPolicy?: string | undefined
  readonly sandbox?: string | undefined
  readonly git?: ThreadGit | undefined
}

/** What a resume may override; everything not given keeps its stored value. */
export interface ResumeThreadInput {
  readonly threadId: string
  readonly history?: ReadonlyArray<unknown> | undefined
  readonly path?: string | undefined
  readonly model?: string | undefined
  readonly modelProvider?: string | undefined
  readonly cwd?: string | undefined
  readonly approvalPolicy?: string | undefined
  readonly sandbox?: string | undefined
  readonly git?: ThreadGit | undefined
  /** Resuming an archived thread must ask for it. */
  readonly unarchive?: boolean | undefined
}

/** Where and how to fork. */
export interface ForkThreadInput {
  readonly threadId: string
  /** The parent's stream version to fork at (default: its head). */
  readonly version?: number | undefined
  readonly model?: string | undefined
  readonly modelProvider?: string | undefined
  readonly cwd?: string | undefined
  readonly approvalPolicy?: string | undefined
  readonly sandbox?: string | undefined
  readonly persistExtendedHistory?: boolean | undefined
  readonly git?: ThreadGit | undefined
}

/** Filters and paging of the thread list. */
export interface ListThreadsInput {
  /** Include archived threads (default false). Ignored when `archived` is given. */
  readonly includeArchived?: boolean | undefined
  /** true: only archived threads; false: only threads that are not archived. */
  readonly archived?: boolean | undefined
  readonly cwd?: string | undefined
  /** Case-insensitive text search over name and preview. */
  readonly search?: string | undefined
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

/** One page of the thread list. */
export interface ThreadListPageResult {
  readonly threads: ReadonlyArray<ThreadRow>
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string | undefined
}

/** Which page of history to read. */
export interface HistoryInput {
  readonly limit?: number | undefined
  /** The page of entries older than this one (from a previous page's `before`). */
  readonly before?: string | undefined
  /** Show the branch ending at this entry instead of the thread's leaf. */
  readonly leafId?: string | undefined
}

/** A page of a thread's history: oldest first, ending at `leafId`. */
export interface HistoryPageResult {
  readonly entries: ReadonlyArray<EntryRow>
  readonly leafId: string | null
  /** Pass as `before` to read the next older page; absent on the oldest page. */
  readonly before?: string | undefined
}

/** A branch tip of a thread (or its current leaf when that is not a tip). */
export interface BranchTip {
  readonly entry: EntryRow
  readonly active: boolean
}

/** A history entry to add. */
export interface MessageInput {
  /** Default `user`. */
  readonly role?: string | undefined
  readonly content: string
  readonly item?: unknown
}

/** A goal to set. */
export interface GoalInput {
  readonly objective: string
  /** A positive number of tokens; absent: no budget. */
  readonly tokenBudget?: number | undefined
}

/** The thread operations. */
export interface ThreadStoreShape {
  /** `create`: a new ephemeral thread with default settings; `metadata` is recorded. */
  readonly create: (input?: { readonly metadata?: unknown }) => Effect.Effect<ThreadRow, ThreadError>
  /** `start`: a new thread. */
  readonly start: (input?: StartThreadInput) => Effect.Effect<ThreadRow, ThreadError>
  /** `resume`: status running, stored metadata kept unless overridden, changes recorded. */
  readonly resume: (input: ResumeThreadInput) => Effect.Effect<ThreadRow, ThreadError>
  /** `fork`: a new thread continuing the parent's history as of a version. */
  readonly fork: (input: ForkThreadInput) => Effect.Effect<ThreadRow, ThreadError>
  /** `list`: ordered by last activity then id, paged with an opaque cursor. */
  readonly list: (input?: ListThreadsInput) => Effect.Effect<ThreadListPageResult, ThreadError>
  /** One thread's metadata. */
  readonly get: (threadId: string) => Effect.Effect<ThreadRow, ThreadError>
  /** A page of history, read in time independent of the thread's length. */
  readonly history: (threadId: string, input?: HistoryInput) => Effect.Effect<HistoryPageResult, ThreadError>
  /** The thread's branch tips, newest first, with the active one marked. */
  readonly branches: (threadId: string) => Effect.Effect<ReadonlyArray<BranchTip>, ThreadError>
  /** `set_name`. */
  readonly rename: (threadId: string, name: string) => Effect.Effect<ThreadRow, ThreadError>
  /** `archive` (no-op when already archived). */
  readonly archive: (threadId: string) => Effect.Effect<ThreadRow, ThreadError>
  /** `unarchive`: restores the status from before archiving (no-op when not archived). */
  readonly unarchive: (threadId: string) => Effect.Effect<ThreadRow, ThreadError>
  /** `message`: a new entry under the leaf; an unknown or archived thread is an error. */
  readonly addMessage: (threadId: string, input: MessageInput) => Effect.Effect<{ readonly thread: ThreadRow; readonly entry: EntryRow }, ThreadError>
  /** Moves the leaf to an earlier entry (null: the start of this thread's own history); the next message branches there. */
  readonly rewind: (threadId: string, to: string | null) => Effect.Effect<ThreadRow, ThreadError>
  /** Saves a named checkpoint (saving a name again replaces it and makes it the latest). */
  readonly saveCheckpoint: (threadId: string, checkpointId: string, state: unknown) => Effect.Effect<CheckpointRow, ThreadError>
  /** A named checkpoint, or the most recently saved one. */
  readonly checkpoint: (threadId: string, checkpointId?: string | undefined) => Effect.Effect<CheckpointRow, ThreadError>
  /** Every named checkpoint, most recently saved first. */
  readonly checkpoints: (threadId: string) => Effect.Effect<ReadonlyArray<CheckpointRow>, ThreadError>
  /**
   * `goal_set`: a new `active` goal (`goal-<id>`, zero usage) replacing any previous one. An
   * unknown thread is `ThreadNotFound`, an archived one `ThreadIsArchived`, a blank objective or a
   * budget below 1 `InvalidThreadInput`.
   */
  readonly goalSet: (threadId: string, input: GoalInput) => Effect.Effect<GoalRow, ThreadError>
  /** `goal_get`: the thread's goal, or null when it has none (`ThreadNotFound` for an unknown thread). */
  readonly goalGet: (threadId: string) => Effect.Effect<GoalRow | null, ThreadError>
  /** `goal_clear`: removes the goal and returns it; null (and nothing recorded) when there was none. */
  readonly goalClear: (threadId: string) => Effect.Effect<GoalRow | null, ThreadError>
  /** Answers a seed `ThreadRequest` with the seed's `ThreadResponse` (errors stay typed). */
  readonly handle: (request: ThreadRequest) => Effect.Effect<ThreadResponse, ThreadError>
}

/** Settings of the service. */
export interface ThreadStoreConfig {
  /** Recorded on new threads (`cli_version`). */
  readonly cliVersion: string
  /** Provider of threads that name none (the seed's `deepseek`). */
  readonly defaultModelProvider: string
  /** The working directory of threads that name none (read once per thread and recorded). */
  readonly defaultCwd: Effect.Effect<string>
  /** Attempts of a write that keeps losing the race on its thread (default 5). */
  readonly maxAttempts: number
}

/** The default settings: provider `deepseek`, the process's working directory, 5 attempts. */
export const defaultThreadStoreConfig: ThreadStoreConfig = {
  cliVersion: "0.0.0",
  defaultModelProvider: "deepseek",
  defaultCwd: Effect.sync(() => process.cwd()),
  maxAttempts: 5
}

interface Cursor {
  readonly position: number
  readonly threadId: string
}

const encodeCursor = (row: ThreadRow): string =>
  Buffer.from(JSON.stringify([row.lastPosition, row.threadId]), "utf8").toString("base64url")

const decodeCursor = (cursor: string): Either.Either<Cursor, InvalidCursor> => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (Array.isArray(parsed) && parsed.length === 2 && Number.isInteger(parsed[0]) && typeof parsed[1] === "string") {
      return Either.right({ position: parsed[0] as number, threadId: parsed[1] })
    }
  } catch {
    // fall through to the typed error
  }
  return Either.left(new InvalidCursor({ cursor }))
}

const isThreadId: (u: unknown) => boolean = Schema.is(ThreadIdString)

/** Checks a thread id's shape (a malformed id is bad input, not a missing thread). */
export const checkThreadId = (threadId: string): Either.Either<string, InvalidThreadInput> =>
  isThreadId(threadId)
    ? Either.right(threadId)
    : Either.left(new InvalidThreadInput({ field: "thread_id", detail: `"${threadId.slice(0, 80)}" is not a thread id (thread-<id>)` }))

const checkPageSize = (what: string, requested: number | undefined, page: { readonly default: number; readonly maximum: number }) =>
  requested === undefined
    ? Either.right(page.default)
    : Number.isInteger(requested) && requested >= 1 && requested <= page.maximum
    ? Either.right(requested)
    : Either.left(new PageSizeOutOfRange({ what, requested, maximum: page.maximum }))

const storage = (operation: string) => (e: { readonly message: string }) => new ThreadStorageError({ operation, detail: e.message })

const nonEmpty = (field: string, value: string | undefined) =>
  value !== undefined && value.trim().length === 0
    ? Either.left(new InvalidThreadInput({ field, detail: "must not be empty when given" }))
    : Either.right(value)

/** Builds the service on the event log, its SQL connection and an id generator. */
export const makeThreadStore = (config: ThreadStoreConfig = defaultThreadStoreConfig) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const ids = yield* IdGenerator
    const snapshots = yield* Effect.serviceOption(SnapshotStore)
    let context = Context.make(EventStore, store).pipe(
      Context.add(SqlClient.SqlClient, yield* SqlClient.SqlClient),
      Context.add(IdGenerator, ids)
    )
    if (Option.isSome(snapshots)) context = Context.add(context, SnapshotStore, snapshots.value)
    const run = <A, E>(effect: Effect.Effect<A, E, EventStore | SqlClient.SqlClient | IdGenerator | SnapshotStore>) =>
      Effect.provide(effect, context) as Effect.Effect<A, E>

    yield* run(threadsReadModel.setup).pipe(Effect.mapError(storage("setup")))

    /** Brings the read model up to the log's head (read-your-writes, also across processes). */
    const sync = catchUp(threadsReadModel).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storage("catch-up")(e))), Effect.asVoid)

    const metadata = { producer: "@codewhale/state/threads" }

    /** Fold, decide, append at the decided version; on a lost race, fold again and re-decide. */
    const execute = (
      threadId: string,
      build: (state: ThreadState) => Effect.Effect<ThreadCommand, ThreadError, EventStore | SqlClient.SqlClient | IdGenerator>,
      attempt = 1
    ): Effect.Effect<AppendResult | undefined, ThreadError, EventStore | SqlClient.SqlClient | IdGenerator | SnapshotStore> =>
      Effect.gen(function*() {
        const folded = yield* foldStream(threadStateProjection, threadId)
        const command = yield* build(folded.state)
        const drafts = yield* decide(threadId, command, folded.state)
        if (drafts.length === 0) return undefined
        const envelopes = yield* Effect.forEach(drafts, (d) => makeEnvelope(d.definition, d.payload, metadata))
        return yield* store.append(threadId, envelopes, { expected: ExpectedVersion.Exact({ version: folded.version }) })
      }).pipe(
        Effect.catchTag("WrongExpectedVersion", (e) =>
          attempt < config.maxAttempts ? execute(threadId, build, attempt + 1) : Effect.fail(e))
      )

    const now = Clock.currentTimeMillis
    const readRow = (threadId: string) =>
      Effect.flatMap(selectThread(threadId).pipe(Effect.mapError(storage("read"))), (row) =>
        row === undefined ? Effect.fail(new ThreadNotFound({ threadId })) : Effect.succeed(row))
    const write = (
      threadId: string,
      build: (state: ThreadState) => Effect.Effect<ThreadCommand, ThreadError, EventStore | SqlClient.SqlClient | IdGenerator>
    ) =>
      Effect.gen(function*() {
        const id = yield* checkThreadId(threadId)
        yield* execute(id, build)
        yield* sync
        return yield* readRow(id)
      })

    const get = (threadId: string) =>
      run(Effect.gen(function*() {
        const id = yield* checkThreadId(threadId)
        yield* sync
        return yield* readRow(id)
      }))

    /** The threads whose history a thread shows: itself, then its fork ancestors. */
    const lineage = (row: ThreadRow) =>
      Effect.gen(function*() {
        const out = new Set([row.threadId])
        let parent = row.forkedFromThreadId
        while (parent !== null && !out.has(parent)) {
          out.add(parent)
          const p = yield* selectThread(parent).pipe(Effect.mapError(storage("read")))
          parent = p?.forkedFromThreadId ?? null
        }
        return out
      })

    /** An entry a read may start from: written in this thread or in one it was forked from. */
    const readableEntry = (row: ThreadRow, entryId: string) =>
      Effect.gen(function*() {
        const entry = yield* selectEntry(entryId).pipe(Effect.mapError(storage("read")))
        if (entry === undefined || !(yield* lineage(row)).has(entry.threadId)) {
          return yield* Effect.fail(new EntryNotFound({ threadId: row.threadId, entryId }))
        }
        return entry
      })

    const startSettings = (input: StartThreadInput) =>
      Effect.gen(function*() {
        yield* nonEmpty("model_provider", input.modelProvider)
        yield* nonEmpty("cwd", input.cwd)
        return {
          modelProvider: input.modelProvider ?? config.defaultModelProvider,
          model: input.model,
          cwd: input.cwd ?? (yield* config.defaultCwd),
          ephemeral: input.persistExtendedHistory !== true,
          cliVersion: config.cliVersion,
          name: input.name,
          git: input.git,
          approvalPolicy: input.approvalPolicy,
          sandbox: input.sandbox
        }
      })

    const createThread = (command: (at: number) => Effect.Effect<ThreadCommand, ThreadError>) =>
      Effect.gen(function*() {
        const threadId = yield* ids.domainId("thread")
        return yield* write(threadId, () => Effect.flatMap(now, command))
      })

    const history = (threadId: string, input: HistoryInput = {}) =>
      run(Effect.gen(function*() {
        const id = yield* checkThreadId(threadId)
        const limit = yield* checkPageSize("history", input.limit, HistoryPage)
        if (input.before !== undefined && input.leafId !== undefined) {
          return yield* Effect.fail(new InvalidThreadInput({ field: "before", detail: "give before or leaf_id, not both" }))
        }
        yield* sync
        const row = yield* readRow(id)
        let start: string | null = row.leafId
        if (input.before !== undefined) start = (yield* readableEntry(row, input.before)).parentId
        if (input.leafId !== undefined) start = (yield* readableEntry(row, input.leafId)).entryId
        if (start === null) return { entries: [], leafId: input.leafId ?? row.leafId }
        const page = yield* selectHistory(start, limit).pipe(Effect.mapError(storage("read")))
        const oldest = page.entries[0]
        return {
          entries: page.entries,
          leafId: input.before === undefined ? start : (input.leafId ?? row.leafId),
          ...(page.more && oldest !== undefined ? { before: oldest.entryId } : {})
        }
      }))

    const shape: Omit<ThreadStoreShape, "handle"> = {
      create: (input = {}) =>
        run(Effect.gen(function*() {
          const settings = yield* startSettings({})
          return yield* createThread((at) =>
            Effect.succeed({
              _tag: "Create",
              at,
              via: "create",
              source: "interactive",
              settings,
              preview: "New conversation",
              metadata: input.metadata
            })
          )
        })),
      start: (input = {}) =>
        run(Effect.gen(function*() {
          const settings = yield* startSettings(input)
          return yield* createThread((at) =>
            Effect.succeed({ _tag: "Create", at, via: "start", source: "interactive", settings, preview: "New conversation" })
          )
        })),
      resume: (input) =>
        run(Effect.gen(function*() {
          yield* nonEmpty("model_provider", input.modelProvider)
          yield* nonEmpty("cwd", input.cwd)
          const overrides: Partial<Record<ResumeField, string>> = {}
          const set = (field: ResumeField, value: string | undefined) => {
            if (value !== undefined) overrides[field] = value
          }
          set("cwd", input.cwd)
          set("model", input.model)
          set("modelProvider", input.modelProvider)
          set("path", input.path)
          set("approvalPolicy", input.approvalPolicy)
          set("sandbox", input.sandbox)
          set("gitSha", input.git?.sha)
          set("gitBranch", input.git?.branch)
          set("gitOriginUrl", input.git?.originUrl)
          return yield* write(input.threadId, () =>
            Effect.gen(function*() {
              const history = yield* Effect.forEach(input.history ?? [], (item) =>
                Effect.map(ids.domainId("entry"), (entryId) => ({ entryId, item })))
              return { _tag: "Resume", at: yield* now, overrides, unarchive: input.unarchive === true, history } as const
            }))
        })),
      fork: (input) =>
        run(Effect.gen(function*() {
          const parentId = yield* checkThreadId(input.threadId)
          yield* nonEmpty("model_provider", input.modelProvider)
          yield* nonEmpty("cwd", input.cwd)
          const head = yield* store.streamVersion(parentId)
          if (head === 0) return yield* Effect.fail(new ThreadNotFound({ threadId: parentId }))
          const version = input.version ?? head
          if (!Number.isInteger(version) || version < 1 || version > head) {
            return yield* Effect.fail(new ForkVersionOutOfRange({ threadId: parentId, version, head }))
          }
          const parent = (yield* foldStream(threadStateProjection, parentId, { toVersion: version })).state.row
          if (parent === null) return yield* Effect.fail(new ThreadNotFound({ threadId: parentId }))
          const git: ThreadGit = {
            ...(input.git?.sha ?? parent.gitSha) === null ? {} : { sha: (input.git?.sha ?? parent.gitSha)! },
            ...(input.git?.branch ?? parent.gitBranch) === null ? {} : { branch: (input.git?.branch ?? parent.gitBranch)! },
            ...(input.git?.originUrl ?? parent.gitOriginUrl) === null ? {} : { originUrl: (input.git?.originUrl ?? parent.gitOriginUrl)! }
          }
          return yield* createThread((at) =>
            Effect.succeed({
              _tag: "Create",
              at,
              via: "fork",
              source: "fork",
              settings: {
                modelProvider: input.modelProvider ?? parent.modelProvider,
                model: input.model ?? parent.model ?? undefined,
                cwd: input.cwd ?? parent.cwd,
                ephemeral: input.persistExtendedHistory !== true,
                cliVersion: config.cliVersion,
                git: Object.keys(git).length === 0 ? undefined : git,
                approvalPolicy: input.approvalPolicy ?? parent.approvalPolicy ?? undefined,
                sandbox: input.sandbox ?? parent.sandbox ?? undefined
              },
              preview: parent.preview,
              forkedFrom: { threadId: parentId, version, entryId: parent.leafId }
            })
          )
        })),
      list: (input = {}) =>
        run(Effect.gen(function*() {
          const limit = yield* checkPageSize("thread list", input.limit, ThreadListPage)
          const after = input.cursor === undefined ? undefined : yield* decodeCursor(input.cursor)
          const search = input.search?.trim()
          yield* sync
          const rows = yield* selectThreads({
            archived: input.archived ?? (input.includeArchived === true ? undefined : false),
            cwd: input.cwd,
            search: search === undefined || search === "" ? undefined : search,
            after,
            limit
          }).pipe(Effect.mapError(storage("list")))
          const page = rows.slice(0, limit)
          const last = page[page.length - 1]
          return rows.length > limit && last !== undefined ? { threads: page, nextCursor: encodeCursor(last) } : { threads: page }
        })),
      get,
      history,
      branches: (threadId) =>
        run(Effect.gen(function*() {
          const id = yield* checkThreadId(threadId)
          yield* sync
          const row = yield* readRow(id)
          const tips = yield* selectTips(id).pipe(Effect.mapError(storage("read")))
          const out: Array<BranchTip> = tips.map((entry) => ({ entry, active: entry.entryId === row.leafId }))
          if (row.leafId !== null && !tips.some((t) => t.entryId === row.leafId)) {
            const leaf = yield* selectEntry(row.leafId).pipe(Effect.mapError(storage("read")))
            if (leaf !== undefined) out.unshift({ entry: leaf, active: true })
          }
          return out
        })),
      rename: (threadId, name) => run(write(threadId, () => Effect.map(now, (at) => ({ _tag: "Rename", at, name }) as const))),
      archive: (threadId) => run(write(threadId, () => Effect.map(now, (at) => ({ _tag: "Archive", at }) as const))),
      unarchive: (threadId) => run(write(threadId, () => Effect.map(now, (at) => ({ _tag: "Unarchive", at }) as const))),
      addMessage: (threadId, input) =>
        run(Effect.gen(function*() {
          const entryId = yield* ids.domainId("entry")
          const thread = yield* write(threadId, () =>
            Effect.map(now, (at) => ({
              _tag: "AddMessage",
              at,
              entryId,
              role: input.role ?? "user",
              content: input.content,
              ...(input.item === undefined ? {} : { item: input.item })
            }) as const))
          const entry = yield* selectEntry(entryId).pipe(Effect.mapError(storage("read")))
          return entry === undefined
            ? yield* Effect.fail(new ThreadStorageError({ operation: "read", detail: `entry ${entryId} missing after append` }))
            : { thread, entry }
        })),
      rewind: (threadId, to) =>
        run(write(threadId, (state) =>
          Effect.gen(function*() {
            let targetInTree = false
            if (to !== null && state.row !== null) {
              yield* sync
              const entry = yield* selectEntry(to).pipe(Effect.mapError(storage("read")))
              targetInTree = entry !== undefined &&
                (entry.threadId === threadId ||
                  (state.row.forkBaseEntryId !== null &&
                    (yield* isAncestorOrSelf(to, state.row.forkBaseEntryId).pipe(Effect.mapError(storage("read"))))))
            }
            return { _tag: "Rewind", at: yield* now, to, targetInTree } as const
          }))),
      saveCheckpoint: (threadId, checkpointId, state) =>
        run(Effect.gen(function*() {
          yield* write(threadId, () => Effect.map(now, (at) => ({ _tag: "SaveCheckpoint", at, checkpointId, state }) as const))
          const saved = yield* selectCheckpoint(threadId, checkpointId.trim()).pipe(Effect.mapError(storage("read")))
          return saved === undefined
            ? yield* Effect.fail(new CheckpointNotFound({ threadId, checkpointId }))
            : saved
        })),
      checkpoint: (threadId, checkpointId) =>
        run(Effect.gen(function*() {
          const id = yield* checkThreadId(threadId)
          yield* sync
          yield* readRow(id)
          const found = yield* selectCheckpoint(id, checkpointId).pipe(Effect.mapError(storage("read")))
          return found === undefined ? yield* Effect.fail(new CheckpointNotFound({ threadId: id, checkpointId: checkpointId ?? null })) : found
        })),
      checkpoints: (threadId) =>
        run(Effect.gen(function*() {
          const id = yield* checkThreadId(threadId)
          yield* sync
          yield* readRow(id)
          return yield* selectCheckpoints(id).pipe(Effect.mapError(storage("read")))
        })),
      goalSet: (threadId, input) =>
        run(Effect.gen(function*() {
          const goalId = yield* ids.domainId("goal")
          const row = yield* write(threadId, () =>
            Effect.map(now, (at) => ({
              _tag: "SetGoal",
              at,
              goalId,
              objective: input.objective,
              ...(input.tokenBudget === undefined ? {} : { tokenBudget: input.tokenBudget })
            }) as const))
          return row.goal !== null && row.goal.goalId === goalId
            ? row.goal
            : yield* Effect.fail(new ThreadStorageError({ operation: "read", detail: `goal ${goalId} missing after append` }))
        })),
      goalGet: (threadId) => Effect.map(get(threadId), (row) => row.goal),
      goalClear: (threadId) =>
        run(Effect.gen(function*() {
          let cleared: GoalRow | null = null
          yield* write(threadId, (state) =>
            Effect.map(now, (at) => {
              cleared = state.row?.goal ?? null
              return { _tag: "ClearGoal", at } as const
            }))
          return cleared as GoalRow | null
        }))
    }
    const service: ThreadStoreShape = {
      ...shape,
      handle: (request) => handleThreadRequest(service, request)
    }
    return service
  })

/** Threads, messages and checkpoints as events and projections. */
export class ThreadStore extends Context.Tag("@codewhale/state/ThreadStore")<ThreadStore, ThreadStoreShape>() {
  /** The service with the default settings (uses a `SnapshotStore` when one is provided). */
  static readonly layer: Layer.Layer<ThreadStore, ThreadStorageError, EventStore | SqlClient.SqlClient | IdGenerator> = Layer.effect(
    ThreadStore,
    makeThreadStore()
  )

  /** The service with custom settings. */
  static readonly layerWith = (
    config: Partial<ThreadStoreConfig>
  ): Layer.Layer<ThreadStore, ThreadStorageError, EventStore | SqlClient.SqlClient | IdGenerator> =>
    Layer.effect(ThreadStore, makeThreadStore({ ...defaultThreadStoreConfig, ...config }))
}
