import { homedir } from "node:os"
import { createInterface } from "node:readline"
import { Args, Command, Options } from "@effect/cli"
import {
  AskForApproval,
  decisionJson,
  ExecPolicy,
  type ExecPolicyContext,
  type ExecPolicyEngine,
  renderExplanation,
  SandboxMode
} from "@codewhale/execpolicy"
import { Console, Effect, Option, ParseResult, Schema, Stream } from "effect"

const MODES = ["unless_trusted", "on_failure", "on_request", "never", "reject"] as const
const REJECT_FLAGS = ["sandbox_approval", "rules", "mcp_elicitations"] as const

/** One `--batch` input line. Unknown fields are rejected. */
const BatchLine = Schema.Struct({
  policy: Schema.optional(Schema.Unknown),
  // The policy is decoded (and its errors located) by the engine loader.
  approval_mode: Schema.optional(AskForApproval),
  sandbox_mode: Schema.optional(Schema.NullOr(SandboxMode)),
  tool: Schema.optional(Schema.NullOr(Schema.String)),
  command: Schema.String,
  path: Schema.optional(Schema.NullOr(Schema.String)),
  cwd: Schema.optional(Schema.NullOr(Schema.String))
})

const decodeLine = Schema.decodeUnknown(BatchLine, { onExcessProperty: "error", errors: "first" })

/** Parses and decodes one batch line into a short, readable error on failure. */
const decodeBatchLine = (line: string, label: string) =>
  Effect.try({
    try: () => JSON.parse(line) as unknown,
    catch: (e) => new PolicyCliError({ message: `${label}: not valid JSON (${e instanceof Error ? e.message : String(e)})` })
  }).pipe(
    Effect.flatMap((json) =>
      decodeLine(json).pipe(
        Effect.mapError((e) => {
          const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
          const where = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `
          const what = issue?._tag === "Unexpected" ? "unknown field" : issue?.message ?? "invalid"
          return new PolicyCliError({ message: `${label}: invalid input: ${where}${what}` })
        })
      )
    )
  )

/** Bad `policy check` input (missing or inconsistent options, unreadable stdin, a bad batch line). */
export class PolicyCliError extends Schema.TaggedError<PolicyCliError>()("PolicyCliError", { message: Schema.String }) {}

const options = {
  policy: Options.text("policy").pipe(
    Options.withDescription("The policy TOML file (layers builtin, agent, user)."),
    Options.optional
  ),
  approvalMode: Options.choice("approval-mode", MODES).pipe(
    Options.withDescription("When to ask (default on_request)."),
    Options.withDefault("on_request" as const)
  ),
  rejectFlags: Options.text("reject-flags").pipe(
    Options.withDescription("With --approval-mode reject: comma-separated sandbox_approval,rules,mcp_elicitations."),
    Options.optional
  ),
  sandbox: Options.choice("sandbox", ["read-only", "workspace-write", "danger-full-access"] as const).pipe(
    Options.withDescription("The sandbox the command runs in."),
    Options.optional
  ),
  tool: Options.text("tool").pipe(Options.withDescription("The tool (default exec_shell)."), Options.optional),
  path: Options.text("path").pipe(Options.withDescription("The file the tool touches."), Options.optional),
  cwd: Options.text("cwd").pipe(Options.withDescription("The working directory (default: the current one)."), Options.optional),
  json: Options.boolean("json").pipe(Options.withDescription("Print the decision as one JSON line.")),
  explain: Options.boolean("explain").pipe(Options.withDescription("Add the explanation (segments, rules, mode).")),
  batch: Options.boolean("batch").pipe(Options.withDescription("Read JSON lines from stdin; print one JSON line per input."))
}

const commandArgs = Args.text({ name: "COMMAND" }).pipe(
  Args.withDescription("The command line (after --). One argument is taken verbatim; several are quoted as argv."),
  Args.repeated
)

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/
const quote = (s: string) => (s === "" ? "''" : SAFE.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`)

/** Joins the words after `--`: one word verbatim (a whole command line), several as quoted argv. */
export const commandFromArgs = (args: ReadonlyArray<string>): string =>
  args.length === 1 ? args[0]! : args.map(quote).join(" ")

const parseRejectFlags = (raw: Option.Option<string>): Effect.Effect<AskForApproval, PolicyCliError> =>
  Effect.gen(function*() {
    const flags = { sandbox_approval: false, rules: false, mcp_elicitations: false }
    if (Option.isSome(raw)) {
      for (const part of raw.value.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
        if (!(REJECT_FLAGS as ReadonlyArray<string>).includes(part)) {
          return yield* new PolicyCliError({ message: `unknown reject flag '${part}' (expected ${REJECT_FLAGS.join(", ")})` })
        }
        flags[part as (typeof REJECT_FLAGS)[number]] = true
      }
    }
    return { reject: flags }
  })

const decide = (engine: ExecPolicyEngine, ctx: ExecPolicyContext) =>
  Effect.gen(function*() {
    const ep = yield* ExecPolicy
    const resolved = yield* ep.resolvePaths(ctx)
    return engine.explain(resolved)
  })

const errorText = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" ? e.message : String(e)

const runBatch = Effect.gen(function*() {
  const ep = yield* ExecPolicy
  const engines = new Map<string, ExecPolicyEngine>()
  let lineNo = 0
  const lines = Stream.fromAsyncIterable(
    createInterface({ input: process.stdin, crlfDelay: Infinity }),
    (cause) => new PolicyCliError({ message: `cannot read stdin: ${String(cause)}` })
  )
  yield* lines.pipe(
    Stream.runForEach((line) => {
      lineNo++
      if (line.trim() === "") return Effect.void
      const label = `<stdin>:${lineNo}`
      return Effect.gen(function*() {
        const input = yield* decodeBatchLine(line, label)
        const key = JSON.stringify(input.policy ?? {})
        let engine = engines.get(key)
        if (engine === undefined) {
          engine = yield* ep.fromInput(input.policy ?? {}, { file: "<stdin>", line: lineNo })
          if (engines.size > 64) engines.clear()
          engines.set(key, engine)
        }
        const explanation = yield* decide(engine, {
          command: input.command,
          cwd: input.cwd ?? process.cwd(),
          tool: input.tool ?? undefined,
          path: input.path ?? undefined,
          askForApproval: input.approval_mode ?? "on_request",
          sandboxMode: input.sandbox_mode ?? undefined,
          home: homedir()
        })
        return JSON.stringify(decisionJson(explanation))
      }).pipe(
        Effect.catchAll((e) => Effect.succeed(JSON.stringify({ error: errorText(e) }))),
        Effect.flatMap((out) => Console.log(out))
      )
    })
  )
})

/** `codewhale policy check`: decides one command (after `--`) or a batch of JSON lines from stdin. */
export const checkCommand = Command.make("check", { ...options, command: commandArgs }, (o) =>
  Effect.gen(function*() {
    if (o.batch) return yield* runBatch
    const ep = yield* ExecPolicy
    if (Option.isNone(o.policy)) return yield* new PolicyCliError({ message: "--policy FILE is required (or use --batch)" })
    if (Option.isSome(o.rejectFlags) && o.approvalMode !== "reject") {
      return yield* new PolicyCliError({ message: "--reject-flags needs --approval-mode reject" })
    }
    const engine = yield* ep.loadFile(o.policy.value)
    const mode: AskForApproval = o.approvalMode === "reject" ? yield* parseRejectFlags(o.rejectFlags) : o.approvalMode
    const explanation = yield* decide(engine, {
      command: commandFromArgs(o.command),
      cwd: Option.getOrElse(o.cwd, () => process.cwd()),
      tool: Option.getOrUndefined(o.tool),
      path: Option.getOrUndefined(o.path),
      askForApproval: mode,
      sandboxMode: Option.getOrUndefined(o.sandbox),
      home: homedir()
    })
    if (o.json) {
      const out = decisionJson(explanation)
      yield* Console.log(JSON.stringify(o.explain ? { ...out, explanation } : out))
    } else if (o.explain) {
      yield* Console.log(renderExplanation(explanation))
    } else {
      const d = decisionJson(explanation)
      yield* Console.log(`decision: ${d.decision}`)
      yield* Console.log(`reason: ${d.reason}`)
      yield* Console.log(`matched_rule: ${d.matched_rule ?? "(none)"}`)
      if (d.proposed_amendment !== null) yield* Console.log(`proposed_amendment: ${JSON.stringify(d.proposed_amendment)}`)
    }
  }).pipe(Effect.provide(ExecPolicy.Default))
).pipe(Command.withDescription("Decide whether a command may run, must ask, or is forbidden."))

/** `codewhale policy ...`: execution-policy tooling. */
export const policyCommand = Command.make("policy").pipe(
  Command.withDescription("Execution policy: check commands against a policy."),
  Command.withSubcommands([checkCommand])
)
