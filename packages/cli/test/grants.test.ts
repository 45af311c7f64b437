import { describe, expect, it } from "vitest"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { runCli } from "./support/runCli.ts"

describe("codewhale grants", () => {
  it("a session approval becomes a grant that is listed, used and revoked; amendments too", async () => {
    const h = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-cli-grants-"))
    const env = { CODEWHALE_HOME: h }
    const first = await runCli(["tool", "run", "--thread", "t1", "--", "printf", "one"], { input: "s\n", env })
    expect(first.stdout).toBe("one")
    const again = await runCli(["tool", "run", "--thread", "t1", "--json", "--", "printf", "one"], { env })
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "completed", authorized_by: "grant" })
    const list = await runCli(["grants", "list", "--json"], { env })
    const grant = JSON.parse(list.stdout.trim().split("\n")[0]!)
    expect(grant).toMatchObject({ kind: "grant", threadId: "t1", command: "printf one" })
    const revoked = await runCli(["grants", "revoke", grant.grantId], { env })
    expect(revoked.stdout).toContain(`revoked ${grant.grantId}`)
    const amend = await runCli(["tool", "run", "--", "printf", "two"], { input: "a\n", env })
    expect(amend.stdout).toBe("two")
    const amendments = await runCli(["grants", "list"], { env })
    expect(amendments.stdout).toMatch(/policy_amendment-\S+ {2}user policy allows "printf two"/)
  }, 900_000)
})
