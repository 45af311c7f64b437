/**
 * The seed's thread wire shapes: `ThreadRequest` (tagged by `kind`, snake_case), its params,
 * `Thread` and `ThreadResponse`. Optional fields accept `null` or absence on input and are omitted
 * on output, as serde does; `threads`, `events` and `data` are always present. Codewhale TS adds a
 * few optional fields (cursor, filters, history paging, fork version, lineage); a seed client never
 * sends them and may ignore them in responses.
 */
import { Schema } from "effect"
import { ThreadSourceValue, ThreadStatusValue } from "../events/thread.ts"
import { EventFrame } from "./frames.ts"
import { ThreadGoal, ThreadGoalParams, ThreadGoalSetParams } from "./goal.ts"

/** An optional field: `null` or absent on input, omitted on output. */
const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { nullable: true })

/** A thread id on the wire: `thread-<id>`. */
export const ThreadIdString = Schema.String.pipe(
  Schema.pattern(/^thread-[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, {
    message: () => "a thread id is `thread-<id>` (letters, digits, `.`, `_`, `:` or `-`, at most 200 after the prefix)"
  })
)

/** Where a fork was taken, on the wire (Codewhale TS addition). */
export const ThreadForkedFromJson = Schema.Struct({
  thread_id: Schema.String,
  version: Schema.Int
})
/** Where a fork was taken, on the wire. */
export type ThreadForkedFromJson = typeof ThreadForkedFromJson.Type

/** The seed's `Thread`: `path` and `name` are omitted when absent, the rest always present. */
export const Thread = Schema.Struct({
  id: Schema.String,
  preview: Schema.String,
  ephemeral: Schema.Boolean,
  model_provider: Schema.String,
  /** Unix seconds. */
  created_at: Schema.Int,
  /** Unix seconds. */
  updated_at: Schema.Int,
  status: ThreadStatusValue,
  path: opt(Schema.String),
  cwd: Schema.String,
  cli_version: Schema.String,
  source: ThreadSourceValue,
  name: opt(Schema.String),
  /** Set on forks (Codewhale TS addition). */
  forked_from: opt(ThreadForkedFromJson),
  /** The thread's goal, when it has one (Codewhale TS addition: the thread list shows goals). */
  goal: opt(ThreadGoal)
})
/** The seed's `Thread`. */
export type Thread = typeof Thread.Type

/** `start` params. */
export const ThreadStartParams = Schema.Struct({
  model: opt(Schema.String),
  model_provider: opt(Schema.String),
  cwd: opt(Schema.String),
  persist_extended_history: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Codewhale TS additions. */
  name: opt(Schema.String),
  approval_policy: opt(Schema.String),
  sandbox: opt(Schema.String),
  git_sha: opt(Schema.String),
  git_branch: opt(Schema.String),
  git_origin_url: opt(Schema.String)
})
/** `start` params. */
export type ThreadStartParams = typeof ThreadStartParams.Type

const resumeLikeFields = {
  thread_id: Schema.String,
  path: opt(Schema.String),
  model: opt(Schema.String),
  model_provider: opt(Schema.String),
  cwd: opt(Schema.String),
  approval_policy: opt(Schema.String),
  sandbox: opt(Schema.String),
  config: opt(Schema.Unknown),
  base_instructions: opt(Schema.String),
  developer_instructions: opt(Schema.String),
  persist_extended_history: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Codewhale TS additions. */
  git_sha: opt(Schema.String),
  git_branch: opt(Schema.String),
  git_origin_url: opt(Schema.String)
}

/** `resume` params. Codewhale TS adds `unarchive`: resuming an archived thread must ask for it. */
export const ThreadResumeParams = Schema.Struct({
  ...resumeLikeFields,
  history: opt(Schema.Array(Schema.Unknown)),
  personality: opt(Schema.String),
  unarchive: opt(Schema.Boolean)
})
/** `resume` params. */
export type ThreadResumeParams = typeof ThreadResumeParams.Type

/** `fork` params. Codewhale TS adds `version`: fork the parent as of that stream version (default: head). */
export const ThreadForkParams = Schema.Struct({
  ...resumeLikeFields,
  version: opt(Schema.Int)
})
/** `fork` params. */
export type ThreadForkParams = typeof ThreadForkParams.Type

/**
 * `list` params. Codewhale TS adds `cursor` (opaque, from `data.next_cursor`), `archived` (only
 * archived / only active; overrides `include_archived`), `cwd` and `search` (name and preview).
 */
export const ThreadListParams = Schema.Struct({
  include_archived: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  limit: opt(Schema.Int),
  cursor: opt(Schema.String),
  archived: opt(Schema.Boolean),
  cwd: opt(Schema.String),
  search: opt(Schema.String)
})
/** `list` params. */
export type ThreadListParams = typeof ThreadListParams.Type

/**
 * `read` params. Codewhale TS adds history paging: `limit` entries ending at `leaf_id` (default:
 * the thread's leaf; any entry of the thread shows that branch), or older than `before`.
 */
export const ThreadReadParams = Schema.Struct({
  thread_id: Schema.String,
  limit: opt(Schema.Int),
  before: opt(Schema.String),
  leaf_id: opt(Schema.String)
})
/** `read` params. */
export type ThreadReadParams = typeof ThreadReadParams.Type

/** `set_name` params. */
export const ThreadSetNameParams = Schema.Struct({
  thread_id: Schema.String,
  name: Schema.String
})
/** `set_name` params. */
export type ThreadSetNameParams = typeof ThreadSetNameParams.Type

const request = <const K extends string, F extends Schema.Struct.Fields>(kind: K, fields: F) =>
  Schema.Struct({ kind: Schema.Literal(kind), ...fields })

/** `{"kind":"create","metadata":…}`: `metadata` defaults to (and is written as) `null`. */
export const ThreadCreateRequest = request("create", {
  metadata: Schema.optionalWith(Schema.Unknown, { default: () => null })
})
/** `{"kind":"start",…}`. */
export const ThreadStartRequest = request("start", ThreadStartParams.fields)
/** `{"kind":"resume",…}`. */
export const ThreadResumeRequest = request("resume", ThreadResumeParams.fields)
/** `{"kind":"fork",…}`. */
export const ThreadForkRequest = request("fork", ThreadForkParams.fields)
/** `{"kind":"list",…}`. */
export const ThreadListRequest = request("list", ThreadListParams.fields)
/** `{"kind":"read",…}`. */
export const ThreadReadRequest = request("read", ThreadReadParams.fields)
/** `{"kind":"set_name",…}`. */
export const ThreadSetNameRequest = request("set_name", ThreadSetNameParams.fields)
/** `{"kind":"goal_set","thread_id":…,"objective":…,"token_budget"?:…}`. */
export const ThreadGoalSetRequest = request("goal_set", ThreadGoalSetParams.fields)
/** `{"kind":"goal_get","thread_id":…}`. */
export const ThreadGoalGetRequest = request("goal_get", ThreadGoalParams.fields)
/** `{"kind":"goal_clear","thread_id":…}`. */
export const ThreadGoalClearRequest = request("goal_clear", ThreadGoalParams.fields)
/** `{"kind":"archive","thread_id":…}`. */
export const ThreadArchiveRequest = request("archive", { thread_id: Schema.String })
/** `{"kind":"unarchive","thread_id":…}`. */
export const ThreadUnarchiveRequest = request("unarchive", { thread_id: Schema.String })
/** `{"kind":"message","thread_id":…,"input":…}`. */
export const ThreadMessageRequest = request("message", { thread_id: Schema.String, input: Schema.String })

/** The seed's `ThreadRequest`: every thread variant, goals included. */
export const ThreadRequest = Schema.Union(
  ThreadCreateRequest,
  ThreadStartRequest,
  ThreadResumeRequest,
  ThreadForkRequest,
  ThreadListRequest,
  ThreadReadRequest,
  ThreadSetNameRequest,
  ThreadGoalSetRequest,
  ThreadGoalGetRequest,
  ThreadGoalClearRequest,
  ThreadArchiveRequest,
  ThreadUnarchiveRequest,
  ThreadMessageRequest
)
/** The seed's `ThreadRequest`. */
export type ThreadRequest = typeof ThreadRequest.Type
/** A `ThreadRequest` as JSON. */
export type ThreadRequestJson = typeof ThreadRequest.Encoded

/** The status strings a thread response carries (the seed's). Errors are `error:<message>`. */
export const ThreadResponseStatus = Schema.Literal(
  "created",
  "started",
  "resumed",
  "missing",
  "forked",
  "ok",
  "archived",
  "unarchived",
  "accepted",
  "cleared",
  "empty"
)
/** The status strings a thread response carries. */
export type ThreadResponseStatus = typeof ThreadResponseStatus.Type

/** The seed's `ThreadResponse`: `threads`, `events` and `data` always present, the rest omitted when absent. */
export const ThreadResponse = Schema.Struct({
  thread_id: Schema.String,
  status: Schema.String,
  thread: opt(Thread),
  threads: Schema.Array(Thread),
  goal: opt(ThreadGoal),
  model: opt(Schema.String),
  model_provider: opt(Schema.String),
  cwd: opt(Schema.String),
  approval_policy: opt(Schema.String),
  sandbox: opt(Schema.String),
  events: Schema.Array(EventFrame),
  data: Schema.Unknown
})
/** The seed's `ThreadResponse`. */
export type ThreadResponse = typeof ThreadResponse.Type
/** A `ThreadResponse` as JSON. */
export type ThreadResponseJson = typeof ThreadResponse.Encoded

/** One history entry in `data.history` (the seed's fields plus `parent_id` and the owning `thread_id`). */
export const ThreadHistoryItem = Schema.Struct({
  id: Schema.String,
  role: Schema.String,
  content: Schema.String,
  item: Schema.Unknown,
  /** Unix seconds. */
  created_at: Schema.Int,
  parent_id: Schema.NullOr(Schema.String),
  /** The thread the entry was written in (a fork's inherited entries name the parent). */
  thread_id: Schema.String
})
/** One history entry in `data.history`. */
export type ThreadHistoryItem = typeof ThreadHistoryItem.Type

/** A checkpoint in `data.checkpoint`. */
export const ThreadCheckpointJson = Schema.Struct({
  checkpoint_id: Schema.String,
  state: Schema.Unknown,
  /** Unix seconds. */
  created_at: Schema.Int
})
/** A checkpoint in `data.checkpoint`. */
export type ThreadCheckpointJson = typeof ThreadCheckpointJson.Type

/** A branch tip in `data.branches` (Codewhale TS addition). */
export const ThreadBranchJson = Schema.Struct({
  entry_id: Schema.String,
  role: Schema.String,
  preview: Schema.String,
  created_at: Schema.Int,
  /** Whether this tip is the thread's current leaf. */
  active: Schema.Boolean
})
/** A branch tip in `data.branches`. */
export type ThreadBranchJson = typeof ThreadBranchJson.Type

/**
 * `data` of thread responses that show a thread (create, start, resume, fork, read): the seed's
 * `history` (oldest first, the newest page of the active branch), `checkpoint` (the most
 * recently saved) and `goal`, plus paging and branches.
 */
export const ThreadData = Schema.Struct({
  history: Schema.Array(ThreadHistoryItem),
  checkpoint: Schema.NullOr(ThreadCheckpointJson),
  /** The entry the shown history ends at. */
  leaf_id: Schema.NullOr(Schema.String),
  /** Pass as `before` to read the next older page; absent on the oldest page. */
  history_before: opt(Schema.String),
  branches: Schema.Array(ThreadBranchJson),
  /** The thread's goal (null: none), as the seed's `persisted_thread_data`. */
  goal: Schema.NullOr(ThreadGoal)
})
/** `data` of thread responses that show a thread. */
export type ThreadData = typeof ThreadData.Type

/** The seed's error-shaped response: `thread_id:"error"`, `status:"error:<message>"`. */
export const threadErrorResponse = (error: { readonly _tag: string; readonly message: string }): ThreadResponse => ({
  thread_id: "error",
  status: `error:${error.message}`,
  threads: [],
  events: [],
  data: { error: { tag: error._tag, message: error.message } }
})
