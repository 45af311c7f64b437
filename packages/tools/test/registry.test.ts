import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { defineJsonSchemaTool, defineTool, functionOutput, layerWithBuiltins, ToolRegistry } from "@codewhale/tools"
import { fn } from "./helpers.ts"

const ctx = { callId: "c", cwd: "/tmp", emit: () => Effect.void }

const echo = defineTool({
  name: "echo",
  description: "Echo the text",
  input: Schema.Struct({ text: Schema.String }),
  handler: (input) => Effect.succeed(functionOutput({ text: input.text }))
})

describe("ToolRegistry", () => {
  it.effect("registers, lists in name order and exports JSON Schema", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      yield* registry.register(defineTool({ name: "zeta", description: "z", input: Schema.Struct({}), handler: () => Effect.succeed(functionOutput(null)) }))
      yield* registry.register(echo)
      const specs = yield* registry.list
      assert.deepStrictEqual(specs.map((s) => s.name), ["echo", "zeta"])
      assert.deepStrictEqual((specs[0]!.input_schema as { required: Array<string> }).required, ["text"])
      const dup = yield* Effect.flip(registry.register(echo))
      assert.strictEqual(dup._tag, "ToolAlreadyRegistered")
      yield* registry.register(echo, { replace: true })
      assert.isTrue(yield* registry.unregister("zeta"))
      assert.deepStrictEqual((yield* registry.list).map((s) => s.name), ["echo"])
    }).pipe(Effect.provide(ToolRegistry.layer)))

  it.live("dispatch: typed errors for unknown tools, bad JSON, schema mismatch and timeouts", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      yield* registry.register(echo)
      yield* registry.register(defineTool({
        name: "slow",
        description: "never ends",
        input: Schema.Struct({}),
        timeoutMs: 50,
        handler: () => Effect.never
      }))
      const out = yield* registry.dispatch(fn("echo", { text: "hi" }), ctx)
      assert.deepStrictEqual(out, { type: "function", body: { text: "hi" }, success: true })
      const notFound = yield* Effect.flip(registry.dispatch(fn("nope", {}), ctx))
      assert.strictEqual(notFound._tag, "ToolNotFound")
      const badJson = yield* Effect.flip(registry.dispatch({ ...fn("echo", {}), payload: { type: "function", arguments: "{oops" } }, ctx))
      assert.strictEqual(badJson._tag, "InvalidToolArguments")
      const mismatch = yield* Effect.flip(registry.dispatch(fn("echo", { text: 1 }), ctx))
      assert.strictEqual(mismatch._tag, "InvalidToolArguments")
      assert.include(mismatch.message, "text")
      const timedOut = yield* Effect.flip(registry.dispatch(fn("slow", {}), ctx))
      assert.strictEqual(timedOut._tag, "ToolTimedOut")
      const override = yield* Effect.flip(registry.dispatch(fn("slow", {}), ctx, { timeoutMs: 10 }))
      assert.deepInclude(override, { _tag: "ToolTimedOut", timeoutMs: 10 })
    }).pipe(Effect.provide(ToolRegistry.layer)))

  it.effect("touchedPaths: every file a patch changes (new path, or old when deleted), for the policy; nothing for other or unreadable input", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      const diff = "--- a/src/x.ts\n+++ b/src/y.ts\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b/docs/new.md\n@@ -0,0 +1 @@\n+hi\n--- old.txt\t2026-01-01\n+++ /dev/null\n"
      assert.deepStrictEqual(yield* registry.touchedPaths(fn("apply_patch", { patch: diff })), ["src/y.ts", "docs/new.md", "old.txt"])
      const custom = { name: "apply_patch", payload: { type: "custom" as const, input: diff }, source: "direct" as const, raw_tool_call_id: null }
      assert.deepStrictEqual(yield* registry.touchedPaths(custom), ["src/y.ts", "docs/new.md", "old.txt"])
      assert.deepStrictEqual(yield* registry.touchedPaths(fn("apply_patch", { patch: "--- a/x\nnot a header" })), [])
      assert.deepStrictEqual(yield* registry.touchedPaths({ ...fn("apply_patch", {}), payload: { type: "function", arguments: "{oops" } }), [])
      assert.deepStrictEqual(yield* registry.touchedPaths(fn("write_file", { path: "a.txt", content: "x" })), [])
      assert.deepStrictEqual(yield* registry.touchedPaths(fn("nope", {})), [])
    }).pipe(Effect.provide(layerWithBuiltins())))

  it.effect("a redact or touchedPaths that throws or returns something malformed fails with ToolDeclarationFailed, without its message", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      const tool = (name: string, declarations: Pick<Parameters<typeof defineTool>[0], "redact" | "touchedPaths">) =>
        registry.register(defineTool({ ...declarations, name, description: name, input: Schema.Struct({}), handler: () => Effect.succeed(functionOutput(null)) }))
      yield* tool("throws", {
        redact: () => { throw new RangeError("token=sk-secret") },
        touchedPaths: () => { throw "sk-secret" }
      })
      yield* tool("malformed", {
        redact: () => ({ value: {}, redacted: [1] }) as never,
        touchedPaths: () => ["ok", 2] as never
      })
      yield* tool("sly", {
        redact: () => ({ value: null, redacted: ["token"] }) as never,
        touchedPaths: () => { throw Object.assign(new Error("x"), { name: "sk-secret" }) }
      })
      const redactThrew = yield* Effect.flip(registry.redactCall(fn("throws", {})))
      assert.strictEqual(redactThrew._tag, "ToolDeclarationFailed")
      assert.strictEqual(redactThrew.declaration, "redact")
      assert.strictEqual(redactThrew.detail, "it threw a RangeError")
      assert.notInclude(redactThrew.message, "sk-secret")
      const pathsThrew = yield* Effect.flip(registry.touchedPaths(fn("throws", {})))
      assert.strictEqual(pathsThrew.declaration, "touchedPaths")
      assert.strictEqual(pathsThrew.detail, "it threw a non-Error value")
      assert.match((yield* Effect.flip(registry.redactCall(fn("malformed", {})))).detail, /returned something other than/)
      assert.match((yield* Effect.flip(registry.touchedPaths(fn("malformed", {})))).detail, /returned something other than a list of paths/)
      assert.match((yield* Effect.flip(registry.redactCall(fn("sly", {})))).detail, /returned something other than/, "something is hidden, so there must be a value to record instead")
      const named = yield* Effect.flip(registry.touchedPaths(fn("sly", {})))
      assert.strictEqual(named.detail, "it threw an Error", "a thrown object's own name is not repeated")
    }).pipe(Effect.provide(ToolRegistry.layer)))

  it.effect("a JSON Schema tool (as MCP tools are registered) validates required fields and types", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      yield* registry.register(defineJsonSchemaTool({
        name: "mcp__fs__read",
        description: "read through MCP",
        kind: "mcp",
        inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
        handler: (input) => Effect.succeed({ type: "mcp", result: { content: [{ type: "text", text: JSON.stringify(input) }] } })
      }))
      const missing = yield* Effect.flip(registry.dispatch(fn("mcp__fs__read", {}), ctx))
      assert.include(missing.message, "missing required field 'path'")
      const wrong = yield* Effect.flip(registry.dispatch(fn("mcp__fs__read", { path: 3 }), ctx))
      assert.include(wrong.message, "field 'path' must be string")
      const ok = yield* registry.dispatch({
        name: "mcp__fs__read",
        payload: { type: "mcp", server: "fs", tool: "read", raw_arguments: { path: "a" } },
        source: "direct",
        raw_tool_call_id: null
      }, ctx)
      assert.strictEqual(ok.type, "mcp")
      const rejected = yield* Effect.flip(registry.dispatch({
        name: "echo-missing",
        payload: { type: "mcp", server: "fs", tool: "read", raw_arguments: {} },
        source: "direct",
        raw_tool_call_id: null
      }, ctx))
      assert.strictEqual(rejected._tag, "ToolNotFound")
    }).pipe(Effect.provide(ToolRegistry.layer)))
})
