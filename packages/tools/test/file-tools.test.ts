import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { layerWithBuiltins, ToolRegistry } from "@codewhale/tools"
import { collectingContext, fn, tempDir } from "./helpers.ts"

const bodyOf = (out: unknown) => (out as { body: Record<string, unknown> }).body

describe("file tools", () => {
  it.scoped("write_file, read_file and list_dir inside the workspace", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const registry = yield* ToolRegistry
      const { context } = yield* collectingContext(dir)
      yield* registry.dispatch(fn("write_file", { path: "src/a.txt", content: "one\ntwo\nthree\n" }), context)
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "src/a.txt"), "utf8"), "one\ntwo\nthree\n")
      const read = bodyOf(yield* registry.dispatch(fn("read_file", { path: "./src//a.txt", offset: 2, limit: 1 }), context))
      assert.strictEqual(read["content"], "two")
      assert.strictEqual(read["total_lines"], 3)
      const list = bodyOf(yield* registry.dispatch(fn("list_dir", { recursive: true }), context))
      assert.deepStrictEqual((list["entries"] as Array<{ path: string }>).map((e) => e.path), ["src", "src/a.txt"])
      assert.deepStrictEqual(NodeFs.readdirSync(NodePath.join(dir, "src")), ["a.txt"], "no temp file left behind")
    }).pipe(Effect.provide(layerWithBuiltins())))

  it.scoped("paths escaping the workspace are refused, however they are spelled", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const outside = yield* tempDir
      NodeFs.writeFileSync(NodePath.join(outside, "secret"), "s")
      NodeFs.mkdirSync(NodePath.join(dir, "src"))
      NodeFs.symlinkSync(outside, NodePath.join(dir, "link"))
      const registry = yield* ToolRegistry
      const { context } = yield* collectingContext(dir)
      for (const path of ["../x", "src/../../x", NodePath.join(outside, "secret"), "link/secret", "link/new.txt"]) {
        const read = yield* Effect.flip(registry.dispatch(fn("read_file", { path }), context))
        assert.include(read.message, "path escapes workspace", path)
        const write = yield* Effect.flip(registry.dispatch(fn("write_file", { path, content: "x" }), context))
        assert.include(write.message, "path escapes workspace", path)
      }
      assert.isFalse(NodeFs.existsSync(NodePath.join(outside, "new.txt")))
    }).pipe(Effect.provide(layerWithBuiltins())))
})

const patch = (s: string) => s.replace(/^\n/, "")

describe("apply_patch", () => {
  it.scoped("modifies, creates and deletes files from one unified diff", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      NodeFs.writeFileSync(NodePath.join(dir, "a.txt"), "one\ntwo\nthree\nfour\n")
      NodeFs.writeFileSync(NodePath.join(dir, "gone.txt"), "bye\n")
      const registry = yield* ToolRegistry
      const { context } = yield* collectingContext(dir)
      const diff = patch(`
diff --git a/a.txt b/a.txt
--- a/a.txt
+++ b/a.txt
@@ -1,4 +1,4 @@
 one
-two
+TWO
 three
 four
--- /dev/null
+++ b/new/file.txt
@@ -0,0 +1,2 @@
+hello
+world
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
`)
      const out = bodyOf(yield* registry.dispatch(fn("apply_patch", { patch: diff }), context))
      assert.deepStrictEqual(out["files"], [
        { path: "a.txt", action: "modified" },
        { path: "new/file.txt", action: "created" },
        { path: "gone.txt", action: "deleted" }
      ])
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "a.txt"), "utf8"), "one\nTWO\nthree\nfour\n")
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "new/file.txt"), "utf8"), "hello\nworld\n")
      assert.isFalse(NodeFs.existsSync(NodePath.join(dir, "gone.txt")))
      const custom = yield* registry.dispatch({
        name: "apply_patch",
        payload: { type: "custom", input: "--- a/a.txt\n+++ b/a.txt\n@@ -4 +4 @@\n-four\n+FOUR\n" },
        source: "direct",
        raw_tool_call_id: null
      }, context)
      assert.isTrue((custom as { success: boolean }).success)
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "a.txt"), "utf8"), "one\nTWO\nthree\nFOUR\n")
    }).pipe(Effect.provide(layerWithBuiltins())))

  it.scoped("is all-or-nothing: one failing hunk changes no file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      NodeFs.writeFileSync(NodePath.join(dir, "a.txt"), "one\ntwo\n")
      NodeFs.writeFileSync(NodePath.join(dir, "b.txt"), "alpha\nbeta\n")
      const registry = yield* ToolRegistry
      const { context } = yield* collectingContext(dir)
      const diff = "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n--- a/b.txt\n+++ b/b.txt\n@@ -1,2 +1,2 @@\n alpha\n-gamma\n+delta\n"
      const error = yield* Effect.flip(registry.dispatch(fn("apply_patch", { patch: diff }), context))
      assert.strictEqual(error._tag, "ToolFailed")
      assert.include(error.message, "b.txt")
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "a.txt"), "utf8"), "one\ntwo\n")
      const escape = yield* Effect.flip(registry.dispatch(fn("apply_patch", { patch: "--- /dev/null\n+++ b/../evil\n@@ -0,0 +1 @@\n+x\n" }), context))
      assert.include(escape.message, "path escapes workspace")
    }).pipe(Effect.provide(layerWithBuiltins())))
})
