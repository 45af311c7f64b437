/**
 * The seed's thread goal wire shapes (reference §1.3): `ThreadGoalStatus`, `ThreadGoal`
 * (`token_budget` omitted when absent, timestamps in Unix seconds) and the params of the
 * `goal_set`, `goal_get` and `goal_clear` thread requests. A thread has at most one goal; setting
 * one replaces the previous goal (new `goal-<id>`, counters back to 0).
 */
import { Schema } from "effect"

/** The status of a goal (the seed's `ThreadGoalStatus` strings). */
export const ThreadGoalStatus = Schema.Literal("active", "paused", "blocked", "usage_limited", "budget_limited", "complete")
/** The status of a goal. */
export type ThreadGoalStatus = typeof ThreadGoalStatus.Type

/** The longest goal objective, in characters. */
export const MaxGoalObjectiveLength = 10_000

/** A goal objective: not blank, at most 10 000 characters. */
export const GoalObjective = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0, { message: () => "must not be empty", jsonSchema: { pattern: "\\S" } }),
  Schema.filter((s) => s.length <= MaxGoalObjectiveLength, {
    message: () => `must be at most ${MaxGoalObjectiveLength} characters`,
    jsonSchema: { maxLength: MaxGoalObjectiveLength }
  })
)

/** A token budget: a positive integer. */
export const GoalTokenBudget = Schema.Int.pipe(
  Schema.positive({ message: () => "must be a positive integer" })
)

/** The seed's `ThreadGoal`; `token_budget` is omitted when the goal has none. */
export const ThreadGoal = Schema.Struct({
  thread_id: Schema.String,
  goal_id: Schema.String,
  objective: Schema.String,
  status: ThreadGoalStatus,
  token_budget: Schema.optionalWith(Schema.Int, { nullable: true }),
  tokens_used: Schema.Int,
  time_used_seconds: Schema.Int,
  /** Unix seconds. */
  created_at: Schema.Int,
  /** Unix seconds. */
  updated_at: Schema.Int
})
/** The seed's `ThreadGoal`. */
export type ThreadGoal = typeof ThreadGoal.Type

/** `goal_set` params: `thread_id`, `objective`, `token_budget?`. */
export const ThreadGoalSetParams = Schema.Struct({
  thread_id: Schema.String,
  objective: GoalObjective,
  token_budget: Schema.optionalWith(GoalTokenBudget, { nullable: true })
})
/** `goal_set` params. */
export type ThreadGoalSetParams = typeof ThreadGoalSetParams.Type

/** `goal_get` and `goal_clear` params: `thread_id`. */
export const ThreadGoalParams = Schema.Struct({
  thread_id: Schema.String
})
/** `goal_get` and `goal_clear` params. */
export type ThreadGoalParams = typeof ThreadGoalParams.Type
