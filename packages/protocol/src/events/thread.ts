/**
 * Events of a thread's stream (`thread-<uuidv7>`): creation (start, create, fork), resume, rename,
 * archive, unarchive, messages (entries of a tree: each names its parent), leaf moves (branching),
 * named checkpoints and the thread's goal (set, replaced, cleared). Clock readings and generated ids are recorded, so replay never reads a
 * clock. Thread metadata, the thread list, history and checkpoints are projections of these.
 */
import { Schema } from "effect"
import { defineEvent } from "../EventRegistry.ts"

/** Wall-clock milliseconds since the epoch, as read when the command was decided (display only). */
const Millis = Schema.Int.pipe(Schema.nonNegative())

/** The lifecycle status of a thread (the seed's `ThreadStatus` strings). */
export const ThreadStatusValue = Schema.Literal("running", "idle", "completed", "failed", "paused", "archived")
/** The lifecycle status of a thread. */
export type ThreadStatusValue = typeof ThreadStatusValue.Type

/** How a thread came to be (the seed's `SessionSource` strings). */
export const ThreadSourceValue = Schema.Literal("interactive", "resume", "fork", "api", "unknown")
/** How a thread came to be. */
export type ThreadSourceValue = typeof ThreadSourceValue.Type

/** Git facts about a thread's working directory, as given by the client. */
export const ThreadGit = Schema.Struct({
  sha: Schema.optional(Schema.String),
  branch: Schema.optional(Schema.String),
  originUrl: Schema.optional(Schema.String)
})
/** Git facts about a thread's working directory. */
export type ThreadGit = typeof ThreadGit.Type

/** Where a fork was taken: the parent thread, its stream version, and the parent's leaf entry there. */
export const ThreadLineage = Schema.Struct({
  threadId: Schema.String,
  version: Schema.Int.pipe(Schema.positive()),
  /** The parent's history leaf at `version` (null when the parent had no messages yet). */
  entryId: Schema.NullOr(Schema.String)
})
/** Where a fork was taken. */
export type ThreadLineage = typeof ThreadLineage.Type

/** A thread came into existence (request `create`, `start`, or `fork`). */
export const ThreadCreated = defineEvent(
  "thread.created",
  Schema.Struct({
    at: Millis,
    /** The request that created it. */
    via: Schema.Literal("create", "start", "fork"),
    source: ThreadSourceValue,
    modelProvider: Schema.String,
    model: Schema.optional(Schema.String),
    cwd: Schema.String,
    ephemeral: Schema.Boolean,
    cliVersion: Schema.String,
    preview: Schema.String,
    name: Schema.optional(Schema.String),
    path: Schema.optional(Schema.String),
    git: Schema.optional(ThreadGit),
    approvalPolicy: Schema.optional(Schema.String),
    sandbox: Schema.optional(Schema.String),
    /** The `metadata` value of a `create` request, kept as given. */
    metadata: Schema.optional(Schema.Unknown),
    /** Set on forks: the fork's history is the parent's history up to here, then its own. */
    forkedFrom: Schema.optional(ThreadLineage)
  })
)

/** One changed metadata field: its value before and after. */
export const ThreadFieldChange = Schema.Struct({
  from: Schema.NullOr(Schema.String),
  to: Schema.NullOr(Schema.String)
})

/** A thread was resumed; only the fields the request overrode changed, and they are listed. */
export const ThreadResumed = defineEvent(
  "thread.resumed",
  Schema.Struct({
    at: Millis,
    previousStatus: ThreadStatusValue,
    changes: Schema.Struct({
      cwd: Schema.optional(ThreadFieldChange),
      model: Schema.optional(ThreadFieldChange),
      modelProvider: Schema.optional(ThreadFieldChange),
      path: Schema.optional(ThreadFieldChange),
      approvalPolicy: Schema.optional(ThreadFieldChange),
      sandbox: Schema.optional(ThreadFieldChange),
      gitSha: Schema.optional(ThreadFieldChange),
      gitBranch: Schema.optional(ThreadFieldChange),
      gitOriginUrl: Schema.optional(ThreadFieldChange)
    })
  })
)

/** A thread's display name was set. */
export const ThreadRenamed = defineEvent(
  "thread.renamed",
  Schema.Struct({
    at: Millis,
    name: Schema.String,
    previousName: Schema.NullOr(Schema.String)
  })
)

/** A thread was archived; the status it had is kept so unarchive can restore it. */
export const ThreadArchived = defineEvent(
  "thread.archived",
  Schema.Struct({
    at: Millis,
    previousStatus: ThreadStatusValue
  })
)

/** A thread was unarchived and got back the status it had before archiving. */
export const ThreadUnarchived = defineEvent(
  "thread.unarchived",
  Schema.Struct({
    at: Millis,
    restoredStatus: ThreadStatusValue
  })
)

/**
 * A history entry was added under `parentId` (null: a root) and became the thread's leaf.
 * `parentId` may name an entry of the thread a fork was taken from.
 */
export const ThreadMessageAdded = defineEvent(
  "thread.message_added",
  Schema.Struct({
    at: Millis,
    entryId: Schema.String,
    parentId: Schema.NullOr(Schema.String),
    role: Schema.String,
    content: Schema.String,
    item: Schema.optional(Schema.Unknown)
  })
)

/** The thread's leaf moved (e.g. rewound to an earlier entry); the abandoned branch stays in the log. */
export const ThreadLeafMoved = defineEvent(
  "thread.leaf_moved",
  Schema.Struct({
    at: Millis,
    from: Schema.NullOr(Schema.String),
    to: Schema.NullOr(Schema.String),
    reason: Schema.Literal("rewind")
  })
)

/** A named checkpoint was saved; saving a name again replaces it and makes it the latest. */
export const ThreadCheckpointSaved = defineEvent(
  "thread.checkpoint_saved",
  Schema.Struct({
    at: Millis,
    checkpointId: Schema.String,
    state: Schema.Unknown,
    /** The thread's leaf when the checkpoint was saved. */
    entryId: Schema.NullOr(Schema.String)
  })
)

/**
 * The thread's goal was set (`goal_set`): a new goal with status `active` and zero usage. A thread
 * has at most one goal, so this replaces any previous one (named in `replacedGoalId`).
 */
export const ThreadGoalSet = defineEvent(
  "thread.goal_set",
  Schema.Struct({
    at: Millis,
    /** `goal-<id>`, generated when the command was decided. */
    goalId: Schema.String,
    objective: Schema.String,
    tokenBudget: Schema.optional(Schema.Int.pipe(Schema.positive())),
    /** The goal this one replaces (null: the thread had none). */
    replacedGoalId: Schema.NullOr(Schema.String)
  })
)

/** The thread's goal was cleared (`goal_clear`); only recorded when there was one. */
export const ThreadGoalCleared = defineEvent(
  "thread.goal_cleared",
  Schema.Struct({
    at: Millis,
    goalId: Schema.String
  })
)

/** Every thread event definition. */
export const threadEventDefinitions = [
  ThreadCreated,
  ThreadResumed,
  ThreadRenamed,
  ThreadArchived,
  ThreadUnarchived,
  ThreadMessageAdded,
  ThreadLeafMoved,
  ThreadCheckpointSaved,
  ThreadGoalSet,
  ThreadGoalCleared
] as const
