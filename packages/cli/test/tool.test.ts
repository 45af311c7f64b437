import { describe, expect, it } from "vitest"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { runCli } from "./support/runCli.ts"

const home = () => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-cli-tool-"))

describe("codewhale tool run", () => {
  it("asks on the terminal and runs the command after 'y'", async () => {
    const h = home()
    const work = NodeFs.mkdtempSync(NodePath.join(h, "work-"))
    const r = await runCli(["tool", "run", "--cwd", work, "--", "mkdir -p made && echo done"], { input: "y\n", env: { CODEWHALE_HOME: h } })
    expect(r.stderr).toContain("Approval needed for: mkdir -p made && echo done")
    expect(r.stdout).toBe("done\n")
    expect(r.status).toBe(0)
    expect(NodeFs.existsSync(NodePath.join(work, "made"))).toBe(true)
  }, 900_000)

  it("a policy deny is refused without asking; --approval-mode is honoured", async () => {
    const h = home()
    NodeFs.writeFileSync(NodePath.join(h, "policy.toml"), "[[user.rules]]\naction = \"deny\"\ntool = \"exec_shell\"\ncommand = \"rm\"\n\n[[user.rules]]\naction = \"allow\"\ntool = \"exec_shell\"\ncommand = \"echo\"\n")
    const denied = await runCli(["tool", "run", "--", "rm", "-rf", "nothing"], { env: { CODEWHALE_HOME: h } })
    expect(denied.stderr).toContain("[denied]")
    expect(denied.status).toBe(1)
    const allowed = await runCli(["tool", "run", "--approval-mode", "unless_trusted", "--json", "--", "echo", "ok"], { env: { CODEWHALE_HOME: h } })
    const result = JSON.parse(allowed.stdout)
    expect(result).toMatchObject({ status: "completed", authorized_by: "rule" })
    const bad = await runCli(["tool", "run", "--approval-mode", "sometimes", "--", "echo", "ok"], { env: { CODEWHALE_HOME: h } })
    expect(bad.status).not.toBe(0)
    expect(bad.stderr + bad.stdout).toContain("unknown approval mode")
  }, 900_000)
})
