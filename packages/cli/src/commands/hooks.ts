/** `codewhale hooks test EVENT`: runs the configured command hooks of one event on a sample payload. */
import { Args, Command, Options } from "@effect/cli"
import { CommandHooks, streamRecorder } from "@codewhale/hooks"
import { HookEventName, IdGenerator } from "@codewhale/protocol"
import { Console, Effect, Layer, Option, Schema } from "effect"
import * as NodePath from "node:path"
import { databaseLayer, dbOption } from "../Database.ts"
import { hooksOption, loadHooks, ToolCliError } from "./tool.ts"

const test = Command.make(
  "test",
  {
    db: dbOption,
    hooks: hooksOption,
    json: Options.boolean("json").pipe(Options.withDescription("print JSON")),
    tool: Options.text("tool").pipe(Options.withDescription("tool name for tool events (default exec_shell)"), Options.withDefault("exec_shell")),
    input: Options.text("input").pipe(Options.withDescription("tool input as JSON (default {\"command\":\"echo hello\"})"), Options.optional),
    cwd: Options.directory("cwd").pipe(Options.optional),
    event: Args.text({ name: "event" }).pipe(Args.withDescription(HookEventName.literals.join(" | ")))
  },
  (o) =>
    Effect.gen(function*() {
      const event = yield* Schema.decodeUnknown(HookEventName)(o.event).pipe(
        Effect.mapError(() => new ToolCliError({ message: `unknown hook event '${o.event}' (known: ${HookEventName.literals.join(", ")})` }))
      )
      const definitions = yield* loadHooks(o.hooks)
      const toolInput = yield* Effect.try({
        try: () => JSON.parse(Option.getOrElse(o.input, () => "{\"command\":\"echo hello\"}")) as unknown,
        catch: () => new ToolCliError({ message: "--input is not valid JSON" })
      })
      const toolEvent = event === "PreToolUse" || event === "PostToolUse" || event === "PostToolUseFailure" || event === "PermissionRequest"
      const outcome = yield* Effect.gen(function*() {
        const runner = yield* CommandHooks
        const runId = yield* (yield* IdGenerator).eventId
        return yield* runner.run({
          event,
          sessionId: "hooks-test",
          cwd: NodePath.resolve(Option.getOrElse(o.cwd, () => process.cwd())),
          ...(toolEvent ? { toolName: o.tool, toolInput, callId: "hooks-test-call" } : { matchValue: event === "SessionStart" ? "startup" : "other" }),
          fields: event === "UserPromptSubmit" ? { prompt: "hello" } : event === "SessionStart" ? { source: "startup" } : event === "PostToolUse" ? { tool_response: { ok: true } } : {}
        }, streamRecorder(`hooktest-${runId}`))
      }).pipe(Effect.provide(CommandHooks.layer(definitions).pipe(Layer.provideMerge(databaseLayer(o.db, { readonly: false })))))
      if (o.json) return yield* Console.log(JSON.stringify(outcome))
      if (outcome.runs.length === 0) yield* Console.log(`no hook matches ${event}${toolEvent ? ` for tool ${o.tool}` : ""}`)
      for (const r of outcome.runs) {
        yield* Console.log(`${r.hook_name}: ${r.outcome} exit ${r.exit_code ?? "-"} in ${r.duration_ms} ms${r.decision === null ? "" : `, decision ${r.decision}`}${r.reason === null ? "" : ` (${r.reason})`}${r.error === null ? "" : ` error: ${r.error}`}`)
      }
      yield* Console.log(`result: ${outcome.decision ?? "no decision"}${outcome.updatedInput === undefined ? "" : `, input rewritten to ${JSON.stringify(outcome.updatedInput)}`}${outcome.additionalContext === null ? "" : `, context: ${outcome.additionalContext}`}`)
      if (outcome.blockedBy !== null) process.exitCode = 2
    })
).pipe(Command.withDescription("run the hooks of EVENT on a sample payload (runs are recorded in the log)"))

/** `codewhale hooks ...`. */
export const hooksCommand = Command.make("hooks").pipe(
  Command.withDescription("command hooks"),
  Command.withSubcommands([test])
)
