/** `codewhale approvals list|respond`: pending approvals (they survive restarts) and answering them. */
import { Args, Command, Options } from "@effect/cli"
import { ToolPipeline } from "@codewhale/runtime"
import { Console, Effect, Option } from "effect"
import { dbOption } from "../Database.ts"
import { hooksOption, parseDecision, policyOption, printResult, ToolCliError, toolRuntimeLayer } from "./tool.ts"

const json = Options.boolean("json").pipe(Options.withDescription("print JSON"))
const thread = Options.text("thread").pipe(Options.withDescription("only this thread"), Options.optional)

const list = Command.make("list", { db: dbOption, policy: policyOption, hooks: hooksOption, thread, json }, (o) =>
  Effect.gen(function*() {
    const pending = yield* (yield* ToolPipeline).pendingApprovals({ threadId: Option.getOrUndefined(o.thread) })
    for (const p of pending) {
      yield* Console.log(o.json
        ? JSON.stringify(p)
        : `${p.approvalId}  ${p.threadId ?? "-"}  ${new Date(p.requestedAt).toISOString()}  ${p.request.command}  (${p.request.reason}; offers ${p.request.available_decisions.map((d) => d.type).join(", ")})`)
    }
    if (!o.json) yield* Console.log(`${pending.length} pending approval(s)`)
  }).pipe(Effect.provide(toolRuntimeLayer(o.db, o.policy, o.hooks)))
).pipe(Command.withDescription("list pending approvals"))

const respond = Command.make(
  "respond",
  {
    db: dbOption,
    policy: policyOption,
    hooks: hooksOption,
    json,
    actor: Options.text("actor").pipe(Options.withDescription("who answers (recorded)"), Options.optional),
    prefix: Options.text("prefix").pipe(Options.withDescription("amendment prefix to accept (repeatable; default: the proposed ones)"), Options.repeated),
    approvalId: Args.text({ name: "approval-id" }),
    decision: Args.text({ name: "decision" }).pipe(
      Args.withDescription("approved | approved_for_session | approved_execpolicy_amendment | denied | abort")
    )
  },
  (o) =>
    Effect.gen(function*() {
      const decision = parseDecision(o.decision, o.prefix)
      if (decision === undefined) return yield* new ToolCliError({ message: `unknown decision '${o.decision}'` })
      const result = yield* (yield* ToolPipeline).respondToApproval(o.approvalId, decision, {
        actor: Option.getOrElse(o.actor, () => `cli:${process.env["USER"] ?? "user"}`)
      })
      yield* printResult(result, o.json)
    }).pipe(Effect.provide(toolRuntimeLayer(o.db, o.policy, o.hooks)))
).pipe(Command.withDescription("answer a pending approval; the call then runs (or not) here"))

/** `codewhale approvals ...`. */
export const approvalsCommand = Command.make("approvals").pipe(
  Command.withDescription("pending approvals: list and answer"),
  Command.withSubcommands([list, respond])
)
