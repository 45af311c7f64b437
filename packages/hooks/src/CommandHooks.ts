/**
 * Command hooks with the Claude Code / Codex contract: the event's JSON on stdin; exit 0 with
 * optional JSON on stdout (`decision` / `permissionDecision` allow|deny|ask, `reason`,
 * `updatedInput`, `additionalContext`, also inside `hookSpecificOutput`); exit 2 blocks with stderr
 * as the reason; other exit codes, timeouts, crashes and invalid output are failures that block only
 * when the hook says `on_failure = "block"`. Hooks of one event run in configuration order; a rewrite
 * is seen by the next hook; the first blocking run stops the rest. Every run is reported to a
 * `HookRecorder` (started, then finished) so the runtime can record it in the log.
 */
import {
  HookRunFinished,
  HookRunStarted,
  IdGenerator,
  makeEnvelope,
  OutputCapture,
  runProcess,
  type HookDecision,
  type HookEventName,
  type HookRunOutcome
} from "@codewhale/protocol"
import { EventStore } from "@codewhale/state"
import { Clock, Context, Effect, Either, Layer, Redacted, Stream } from "effect"
import { compileMatcher, type HookDefinition } from "./HookConfig.ts"
import { redactSecrets } from "./Redaction.ts"

/** The payload of a `hook.run_started` event. */
export type HookRunStartedPayload = typeof HookRunStarted.schema.Type
/** The payload of a `hook.run_finished` event. */
export type HookRunFinishedPayload = typeof HookRunFinished.schema.Type

/** Receives every hook run (to record it); failures of the recorder fail the dispatch. */
export interface HookRecorder<E = never, R = never> {
  readonly started: (run: HookRunStartedPayload) => Effect.Effect<void, E, R>
  readonly finished: (run: HookRunFinishedPayload) => Effect.Effect<void, E, R>
}

/** A recorder that records nothing. */
export const noRecorder: HookRecorder = { started: () => Effect.void, finished: () => Effect.void }

/** A recorder that appends both events to `streamId` (for hooks outside a tool call). */
export const streamRecorder = (streamId: string): HookRecorder<unknown, EventStore | IdGenerator> => ({
  started: (run) => Effect.flatMap(makeEnvelope(HookRunStarted, run), (e) => Effect.flatMap(EventStore, (s) => s.append(streamId, [e]))),
  finished: (run) => Effect.flatMap(makeEnvelope(HookRunFinished, run), (e) => Effect.flatMap(EventStore, (s) => s.append(streamId, [e])))
})

/** What the hooks of one event are told, besides `hook_event_name`, `session_id` and `cwd`. */
export interface HookInvocation {
  readonly event: HookEventName
  /** The thread (sent as `session_id`). */
  readonly sessionId: string | null
  readonly cwd: string
  /** Tool events: the tool's name (matched by `matcher`). */
  readonly toolName?: string | undefined
  /** Tool events: the tool's input (replaced by `updatedInput` for later hooks). */
  readonly toolInput?: unknown
  /** The call id (sent as `tool_use_id`). */
  readonly callId?: string | undefined
  /** SessionStart source / SessionEnd reason (matched by `matcher`). */
  readonly matchValue?: string | undefined
  /** Event-specific fields (`prompt`, `tool_response`, `error`, `source`, `reason`, `permission_mode`, ...). */
  readonly fields?: Record<string, unknown> | undefined
}

/** One hook run, as recorded. */
export type HookRunResult = HookRunFinishedPayload

/** The folded result of every hook of one event. */
export interface HookOutcome {
  readonly runs: ReadonlyArray<HookRunResult>
  /** The run that blocked (deny, exit 2, or a failure with `on_failure = "block"`), if any. */
  readonly blockedBy: HookRunResult | null
  /** The strongest decision returned: deny > ask > allow; null when no hook decided. */
  readonly decision: HookDecision | null
  /** The hook that gave that decision and its reason. */
  readonly decidedBy: HookRunResult | null
  /** The tool input after every rewrite (undefined when no hook rewrote it). */
  readonly updatedInput: unknown
  /** The hook that rewrote the input last. */
  readonly updatedBy: HookRunResult | null
  /** `additionalContext` of every run, joined by newlines (null when none). */
  readonly additionalContext: string | null
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const normaliseDecision = (value: unknown): HookDecision | null | "invalid" => {
  if (value === undefined || value === null) return null
  if (isRecord(value) && typeof value["behavior"] === "string") return normaliseDecision(value["behavior"])
  switch (value) {
    case "allow":
    case "approve":
      return "allow"
    case "deny":
    case "block":
      return "deny"
    case "ask":
      return "ask"
    default:
      return "invalid"
  }
}

interface ParsedOutput {
  readonly decision: HookDecision | null
  readonly reason: string | null
  readonly updatedInput: unknown
  readonly additionalContext: string | null
  readonly error: string | null
}

/** Reads a hook's stdout (exit 0). Plain text is context for SessionStart / UserPromptSubmit, an error elsewhere. */
export const parseHookOutput = (event: HookEventName, stdout: string): ParsedOutput => {
  const text = stdout.trim()
  const none = { decision: null, reason: null, updatedInput: undefined, additionalContext: null, error: null }
  if (text === "") return none
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    if (event === "SessionStart" || event === "UserPromptSubmit") return { ...none, additionalContext: text }
    return { ...none, error: `stdout is not valid JSON: ${text.slice(0, 120)}` }
  }
  if (!isRecord(json)) return { ...none, error: "stdout JSON is not an object" }
  const specific = isRecord(json["hookSpecificOutput"]) ? json["hookSpecificOutput"] : {}
  const specificDecision = specific["decision"]
  const rawDecision = specific["permissionDecision"] ?? specificDecision ?? json["permissionDecision"] ?? json["decision"]
  const decision = normaliseDecision(rawDecision)
  if (decision === "invalid") return { ...none, error: `unknown decision ${JSON.stringify(rawDecision)} (expected allow, deny or ask)` }
  const stop = json["continue"] === false
  const reasonValue = specific["permissionDecisionReason"] ?? (isRecord(specificDecision) ? specificDecision["message"] : undefined) ??
    json["permissionDecisionReason"] ?? json["reason"] ?? json["stopReason"]
  const updated = specific["updatedInput"] ?? (isRecord(specificDecision) ? specificDecision["updatedInput"] : undefined) ?? json["updatedInput"]
  if (updated !== undefined && !isRecord(updated)) return { ...none, error: "updatedInput must be an object" }
  const context = specific["additionalContext"] ?? json["additionalContext"]
  return {
    decision: stop ? "deny" : decision,
    reason: typeof reasonValue === "string" ? reasonValue : null,
    updatedInput: updated,
    additionalContext: typeof context === "string" && context !== "" ? context : null,
    error: null
  }
}

const rank = (d: HookDecision | null): number => (d === "deny" ? 3 : d === "ask" ? 2 : d === "allow" ? 1 : 0)

/** Options of the runner. */
export interface CommandHooksOptions {
  /** Bytes of stdout / stderr kept per run (and recorded). Default 16 KiB. */
  readonly maxOutputBytes?: number | undefined
  /** The shell for `command` strings. Default `/bin/sh`. */
  readonly shell?: string | undefined
  /**
   * Values that must never be recorded or returned (an API key): replaced by `[redacted]` in every
   * run record and outcome, whatever a hook prints.
   */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/** The command-hook runner. */
export interface CommandHooksShape {
  /** The configured hooks. */
  readonly hooks: ReadonlyArray<HookDefinition>
  /** The hooks that would run for this invocation (event and matcher). */
  readonly matching: (invocation: HookInvocation) => ReadonlyArray<HookDefinition>
  /** Runs the matching hooks in order and folds their answers; never fails because of a hook. */
  readonly run: <E = never, R = never>(
    invocation: HookInvocation,
    recorder?: HookRecorder<E, R>
  ) => Effect.Effect<HookOutcome, E, R>
}

/** Builds a runner for a fixed list of hooks. */
export const makeCommandHooks = (
  hooks: ReadonlyArray<HookDefinition>,
  options: CommandHooksOptions = {}
): Effect.Effect<CommandHooksShape, never, IdGenerator> =>
  Effect.gen(function*() {
    const ids = yield* IdGenerator
    const maxOutput = options.maxOutputBytes ?? 16 * 1024
    const shell = options.shell ?? "/bin/sh"
    const secrets = (options.secrets ?? []).map((s) => Redacted.value(s))
    const compiled = hooks.map((hook) => ({ hook, matches: Either.getOrElse(compileMatcher(hook.matcher), () => () => false) }))
    const matching = (inv: HookInvocation) =>
      compiled
        .filter(({ hook, matches }) => {
          if (hook.event !== inv.event) return false
          const value = inv.toolName ?? inv.matchValue
          return value === undefined ? hook.matcher === null || hook.matcher === "" || hook.matcher === "*" : matches(value)
        })
        .map(({ hook }) => hook)

    const runOne = (runId: string, hook: HookDefinition, inv: HookInvocation, toolInput: unknown) =>
      Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const stdin = JSON.stringify({
          ...inv.fields,
          session_id: inv.sessionId,
          transcript_path: null,
          cwd: inv.cwd,
          hook_event_name: inv.event,
          ...(inv.toolName === undefined ? {} : { tool_name: inv.toolName, tool_input: toolInput ?? {}, tool_use_id: inv.callId ?? null })
        }) + "\n"
        const stdout = new OutputCapture(maxOutput)
        const stderr = new OutputCapture(maxOutput)
        const exit = yield* runProcess({
          file: hook.args === undefined ? shell : hook.command,
          args: hook.args === undefined ? ["-c", hook.command] : hook.args,
          cwd: inv.cwd,
          env: { ...process.env, CLAUDE_PROJECT_DIR: inv.cwd, CODEWHALE_PROJECT_DIR: inv.cwd, CODEWHALE_HOOK_EVENT: inv.event },
          timeoutMs: hook.timeoutMs,
          stdin
        }).pipe(
          Stream.runFold(
            { code: null as number | null, timedOut: false },
            (acc, e) => {
              if (e._tag === "Output") {
                ;(e.stream === "stdout" ? stdout : stderr).push(e.chunk)
                return acc
              }
              return { code: e.code, timedOut: e.timedOut }
            }
          ),
          Effect.either
        )
        const finishedAt = yield* Clock.currentTimeMillis
        const out = stdout.text()
        const err = stderr.text()
        const base = {
          run_id: runId,
          hook_name: hook.name,
          hook_event: inv.event,
          exit_code: Either.isRight(exit) ? exit.right.code : null,
          duration_ms: finishedAt - started,
          stdout: out,
          stderr: err,
          at: finishedAt
        }
        const failure = (outcome: HookRunOutcome, error: string): HookRunResult => ({
          ...base,
          outcome,
          decision: null,
          reason: hook.onFailure === "block" ? `hook '${hook.name}' failed and is configured to block: ${error}` : null,
          additional_context: null,
          blocking: hook.onFailure === "block",
          error
        })
        let result: HookRunResult
        if (Either.isLeft(exit)) result = failure("error", exit.left.message)
        else if (exit.right.timedOut) result = failure("timed_out", `timed out after ${hook.timeoutMs} ms`)
        else if (exit.right.code === 2) {
          result = {
            ...base,
            outcome: "blocked",
            decision: "deny",
            reason: err.trim() !== "" ? err.trim() : `blocked by hook '${hook.name}'`,
            additional_context: null,
            blocking: true,
            error: null
          }
        } else if (exit.right.code !== 0) result = failure("error", `exited with code ${exit.right.code ?? "null"}${err.trim() === "" ? "" : `: ${err.trim().split("\n")[0]}`}`)
        else {
          const parsed = parseHookOutput(inv.event, out)
          if (parsed.error !== null) result = failure("error", parsed.error)
          else {
            result = {
              ...base,
              outcome: "success",
              decision: parsed.decision,
              reason: parsed.reason,
              ...(parsed.updatedInput === undefined ? {} : { updated_input: parsed.updatedInput }),
              additional_context: parsed.additionalContext,
              blocking: parsed.decision === "deny",
              error: null
            }
          }
        }
        return result
      })

    const run = <E = never, R = never>(inv: HookInvocation, recorder?: HookRecorder<E, R>): Effect.Effect<HookOutcome, E, R> =>
      Effect.gen(function*() {
        const rec = (recorder ?? noRecorder) as HookRecorder<E, R>
        const runs: Array<HookRunResult> = []
        let toolInput = inv.toolInput
        let updatedBy: HookRunResult | null = null
        let decidedBy: HookRunResult | null = null
        let blockedBy: HookRunResult | null = null
        const contexts: Array<string> = []
        for (const hook of matching(inv)) {
          const runId = yield* ids.domainId("hookrun")
          const at = yield* Clock.currentTimeMillis
          yield* rec.started(redactSecrets({
            run_id: runId,
            hook_name: hook.name,
            hook_event: inv.event,
            matcher: hook.matcher,
            command: hook.args === undefined ? hook.command : [hook.command, ...hook.args].join(" "),
            timeout_ms: hook.timeoutMs,
            on_failure: hook.onFailure,
            tool_name: inv.toolName ?? null,
            call_id: inv.callId ?? null,
            thread_id: inv.sessionId,
            at
          }, secrets))
          const result = redactSecrets(yield* runOne(runId, hook, inv, toolInput), secrets)
          yield* rec.finished(result)
          runs.push(result)
          if (result.additional_context !== null) contexts.push(result.additional_context)
          if ("updated_input" in result && result.updated_input !== undefined && !result.blocking) {
            toolInput = result.updated_input
            updatedBy = result
          }
          if (rank(result.decision) > rank(decidedBy?.decision ?? null)) decidedBy = result
          if (result.blocking) {
            blockedBy = result
            break
          }
        }
        return {
          runs,
          blockedBy,
          decision: blockedBy !== null ? "deny" : decidedBy?.decision ?? null,
          decidedBy: blockedBy ?? decidedBy,
          updatedInput: updatedBy === null ? undefined : toolInput,
          updatedBy,
          additionalContext: contexts.length === 0 ? null : contexts.join("\n")
        }
      })

    return { hooks, matching, run }
  })

/** The command-hook runner service. */
export class CommandHooks extends Context.Tag("@codewhale/hooks/CommandHooks")<CommandHooks, CommandHooksShape>() {
  /** A runner for these hooks. */
  static readonly layer = (
    hooks: ReadonlyArray<HookDefinition>,
    options?: CommandHooksOptions
  ): Layer.Layer<CommandHooks, never, IdGenerator> => Layer.effect(CommandHooks, makeCommandHooks(hooks, options))

  /** No hooks. */
  static readonly layerEmpty: Layer.Layer<CommandHooks, never, IdGenerator> = CommandHooks.layer([])
}
