import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { execShellTool, layerWithBuiltins, redactExecShellInput, ToolRegistry, type ExecShellResult } from "@codewhale/tools"
import { collectingContext, eventually, fn, isAlive, tempDir } from "./helpers.ts"

const body = (out: { readonly type: string; readonly body?: unknown }) => out.body as ExecShellResult

describe("exec_shell", () => {
  it.scopedLive("runs a real command in the given cwd and env, with exit code, stdout, stderr and deltas", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      NodeFs.mkdirSync(NodePath.join(dir, "sub"))
      const registry = yield* ToolRegistry
      const { context, deltas } = yield* collectingContext(dir)
      const out = yield* registry.dispatch(
        fn("exec_shell", { command: "pwd; echo \"$GREETING\"; echo oops >&2; exit 3", cwd: "sub", env: { GREETING: "hello" } }),
        context
      )
      assert.strictEqual(out.type, "function")
      assert.isFalse((out as { success: boolean }).success)
      const result = body(out)
      assert.strictEqual(result.exit_code, 3)
      assert.strictEqual(result.stdout, `${NodePath.join(dir, "sub")}\nhello\n`)
      assert.strictEqual(result.stderr, "oops\n")
      const streamed = yield* Ref.get(deltas)
      assert.strictEqual(streamed.filter((d) => d.stream === "stdout").map((d) => d.chunk).join(""), result.stdout)
      const ok = yield* registry.dispatch({ name: "exec_shell", payload: { type: "local_shell", params: { command: "true" } }, source: "direct", raw_tool_call_id: null }, context)
      assert.isTrue((ok as { success: boolean }).success)
    }).pipe(Effect.provide(layerWithBuiltins())))

  it.scopedLive("caps captured output with a visible truncation marker", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const tool = execShellTool({ maxOutputBytes: 100 })
      const registry = yield* ToolRegistry
      yield* registry.register(tool, { replace: true })
      const { context } = yield* collectingContext(dir)
      const out = yield* registry.dispatch(fn("exec_shell", { command: "head -c 5000 /dev/zero | tr '\\0' a; echo; echo END" }), context)
      const result = body(out)
      assert.isTrue(result.stdout_truncated)
      assert.include(result.stdout, "[... truncated ")
      assert.isTrue(result.stdout.startsWith("aaaa"))
      assert.isTrue(result.stdout.endsWith("END\n"))
      assert.isBelow(result.stdout.length, 200)
    }).pipe(Effect.provide(ToolRegistry.layer)))

  it.scopedLive("a timeout kills the whole process tree", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const registry = yield* ToolRegistry
      const { context } = yield* collectingContext(dir)
      const out = yield* registry.dispatch(
        fn("exec_shell", { command: "sleep 300 & echo $! > grandchild.pid; bash -c 'sleep 300' & wait", timeout_ms: 500 }),
        context
      )
      const result = body(out)
      assert.isTrue(result.timed_out)
      assert.isNull(result.exit_code)
      const pid = Number(NodeFs.readFileSync(NodePath.join(dir, "grandchild.pid"), "utf8").trim())
      assert.isTrue(yield* eventually(() => !isAlive(pid)), `grandchild ${pid} still alive`)
    }).pipe(Effect.provide(layerWithBuiltins())))

  it.scopedLive("the registry's timeout (interruption) also kills the process group", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const registry = yield* ToolRegistry
      const { context } = yield* collectingContext(dir)
      const error = yield* Effect.flip(registry.dispatch(
        fn("exec_shell", { command: "sleep 300 & echo $! > grandchild.pid; wait" }),
        context,
        { timeoutMs: 700 }
      ))
      assert.strictEqual(error._tag, "ToolTimedOut")
      const pid = Number(NodeFs.readFileSync(NodePath.join(dir, "grandchild.pid"), "utf8").trim())
      assert.isTrue(yield* eventually(() => !isAlive(pid)), `grandchild ${pid} still alive`)
    }).pipe(Effect.provide(layerWithBuiltins())))

  it("redacts env values but keeps their names", () => {
    const r = redactExecShellInput({ command: "deploy", env: { API_TOKEN: "s3cret" } })
    assert.deepStrictEqual(r.redacted, ["env.API_TOKEN"])
    assert.notInclude(JSON.stringify(r.value), "s3cret")
  })
})
