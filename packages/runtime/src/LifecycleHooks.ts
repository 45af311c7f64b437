/**
 * Lifecycle command hooks fired by the `Runtime` (the tool hooks are fired by the `ToolPipeline`):
 *
 * - `SessionStart` when a thread is created or started (`source` `startup`), forked (`fork`) or
 *   resumed (`resume`); `session_id` is the thread id and `matcher` matches the source.
 * - `UserPromptSubmit` in `handlePrompt`, before anything is recorded; a blocking run (exit code 2,
 *   `decision: "block"`/`"deny"`, `continue: false`, or a failure of an `on_failure = "block"` hook)
 *   stops the prompt.
 * - `Stop` once the response of a prompt is recorded.
 * - `SessionEnd` for every session this runtime started, when the runtime shuts down (`reason`
 *   `shutdown`, matched by `matcher`).
 *
 * Every run is recorded as `hook.run_started` / `hook.run_finished` in the runtime's session
 * stream (`session-<id>`, one per runtime), with `thread_id` naming the thread. Secrets never
 * enter the log: the configured API key is replaced by `[redacted]` in everything a run records
 * (its output included), so a hook that prints its environment cannot leak it.
 */
import { type CommandHooksShape, type HookInvocation, type HookOutcome, type HookRecorder, redactSecrets, streamRecorder } from "@codewhale/hooks"
import { IdGenerator } from "@codewhale/protocol"
import { EventStore } from "@codewhale/state"
import { Effect, Redacted, Schema } from "effect"

/** Recording a lifecycle hook run in the log failed. */
export class LifecycleHookError extends Schema.TaggedError<LifecycleHookError>()("LifecycleHookError", {
  hookEvent: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `recording a ${this.hookEvent} hook run failed: ${this.detail}`
  }
}

/** What a runtime needs to fire lifecycle hooks. */
export interface LifecycleHooksOptions {
  readonly hooks: CommandHooksShape
  /** The stream runs are recorded in (`session-<id>`). */
  readonly streamId: string
  readonly store: EventStore["Type"]
  readonly ids: IdGenerator["Type"]
  /** Values that must never be recorded (the API key). */
  readonly secrets: Effect.Effect<ReadonlyArray<Redacted.Redacted<string> | undefined>>
}

/** Fires one lifecycle event's hooks. */
export type FireLifecycleHooks = (invocation: HookInvocation) => Effect.Effect<HookOutcome, LifecycleHookError>

/** Builds the function that runs a lifecycle event's hooks and records them, redacted, in `streamId`. */
export const makeLifecycleHooks = (options: LifecycleHooksOptions): FireLifecycleHooks => {
  const base = streamRecorder(options.streamId)
  const provide = <A, E>(effect: Effect.Effect<A, E, EventStore | IdGenerator>) =>
    effect.pipe(Effect.provideService(EventStore, options.store), Effect.provideService(IdGenerator, options.ids))
  const secrets = Effect.map(options.secrets, (list) => list.flatMap((s) => (s === undefined ? [] : [Redacted.value(s)])))
  const fail = (hookEvent: string) => (e: unknown) =>
    new LifecycleHookError({ hookEvent, detail: typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e) })
  const recorder: HookRecorder<LifecycleHookError> = {
    started: (run) =>
      Effect.flatMap(secrets, (s) => provide(base.started(redactSecrets(run, s))).pipe(Effect.mapError(fail(run.hook_event)))),
    finished: (run) =>
      Effect.flatMap(secrets, (s) => provide(base.finished(redactSecrets(run, s))).pipe(Effect.mapError(fail(run.hook_event))))
  }
  return (invocation) =>
    options.hooks.matching(invocation).length === 0
      ? Effect.succeed({ runs: [], blockedBy: null, decision: null, decidedBy: null, updatedInput: undefined, updatedBy: null, additionalContext: null })
      : options.hooks.run(invocation, recorder)
}
