import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { decodeMcpServers, loadMcpConfig, mergeMcpServers, parseMcpConfigToml } from "../src/Config.ts"
import type { McpConfigError } from "../src/Errors.ts"

const errorOf = (text: string): McpConfigError => {
  const result = parseMcpConfigToml(text)
  assert.isTrue(Either.isLeft(result))
  const error = Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : undefined))
  assert.strictEqual(error?._tag, "McpConfigError")
  return error as McpConfigError
}

describe("MCP config", () => {
  it("reads stdio and Streamable HTTP servers with defaults, sorted by name", () => {
    const result = parseMcpConfigToml(`
model = "ignored"
[mcp_servers.zeta]
url = "http://127.0.0.1:3001/mcp"
headers = { Authorization = "Bearer secret" }
required = true

[mcp_servers.alpha]
command = "node"
args = ["server.js", "--flag"]
env = { LOG = "1" }
cwd = "sub"
startup_timeout_ms = 500
tool_timeout_ms = 1500
enabled = false
`, { baseDir: "/base" })
    const servers = Either.getOrThrow(result)
    assert.deepStrictEqual(servers.map((s) => s.name), ["alpha", "zeta"])
    const [alpha, zeta] = servers
    assert.deepStrictEqual(alpha, {
      name: "alpha",
      transport: { _tag: "stdio", command: "node", args: ["server.js", "--flag"], env: { LOG: "1" }, cwd: "/base/sub" },
      enabled: false,
      required: false,
      startupTimeoutMs: 500,
      toolTimeoutMs: 1500
    })
    assert.deepStrictEqual(zeta, {
      name: "zeta",
      transport: { _tag: "streamable_http", url: "http://127.0.0.1:3001/mcp", headers: { Authorization: "Bearer secret" } },
      enabled: true,
      required: true,
      startupTimeoutMs: 10_000,
      toolTimeoutMs: 60_000
    })
  })

  it("names the server and the field of an invalid value", () => {
    const e = errorOf(`[mcp_servers.fs]\ncommand = "x"\nstartup_timeout_ms = -5\n`)
    assert.strictEqual(e.server, "fs")
    assert.strictEqual(e.field, "startup_timeout_ms")
    assert.include(e.message, "[mcp_servers.fs] field `startup_timeout_ms`")
  })

  it("rejects unknown fields, naming them", () => {
    const e = errorOf(`[mcp_servers.fs]\ncommand = "x"\ntimeout = 5\n`)
    assert.strictEqual(e.server, "fs")
    assert.strictEqual(e.field, "timeout")
  })

  it("rejects a wrong type inside a nested field", () => {
    const e = errorOf(`[mcp_servers.fs]\ncommand = "x"\nenv = { A = 1 }\n`)
    assert.strictEqual(e.field, "env.A")
  })

  it("needs exactly one of command and url", () => {
    assert.strictEqual(errorOf(`[mcp_servers.a]\nenabled = true\n`).field, "command")
    assert.strictEqual(errorOf(`[mcp_servers.a]\ncommand = "x"\nurl = "http://h/mcp"\n`).field, "url")
    assert.strictEqual(errorOf(`[mcp_servers.a]\nurl = "http://h/mcp"\nargs = ["x"]\n`).field, "args")
    assert.strictEqual(errorOf(`[mcp_servers.a]\ncommand = "x"\nheaders = { A = "b" }\n`).field, "headers")
    assert.strictEqual(errorOf(`[mcp_servers.a]\nurl = "ftp://h/mcp"\n`).field, "url")
    assert.strictEqual(errorOf(`[mcp_servers.a]\nurl = "not a url"\n`).field, "url")
  })

  it("rejects a server that is not a table and an mcp_servers that is not a table", () => {
    const a = Either.getLeft(decodeMcpServers({ fs: "node" }))
    assert.isTrue(a._tag === "Some" && a.value.server === "fs")
    const b = Either.getLeft(decodeMcpServers(["x"]))
    assert.isTrue(b._tag === "Some" && b.value.server === "")
  })

  it("reports TOML syntax errors as a file error", () => {
    const result = parseMcpConfigToml("[mcp_servers.a\n", { source: "/x/config.toml" })
    const e = Either.getLeft(result)
    assert.isTrue(e._tag === "Some" && e.value._tag === "McpConfigFileError" && e.value.path === "/x/config.toml")
  })

  it("merges lists: a later server of the same name replaces an earlier one", () => {
    const user = Either.getOrThrow(parseMcpConfigToml(`[mcp_servers.a]\ncommand = "user"\n[mcp_servers.b]\ncommand = "b"\n`))
    const project = Either.getOrThrow(parseMcpConfigToml(`[mcp_servers.a]\ncommand = "project"\n`))
    const merged = mergeMcpServers(user, project)
    assert.deepStrictEqual(merged.map((s) => [s.name, s.transport._tag === "stdio" ? s.transport.command : ""]), [["a", "project"], ["b", "b"]])
  })

  it.effect("loads config files, skipping missing ones, resolving cwd against the file", () =>
    Effect.gen(function*() {
      const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-mcp-config-"))
      const file = NodePath.join(dir, "config.toml")
      NodeFs.writeFileSync(file, `[mcp_servers.fs]\ncommand = "node"\ncwd = "work"\n`)
      const servers = yield* loadMcpConfig([NodePath.join(dir, "missing.toml"), file])
      assert.strictEqual(servers.length, 1)
      const t = servers[0]!.transport
      assert.isTrue(t._tag === "stdio" && t.cwd === NodePath.join(dir, "work"))
      const missing = yield* Effect.flip(loadMcpConfig([NodePath.join(dir, "missing.toml")], { requireAll: true }))
      assert.strictEqual(missing._tag, "McpConfigFileError")
      NodeFs.writeFileSync(file, `[mcp_servers.fs]\nurl = 3\n`)
      const invalid = yield* Effect.flip(loadMcpConfig([file]))
      assert.isTrue(invalid._tag === "McpConfigError" && invalid.field === "url" && invalid.source === file)
    }).pipe(Effect.provide(NodeContext.layer)))
})
