import Database from "better-sqlite3"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

const root = NodePath.resolve(import.meta.dirname, "../../..")
const home = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-demo-"))
afterAll(() => NodeFs.rmSync(home, { recursive: true, force: true }))

const secret = "sk-demo-secret-never-logged-1234"

const demo = () =>
  spawnSync(process.execPath, ["--conditions=@codewhale/source", "--import", "tsx", "packages/cli/src/bin.ts", "demo"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, CODEWHALE_HOME: home, DEEPSEEK_API_KEY: secret },
    timeout: 300_000
  })

describe("codewhale demo", () => {
  it("runs end to end twice on the same home, and the log holds what it showed", () => {
    const first = demo()
    expect(first.status, first.stderr).toBe(0)
    const out = first.stdout
    expect(out).toContain(`event log ${NodePath.join(home, "state.db")}`)
    expect(out).toMatch(/thread started: thread-\S+ \(status started\)/)
    expect(out).toContain("message recorded: accepted")
    expect(out).toContain("API key present")
    expect(out).toContain("\"has_api_key\":true")
    expect(out).toMatch(/allowed {2}\$ echo hello from codewhale && ls {2}→ completed: hello from codewhale/)
    expect(out).toContain("denied   $ rm -rf ./build  → denied: Command blocked by denied prefix rule 'rm -rf'")
    expect(out).toMatch(/asks {5}\$ touch notes.txt {2}→ approval_required \(approval approval-\S+\)/)
    expect(out).toContain("→ completed; notes.txt exists: true")
    expect(out).toContain("started: ready [everything], failed []")
    expect(out).toContain("mcp__everything__echo → completed: Echo: hello from the whale")
    expect(out).toMatch(/job-\S+ → completed after 1 failed attempt\(s\)/)
    expect(out).toContain("history: created → running → failed → running")
    expect(out).toMatch(/pre-tool-use\.sh ran 4 time\(s\) in this run/)
    expect(out).toMatch(/replayed as of position \d+ \(before the prompt\): 3 events/)

    const second = demo()
    expect(second.status, second.stderr).toBe(0)
    expect(second.stdout).toContain("mcp__everything__echo → completed")
    expect(second.stdout).toMatch(/pre-tool-use\.sh ran 4 time\(s\) in this run/)

    const file = NodePath.join(home, "state.db")
    const db = new Database(file, { readonly: true })
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n
    expect(count("SELECT count(*) AS n FROM events WHERE event_type = 'thread.created'")).toBe(2)
    expect(count("SELECT count(*) AS n FROM events WHERE event_type = 'approval.resolved'")).toBe(2)
    expect(count("SELECT count(*) AS n FROM events WHERE event_type = 'job.failed'")).toBe(2)
    expect(count("SELECT count(*) AS n FROM events WHERE event_type = 'job.completed'")).toBe(2)
    expect(count("SELECT count(*) AS n FROM events WHERE event_type = 'hook.run_finished'")).toBeGreaterThanOrEqual(8)
    expect(count("SELECT count(*) AS n FROM events WHERE event_type = 'mcp.server_ready'")).toBe(2)
    expect(count(`SELECT count(*) AS n FROM events WHERE payload LIKE '%${secret}%' OR metadata LIKE '%${secret}%'`)).toBe(0)
    db.close()
  }, 600_000)
})
