import { describe, expect, it } from "vitest"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { runCli } from "./support/runCli.ts"

describe("codewhale approvals", () => {
  it("a call left pending is listed by a later process and answered there", async () => {
    const h = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-cli-appr-"))
    const work = NodeFs.mkdtempSync(NodePath.join(h, "work-"))
    const pending = await runCli(["tool", "run", "--cwd", work, "--", "printf later > later.txt"], { env: { CODEWHALE_HOME: h } })
    expect(pending.status).toBe(3)
    expect(pending.stderr).toContain("stays pending")
    const list = await runCli(["approvals", "list", "--json"], { env: { CODEWHALE_HOME: h } })
    const [approval] = list.stdout.trim().split("\n").map((l) => JSON.parse(l))
    expect(approval.request.command).toBe("printf later > later.txt")
    const answer = await runCli(["approvals", "respond", approval.approvalId, "approved", "--actor", "tester"], { env: { CODEWHALE_HOME: h } })
    expect(answer.stderr).toContain("[completed]")
    expect(NodeFs.readFileSync(NodePath.join(work, "later.txt"), "utf8")).toBe("later")
    const twice = await runCli(["approvals", "respond", approval.approvalId, "denied"], { env: { CODEWHALE_HOME: h } })
    expect(twice.status).not.toBe(0)
    expect(twice.stderr + twice.stdout).toContain("already answered")
  }, 900_000)
})
