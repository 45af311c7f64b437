/**
 * Command-hook configuration. Hooks are stored with millisecond timeouts; configs in the Claude
 * Code / Codex shape (`{"hooks": {"PreToolUse": [{"matcher": "...", "hooks": [{"type": "command",
 * "command": "...", "timeout": 30}]}]}}`, timeouts in **seconds**) are converted on load, and the
 * flat form (`{"PreToolUse": [{"matcher", "command", "timeout_ms", "on_failure"}]}`) is accepted
 * too. Errors name the entry that is wrong.
 */
import { HookEventName } from "@codewhale/protocol"
import { Either, Schema } from "effect"

/** What a hook failure (non-zero exit other than 2, timeout, crash, invalid output) does. */
export const OnFailure = Schema.Literal("block", "continue")
/** What a hook failure does. */
export type OnFailure = typeof OnFailure.Type

/** One command hook, normalised. */
export interface HookDefinition {
  /** A stable name (given, or `<event>[<index>]`), used in records and reasons. */
  readonly name: string
  readonly event: HookEventName
  /** Regex matched against the whole tool name (tool events), source (SessionStart) or reason (SessionEnd); null matches all. */
  readonly matcher: string | null
  /** Run with `sh -c` unless `args` is given (then `command` is the executable). */
  readonly command: string
  readonly args?: ReadonlyArray<string> | undefined
  readonly timeoutMs: number
  readonly onFailure: OnFailure
}

/** The default hook timeout: 60 s. */
export const DefaultHookTimeoutMs = 60_000

/** The hook configuration is invalid (unknown event, bad matcher regex, wrong types). */
export class HookConfigError extends Schema.TaggedError<HookConfigError>()("HookConfigError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid hook configuration at ${this.path}: ${this.detail}`
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Compiles a matcher: null, "" and "*" match everything; anything else is a regex matched against the whole value. */
export const compileMatcher = (matcher: string | null): Either.Either<(value: string) => boolean, string> => {
  if (matcher === null || matcher === "" || matcher === "*") return Either.right(() => true)
  try {
    const re = new RegExp(`^(?:${matcher})$`)
    return Either.right((value) => re.test(value))
  } catch (e) {
    return Either.left(`matcher '${matcher}' is not a valid regular expression: ${(e as Error).message}`)
  }
}

const eventNames = HookEventName.literals as ReadonlyArray<string>

const timeoutOf = (entry: Record<string, unknown>, path: string): Either.Either<number | undefined, HookConfigError> => {
  const ms = entry["timeout_ms"] ?? entry["timeoutMs"]
  const secs = entry["timeout"] ?? entry["timeout_secs"]
  if (ms !== undefined) {
    return typeof ms === "number" && ms > 0 ? Either.right(Math.round(ms)) : Either.left(new HookConfigError({ path, detail: "timeout_ms must be a positive number of milliseconds" }))
  }
  if (secs !== undefined) {
    return typeof secs === "number" && secs > 0
      ? Either.right(Math.round(secs * 1000))
      : Either.left(new HookConfigError({ path, detail: "timeout must be a positive number of seconds" }))
  }
  return Either.right(undefined)
}

const onFailureOf = (entry: Record<string, unknown>, path: string): Either.Either<OnFailure | undefined, HookConfigError> => {
  const v = entry["on_failure"] ?? entry["onFailure"]
  if (v === undefined) return Either.right(undefined)
  return v === "block" || v === "continue" ? Either.right(v) : Either.left(new HookConfigError({ path, detail: `on_failure must be "block" or "continue", got ${JSON.stringify(v)}` }))
}

const commandOf = (entry: Record<string, unknown>, path: string): Either.Either<{ command: string; args?: ReadonlyArray<string> }, HookConfigError> => {
  const type = entry["type"]
  if (type !== undefined && type !== "command") return Either.left(new HookConfigError({ path, detail: `only command hooks are supported, got type ${JSON.stringify(type)}` }))
  const command = entry["command"]
  if (typeof command !== "string" || command.trim() === "") return Either.left(new HookConfigError({ path, detail: "command must be a non-empty string" }))
  const args = entry["args"]
  if (args === undefined) return Either.right({ command })
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) return Either.left(new HookConfigError({ path, detail: "args must be an array of strings" }))
  return Either.right({ command, args })
}

/**
 * Reads hooks from a configuration value (parsed JSON or TOML): either `{ hooks: {...} }` or the
 * event map itself. Order is kept: events in the order given, entries in order.
 */
export const hooksFromConfig = (
  value: unknown,
  defaults: { readonly timeoutMs?: number | undefined; readonly onFailure?: OnFailure | undefined } = {}
): Either.Either<ReadonlyArray<HookDefinition>, HookConfigError> => {
  const root = isRecord(value) && isRecord(value["hooks"]) ? value["hooks"] : value
  if (root === undefined || root === null) return Either.right([])
  if (!isRecord(root)) return Either.left(new HookConfigError({ path: "hooks", detail: "expected a table of events" }))
  const out: Array<HookDefinition> = []
  for (const [event, entries] of Object.entries(root)) {
    if (!eventNames.includes(event)) {
      return Either.left(new HookConfigError({ path: `hooks.${event}`, detail: `unknown hook event (known: ${eventNames.join(", ")})` }))
    }
    if (!Array.isArray(entries)) return Either.left(new HookConfigError({ path: `hooks.${event}`, detail: "expected an array of hook entries" }))
    for (const [i, entry] of entries.entries()) {
      const path = `hooks.${event}[${i}]`
      if (!isRecord(entry)) return Either.left(new HookConfigError({ path, detail: "expected a table" }))
      const matcher = entry["matcher"] === undefined ? null : entry["matcher"]
      if (matcher !== null && typeof matcher !== "string") return Either.left(new HookConfigError({ path, detail: "matcher must be a string" }))
      const compiled = compileMatcher(matcher)
      if (Either.isLeft(compiled)) return Either.left(new HookConfigError({ path, detail: compiled.left }))
      const groupTimeout = timeoutOf(entry, path)
      if (Either.isLeft(groupTimeout)) return Either.left(groupTimeout.left)
      const groupOnFailure = onFailureOf(entry, path)
      if (Either.isLeft(groupOnFailure)) return Either.left(groupOnFailure.left)
      const inner = Array.isArray(entry["hooks"]) ? (entry["hooks"] as ReadonlyArray<unknown>) : [entry]
      for (const [j, hook] of inner.entries()) {
        const hookPath = Array.isArray(entry["hooks"]) ? `${path}.hooks[${j}]` : path
        if (!isRecord(hook)) return Either.left(new HookConfigError({ path: hookPath, detail: "expected a table" }))
        const cmd = commandOf(hook, hookPath)
        if (Either.isLeft(cmd)) return Either.left(cmd.left)
        const timeout = timeoutOf(hook, hookPath)
        if (Either.isLeft(timeout)) return Either.left(timeout.left)
        const onFailure = onFailureOf(hook, hookPath)
        if (Either.isLeft(onFailure)) return Either.left(onFailure.left)
        const name = hook["name"] ?? entry["name"]
        out.push({
          name: typeof name === "string" ? name : Array.isArray(entry["hooks"]) ? `${event}[${i}].hooks[${j}]` : `${event}[${i}]`,
          event: event as HookEventName,
          matcher,
          command: cmd.right.command,
          args: cmd.right.args,
          timeoutMs: timeout.right ?? groupTimeout.right ?? defaults.timeoutMs ?? DefaultHookTimeoutMs,
          onFailure: onFailure.right ?? groupOnFailure.right ?? defaults.onFailure ?? "continue"
        })
      }
    }
  }
  return Either.right(out)
}
