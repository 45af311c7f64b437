import { describe, expect, it } from "vitest"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { repoRoot, runCli } from "./support/runCli.ts"

const mcpRequire = createRequire(NodePath.join(repoRoot, "packages", "mcp", "package.json"))
const everything = NodePath.join(NodePath.dirname(mcpRequire.resolve("@modelcontextprotocol/server-everything/package.json")), "dist", "index.js")
const exitsAtOnce = NodePath.join(repoRoot, "packages", "mcp", "test", "fixtures", "exits-at-once.mjs")

const home = (config: string) => {
  const h = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-cli-mcp-"))
  NodeFs.writeFileSync(NodePath.join(h, "config.toml"), config)
  return h
}

const everythingToml = `[mcp_servers.everything]
command = ${JSON.stringify(process.execPath)}
args = [${JSON.stringify(everything)}, "stdio"]
`

describe("codewhale mcp", () => {
  it("list prints the configured servers without secret values", async () => {
    const h = home(`${everythingToml}
[mcp_servers.remote]
url = "http://127.0.0.1:9/mcp"
headers = { Authorization = "Bearer sekrit" }
enabled = false
`)
    const r = await runCli(["mcp", "list", "--json"], { env: { CODEWHALE_HOME: h } })
    expect(r.status).toBe(0)
    const servers = JSON.parse(r.stdout) as ReadonlyArray<Record<string, unknown>>
    expect(servers.map((s) => [s["name"], s["transport"], s["enabled"]])).toEqual([["everything", "stdio", true], ["remote", "streamable_http", false]])
    expect(servers[1]!["headers"]).toEqual(["Authorization"])
    expect(r.stdout).not.toContain("sekrit")
  }, 900_000)

  it("an invalid config is an error naming the server and the field", async () => {
    const h = home(`[mcp_servers.fs]\ncommand = "x"\nstartup_timeout_ms = "soon"\n`)
    const r = await runCli(["mcp", "list"], { env: { CODEWHALE_HOME: h } })
    expect(r.status).not.toBe(0)
    expect(r.stderr + r.stdout).toContain("[mcp_servers.fs] field `startup_timeout_ms`")
  }, 900_000)

  it("start prints the seed's startup frames; a failed required server exits 1", async () => {
    const h = home(`${everythingToml}
[mcp_servers.broken]
command = ${JSON.stringify(process.execPath)}
args = [${JSON.stringify(exitsAtOnce)}]
required = true
`)
    const r = await runCli(["mcp", "start"], { env: { CODEWHALE_HOME: h } })
    expect(r.status).toBe(1)
    const frames = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { event: string; summary?: unknown })
    expect(frames.filter((f) => f.event === "mcp_startup_update")).toHaveLength(4)
    const complete = frames.at(-1)!
    expect(complete.event).toBe("mcp_startup_complete")
    expect(complete.summary).toMatchObject({ ready: ["everything"], failed: [{ server_name: "broken" }], cancelled: [] })
    expect(r.stderr).toContain("required MCP server failed to start: broken")
    // The session is in the log.
    const log = await runCli(["log", "streams", "--category", "mcp", "--json"], { env: { CODEWHALE_HOME: h } })
    expect(log.stdout).toContain("\"category\":\"mcp\"")
  }, 900_000)

  it("tools lists registry names; call runs one tool with --args", async () => {
    const config = NodePath.join(home(""), "servers.toml")
    NodeFs.writeFileSync(config, everythingToml)
    const tools = await runCli(["mcp", "tools", "everything", "--config", config])
    expect(tools.status).toBe(0)
    expect(tools.stdout).toContain("mcp__everything__get-sum")
    const call = await runCli(["mcp", "call", "everything", "get-sum", "--args", "{\"a\": 20, \"b\": 22}", "--config", config])
    expect(call.status).toBe(0)
    expect(call.stdout).toContain("The sum of 20 and 22 is 42.")
    const bad = await runCli(["mcp", "call", "everything", "get-sum", "--args", "[1]", "--config", config])
    expect(bad.status).not.toBe(0)
    expect(bad.stderr + bad.stdout).toContain("--args must be a JSON object")
  }, 900_000)
})
