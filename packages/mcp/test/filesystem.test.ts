import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { McpManager } from "../src/McpManager.ts"
import { filesystemEntry, firstText, managerLayer, nodeServer, sessionEvents } from "./helpers.ts"

const dir = NodeFs.realpathSync(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-mcp-fs-")))

describe("server-filesystem on a temporary directory", () => {
  it.scopedLive("lists, writes and reads files inside the allowed directory; a path outside is an isError result", () =>
    Effect.gen(function*() {
      yield* Effect.addFinalizer(() => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true })))
      NodeFs.writeFileSync(NodePath.join(dir, "hello.txt"), "hello from the whale\n")
      const manager = yield* McpManager
      yield* manager.startAll
      const names = (yield* manager.tools).map((t) => t.qualifiedName)
      assert.includeMembers(names, ["mcp__fs__read_text_file", "mcp__fs__write_file", "mcp__fs__list_directory"])
      const listing = yield* manager.callQualifiedTool("mcp__fs__list_directory", { arguments: { path: dir } })
      assert.include(firstText(listing), "hello.txt")
      const read = yield* manager.callQualifiedTool("mcp__fs__read_text_file", { arguments: { path: NodePath.join(dir, "hello.txt") } })
      assert.include(firstText(read), "hello from the whale")
      yield* manager.callQualifiedTool("mcp__fs__write_file", { arguments: { path: NodePath.join(dir, "new.txt"), content: "written" } })
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "new.txt"), "utf8"), "written")
      const outside = yield* manager.callQualifiedTool("mcp__fs__read_text_file", { arguments: { path: "/etc/hostname" } })
      assert.isTrue(outside.isError)
      const events = yield* sessionEvents
      const completed = events.filter((e) => e.type === "mcp.tool_call_completed")
      assert.strictEqual(completed.length, 4)
      // The tool output is in the log, so a replay never reads the file again.
      assert.include(JSON.stringify(completed[1]!.payload["result"]), "hello from the whale")
    }).pipe(Effect.provide(managerLayer([nodeServer("fs", filesystemEntry, [dir])]))))
})
