import { describe, expect, it } from "vitest"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { repoRoot, runCli } from "./support/runCli.ts"

const fixture = (name: string) => NodePath.join(repoRoot, "packages", "hooks", "test", "fixtures", name)

describe("codewhale hooks test", () => {
  it("runs the configured hooks of an event (Claude-style config) and reports their decisions", async () => {
    const h = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-cli-hooks-"))
    NodeFs.writeFileSync(NodePath.join(h, "hooks.json"), JSON.stringify({
      hooks: {
        PreToolUse: [{ matcher: "exec_shell", hooks: [{ type: "command", command: fixture("block.sh"), timeout: 10 }] }],
        SessionStart: [{ hooks: [{ type: "command", command: fixture("context.py") }] }]
      }
    }))
    const env = { CODEWHALE_HOME: h }
    const blocked = await runCli(["hooks", "test", "PreToolUse", "--input", "{\"command\":\"rm -rf x\"}"], { env })
    expect(blocked.stdout).toContain("blocked exit 2")
    expect(blocked.stdout).toContain("rm is not allowed by the block.sh hook")
    expect(blocked.status).toBe(2)
    const passes = await runCli(["hooks", "test", "PreToolUse"], { env })
    expect(passes.stdout).toContain("result: no decision")
    expect(passes.status).toBe(0)
    const start = await runCli(["hooks", "test", "SessionStart"], { env })
    expect(start.stdout).toContain("context: context from context.py for SessionStart")
    const bad = await runCli(["hooks", "test", "BeforeTool"], { env })
    expect(bad.stderr + bad.stdout).toContain("unknown hook event")
  }, 900_000)
})
