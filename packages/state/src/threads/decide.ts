/**
 * The thread decider: `decide(command, state)` returns the events a command produces, or the typed
 * reason it is refused. Pure: ids and clock readings arrive in the command, facts read from the
 * read model (whether a rewind target is in this thread's tree) arrive resolved.
 */
import {
  type EventDefinition,
  ThreadArchived,
  ThreadCheckpointSaved,
  ThreadCreated,
  type ThreadGit,
  ThreadGoalCleared,
  ThreadGoalSet,
  MaxGoalObjectiveLength,
  type ThreadLineage,
  ThreadLeafMoved,
  ThreadMessageAdded,
  ThreadRenamed,
  ThreadResumed,
  type ThreadSourceValue,
  ThreadUnarchived
} from "@codewhale/protocol"
import { Either } from "effect"
import {
  type ThreadDecisionError,
  EntryNotFound,
  InvalidThreadInput,
  ThreadAlreadyExists,
  ThreadIsArchived,
  ThreadNotFound
} from "./errors.ts"
import type { ThreadState } from "./projections.ts"
import { fingerprint } from "./model.ts"

/** An event a decision produces: its definition and a payload checked against it. */
export interface ThreadEventDraft {
  readonly definition: EventDefinition<string, any, any>
  readonly payload: unknown
}

const draft = <T extends string, A, I>(definition: EventDefinition<T, A, I>, payload: A): ThreadEventDraft => ({
  definition,
  payload
})

/** The longest thread or checkpoint name. */
export const MaxNameLength = 200
/** The longest message content, in characters. */
export const MaxContentLength = 1_000_000
/** The largest checkpoint state, as JSON text. */
export const MaxCheckpointStateLength = 1_000_000

/** Metadata fields a resume may override. */
export type ResumeField =
  | "cwd"
  | "model"
  | "modelProvider"
  | "path"
  | "approvalPolicy"
  | "sandbox"
  | "gitSha"
  | "gitBranch"
  | "gitOriginUrl"

/** The settings a new thread starts with. */
export interface ThreadSettings {
  readonly modelProvider: string
  readonly model?: string | undefined
  readonly cwd: string
  readonly ephemeral: boolean
  readonly cliVersion: string
  readonly name?: string | undefined
  readonly path?: string | undefined
  readonly git?: ThreadGit | undefined
  readonly approvalPolicy?: string | undefined
  readonly sandbox?: string | undefined
}

/** A command to one thread. */
export type ThreadCommand =
  | {
    readonly _tag: "Create"
    readonly at: number
    readonly via: "create" | "start" | "fork"
    readonly source: ThreadSourceValue
    readonly settings: ThreadSettings
    readonly preview: string
    readonly metadata?: unknown
    readonly forkedFrom?: ThreadLineage | undefined
  }
  | {
    readonly _tag: "Resume"
    readonly at: number
    readonly overrides: Partial<Record<ResumeField, string>>
    readonly unarchive: boolean
    /** History items to record (each with a pre-generated entry id); a prefix already imported is skipped. */
    readonly history: ReadonlyArray<{ readonly entryId: string; readonly item: unknown }>
  }
  | { readonly _tag: "Rename"; readonly at: number; readonly name: string }
  | { readonly _tag: "Archive"; readonly at: number }
  | { readonly _tag: "Unarchive"; readonly at: number }
  | {
    readonly _tag: "AddMessage"
    readonly at: number
    readonly entryId: string
    readonly role: string
    readonly content: string
    readonly item?: unknown
  }
  | {
    readonly _tag: "Rewind"
    readonly at: number
    /** The entry to continue from; null: the start of this thread's own history. */
    readonly to: string | null
    /** Whether `to` was found in this thread's tree (own entries or inherited fork history). */
    readonly targetInTree: boolean
  }
  | {
    readonly _tag: "SaveCheckpoint"
    readonly at: number
    readonly checkpointId: string
    readonly state: unknown
  }
  | {
    readonly _tag: "SetGoal"
    readonly at: number
    /** `goal-<id>`, generated before deciding. */
    readonly goalId: string
    readonly objective: string
    readonly tokenBudget?: number | undefined
  }
  | { readonly _tag: "ClearGoal"; readonly at: number }

const controlChars = /[\u0000-\u001f\u007f]/

/** Validates a display or checkpoint name: trimmed, 1..200 characters, no control characters. */
export const validateName = (field: string, name: string): Either.Either<string, InvalidThreadInput> => {
  const trimmed = name.trim()
  if (trimmed.length === 0) return Either.left(new InvalidThreadInput({ field, detail: "must not be empty" }))
  if (Array.from(trimmed).length > MaxNameLength) {
    return Either.left(new InvalidThreadInput({ field, detail: `is longer than ${MaxNameLength} characters` }))
  }
  if (controlChars.test(trimmed)) {
    return Either.left(new InvalidThreadInput({ field, detail: "must not contain control characters (newlines, tabs, ...)" }))
  }
  return Either.right(trimmed)
}

/** Whether a value is plain JSON (what survives a JSON round trip unchanged). */
export const isJsonValue = (value: unknown): boolean => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true
  if (typeof value === "number") return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(isJsonValue)
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value)
    return (proto === Object.prototype || proto === null) && Object.values(value as object).every(isJsonValue)
  }
  return false
}

const none: Either.Either<ReadonlyArray<ThreadEventDraft>, ThreadDecisionError> = Either.right([])

/** Decides a command against a thread's state (`state.row` null: no such thread yet). */
export const decide = (
  threadId: string,
  command: ThreadCommand,
  state: ThreadState
): Either.Either<ReadonlyArray<ThreadEventDraft>, ThreadDecisionError> => {
  const row = state.row
  if (command._tag === "Create") {
    if (row !== null) return Either.left(new ThreadAlreadyExists({ threadId }))
    const s = command.settings
    if (s.cwd.length === 0) return Either.left(new InvalidThreadInput({ field: "cwd", detail: "must not be empty" }))
    if (s.modelProvider.trim().length === 0) {
      return Either.left(new InvalidThreadInput({ field: "model_provider", detail: "must not be empty" }))
    }
    let name: string | undefined
    if (s.name !== undefined) {
      const checked = validateName("name", s.name)
      if (Either.isLeft(checked)) return Either.left(checked.left)
      name = checked.right
    }
    if (command.metadata !== undefined && !isJsonValue(command.metadata)) {
      return Either.left(new InvalidThreadInput({ field: "metadata", detail: "must be JSON" }))
    }
    return Either.right([
      draft(ThreadCreated, {
        at: command.at,
        via: command.via,
        source: command.source,
        modelProvider: s.modelProvider,
        ...(s.model === undefined ? {} : { model: s.model }),
        cwd: s.cwd,
        ephemeral: s.ephemeral,
        cliVersion: s.cliVersion,
        preview: command.preview,
        ...(name === undefined ? {} : { name }),
        ...(s.path === undefined ? {} : { path: s.path }),
        ...(s.git === undefined ? {} : { git: s.git }),
        ...(s.approvalPolicy === undefined ? {} : { approvalPolicy: s.approvalPolicy }),
        ...(s.sandbox === undefined ? {} : { sandbox: s.sandbox }),
        ...(command.metadata === undefined ? {} : { metadata: command.metadata }),
        ...(command.forkedFrom === undefined ? {} : { forkedFrom: command.forkedFrom })
      })
    ])
  }
  if (row === null) return Either.left(new ThreadNotFound({ threadId }))
  const archived = row.status === "archived"
  switch (command._tag) {
    case "Resume": {
      if (archived && !command.unarchive) return Either.left(new ThreadIsArchived({ threadId, operation: "resume" }))
      const drafts: Array<ThreadEventDraft> = []
      let status = row.status
      if (archived) {
        status = row.statusBeforeArchive ?? "idle"
        drafts.push(draft(ThreadUnarchived, { at: command.at, restoredStatus: status }))
      }
      const current: Record<ResumeField, string | null> = {
        cwd: row.cwd,
        model: row.model,
        modelProvider: row.modelProvider,
        path: row.path,
        approvalPolicy: row.approvalPolicy,
        sandbox: row.sandbox,
        gitSha: row.gitSha,
        gitBranch: row.gitBranch,
        gitOriginUrl: row.gitOriginUrl
      }
      const changes: Partial<Record<ResumeField, { from: string | null; to: string | null }>> = {}
      for (const [field, value] of Object.entries(command.overrides) as Array<[ResumeField, string | undefined]>) {
        if (value === undefined || value === current[field]) continue
        if ((field === "cwd" || field === "modelProvider") && value.trim().length === 0) {
          return Either.left(new InvalidThreadInput({ field: field === "cwd" ? "cwd" : "model_provider", detail: "must not be empty" }))
        }
        changes[field] = { from: current[field], to: value }
      }
      drafts.push(draft(ThreadResumed, { at: command.at, previousStatus: status, changes }))
      const prints = command.history.map((h) => fingerprint(h.item))
      let skip = 0
      while (skip < prints.length && skip < state.imported.length && prints[skip] === state.imported[skip]) skip++
      let parent = row.leafId
      for (const h of command.history.slice(skip)) {
        if (!isJsonValue(h.item)) return Either.left(new InvalidThreadInput({ field: "history", detail: "items must be JSON" }))
        drafts.push(
          draft(ThreadMessageAdded, {
            at: command.at,
            entryId: h.entryId,
            parentId: parent,
            role: "history",
            content: JSON.stringify(h.item),
            item: h.item
          })
        )
        parent = h.entryId
      }
      return Either.right(drafts)
    }
    case "Rename": {
      const checked = validateName("name", command.name)
      if (Either.isLeft(checked)) return Either.left(checked.left)
      if (checked.right === row.name) return none
      return Either.right([draft(ThreadRenamed, { at: command.at, name: checked.right, previousName: row.name })])
    }
    case "Archive":
      return archived ? none : Either.right([draft(ThreadArchived, { at: command.at, previousStatus: row.status })])
    case "Unarchive":
      return archived
        ? Either.right([draft(ThreadUnarchived, { at: command.at, restoredStatus: row.statusBeforeArchive ?? "idle" })])
        : none
    case "AddMessage": {
      if (archived) return Either.left(new ThreadIsArchived({ threadId, operation: "add a message" }))
      const role = command.role.trim()
      if (role.length === 0 || role.length > 64 || controlChars.test(role)) {
        return Either.left(new InvalidThreadInput({ field: "role", detail: "must be 1..64 characters without control characters" }))
      }
      if (command.content.trim().length === 0) return Either.left(new InvalidThreadInput({ field: "input", detail: "must not be empty" }))
      if (command.content.length > MaxContentLength) {
        return Either.left(new InvalidThreadInput({ field: "input", detail: `is longer than ${MaxContentLength} characters` }))
      }
      if (command.item !== undefined && !isJsonValue(command.item)) {
        return Either.left(new InvalidThreadInput({ field: "item", detail: "must be JSON" }))
      }
      return Either.right([
        draft(ThreadMessageAdded, {
          at: command.at,
          entryId: command.entryId,
          parentId: row.leafId,
          role,
          content: command.content,
          ...(command.item === undefined ? {} : { item: command.item })
        })
      ])
    }
    case "Rewind": {
      if (archived) return Either.left(new ThreadIsArchived({ threadId, operation: "rewind" }))
      const to = command.to ?? row.forkBaseEntryId
      if (command.to !== null && !command.targetInTree) {
        return Either.left(new EntryNotFound({ threadId, entryId: command.to }))
      }
      if (to === row.leafId) return none
      return Either.right([draft(ThreadLeafMoved, { at: command.at, from: row.leafId, to, reason: "rewind" as const })])
    }
    case "SaveCheckpoint": {
      if (archived) return Either.left(new ThreadIsArchived({ threadId, operation: "save a checkpoint" }))
      const checked = validateName("checkpoint name", command.checkpointId)
      if (Either.isLeft(checked)) return Either.left(checked.left)
      if (!isJsonValue(command.state)) return Either.left(new InvalidThreadInput({ field: "checkpoint state", detail: "must be JSON" }))
      if (JSON.stringify(command.state).length > MaxCheckpointStateLength) {
        return Either.left(
          new InvalidThreadInput({ field: "checkpoint state", detail: `is larger than ${MaxCheckpointStateLength} characters of JSON` })
        )
      }
      return Either.right([
        draft(ThreadCheckpointSaved, { at: command.at, checkpointId: checked.right, state: command.state, entryId: row.leafId })
      ])
    }
    case "SetGoal": {
      if (archived) return Either.left(new ThreadIsArchived({ threadId, operation: "set a goal" }))
      if (command.objective.trim().length === 0) return Either.left(new InvalidThreadInput({ field: "objective", detail: "must not be empty" }))
      if (command.objective.length > MaxGoalObjectiveLength) {
        return Either.left(new InvalidThreadInput({ field: "objective", detail: `is longer than ${MaxGoalObjectiveLength} characters` }))
      }
      if (command.tokenBudget !== undefined && (!Number.isSafeInteger(command.tokenBudget) || command.tokenBudget < 1)) {
        return Either.left(new InvalidThreadInput({ field: "token_budget", detail: "must be a positive integer" }))
      }
      return Either.right([
        draft(ThreadGoalSet, {
          at: command.at,
          goalId: command.goalId,
          objective: command.objective,
          ...(command.tokenBudget === undefined ? {} : { tokenBudget: command.tokenBudget }),
          replacedGoalId: row.goal?.goalId ?? null
        })
      ])
    }
    case "ClearGoal":
      return row.goal === null ? none : Either.right([draft(ThreadGoalCleared, { at: command.at, goalId: row.goal.goalId })])
  }
}
