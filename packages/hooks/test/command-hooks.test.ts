import { assert, describe, it } from "@effect/vitest"
import { IdGenerator, HookRunFinished, HookRunStarted } from "@codewhale/protocol"
import { EventStore, layerMemory } from "@codewhale/state"
import { CommandHooks, hooksFromConfig, streamRecorder, type HookDefinition } from "@codewhale/hooks"
import { Effect, Either, Layer, Redacted } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

const fixture = (name: string) => NodePath.join(import.meta.dirname, "fixtures", name)

const hook = (name: string, command: string, extra: Partial<HookDefinition> = {}): HookDefinition => ({
  name,
  event: "PreToolUse",
  matcher: null,
  command,
  timeoutMs: 10_000,
  onFailure: "continue",
  ...extra
})

const run = (hooks: ReadonlyArray<HookDefinition>, toolInput: unknown = { command: "echo hi" }, event: HookDefinition["event"] = "PreToolUse") =>
  Effect.gen(function*() {
    const runner = yield* CommandHooks
    return yield* runner.run({ event, sessionId: "thread-1", cwd: process.cwd(), toolName: "exec_shell", toolInput, callId: "call-1" })
  }).pipe(Effect.provide(CommandHooks.layer(hooks).pipe(Layer.provide(IdGenerator.layer))))

const isAlive = (pid: number): boolean => {
  try {
    const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

describe("command hooks (real bash, node and python3 scripts)", () => {
  it.live("bash: exit 2 blocks with stderr as the reason", () =>
    Effect.gen(function*() {
      const outcome = yield* run([hook("block", fixture("block.sh"))], { command: "rm -rf build" })
      assert.strictEqual(outcome.decision, "deny")
      assert.strictEqual(outcome.blockedBy?.hook_name, "block")
      assert.strictEqual(outcome.blockedBy?.exit_code, 2)
      assert.strictEqual(outcome.blockedBy?.outcome, "blocked")
      assert.strictEqual(outcome.blockedBy?.reason, "rm is not allowed by the block.sh hook")
      const harmless = yield* run([hook("block", fixture("block.sh"))], { command: "ls" })
      assert.isNull(harmless.decision)
      assert.strictEqual(harmless.runs[0]?.outcome, "success")
    }))

  it.live("python3: hookSpecificOutput.permissionDecision allow, with its reason", () =>
    Effect.gen(function*() {
      const outcome = yield* run([hook("allow", fixture("allow.py"))])
      assert.strictEqual(outcome.decision, "allow")
      assert.strictEqual(outcome.decidedBy?.reason, "allowed by allow.py for exec_shell")
      assert.isNull(outcome.blockedBy)
    }))

  it.live("node: updatedInput rewrites the input for later hooks, additionalContext is collected", () =>
    Effect.gen(function*() {
      const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-hooks-"))
      const seen = NodePath.join(dir, "stdin.json")
      const outcome = yield* run([
        hook("rewrite", fixture("rewrite.mjs")),
        hook("record", `${fixture("record-stdin.sh")} ${seen}`)
      ], { command: "echo hello" })
      assert.deepStrictEqual(outcome.updatedInput, { command: "echo rewritten: hello" })
      assert.strictEqual(outcome.updatedBy?.hook_name, "rewrite")
      assert.strictEqual(outcome.additionalContext, "rewritten by rewrite.mjs")
      const stdin = JSON.parse(NodeFs.readFileSync(seen, "utf8"))
      assert.deepInclude(stdin, {
        hook_event_name: "PreToolUse",
        session_id: "thread-1",
        tool_name: "exec_shell",
        tool_use_id: "call-1",
        tool_input: { command: "echo rewritten: hello" }
      })
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }))

  it.live("invalid JSON and crashes are non-blocking errors, unless on_failure = block", () =>
    Effect.gen(function*() {
      const lenient = yield* run([hook("invalid", fixture("invalid-json.sh")), hook("fail", fixture("fail.sh")), hook("allow", fixture("allow.py"))])
      assert.deepStrictEqual(lenient.runs.map((r) => r.outcome), ["error", "error", "success"])
      assert.include(lenient.runs[0]!.error!, "not valid JSON")
      assert.include(lenient.runs[1]!.error!, "exited with code 1: fail.sh broke")
      assert.strictEqual(lenient.decision, "allow")
      const strict = yield* run([hook("invalid", fixture("invalid-json.sh"), { onFailure: "block" }), hook("allow", fixture("allow.py"))])
      assert.strictEqual(strict.decision, "deny")
      assert.strictEqual(strict.runs.length, 1, "the first blocking run stops the rest")
      assert.include(strict.blockedBy!.reason!, "configured to block")
    }))

  it.live("a hook hanging past its timeout is killed with its children and never hangs the caller", () =>
    Effect.gen(function*() {
      const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-hooks-"))
      const pidFile = NodePath.join(dir, "child.pid")
      const outcome = yield* run([hook("hang", `${fixture("hang.py")} ${pidFile}`, { timeoutMs: 5_000 })])
      assert.strictEqual(outcome.runs[0]!.outcome, "timed_out")
      assert.isNull(outcome.decision, "on_failure = continue lets the call through")
      const pid = Number(NodeFs.readFileSync(pidFile, "utf8"))
      let alive = true
      for (let i = 0; i < 100 && alive; i++) {
        alive = isAlive(pid)
        if (alive) yield* Effect.sleep("50 millis")
      }
      assert.isFalse(alive, "the hook's child was killed with it")
      const blocking = yield* run([hook("hang", `${fixture("hang.py")} ${pidFile}`, { timeoutMs: 500, onFailure: "block" })])
      assert.strictEqual(blocking.decision, "deny")
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }))

  it.live("ask forces an approval; matchers are regexes on the tool name", () =>
    Effect.gen(function*() {
      const outcome = yield* run([hook("ask", fixture("ask.sh"), { matcher: "exec_.*" }), hook("never", fixture("block.sh"), { matcher: "read_file|write_file" })])
      assert.strictEqual(outcome.decision, "ask")
      assert.strictEqual(outcome.runs.length, 1)
      assert.strictEqual(outcome.decidedBy?.reason, "ask.sh wants a human to look")
    }))

  it.live("SessionStart: plain stdout is additional context", () =>
    Effect.gen(function*() {
      const runner = yield* CommandHooks
      const outcome = yield* runner.run({ event: "SessionStart", sessionId: "t", cwd: process.cwd(), matchValue: "startup", fields: { source: "startup" } })
      assert.strictEqual(outcome.additionalContext, "context from context.py for SessionStart")
    }).pipe(Effect.provide(CommandHooks.layer([hook("ctx", fixture("context.py"), { event: "SessionStart", matcher: "startup|resume" })]).pipe(Layer.provide(IdGenerator.layer)))))

  it.live("every run is recorded as started / finished events", () =>
    Effect.gen(function*() {
      const runner = yield* CommandHooks
      yield* runner.run({ event: "PreToolUse", sessionId: "t", cwd: process.cwd(), toolName: "exec_shell", toolInput: { command: "rm x" } }, streamRecorder("hooktest-1"))
      const events = yield* (yield* EventStore).readStream("hooktest-1")
      assert.deepStrictEqual(events.map((e) => e.eventType), [HookRunStarted.type, HookRunFinished.type])
      assert.deepInclude(events[1]!.payload as object, { hook_name: "block", outcome: "blocked", exit_code: 2, decision: "deny", blocking: true })
    }).pipe(Effect.provide(Layer.mergeAll(CommandHooks.layer([hook("block", fixture("block.sh"))]), layerMemory).pipe(Layer.provideMerge(IdGenerator.layer)))))

  it.live("secrets never reach the log or the outcome, whatever a hook prints or is configured with", () => {
    const secret = "sk-test-0123456789abcdef"
    const script = `printf '%s' '{"decision":"deny","reason":"key ${secret} refused","additionalContext":"ctx ${secret}"}'; echo "stderr ${secret}" >&2`
    return Effect.gen(function*() {
      const runner = yield* CommandHooks
      const outcome = yield* runner.run(
        { event: "PreToolUse", sessionId: "t", cwd: process.cwd(), toolName: "exec_shell", toolInput: { command: "ls" } },
        streamRecorder("hooktest-2")
      )
      const events = yield* (yield* EventStore).readStream("hooktest-2")
      assert.strictEqual(events.length, 2)
      const recorded = JSON.stringify(events.map((e) => e.payload))
      assert.notInclude(recorded, secret)
      assert.include(recorded, "[redacted]")
      assert.notInclude(JSON.stringify(outcome), secret)
      assert.strictEqual(outcome.blockedBy?.reason, "key [redacted] refused")
      assert.strictEqual(outcome.additionalContext, "ctx [redacted]")
    }).pipe(
      Effect.provide(
        Layer.mergeAll(CommandHooks.layer([hook("leaky", script)], { secrets: [Redacted.make(secret)] }), layerMemory).pipe(
          Layer.provideMerge(IdGenerator.layer)
        )
      )
    )
  })
})

describe("hook configuration", () => {
  it("reads Claude-style config (timeouts in seconds) and the flat form (milliseconds)", () => {
    const claude = hooksFromConfig({
      hooks: {
        PreToolUse: [{ matcher: "Bash|exec_shell", hooks: [{ type: "command", command: "check.sh", timeout: 30 }] }],
        Stop: [{ hooks: [{ type: "command", command: "stop.sh" }] }]
      }
    })
    assert.isTrue(Either.isRight(claude))
    const hooks = Either.getOrThrow(claude)
    assert.deepInclude(hooks[0]!, { event: "PreToolUse", matcher: "Bash|exec_shell", command: "check.sh", timeoutMs: 30_000, onFailure: "continue" })
    assert.strictEqual(hooks[1]!.timeoutMs, 60_000)
    const flat = Either.getOrThrow(hooksFromConfig({ PostToolUse: [{ command: "log.sh", timeout_ms: 250, on_failure: "block", name: "log" }] }))
    assert.deepInclude(flat[0]!, { name: "log", timeoutMs: 250, onFailure: "block" })
    const badRegex = hooksFromConfig({ PreToolUse: [{ matcher: "(", command: "x" }] })
    assert.isTrue(Either.isLeft(badRegex) && badRegex.left.message.includes("hooks.PreToolUse[0]"))
    const badEvent = hooksFromConfig({ BeforeTool: [] })
    assert.isTrue(Either.isLeft(badEvent) && badEvent.left.message.includes("unknown hook event"))
  })
})
