import { assert, describe, it } from "@effect/vitest"
import { MaxToolNameLength, qualifyAll, qualifyToolName, splitQualifiedName } from "../src/ToolNames.ts"

describe("MCP tool names", () => {
  it("keeps valid names readable: mcp__<server>__<tool>", () => {
    assert.strictEqual(qualifyToolName("everything", "get-sum"), "mcp__everything__get-sum")
    assert.strictEqual(qualifyToolName("fs", "read_text_file"), "mcp__fs__read_text_file")
  })

  it("is deterministic and independent of the other tools", () => {
    const a = qualifyAll([{ server: "my.server", tool: "x" }])
    const b = qualifyAll([{ server: "other", tool: "y" }, { server: "my.server", tool: "x" }])
    assert.strictEqual(a[0]!.qualifiedName, b[1]!.qualifiedName)
    assert.strictEqual(qualifyToolName("my.server", "x"), qualifyToolName("my.server", "x"))
  })

  it("never lets two servers that sanitise alike meet", () => {
    const names = ["my-server", "my_server", "my.server", "My.Server", "my__server"].map((s) => qualifyToolName(s, "read"))
    assert.strictEqual(new Set(names).size, names.length)
    for (const n of names) assert.match(n, /^[A-Za-z0-9_-]+$/)
  })

  it("never lets two tools that sanitise alike meet", () => {
    const names = ["a.b", "a_b", "a/b", "a b"].map((t) => qualifyToolName("srv", t))
    assert.strictEqual(new Set(names).size, names.length)
  })

  it("splits back into the server and tool components, even with __ or a leading _ in the tool", () => {
    assert.deepStrictEqual(splitQualifiedName(qualifyToolName("fs", "read__file")), { server: "fs", tool: "read__file" })
    assert.deepStrictEqual(splitQualifiedName(qualifyToolName("fs", "_private")), { server: "fs", tool: "_private" })
    assert.deepStrictEqual(splitQualifiedName(qualifyToolName("a__b_", "t")), { server: qualifyToolName("a__b_", "t").slice(5).split("__")[0], tool: "t" })
    assert.strictEqual(splitQualifiedName("read_file"), undefined)
    assert.strictEqual(splitQualifiedName("mcp__server"), undefined)
    assert.strictEqual(splitQualifiedName("mcp____tool"), undefined)
  })

  it("caps names at 64 characters, distinct for distinct long tools", () => {
    const long = "x".repeat(100)
    const a = qualifyToolName("a-very-long-server-name-indeed-yes", `${long}1`)
    const b = qualifyToolName("a-very-long-server-name-indeed-yes", `${long}2`)
    assert.isAtMost(a.length, MaxToolNameLength)
    assert.notStrictEqual(a, b)
    assert.isDefined(splitQualifiedName(a))
  })

  it("resolves residual collisions by suffixing every colliding pair", () => {
    const clean = qualifyToolName("s", "t.x")
    const literal = clean.slice("mcp__s__".length)
    const named = qualifyAll([{ server: "s", tool: "t.x" }, { server: "s", tool: literal }])
    assert.strictEqual(new Set(named.map((n) => n.qualifiedName)).size, 2)
    for (const n of named) assert.isAtMost(n.qualifiedName.length, MaxToolNameLength)
  })
})
