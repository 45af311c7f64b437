/**
 * The seed's `Runtime::handle_thread`, thread half: a `ThreadRequest` in, a `ThreadResponse` out,
 * with the seed's status strings and field presence. Unknown threads on `resume`/`fork` answer
 * `missing` as the seed does; everywhere else bad input is a typed error (render it with
 * `threadErrorResponse` where a transport needs the seed's error shape). Goals: `goal_set` answers
 * `ok` with a `thread_goal_updated` frame, `goal_get` `ok`, `goal_clear` `cleared` with a
 * `thread_goal_cleared` frame or `empty`; all three answer `missing` for an unknown thread (the seed
 * answers `ok` with a null goal to `goal_get`, which cannot tell a missing thread from no goal).
 */
import {
  type Thread,
  type ThreadData,
  type ThreadGit,
  type ThreadGoal,
  type ThreadHistoryItem,
  type ThreadRequest,
  ThreadRequest as ThreadRequestSchema,
  type ThreadResponse,
  type ThreadResponseStatus
} from "@codewhale/protocol"
import { Effect, ParseResult, Schema } from "effect"
import { InvalidThreadInput, type ThreadError } from "./errors.ts"
import { type EntryRow, type GoalRow, truncatePreview, type ThreadRow } from "./model.ts"
import type { HistoryInput, ThreadStoreShape } from "./ThreadStore.ts"

const seconds = (millis: number) => Math.floor(millis / 1000)

/** A goal row as the seed's wire `ThreadGoal` (`token_budget` omitted when there is none). */
export const toWireGoal = (threadId: string, goal: GoalRow): ThreadGoal => ({
  thread_id: threadId,
  goal_id: goal.goalId,
  objective: goal.objective,
  status: goal.status,
  ...(goal.tokenBudget === null ? {} : { token_budget: goal.tokenBudget }),
  tokens_used: goal.tokensUsed,
  time_used_seconds: goal.timeUsedSeconds,
  created_at: seconds(goal.createdAt),
  updated_at: seconds(goal.updatedAt)
})

/** A thread row as the seed's wire `Thread`. */
export const toWireThread = (row: ThreadRow): Thread => ({
  id: row.threadId,
  preview: row.preview,
  ephemeral: row.ephemeral,
  model_provider: row.modelProvider,
  created_at: seconds(row.createdAt),
  updated_at: seconds(row.updatedAt),
  status: row.status,
  ...(row.path === null ? {} : { path: row.path }),
  cwd: row.cwd,
  cli_version: row.cliVersion,
  source: row.source,
  ...(row.name === null ? {} : { name: row.name }),
  ...(row.forkedFromThreadId === null || row.forkedFromVersion === null
    ? {}
    : { forked_from: { thread_id: row.forkedFromThreadId, version: row.forkedFromVersion } }),
  ...(row.goal === null ? {} : { goal: toWireGoal(row.threadId, row.goal) })
})

const parseItem = (item: string | null): unknown => (item === null ? null : JSON.parse(item))

/** A history entry as the seed's `data.history` item. */
export const toWireHistoryItem = (entry: EntryRow): ThreadHistoryItem => ({
  id: entry.entryId,
  role: entry.role,
  content: entry.content,
  item: parseItem(entry.item),
  created_at: seconds(entry.createdAt),
  parent_id: entry.parentId,
  thread_id: entry.threadId
})

/** The `data` of responses that show a thread: a history page, the latest checkpoint, branches. */
export const threadData = (
  store: ThreadStoreShape,
  threadId: string,
  input: HistoryInput = {}
): Effect.Effect<ThreadData, ThreadError> =>
  Effect.gen(function*() {
    const page = yield* store.history(threadId, input)
    const checkpoint = yield* store.checkpoint(threadId).pipe(
      Effect.map((c) => ({ checkpoint_id: c.checkpointId, state: JSON.parse(c.state) as unknown, created_at: seconds(c.createdAt) })),
      Effect.catchTag("CheckpointNotFound", () => Effect.succeed(null))
    )
    const branches = yield* store.branches(threadId)
    const goal = yield* store.goalGet(threadId)
    return {
      history: page.entries.map(toWireHistoryItem),
      checkpoint,
      leaf_id: page.leafId,
      ...(page.before === undefined ? {} : { history_before: page.before }),
      branches: branches.map((b) => ({
        entry_id: b.entry.entryId,
        role: b.entry.role,
        preview: truncatePreview(b.entry.content),
        created_at: seconds(b.entry.createdAt),
        active: b.active
      })),
      goal: goal === null ? null : toWireGoal(threadId, goal)
    }
  })

const base = (threadId: string, status: ThreadResponseStatus | "ok"): ThreadResponse => ({
  thread_id: threadId,
  status,
  threads: [],
  events: [],
  data: {}
})

/** `thread_response_from_new`: the thread, its model, provider and cwd, and its data. */
const fromThread = (store: ThreadStoreShape, status: ThreadResponseStatus, row: ThreadRow) =>
  Effect.map(threadData(store, row.threadId), (data): ThreadResponse => ({
    ...base(row.threadId, status),
    thread: toWireThread(row),
    model: row.model ?? "auto",
    model_provider: row.modelProvider,
    cwd: row.cwd,
    ...(row.approvalPolicy === null ? {} : { approval_policy: row.approvalPolicy }),
    ...(row.sandbox === null ? {} : { sandbox: row.sandbox }),
    data
  }))

const missing = (
  threadId: string,
  params: { readonly approval_policy?: string | undefined; readonly sandbox?: string | undefined }
): ThreadResponse => ({
  ...base(threadId, "missing"),
  ...(params.approval_policy === undefined ? {} : { approval_policy: params.approval_policy }),
  ...(params.sandbox === undefined ? {} : { sandbox: params.sandbox }),
  data: { error: "thread not found" }
})

const gitOf = (p: {
  readonly git_sha?: string | undefined
  readonly git_branch?: string | undefined
  readonly git_origin_url?: string | undefined
}): ThreadGit | undefined =>
  p.git_sha === undefined && p.git_branch === undefined && p.git_origin_url === undefined
    ? undefined
    : {
      ...(p.git_sha === undefined ? {} : { sha: p.git_sha }),
      ...(p.git_branch === undefined ? {} : { branch: p.git_branch }),
      ...(p.git_origin_url === undefined ? {} : { originUrl: p.git_origin_url })
    }

/** Answers one `ThreadRequest` the way the seed's runtime does (where the seed is right). */
export const handleThreadRequest = (
  store: ThreadStoreShape,
  request: ThreadRequest
): Effect.Effect<ThreadResponse, ThreadError> => {
  switch (request.kind) {
    case "create":
      return Effect.flatMap(store.create({ metadata: request.metadata }), (row) => fromThread(store, "created", row))
    case "start":
      return Effect.flatMap(
        store.start({
          model: request.model,
          modelProvider: request.model_provider,
          cwd: request.cwd,
          persistExtendedHistory: request.persist_extended_history,
          name: request.name,
          approvalPolicy: request.approval_policy,
          sandbox: request.sandbox,
          git: gitOf(request)
        }),
        (row) => fromThread(store, "started", row)
      )
    case "resume":
      return store.resume({
        threadId: request.thread_id,
        history: request.history,
        path: request.path,
        model: request.model,
        modelProvider: request.model_provider,
        cwd: request.cwd,
        approvalPolicy: request.approval_policy,
        sandbox: request.sandbox,
        git: gitOf(request),
        unarchive: request.unarchive
      }).pipe(
        Effect.flatMap((row) => fromThread(store, "resumed", row)),
        Effect.catchTag("ThreadNotFound", () => Effect.succeed(missing(request.thread_id, request)))
      )
    case "fork":
      return store.fork({
        threadId: request.thread_id,
        version: request.version,
        model: request.model,
        modelProvider: request.model_provider,
        cwd: request.cwd,
        approvalPolicy: request.approval_policy,
        sandbox: request.sandbox,
        persistExtendedHistory: request.persist_extended_history,
        git: gitOf(request)
      }).pipe(
        Effect.flatMap((row) => fromThread(store, "forked", row)),
        Effect.catchTag("ThreadNotFound", () => Effect.succeed(missing(request.thread_id, request)))
      )
    case "list":
      return Effect.map(
        store.list({
          includeArchived: request.include_archived,
          archived: request.archived,
          limit: request.limit,
          cursor: request.cursor,
          cwd: request.cwd,
          search: request.search
        }),
        (page): ThreadResponse => ({
          ...base("list", "ok"),
          threads: page.threads.map(toWireThread),
          data: page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }
        })
      )
    case "read":
      return Effect.gen(function*() {
        const row = yield* store.get(request.thread_id)
        const data = yield* threadData(store, row.threadId, {
          limit: request.limit,
          before: request.before,
          leafId: request.leaf_id
        })
        return {
          ...base(row.threadId, "ok"),
          thread: toWireThread(row),
          ...(row.goal === null ? {} : { goal: toWireGoal(row.threadId, row.goal) }),
          data
        }
      })
    case "set_name":
      return Effect.map(store.rename(request.thread_id, request.name), (row): ThreadResponse => ({
        ...base(row.threadId, "ok"),
        thread: toWireThread(row)
      }))
    case "goal_set":
      return store.goalSet(request.thread_id, { objective: request.objective, tokenBudget: request.token_budget }).pipe(
        Effect.map((row): ThreadResponse => {
          const goal = toWireGoal(request.thread_id, row)
          return { ...base(request.thread_id, "ok"), goal, events: [{ event: "thread_goal_updated", goal }], data: { goal } }
        }),
        Effect.catchTag("ThreadNotFound", () => Effect.succeed(missing(request.thread_id, {})))
      )
    case "goal_get":
      return store.goalGet(request.thread_id).pipe(
        Effect.map((row): ThreadResponse => {
          const goal = row === null ? null : toWireGoal(request.thread_id, row)
          return { ...base(request.thread_id, "ok"), ...(goal === null ? {} : { goal }), data: { goal } }
        }),
        Effect.catchTag("ThreadNotFound", () => Effect.succeed(missing(request.thread_id, {})))
      )
    case "goal_clear":
      return store.goalClear(request.thread_id).pipe(
        Effect.map((cleared): ThreadResponse =>
          cleared === null
            ? { ...base(request.thread_id, "empty"), data: { cleared: false } }
            : {
              ...base(request.thread_id, "cleared"),
              events: [{ event: "thread_goal_cleared", thread_id: request.thread_id }],
              data: { cleared: true, goal_id: cleared.goalId }
            }
        ),
        Effect.catchTag("ThreadNotFound", () => Effect.succeed(missing(request.thread_id, {})))
      )
    case "archive":
      return Effect.as(store.archive(request.thread_id), base(request.thread_id, "archived"))
    case "unarchive":
      return Effect.as(store.unarchive(request.thread_id), base(request.thread_id, "unarchived"))
    case "message":
      return Effect.gen(function*() {
        const { entry } = yield* store.addMessage(request.thread_id, { role: "user", content: request.input })
        const responseId = `resp-${entry.entryId.slice("entry-".length)}`
        return {
          ...base(request.thread_id, "accepted"),
          events: [
            { event: "response_start" as const, response_id: responseId },
            { event: "response_delta" as const, response_id: responseId, delta: "queued" },
            { event: "response_end" as const, response_id: responseId }
          ],
          data: { entry_id: entry.entryId }
        }
      })
  }
}

/** Decodes a JSON `ThreadRequest`; a malformed one is `InvalidThreadInput` naming what is wrong. */
export const decodeThreadRequest = (input: unknown): Effect.Effect<ThreadRequest, InvalidThreadInput> =>
  Schema.decodeUnknown(ThreadRequestSchema, { errors: "first" })(input).pipe(
    Effect.mapError((e) => new InvalidThreadInput({ field: "request", detail: ParseResult.TreeFormatter.formatErrorSync(e) }))
  )
