import { assert, describe, it } from "@effect/vitest"
import { ExecPolicy, type PolicyInput } from "@codewhale/execpolicy"
import { CommandHooks, type HookDefinition } from "@codewhale/hooks"
import { IdGenerator, toolCallStreamId, type ToolCall } from "@codewhale/protocol"
import { EventStore, layerSqlite } from "@codewhale/state"
import { defineTool, layerWithBuiltins, ToolRegistry } from "@codewhale/tools"
import { Grants, ToolPipeline, ToolPolicy } from "@codewhale/runtime"
import { Effect, Layer, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

const fixture = (name: string) => NodePath.join(import.meta.dirname, "..", "..", "hooks", "test", "fixtures", name)

const policy: PolicyInput = {
  user: {
    rules: [
      { action: "allow", tool: "exec_shell", command: "echo" },
      { action: "deny", tool: "exec_shell", command: "rm" }
    ]
  }
}

/** The pipeline on an SQLite file (grants, amendments and pending approvals from their read models), with the built-in tools, these hooks and this policy. */
const runtimeLayer = (filename: string, hooks: ReadonlyArray<HookDefinition> = [], p: PolicyInput = policy) => {
  const base = Layer.mergeAll(layerSqlite({ filename }), IdGenerator.layer)
  const grants = Grants.layerSql.pipe(Layer.provideMerge(base))
  const services = Layer.mergeAll(
    layerWithBuiltins(),
    CommandHooks.layer(hooks),
    ToolPolicy.layer(p).pipe(Layer.provide(ExecPolicy.Default))
  ).pipe(Layer.provideMerge(grants))
  return ToolPipeline.layerSql.pipe(Layer.provideMerge(services))
}

const hook = (name: string, command: string, extra: Partial<HookDefinition> = {}): HookDefinition => ({
  name, event: "PreToolUse", matcher: "exec_shell", command, timeoutMs: 10_000, onFailure: "continue", ...extra
})

const shell = (command: string, extra: Record<string, unknown> = {}): ToolCall => ({
  name: "exec_shell",
  payload: { type: "function", arguments: JSON.stringify({ command, ...extra }) },
  source: "direct",
  raw_tool_call_id: null
})

const workspace = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = NodeFs.realpathSync(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-runtime-")))
    return { dir, db: NodePath.join(dir, ".codewhale", "state.db") }
  }),
  ({ dir }) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

const stdoutOf = (output: unknown) => ((output as { body: { stdout: string } }).body.stdout)

const isAlive = (pid: number): boolean => {
  try {
    const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

describe("invokeTool end to end (real SQLite, real processes)", () => {
  it.scopedLive("an allowed exec_shell runs a real command; the log says why", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const result = yield* pipeline.invokeTool(shell("echo hello from codewhale"), { cwd: dir, approvalMode: "on_request", threadId: "thread-a" })
        assert.strictEqual(result.status, "completed")
        assert.isTrue(result.ok)
        assert.strictEqual(stdoutOf(result.output), "hello from codewhale\n")
        assert.strictEqual(result.authorized_by, "rule")
        assert.deepStrictEqual(result.events.map((f) => f.event), [
          "tool_call_start", "exec_command_begin", "exec_command_output_delta", "exec_command_end", "tool_call_result"
        ])
        const why = yield* pipeline.explainToolCall(result.stream_id)
        assert.isTrue(why.ran)
        assert.deepStrictEqual(why.policy, { phase: "allowed", matched_rule: "tool=exec_shell command=echo", reason: "Execution allowed by policy.", touched_paths: [] })
        assert.strictEqual(why.authorized?.source, "rule")
        assert.strictEqual(why.authorized?.rule, "tool=exec_shell command=echo")
        assert.strictEqual(why.result?.exit_code, 0)
        assert.strictEqual(why.command, "echo hello from codewhale")
      }).pipe(Effect.provide(runtimeLayer(db)))
    }))

  it.scopedLive("a forbidden command is denied by the policy and never runs", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      NodeFs.writeFileSync(NodePath.join(dir, "keep.txt"), "x")
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const result = yield* pipeline.invokeTool(shell("rm -f keep.txt"), { cwd: dir, approvalMode: "never", threadId: "thread-a" })
        assert.strictEqual(result.status, "denied")
        assert.include(result.error, "explicitly denies")
        assert.deepStrictEqual(result.events.map((f) => f.event), ["error"])
        assert.isTrue(NodeFs.existsSync(NodePath.join(dir, "keep.txt")))
        const why = yield* pipeline.explainToolCall(result.stream_id)
        assert.isFalse(why.ran)
        assert.strictEqual(why.denied?.source, "policy")
      }).pipe(Effect.provide(runtimeLayer(db)))
    }))

  it.scopedLive("ask, approved for the session, then the same command runs again without asking; a grant never beats a deny", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const grants = yield* Grants
        const options = { cwd: dir, approvalMode: "on_request" as const, threadId: "thread-a" }
        const first = yield* pipeline.invokeTool(shell("mkdir -p out"), options)
        assert.strictEqual(first.status, "approval_required")
        assert.deepStrictEqual(first.events.map((f) => f.event), ["exec_approval_request"])
        assert.deepStrictEqual(first.approval_request?.available_decisions.map((d) => d.type), [
          "approved", "approved_for_session", "denied", "abort", "approved_execpolicy_amendment"
        ])
        assert.isFalse(NodeFs.existsSync(NodePath.join(dir, "out")))
        const answered = yield* pipeline.respondToApproval(first.approval_id!, { type: "approved_for_session" }, { actor: "alice" })
        assert.strictEqual(answered.status, "completed")
        assert.isTrue(NodeFs.existsSync(NodePath.join(dir, "out")))
        const again = yield* pipeline.invokeTool(shell("mkdir -p out"), options)
        assert.strictEqual(again.status, "completed")
        assert.strictEqual(again.authorized_by, "grant")
        const elsewhere = yield* pipeline.invokeTool(shell("mkdir -p out"), { ...options, threadId: "thread-b" })
        assert.strictEqual(elsewhere.status, "approval_required", "grants are scoped to their thread")
        const listed = yield* grants.listGrants({ threadId: "thread-a" })
        assert.strictEqual(listed.length, 1)
        assert.deepInclude(listed[0]!, { tool: "exec_shell", command: "mkdir -p out", actor: "alice", revokedAt: null })
        yield* grants.revokeGrant(listed[0]!.grantId, { reason: "test", actor: "alice" })
        const afterRevoke = yield* pipeline.invokeTool(shell("mkdir -p out"), options)
        assert.strictEqual(afterRevoke.status, "approval_required")
        assert.strictEqual((yield* Effect.flip(grants.revokeGrant(listed[0]!.grantId)))._tag, "GrantAlreadyRevoked")
        yield* pipeline.respondToApproval(afterRevoke.approval_id!, { type: "approved_for_session" })
      }).pipe(Effect.provide(runtimeLayer(db)))
      // A deny rule added later wins over the still-active grant.
      const denyPolicy: PolicyInput = { user: { rules: [{ action: "deny", tool: "exec_shell", command: "mkdir" }] } }
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        assert.strictEqual((yield* (yield* Grants).listGrants({ threadId: "thread-a", activeOnly: true })).length, 1)
        const denied = yield* pipeline.invokeTool(shell("mkdir -p out"), { cwd: dir, approvalMode: "on_request", threadId: "thread-a" })
        assert.strictEqual(denied.status, "denied")
      }).pipe(Effect.provide(runtimeLayer(db, [], denyPolicy)))
    }))

  it.scopedLive("an approved execpolicy amendment persists across a restart and can be revoked", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const asked = yield* pipeline.invokeTool(shell("mkdir -p build"), { cwd: dir, approvalMode: "on_request", threadId: "t1" })
        assert.deepStrictEqual(asked.approval_request?.proposed_execpolicy_amendment, ["mkdir -p build"])
        const wrong = yield* Effect.flip(pipeline.respondToApproval(asked.approval_id!, { type: "approved_execpolicy_amendment", prefixes: ["mkdir"] }))
        assert.strictEqual(wrong._tag, "InvalidReviewDecision")
        const done = yield* pipeline.respondToApproval(asked.approval_id!, { type: "approved_execpolicy_amendment" }, { actor: "bob" })
        assert.strictEqual(done.status, "completed")
      }).pipe(Effect.provide(runtimeLayer(db)))
      // A new process (fresh layers) on the same file, in another thread.
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const grants = yield* Grants
        const ran = yield* pipeline.invokeTool(shell("mkdir -p build"), { cwd: dir, approvalMode: "on_request", threadId: "t2" })
        assert.strictEqual(ran.status, "completed")
        assert.strictEqual(ran.authorized_by, "rule")
        assert.strictEqual(ran.precheck?.matched_rule, "tool=exec_shell command=mkdir -p build")
        const [amendment] = yield* grants.listAmendments()
        assert.deepStrictEqual(amendment?.prefixes, ["mkdir -p build"])
        yield* grants.revokeAmendment(amendment!.amendmentId, { actor: "bob" })
        const asksAgain = yield* pipeline.invokeTool(shell("mkdir -p build"), { cwd: dir, approvalMode: "on_request", threadId: "t2" })
        assert.strictEqual(asksAgain.status, "approval_required")
      }).pipe(Effect.provide(runtimeLayer(db)))
    }))

  it.scopedLive("a pending approval survives a restart, is re-offered with the same id and answered there", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      const asked = yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const a = yield* pipeline.invokeTool(shell("printf resumed > resumed.txt"), { cwd: dir, approvalMode: "on_request", threadId: "thread-r" })
        const b = yield* pipeline.invokeTool(shell("printf no > denied.txt"), { cwd: dir, approvalMode: "on_request", threadId: "thread-r" })
        const c = yield* pipeline.invokeTool(shell("printf no > aborted.txt"), { cwd: dir, approvalMode: "on_request", threadId: "thread-r" })
        const d = yield* pipeline.invokeTool(shell("printf no > cancelled.txt"), { cwd: dir, approvalMode: "on_request", threadId: "thread-r" })
        return [a, b, c, d] as const
      }).pipe(Effect.provide(runtimeLayer(db)))
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const pending = yield* pipeline.pendingApprovals({ threadId: "thread-r" })
        assert.deepStrictEqual(pending.map((p) => p.approvalId), asked.map((a) => a.approval_id))
        assert.strictEqual(pending[0]!.frame.event, "exec_approval_request")
        const ok = yield* pipeline.respondToApproval(asked[0].approval_id!, { type: "approved" }, { actor: "carol" })
        assert.strictEqual(ok.status, "completed")
        assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "resumed.txt"), "utf8"), "resumed")
        const twice = yield* Effect.flip(pipeline.respondToApproval(asked[0].approval_id!, { type: "denied" }))
        assert.strictEqual(twice._tag, "ApprovalAlreadyResolved")
        const unknown = yield* Effect.flip(pipeline.respondToApproval("approval-0190aaaa-0000-7000-8000-000000000000", { type: "approved" }))
        assert.strictEqual(unknown._tag, "ApprovalNotFound")
        assert.strictEqual((yield* pipeline.respondToApproval(asked[1].approval_id!, { type: "denied" })).status, "denied")
        const aborted = yield* pipeline.respondToApproval(asked[2].approval_id!, { type: "abort" })
        assert.strictEqual(aborted.status, "aborted")
        assert.include(aborted.events.map((f) => f.event), "turn_aborted")
        yield* pipeline.cancelToolCall(asked[3].stream_id, "turn ended")
        const late = yield* Effect.flip(pipeline.respondToApproval(asked[3].approval_id!, { type: "approved" }))
        assert.strictEqual(late._tag, "ApprovalCallCancelled")
        for (const f of ["denied.txt", "aborted.txt", "cancelled.txt"]) assert.isFalse(NodeFs.existsSync(NodePath.join(dir, f)), f)
        assert.deepStrictEqual(yield* pipeline.pendingApprovals(), [])
        const why = yield* pipeline.explainToolCall(asked[0].approval_id!)
        assert.deepInclude(why.approval!, { decision: "approved", decided_by: "user", actor: "carol" })
        assert.deepInclude(why.authorized!, { source: "user", scope: "once", actor: "carol" })
        assert.strictEqual(why.result?.exit_code, 0)
      }).pipe(Effect.provide(runtimeLayer(db)))
    }))

  it.scopedLive("a call whose secret values only the requesting process held fails when approved elsewhere, and never runs without them", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      const ran = NodePath.join(dir, "ran.txt")
      const asked = yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        return yield* pipeline.invokeTool(shell("printf \"${API_TOKEN:-none}\" > ran.txt", { env: { API_TOKEN: "s3cret-value" } }), { cwd: dir, approvalMode: "on_request" })
      }).pipe(Effect.provide(runtimeLayer(db)))
      assert.strictEqual(asked.status, "approval_required")
      // Another process (here: a fresh pipeline on the same file) answers it.
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const result = yield* pipeline.respondToApproval(asked.approval_id!, { type: "approved" }, { actor: "dana" })
        assert.strictEqual(result.status, "failed")
        assert.include(result.error, "env.API_TOKEN")
        assert.isFalse(NodeFs.existsSync(ran), "the command did not run without its env")
        const why = yield* pipeline.explainToolCall(result.stream_id)
        assert.isFalse(why.ran)
        assert.deepInclude(why.authorized!, { source: "user", actor: "dana" })
        assert.notInclude(JSON.stringify(yield* (yield* EventStore).readAll()), "s3cret-value")
      }).pipe(Effect.provide(runtimeLayer(db)))
      // The process that holds the values runs it as requested.
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const again = yield* pipeline.invokeTool(shell("printf \"${API_TOKEN:-none}\" > ran.txt", { env: { API_TOKEN: "s3cret-value" } }), { cwd: dir, approvalMode: "on_request" })
        assert.strictEqual((yield* pipeline.respondToApproval(again.approval_id!, { type: "approved" })).status, "completed")
        assert.strictEqual(NodeFs.readFileSync(ran, "utf8"), "s3cret-value")
      }).pipe(Effect.provide(runtimeLayer(db)))
    }))

  it.scopedLive("waitForApproval blocks until the approval is answered", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const fiber = yield* Effect.fork(pipeline.invokeTool(shell("printf waited"), { cwd: dir, approvalMode: "on_request", threadId: "w", waitForApproval: true }))
        let pending = yield* pipeline.pendingApprovals({ threadId: "w" })
        while (pending.length === 0) {
          yield* Effect.sleep("20 millis")
          pending = yield* pipeline.pendingApprovals({ threadId: "w" })
        }
        yield* pipeline.respondToApproval(pending[0]!.approvalId, { type: "approved" })
        const result = yield* fiber.await.pipe(Effect.flatten)
        assert.strictEqual(result.status, "completed")
        assert.strictEqual(stdoutOf(result.output), "waited")
      }).pipe(Effect.provide(runtimeLayer(db)))
    }))

  it.scopedLive("a timeout kills the whole process tree of the command", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const asked = yield* pipeline.invokeTool(shell("echo start; sleep 300 & echo $! > child.pid; wait", { timeout_ms: 500 }), { cwd: dir, approvalMode: "on_request" })
        assert.strictEqual(asked.status, "approval_required", "a compound command asks")
        const result = yield* pipeline.respondToApproval(asked.approval_id!, { type: "approved" })
        assert.strictEqual(result.status, "failed")
        assert.isTrue((result.output as { body: { timed_out: boolean } }).body.timed_out)
        const pid = Number(NodeFs.readFileSync(NodePath.join(dir, "child.pid"), "utf8"))
        let alive = isAlive(pid)
        for (let i = 0; i < 100 && alive; i++) {
          yield* Effect.sleep("50 millis")
          alive = isAlive(pid)
        }
        assert.isFalse(alive)
      }).pipe(Effect.provide(runtimeLayer(db)))
    }))

  it.scopedLive("secret env values never enter the log", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const asked = yield* pipeline.invokeTool(shell("echo checked; test \"${#API_TOKEN}\" -eq 12", { env: { API_TOKEN: "s3cret-value" } }), { cwd: dir, approvalMode: "on_request" })
        const result = yield* pipeline.respondToApproval(asked.approval_id!, { type: "approved" })
        assert.strictEqual(result.status, "completed")
        const all = yield* (yield* EventStore).readAll()
        const text = JSON.stringify(all)
        assert.notInclude(text, "s3cret-value")
        assert.include(text, "env.API_TOKEN")
      }).pipe(Effect.provide(runtimeLayer(db)))
    }))
})

/** An `apply_patch` call creating each file with one line, and updating each file from `old` to `new`. */
const patch = (creates: ReadonlyArray<string>, updates: ReadonlyArray<readonly [string, string, string]> = []): ToolCall => {
  const created = creates.map((f) => `--- /dev/null\n+++ b/${f}\n@@ -0,0 +1 @@\n+${f}\n`)
  const updated = updates.map(([f, from, to]) => `--- a/${f}\n+++ b/${f}\n@@ -1 +1 @@\n-${from}\n+${to}\n`)
  return {
    name: "apply_patch",
    payload: { type: "function", arguments: JSON.stringify({ patch: [...created, ...updated].join("") }) },
    source: "direct",
    raw_tool_call_id: null
  }
}

describe("apply_patch under path rules and session grants (real files)", () => {
  const patchPolicy: PolicyInput = {
    user: {
      rules: [
        { action: "deny", tool: "apply_patch", path: "secrets/**" },
        { action: "allow", tool: "apply_patch", path: "src/**" }
      ]
    }
  }

  it.scopedLive("path rules see every file of a patch: one denied file denies it, an allow rule must cover them all", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      const exists = (f: string) => NodeFs.existsSync(NodePath.join(dir, f))
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const options = { cwd: dir, approvalMode: "on_request" as const, threadId: "thread-p" }

        const inside = yield* pipeline.invokeTool(patch(["src/a.txt"]), options)
        assert.strictEqual(inside.status, "completed")
        assert.strictEqual(inside.authorized_by, "rule")
        assert.isTrue(exists("src/a.txt"))

        const sneaky = yield* pipeline.invokeTool(patch(["src/b.txt", "secrets/key.txt"]), options)
        assert.strictEqual(sneaky.status, "denied")
        assert.isFalse(exists("src/b.txt"))
        assert.isFalse(exists("secrets/key.txt"))
        const why = yield* pipeline.explainToolCall(sneaky.stream_id)
        assert.strictEqual(why.denied?.source, "policy")
        assert.strictEqual(why.policy?.matched_rule, "tool=apply_patch path=secrets/**")
        assert.deepStrictEqual(why.policy?.touched_paths, ["src/b.txt", "secrets/key.txt"], "the record names every file the policy saw")

        const wider = yield* pipeline.invokeTool(patch(["src/c.txt", "docs/d.txt"]), options)
        assert.strictEqual(wider.status, "approval_required", "the src/** allow rule does not cover docs/d.txt")
        assert.isFalse(exists("src/c.txt"))
      }).pipe(Effect.provide(runtimeLayer(db, [], patchPolicy)))
    }))

  it.scopedLive("a session grant for a patch covers later patches to those files only", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      const read = (f: string) => NodeFs.readFileSync(NodePath.join(dir, f), "utf8")
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const grants = yield* Grants
        const options = { cwd: dir, approvalMode: "on_request" as const, threadId: "thread-g" }

        const first = yield* pipeline.invokeTool(patch(["docs/a.md", "docs/b.md"]), options)
        assert.strictEqual(first.status, "approval_required")
        const answered = yield* pipeline.respondToApproval(first.approval_id!, { type: "approved_for_session" }, { actor: "alice" })
        assert.strictEqual(answered.status, "completed")
        const granted = yield* grants.listGrants({ threadId: "thread-g" })
        assert.deepStrictEqual(granted.map((g) => [g.tool, g.path]).sort(), [["apply_patch", "docs/a.md"], ["apply_patch", "docs/b.md"]])

        const covered = yield* pipeline.invokeTool(patch([], [["docs/a.md", "docs/a.md", "edited"], ["docs/b.md", "docs/b.md", "edited"]]), options)
        assert.strictEqual(covered.status, "completed")
        assert.strictEqual(covered.authorized_by, "grant")
        assert.strictEqual(read("docs/a.md"), "edited\n")
        const why = yield* pipeline.explainToolCall(covered.stream_id)
        for (const g of granted) assert.include(why.authorized?.reason, g.grantId, "the record names every grant that covered the call")

        const beyond = yield* pipeline.invokeTool(patch(["docs/c.md"], [["docs/a.md", "edited", "again"]]), options)
        assert.strictEqual(beyond.status, "approval_required", "docs/c.md was never approved")
        assert.strictEqual(read("docs/a.md"), "edited\n")
      }).pipe(Effect.provide(runtimeLayer(db, [], patchPolicy)))
    }))
})

describe("hooks steering the pipeline (real bash, node and python3 scripts)", () => {
  it.scopedLive("block (bash, exit 2) vetoes the call and is recorded as the deciding source", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const result = yield* pipeline.invokeTool(shell("rm -rf build"), { cwd: dir, approvalMode: "never" })
        assert.strictEqual(result.status, "denied")
        assert.strictEqual(result.error, "rm is not allowed by the block.sh hook")
        const why = yield* pipeline.explainToolCall(result.stream_id)
        assert.deepInclude(why.denied!, { source: "hook" })
        assert.deepInclude(why.hooks[0]!, { hook_name: "block", outcome: "blocked", exit_code: 2, decision: "deny" })
        assert.isNull(why.policy, "the policy was never consulted")
      }).pipe(Effect.provide(runtimeLayer(db, [hook("block", fixture("block.sh"))])))
    }))

  it.scopedLive("rewrite (node) changes the command that runs; allow (python3) authorises an asking call", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const rewritten = yield* pipeline.invokeTool(shell("echo hello"), { cwd: dir, approvalMode: "on_request" })
        assert.strictEqual(stdoutOf(rewritten.output), "rewritten: hello\n")
        assert.strictEqual(rewritten.additional_context, "rewritten by rewrite.mjs")
        const allowed = yield* pipeline.invokeTool(shell("printf allowed"), { cwd: dir, approvalMode: "on_request" })
        assert.strictEqual(allowed.status, "completed")
        assert.strictEqual(allowed.authorized_by, "hook")
      }).pipe(Effect.provide(runtimeLayer(db, [
        hook("rewrite", fixture("rewrite.mjs")),
        hook("allow", fixture("allow.py"), { matcher: "exec_.*" })
      ])))
    }))

  it.scopedLive("ask forces an approval even when the policy allows; invalid JSON and a hang past the timeout do not block", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      const pidFile = NodePath.join(dir, "hook-child.pid")
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const asked = yield* pipeline.invokeTool(shell("echo needs a human"), { cwd: dir, approvalMode: "on_request" })
        assert.strictEqual(asked.status, "approval_required")
        assert.strictEqual(asked.approval_request?.reason, "ask.sh wants a human to look")
      }).pipe(Effect.provide(runtimeLayer(db, [hook("ask", fixture("ask.sh"))])))
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const result = yield* pipeline.invokeTool(shell("echo still runs"), { cwd: dir, approvalMode: "on_request" })
        assert.strictEqual(result.status, "completed")
        const why = yield* pipeline.explainToolCall(result.stream_id)
        assert.deepStrictEqual(why.hooks.map((h) => `${h.hook_name}:${h.outcome}`), ["invalid:error", "hang:timed_out", "post:success"])
      }).pipe(Effect.provide(runtimeLayer(db, [
        hook("invalid", fixture("invalid-json.sh")),
        hook("hang", `${fixture("hang.py")} ${pidFile}`, { timeoutMs: 3_000 }),
        hook("post", fixture("record-stdin.sh") + " " + NodePath.join(dir, "post.json"), { event: "PostToolUse" })
      ])))
      const post = JSON.parse(NodeFs.readFileSync(NodePath.join(dir, "post.json"), "utf8"))
      assert.strictEqual(post.hook_event_name, "PostToolUse")
      assert.strictEqual(post.tool_response.body.stdout, "still runs\n")
    }))
})

describe("tools whose own declarations fail (real files)", () => {
  /** A tool that writes `text` to `path`, with the given `redact` and `touchedPaths`. */
  const stamp = (declarations: Pick<Parameters<typeof defineTool>[0], "redact" | "touchedPaths">) =>
    defineTool({
      name: "stamp",
      description: "writes text to a file",
      mutating: true,
      input: Schema.Struct({ path: Schema.String, text: Schema.String }),
      ...declarations,
      handler: (input, context) =>
        Effect.sync(() => {
          NodeFs.writeFileSync(NodePath.join(context.cwd, input.path), input.text)
          return { type: "function" as const, success: true }
        })
    })
  const stampCall = (path: string, text: string): ToolCall => ({
    name: "stamp",
    payload: { type: "function", arguments: JSON.stringify({ path, text }) },
    source: "direct",
    raw_tool_call_id: null
  })
  const allowStamp: PolicyInput = { user: { rules: [{ action: "allow", tool: "stamp", path: "**" }] } }

  it.scopedLive("a touchedPaths that throws denies the call (the policy cannot see its files); the thrown message is not recorded", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        yield* (yield* ToolRegistry).register(stamp({ touchedPaths: () => { throw new TypeError("cannot parse sk-live-123") } }))
        const pipeline = yield* ToolPipeline
        const result = yield* pipeline.invokeTool(stampCall("a.txt", "x"), { cwd: dir, approvalMode: "on_request", threadId: "thread-d" })
        assert.strictEqual(result.status, "denied")
        assert.isFalse(NodeFs.existsSync(NodePath.join(dir, "a.txt")))
        const why = yield* pipeline.explainToolCall(result.stream_id)
        assert.strictEqual(why.denied?.source, "policy")
        assert.include(why.denied?.reason, "touchedPaths failed (it threw a TypeError)")
        const log = JSON.stringify(yield* (yield* EventStore).readStream(result.stream_id))
        assert.notInclude(log, "sk-live-123")
      }).pipe(Effect.provide(runtimeLayer(db, [], allowStamp)))
    }))

  it.scopedLive("a redact that throws fails the call with ToolDeclarationFailed before anything is recorded", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        yield* (yield* ToolRegistry).register(stamp({ redact: () => { throw new Error("no") } }))
        const pipeline = yield* ToolPipeline
        const store = yield* EventStore
        const before = yield* store.headPosition
        const error = yield* Effect.flip(pipeline.invokeTool(stampCall("a.txt", "x"), { cwd: dir, approvalMode: "on_request" }))
        assert.strictEqual(error._tag, "ToolDeclarationFailed")
        assert.strictEqual(yield* store.headPosition, before)
        assert.isFalse(NodeFs.existsSync(NodePath.join(dir, "a.txt")))
      }).pipe(Effect.provide(runtimeLayer(db, [], allowStamp)))
    }))

  it.scopedLive("a redact whose answer has nothing to record in place of the secret fails the call; the secret is not recorded", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        yield* (yield* ToolRegistry).register(stamp({ redact: () => ({ value: null, redacted: ["text"] }) }))
        const pipeline = yield* ToolPipeline
        const store = yield* EventStore
        const before = yield* store.headPosition
        const error = yield* Effect.flip(pipeline.invokeTool(stampCall("a.txt", "sk-live-456"), { cwd: dir, approvalMode: "on_request" }))
        assert.strictEqual(error._tag, "ToolDeclarationFailed")
        assert.strictEqual(yield* store.headPosition, before)
      }).pipe(Effect.provide(runtimeLayer(db, [], allowStamp)))
    }))

  it.scopedLive("approved for the session: the grants are for the files the policy checked, whatever the tool answers later", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        let calls = 0
        yield* (yield* ToolRegistry).register(stamp({ touchedPaths: (input) => (++calls > 1 ? ["elsewhere.txt"] : [(input as { path: string }).path]) }))
        const pipeline = yield* ToolPipeline
        const asked = yield* pipeline.invokeTool(stampCall("b.txt", "y"), { cwd: dir, approvalMode: "on_request", threadId: "thread-s" })
        assert.strictEqual(asked.status, "approval_required")
        const answered = yield* pipeline.respondToApproval(asked.approval_id!, { type: "approved_for_session" })
        assert.strictEqual(answered.status, "completed")
        assert.deepStrictEqual((yield* (yield* Grants).listGrants({ threadId: "thread-s" })).map((g) => g.path), ["b.txt"])
        assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "b.txt"), "utf8"), "y")
      }).pipe(Effect.provide(runtimeLayer(db, [], { user: { rules: [] } })))
    }))

  it.scopedLive("approved for the session when no files were recorded and touchedPaths now fails: denied, no grant, nothing written", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        let calls = 0
        yield* (yield* ToolRegistry).register(stamp({
          touchedPaths: () => {
            if (++calls > 1) throw new Error("changed its mind")
            return []
          }
        }))
        const pipeline = yield* ToolPipeline
        const asked = yield* pipeline.invokeTool(stampCall("c.txt", "z"), { cwd: dir, approvalMode: "on_request", threadId: "thread-t" })
        assert.strictEqual(asked.status, "approval_required")
        const answered = yield* pipeline.respondToApproval(asked.approval_id!, { type: "approved_for_session" })
        assert.strictEqual(answered.status, "denied")
        assert.deepStrictEqual(yield* (yield* Grants).listGrants({ threadId: "thread-t" }), [])
        assert.isFalse(NodeFs.existsSync(NodePath.join(dir, "c.txt")))
        assert.include((yield* pipeline.explainToolCall(asked.stream_id)).denied?.reason, "touchedPaths failed")
      }).pipe(Effect.provide(runtimeLayer(db, [], { user: { rules: [] } })))
    }))
})

describe("tool.policy_evaluated recorded before version 2", () => {
  it.scopedLive("reads as having no touched paths; the rest of the audit is unchanged", () =>
    Effect.gen(function*() {
      const { dir, db } = yield* workspace
      yield* Effect.gen(function*() {
        const pipeline = yield* ToolPipeline
        const store = yield* EventStore
        const ids = yield* IdGenerator
        const ran = yield* pipeline.invokeTool(shell("echo old"), { cwd: dir, approvalMode: "on_request" })
        const [requested, evaluated] = yield* store.readStream(ran.stream_id, { limit: 2 })
        assert.strictEqual(evaluated!.eventType, "tool.policy_evaluated")
        assert.strictEqual(evaluated!.schemaVersion, 2)
        // The same two events as a version-1 writer recorded them (no touched_paths).
        const { touched_paths: _, ...v1 } = evaluated!.payload as Record<string, unknown>
        const old = toolCallStreamId(yield* ids.eventId)
        const envelope = (e: typeof requested, schemaVersion: number, payload: unknown) =>
          Effect.map(ids.eventId, (eventId) => ({ eventId, eventType: e!.eventType, schemaVersion, payload, metadata: {} }))
        yield* store.append(old, [yield* envelope(requested, 1, requested!.payload), yield* envelope(evaluated, 1, v1)])
        const why = yield* pipeline.explainToolCall(old)
        assert.deepStrictEqual(why.policy, { ...(yield* pipeline.explainToolCall(ran.stream_id)).policy!, touched_paths: [] })
        assert.strictEqual(why.policy?.matched_rule, "tool=exec_shell command=echo")
      }).pipe(Effect.provide(runtimeLayer(db)))
    }))
})
