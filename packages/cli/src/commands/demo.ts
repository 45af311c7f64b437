/**
 * `codewhale demo`: the README's first command. Runs the runtime on the embedded default database
 * (`$CODEWHALE_HOME/state.db`, else `~/.codewhale/state.db`) and shows real work end to end: a
 * thread with a message and a prompt, three real shell commands (allowed, denied by policy, asked
 * and approved), a real MCP server from npm (`@modelcontextprotocol/server-everything` over stdio)
 * and one of its tools, a job that fails once and succeeds on its retry, a hook script that fires
 * on every tool call, then the log summary and the thread replayed as of an earlier position.
 * Everything it does is recorded; running it again adds a new session to the same log.
 */
import { Command } from "@effect/cli"
import { loadRuntimeConfig, Runtime, ToolPipeline, type ResolvedRuntimeOptions } from "@codewhale/runtime"
import type { McpServerConfig } from "@codewhale/mcp"
import { parsePolicyToml } from "@codewhale/execpolicy"
import type { RecordedEvent, ToolCall } from "@codewhale/protocol"
import { EventStore } from "@codewhale/state"
import { Console, Effect, Layer, Logger, LogLevel, Option } from "effect"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodePath from "node:path"
import { projections } from "../catalog.ts"
import { codewhaleHome, databaseLayer } from "../Database.ts"

const require = createRequire(import.meta.url)

/** The entry point of `@modelcontextprotocol/server-everything` (a dependency of the CLI). */
export const everythingServerEntry = (): string =>
  NodePath.join(NodePath.dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist", "index.js")

/** The demo's policy: `echo`/`ls`/`cat` trusted, `rm -rf` denied, `touch` asks, the MCP echo tool allowed. */
export const demoPolicyToml = `# The demo's execution policy (see docs/guides/writing-policies.md).
[user]
trusted_prefixes = ["echo", "ls", "cat"]
denied_prefixes = ["rm -rf"]

[[user.rules]]
action = "ask"
tool = "exec_shell"
command = "touch"
justification = "creating files needs a person's yes"

[[user.rules]]
action = "allow"
tool = "mcp__everything__echo"
`

/** The demo's hook: appends one line per tool call to hook.log and adds context for the model. */
export const demoHookScript = `#!/bin/sh
# A PreToolUse hook (see docs/guides/writing-hooks.md): the call arrives as JSON on stdin.
input=$(cat)
tool=$(printf '%s' "$input" | sed -n 's/.*"tool_name":"\\([^"]*\\)".*/\\1/p')
printf '%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$tool" >> "$(dirname "$0")/hook.log"
printf '{"additionalContext":"hook saw %s"}\\n' "$tool"
`

const section = (title: string) => Console.log(`\n== ${title}`)
const line = (text: string) => Console.log(`   ${text}`)

const shell = (command: string): ToolCall => ({
  name: "exec_shell",
  payload: { type: "local_shell", params: { command } },
  source: "direct",
  raw_tool_call_id: null
})

const stdoutOf = (output: unknown): string => {
  const body = typeof output === "object" && output !== null && "body" in output ? (output as { body: unknown }).body : undefined
  return typeof body === "object" && body !== null && "stdout" in body ? String((body as { stdout: unknown }).stdout).trim() : ""
}

const textOf = (output: unknown): string => {
  const result = typeof output === "object" && output !== null && "result" in output ? (output as { result: unknown }).result : undefined
  const content = typeof result === "object" && result !== null && "content" in result ? (result as { content: unknown }).content : undefined
  return Array.isArray(content) ? content.map((c) => (typeof c === "object" && c !== null && "text" in c ? String(c.text) : "")).join(" ") : ""
}

/** Runs the demo against a home directory; prints as it goes. */
export const runDemo = (home: string) =>
  Effect.gen(function*() {
    const workspace = NodePath.join(home, "demo-workspace")
    const hooksDir = NodePath.join(workspace, "hooks")
    NodeFs.mkdirSync(hooksDir, { recursive: true })
    const policyFile = NodePath.join(workspace, "policy.toml")
    NodeFs.writeFileSync(policyFile, demoPolicyToml)
    const hookScript = NodePath.join(hooksDir, "pre-tool-use.sh")
    NodeFs.writeFileSync(hookScript, demoHookScript, { mode: 0o755 })
    const hookLog = NodePath.join(hooksDir, "hook.log")
    const hookLinesBefore = NodeFs.existsSync(hookLog) ? NodeFs.readFileSync(hookLog, "utf8").split("\n").filter((l) => l !== "").length : 0

    // The user's configuration (provider, model, ...) with the demo's policy, hook and MCP server.
    const base = yield* loadRuntimeConfig({ home, cwd: workspace })
    const everything: McpServerConfig = {
      name: "everything",
      transport: { _tag: "stdio", command: process.execPath, args: [everythingServerEntry(), "stdio"], env: {}, cwd: undefined },
      enabled: true,
      required: true,
      startupTimeoutMs: 30_000,
      toolTimeoutMs: 30_000
    }
    const policy = yield* parsePolicyToml(demoPolicyToml, policyFile)
    const demoConfig: ResolvedRuntimeOptions = {
      ...base,
      approvalPolicy: "unless-trusted",
      askForApproval: "unless_trusted",
      policies: [{ file: policyFile, toml: demoPolicyToml, policy }],
      hooks: [{ name: "demo-pre-tool-use", event: "PreToolUse", matcher: null, command: `sh ${JSON.stringify(hookScript)}`, timeoutMs: 10_000, onFailure: "continue" }],
      mcpServers: [everything]
    }

    const db = NodePath.join(home, "state.db")
    const layer = Runtime.layer({
      config: demoConfig,
      cwd: workspace,
      jobHandlers: {
        "demo.flaky": (ctx) =>
          ctx.run === 1
            ? Effect.fail("the first attempt fails on purpose")
            : Effect.as(ctx.progress(100, "done on the retry"), { ok: true, run: ctx.run })
      }
    }).pipe(Layer.provideMerge(databaseLayer(Option.some(db), { readonly: false })))

    yield* Effect.gen(function*() {
      const rt = yield* Runtime
      const store = yield* EventStore
      const pipeline = yield* ToolPipeline
      const headBefore = yield* store.headPosition
      yield* Console.log(`Codewhale demo — event log ${db} (head at position ${headBefore} before this run)`)
      yield* line(`workspace ${workspace}; provider ${demoConfig.provider}, model ${demoConfig.model}, API key ${demoConfig.hasApiKey ? "present" : "absent"}`)

      yield* section("1. A thread, a message and a prompt")
      const started = yield* rt.handleThread({ kind: "start", persist_extended_history: true, name: "codewhale demo", cwd: workspace })
      yield* line(`thread started: ${started.thread_id} (status ${started.status})`)
      const message = yield* rt.handleThread({ kind: "message", thread_id: started.thread_id, input: "Please look around the workspace and leave a notes file." })
      yield* line(`message recorded: ${message.status}`)
      const afterMessage = yield* store.headPosition
      const prompt = yield* rt.handlePrompt({ thread_id: started.thread_id, prompt: "Which model would answer this?" })
      yield* line(`prompt recorded; model resolved to ${prompt.model} (no model is called: the answer describes the resolved options)`)
      yield* line(`response: ${prompt.output}`)

      yield* section("2. Real shell commands through the policy")
      const allowed = yield* rt.invokeTool(shell("echo hello from codewhale && ls"), { threadId: started.thread_id })
      yield* line(`allowed  $ echo hello from codewhale && ls  → ${allowed.status}: ${stdoutOf(allowed.output).split("\n").join(" | ")}`)
      const denied = yield* rt.invokeTool(shell("rm -rf ./build"), { threadId: started.thread_id })
      yield* line(`denied   $ rm -rf ./build  → ${denied.status}: ${denied.error ?? ""}`)
      const asked = yield* rt.invokeTool(shell("touch notes.txt"), { threadId: started.thread_id })
      yield* line(`asks     $ touch notes.txt  → ${asked.status} (approval ${asked.approval_id ?? "?"})`)
      const approved = yield* rt.respondToApproval(asked.approval_id ?? "", { type: "approved" }, { actor: "demo user" })
      yield* line(`approved by "demo user" → ${approved.status}; notes.txt exists: ${NodeFs.existsSync(NodePath.join(workspace, "notes.txt"))}`)
      const audit = yield* pipeline.explainToolCall(approved.call_id)
      yield* line(`why did it run? ${audit.authorized?.source ?? "?"} (${audit.authorized?.reason ?? ""}), policy: ${audit.policy?.reason ?? ""}`)

      yield* section("3. A real MCP server from npm")
      const mcp = yield* rt.mcpStartup
      yield* line(`started: ready [${mcp.summary.ready.join(", ")}], failed [${mcp.summary.failed.map((f) => `${f.server_name}: ${f.error}`).join(", ")}]; ${mcp.tools.length} tools registered`)
      const echo = yield* rt.invokeTool(
        {
          name: "mcp__everything__echo",
          payload: { type: "mcp", server: "everything", tool: "echo", raw_arguments: { message: "hello from the whale" } },
          source: "direct",
          raw_tool_call_id: null
        },
        { threadId: started.thread_id }
      )
      yield* line(`mcp__everything__echo → ${echo.status}: ${textOf(echo.output)}`)

      yield* section("4. A job that fails once and succeeds on its retry")
      const job = yield* rt.enqueueJob("demo.flaky", { backoffBaseMs: 200 })
      const done = yield* rt.jobs.awaitJob(job.id, (j) => j.status === "completed" || j.status === "cancelled" || (j.status === "failed" && j.retry.nextRetryAt === null))
      yield* line(`${job.id} → ${done.status} after ${done.retry.attempt} failed attempt(s)`)
      yield* line(`history: ${done.history.map((h) => h.phase).join(" → ")}`)

      yield* section("5. The hook script fired")
      const hookLines = NodeFs.readFileSync(hookLog, "utf8").split("\n").filter((l) => l !== "")
      yield* line(`${hookScript} ran ${hookLines.length - hookLinesBefore} time(s) in this run (one per tool call); last: ${hookLines.at(-1) ?? ""}`)
      const hookRuns = audit.hooks.map((h) => `${h.hook_name} ${h.hook_event} ${h.outcome} exit ${h.exit_code ?? "?"}`)
      yield* line(`recorded in the log with the call: ${hookRuns.join("; ")}`)

      yield* section("6. The log")
      const summary = projections.find((p) => p.name === "summary")
      if (summary !== undefined) {
        const state = (yield* summary.replay(undefined)) as { events: number; streams: number; byCategory: Record<string, number> }
        yield* line(`${state.events} events in ${state.streams} streams: ${Object.entries(state.byCategory).map(([c, n]) => `${c} ${n}`).join(", ")}`)
      }
      const streamId = started.thread_id
      const events: ReadonlyArray<RecordedEvent> = yield* store.readStream(streamId)
      const upTo = events.filter((e) => e.position <= afterMessage)
      const messagesOf = (list: ReadonlyArray<RecordedEvent>) =>
        list.filter((e) => e.eventType === "thread.message_added").map((e) => {
          const p = e.payload as { role?: string; content?: string }
          return `${p.role ?? "?"}: ${(p.content ?? "").slice(0, 60)}`
        })
      yield* line(`thread ${streamId} replayed as of position ${afterMessage} (before the prompt): ${upTo.length} events`)
      for (const m of messagesOf(upTo)) yield* line(`  ${m}`)
      yield* line(`and now (its latest event is at position ${events.at(-1)?.position ?? 0}): ${events.length} events`)
      for (const m of messagesOf(events)) yield* line(`  ${m}`)
      yield* Console.log(`\nInspect it yourself: codewhale log streams --db ${db}   |   codewhale log show ${streamId} --db ${db}`)
    }).pipe(Effect.provide(layer))
  })

/** The `demo` command. */
export const demoCommand = Command.make("demo", {}, () =>
  runDemo(codewhaleHome()).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).pipe(
    Command.withDescription("run the runtime end to end on ~/.codewhale/state.db (or $CODEWHALE_HOME) and show what it records")
  )
