/**
 * Hook-run events: every command hook run is recorded (started, finished with exit code, duration,
 * outcome, decision and its captured output), so replay never re-runs a hook. Runs that belong to
 * a tool call are appended to that call's stream; others to the stream the caller names.
 */
import { Schema } from "effect"
import { defineEvent } from "../EventRegistry.ts"

/** The hook events of the Claude Code / Codex contract. */
export const HookEventName = Schema.Literal(
  "SessionStart",
  "UserPromptSubmit",
  "PreToolUse",
  "PermissionRequest",
  "PostToolUse",
  "PostToolUseFailure",
  "Stop",
  "SessionEnd"
)
/** A hook event name. */
export type HookEventName = typeof HookEventName.Type

/** How a hook run ended. */
export const HookRunOutcome = Schema.Literal("success", "blocked", "error", "timed_out")
/** How a hook run ended. */
export type HookRunOutcome = typeof HookRunOutcome.Type

/** A permission decision a hook returned. */
export const HookDecision = Schema.Literal("allow", "deny", "ask")
/** A permission decision a hook returned. */
export type HookDecision = typeof HookDecision.Type

/** A command hook was started. */
export const HookRunStarted = defineEvent(
  "hook.run_started",
  Schema.Struct({
    run_id: Schema.String,
    hook_name: Schema.String,
    hook_event: HookEventName,
    matcher: Schema.NullOr(Schema.String),
    command: Schema.String,
    timeout_ms: Schema.Int,
    on_failure: Schema.Literal("block", "continue"),
    tool_name: Schema.NullOr(Schema.String),
    call_id: Schema.NullOr(Schema.String),
    thread_id: Schema.NullOr(Schema.String),
    at: Schema.Int
  })
)

/** A command hook finished (or was killed at its timeout). `stdout`/`stderr` are capped. */
export const HookRunFinished = defineEvent(
  "hook.run_finished",
  Schema.Struct({
    run_id: Schema.String,
    hook_name: Schema.String,
    hook_event: HookEventName,
    outcome: HookRunOutcome,
    exit_code: Schema.NullOr(Schema.Int),
    duration_ms: Schema.Int,
    decision: Schema.NullOr(HookDecision),
    reason: Schema.NullOr(Schema.String),
    updated_input: Schema.optional(Schema.Unknown),
    additional_context: Schema.NullOr(Schema.String),
    /** Whether this run stops the action (deny, exit 2, or a failure with `on_failure = "block"`). */
    blocking: Schema.Boolean,
    error: Schema.NullOr(Schema.String),
    stdout: Schema.String,
    stderr: Schema.String,
    at: Schema.Int
  })
)

/** Every hook event definition. */
export const hookEventDefinitions = [HookRunStarted, HookRunFinished] as const
