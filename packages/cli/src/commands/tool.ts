/**
 * `codewhale tool run [--approval-mode MODE] -- COMMAND`: runs a shell command through the tool-call
 * pipeline (hooks, policy, approvals, grants), asking on the terminal when approval is needed.
 * Also the runtime layer the approvals / grants / hooks commands share.
 */
import { Args, Command, Options } from "@effect/cli"
import { ExecPolicy } from "@codewhale/execpolicy"
import { CommandHooks, hooksFromConfig } from "@codewhale/hooks"
import { parseAskForApproval, type ReviewDecision, type ToolCall } from "@codewhale/protocol"
import { Grants, ToolPipeline, ToolPolicy, type ToolInvocationResult } from "@codewhale/runtime"
import { layerWithBuiltins } from "@codewhale/tools"
import { Console, Effect, Either, Layer, Option, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { createInterface } from "node:readline"
import { codewhaleHome, databaseLayer, dbOption } from "../Database.ts"

/** A CLI usage or configuration error, printed as is. */
export class ToolCliError extends Schema.TaggedError<ToolCliError>()("ToolCliError", { message: Schema.String }) {}

/** `--policy FILE`: the execution policy (TOML); default `$CODEWHALE_HOME/policy.toml` when it exists. */
export const policyOption = Options.file("policy").pipe(
  Options.withDescription("execution policy TOML (default: $CODEWHALE_HOME/policy.toml if present)"),
  Options.optional
)

/** `--hooks FILE`: command hooks (JSON, Claude Code / Codex shape); default `$CODEWHALE_HOME/hooks.json` when it exists. */
export const hooksOption = Options.file("hooks").pipe(
  Options.withDescription("command hooks JSON (default: $CODEWHALE_HOME/hooks.json if present)"),
  Options.optional
)

const defaultFile = (option: Option.Option<string>, name: string): string | undefined =>
  Option.getOrElse(Option.map(option, (f) => f as string | undefined), () => {
    const file = NodePath.join(codewhaleHome(), name)
    return NodeFs.existsSync(file) ? file : undefined
  })

/** Loads the hooks file (if any). */
export const loadHooks = (hooks: Option.Option<string>) =>
  Effect.gen(function*() {
    const file = defaultFile(hooks, "hooks.json")
    if (file === undefined) return []
    const json = yield* Effect.try({
      try: () => JSON.parse(NodeFs.readFileSync(file, "utf8")) as unknown,
      catch: (e) => new ToolCliError({ message: `cannot read hooks ${file}: ${e instanceof Error ? e.message : String(e)}` })
    })
    return yield* Either.mapLeft(hooksFromConfig(json), (e) => new ToolCliError({ message: `${file}: ${e.message}` }))
  })

/**
 * The pipeline (with grants, policy, hooks and the built-in tools) on the database of `--db`, opened
 * read-write: grants, amendments and pending approvals answer from their read models, caught up first.
 */
export const toolRuntimeLayer = (db: Option.Option<string>, policy: Option.Option<string>, hooks: Option.Option<string>) =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const hookDefinitions = yield* loadHooks(hooks)
      const policyFile = defaultFile(policy, "policy.toml")
      const policyInput = policyFile === undefined
        ? {}
        : (yield* Effect.flatMap(ExecPolicy, (ep) => ep.loadFile(policyFile)).pipe(Effect.provide(ExecPolicy.Default))).policy
      const base = databaseLayer(db, { readonly: false })
      const grants = Grants.layerSql.pipe(Layer.provideMerge(base))
      const services = Layer.mergeAll(
        layerWithBuiltins(),
        CommandHooks.layer(hookDefinitions),
        ToolPolicy.layer(policyInput).pipe(Layer.provide(ExecPolicy.Default))
      ).pipe(Layer.provideMerge(grants))
      return ToolPipeline.layerSql.pipe(Layer.provideMerge(services))
    })
  )

/** Reads one line from stdin (none when stdin ends first). */
export const readLine = (prompt: string): Effect.Effect<Option.Option<string>> =>
  Effect.async<Option.Option<string>>((resume) => {
    process.stderr.write(prompt)
    const rl = createInterface({ input: process.stdin, terminal: false })
    let done = false
    rl.once("line", (line) => {
      done = true
      rl.close()
      resume(Effect.succeed(Option.some(line.trim())))
    })
    rl.once("close", () => {
      if (!done) resume(Effect.succeed(Option.none()))
    })
    return Effect.sync(() => rl.close())
  })

/** Parses a decision as typed on the terminal or the command line. */
export const parseDecision = (text: string, prefixes: ReadonlyArray<string> = []): ReviewDecision | undefined => {
  switch (text.trim().toLowerCase()) {
    case "y":
    case "yes":
    case "approve":
    case "approved":
      return { type: "approved" }
    case "s":
    case "session":
    case "approved_for_session":
      return { type: "approved_for_session" }
    case "a":
    case "amend":
    case "approved_execpolicy_amendment":
      return prefixes.length === 0 ? { type: "approved_execpolicy_amendment" } : { type: "approved_execpolicy_amendment", prefixes }
    case "n":
    case "no":
    case "deny":
    case "denied":
      return { type: "denied" }
    case "q":
    case "abort":
      return { type: "abort" }
    default:
      return undefined
  }
}

/** Prints a pipeline result: the command's output on stdout, a status line on stderr. */
export const printResult = (result: ToolInvocationResult, json: boolean) =>
  Effect.gen(function*() {
    if (json) return yield* Console.log(JSON.stringify(result))
    const body = result.output?.type === "function" ? (result.output.body as { stdout?: string; stderr?: string } | undefined) : undefined
    if (body?.stdout !== undefined && body.stdout !== "") process.stdout.write(body.stdout)
    if (body?.stderr !== undefined && body.stderr !== "") process.stderr.write(body.stderr)
    yield* Console.error(`[${result.status}] ${result.stream_id}${result.authorized_by === null ? "" : ` (authorized by ${result.authorized_by})`}${result.error === undefined ? "" : `: ${result.error}`}`)
  })

const exitCodeOf = (result: ToolInvocationResult): number => {
  const body = result.output?.type === "function" ? (result.output.body as { exit_code?: number | null } | undefined) : undefined
  if (typeof body?.exit_code === "number") return body.exit_code
  return result.ok ? 0 : result.status === "approval_required" ? 3 : 1
}

const approvalMode = Options.text("approval-mode").pipe(
  Options.withDescription("unless_trusted | on_failure | on_request | never | reject (default on_request)"),
  Options.withDefault("on_request")
)
const cwdOption = Options.directory("cwd").pipe(Options.withDescription("working directory (default: the current one)"), Options.optional)
const threadOption = Options.text("thread").pipe(Options.withDescription("the thread the call belongs to (grants are per thread)"), Options.optional)
const jsonOption = Options.boolean("json").pipe(Options.withDescription("print the pipeline result as JSON"))
const command = Args.text({ name: "command" }).pipe(Args.repeated)

const run = Command.make(
  "run",
  { db: dbOption, policy: policyOption, hooks: hooksOption, approvalMode, cwd: cwdOption, thread: threadOption, json: jsonOption, command },
  (o) =>
    Effect.gen(function*() {
      const mode = parseAskForApproval(o.approvalMode)
      if (mode === undefined) return yield* new ToolCliError({ message: `unknown approval mode '${o.approvalMode}'` })
      const text = o.command.join(" ").trim()
      if (text === "") return yield* new ToolCliError({ message: "no command given (codewhale tool run -- COMMAND)" })
      const cwd = NodePath.resolve(Option.getOrElse(o.cwd, () => process.cwd()))
      const pipeline = yield* ToolPipeline
      const call: ToolCall = { name: "exec_shell", payload: { type: "local_shell", params: { command: text } }, source: "direct", raw_tool_call_id: null }
      let result = yield* pipeline.invokeTool(call, { cwd, approvalMode: mode, threadId: Option.getOrNull(o.thread) })
      if (result.status === "approval_required" && result.approval_request !== undefined) {
        const request = result.approval_request
        yield* Console.error(`Approval needed for: ${request.command}\n  cwd: ${request.cwd}\n  why: ${request.reason}${request.matched_rule === undefined ? "" : `\n  rule: ${request.matched_rule}`}`)
        const offered = request.available_decisions.map((d) => d.type)
        const choices = ["[y] approve once", "[s] approve for the session", ...(offered.includes("approved_execpolicy_amendment") ? [`[a] always allow '${request.proposed_execpolicy_amendment.join("', '")}'`] : []), "[n] deny", "[q] abort"]
        const answer = yield* readLine(`${choices.join("  ")}\n> `)
        if (Option.isNone(answer)) {
          yield* Console.error(`No answer; the approval stays pending: codewhale approvals respond ${result.approval_id} <decision>`)
        } else {
          const decision = parseDecision(answer.value)
          if (decision === undefined) return yield* new ToolCliError({ message: `unknown answer '${answer.value}' (the approval ${result.approval_id} stays pending)` })
          result = yield* pipeline.respondToApproval(result.approval_id!, decision, { actor: `cli:${process.env["USER"] ?? "user"}` })
        }
      }
      yield* printResult(result, o.json)
      process.exitCode = exitCodeOf(result)
    }).pipe(Effect.provide(toolRuntimeLayer(o.db, o.policy, o.hooks)))
).pipe(Command.withDescription("run a shell command through hooks, policy and approvals"))

/** `codewhale tool ...`. */
export const toolCommand = Command.make("tool").pipe(
  Command.withDescription("run tools through the tool-call pipeline"),
  Command.withSubcommands([run])
)
