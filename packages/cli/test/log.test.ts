import Database from "better-sqlite3"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { runCli, runNode } from "./support/runCli.ts"

const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-log-cli-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

const env = { CODEWHALE_HOME: NodePath.join(dir, "home") }
const cli = (args: ReadonlyArray<string>, input?: string) => runCli(args, { input, env })
const seeded = async (name: string, count: number) => {
  const file = NodePath.join(dir, name)
  const r = await runNode(["packages/cli/test/fixtures/seed-log.ts", file, String(count)], { env })
  expect(r.status, r.stderr).toBe(0)
  return file
}

describe("codewhale log", () => {
  let db = ""
  beforeAll(async () => {
    db = await seeded("main.db", 30)
  })

  it("streams lists every stream with its version, filtered by category", async () => {
    const all = await cli(["log", "streams", "--db", db, "--json"])
    expect(all.status, all.stderr).toBe(0)
    const rows = all.stdout.trim().split("\n").map((l) => JSON.parse(l) as { streamId: string; version: number })
    expect(rows.map((r) => [r.streamId, r.version])).toEqual([["memo-c", 10], ["note-a", 10], ["note-b", 10]])
    const notes = await cli(["log", "streams", "--db", db, "--category", "note", "--json"])
    expect(notes.stdout.trim().split("\n")).toHaveLength(2)
  })

  it("show prints one stream between versions", async () => {
    const r = await cli(["log", "show", "note-a", "--from", "2", "--to", "4", "--db", db, "--json"])
    expect(r.status, r.stderr).toBe(0)
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { streamVersion: number; payload: { i: number } })
    expect(events.map((e) => e.streamVersion)).toEqual([2, 3, 4])
    expect(events.map((e) => e.payload.i)).toEqual([3, 6, 9])
  })

  it("tail prints the most recent events of a category", async () => {
    const r = await cli(["log", "tail", "-n", "4", "--category", "memo", "--db", db, "--json"])
    expect(r.status, r.stderr).toBe(0)
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { streamId: string; payload: { i: number } })
    expect(events.map((e) => e.payload.i)).toEqual([20, 23, 26, 29])
  })

  it("replay prints a projection as of an earlier position", async () => {
    const r = await cli(["log", "replay", "summary", "--until", "12", "--db", db])
    expect(r.status, r.stderr).toBe(0)
    const state = JSON.parse(r.stdout) as { events: number; lastPosition: number; byCategory: Record<string, number> }
    expect(state).toMatchObject({ events: 12, lastPosition: 12, byCategory: { note: 8, memo: 4 } })
  })

  it("verify passes on a sound log and reports events of unknown types as skipped", async () => {
    const r = await cli(["log", "verify", "--db", db, "--json"])
    expect(r.status, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as { ok: boolean; events: number; streams: number; unknownEvents: number }
    expect(report).toMatchObject({ ok: true, events: 30, streams: 3, unknownEvents: 30 })
  })

  it("export then import into an empty database replays to the same state", async () => {
    const exported = await cli(["log", "export", "--db", db])
    expect(exported.status, exported.stderr).toBe(0)
    expect(exported.stdout.trim().split("\n")).toHaveLength(30)
    const copy = NodePath.join(dir, "copy.db")
    const imported = await cli(["log", "import", "--db", copy], exported.stdout)
    expect(imported.status, imported.stderr).toBe(0)
    expect(imported.stdout).toContain("imported 30 event(s)")
    const again = await cli(["log", "import", "--db", copy], exported.stdout)
    expect(again.stdout).toContain("imported 0 event(s), 30 already present")
    const a = (await cli(["log", "replay", "summary", "--db", db])).stdout
    const b = (await cli(["log", "replay", "summary", "--db", copy])).stdout
    expect(b).toBe(a)
    expect((await cli(["log", "export", "--db", copy])).stdout.replace(/"position":\d+,/g, "")).toBe(exported.stdout.replace(/"position":\d+,/g, ""))
  })

  it("export selects by stream, category and position", async () => {
    expect((await cli(["log", "export", "--db", db, "--stream", "note-b"])).stdout.trim().split("\n")).toHaveLength(10)
    expect((await cli(["log", "export", "--db", db, "--category", "memo"])).stdout.trim().split("\n")).toHaveLength(10)
    expect((await cli(["log", "export", "--db", db, "--after", "25"])).stdout.trim().split("\n")).toHaveLength(5)
  })

  it("import refuses a malformed line, names it, and stores nothing", async () => {
    const target = await seeded("target.db", 3)
    const before = NodeFs.readFileSync(target)
    const lines = (await cli(["log", "export", "--db", db, "--stream", "memo-c"])).stdout.trim().split("\n")
    const r = await cli(["log", "import", "--db", target], [lines[0], "{not json", lines[1]].join("\n"))
    expect(r.status).toBe(1)
    expect(r.stderr).toContain("import line 2")
    expect((await cli(["log", "verify", "--db", target, "--json"])).stdout).toContain('"events":3')
    expect(NodeFs.readFileSync(target).equals(before)).toBe(true)
  })

  it("verify finds a gap that bypassed the database's own checks", async () => {
    const broken = await seeded("broken.db", 6)
    const raw = new Database(broken)
    raw.exec("DROP TRIGGER events_gapless")
    raw.prepare(
      `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
       VALUES ('note-a', 'note', 9, '01890a5d-ac96-774b-bcce-b302099a8057', 'note.added', 1, '{}', '{}', 0)`
    ).run()
    raw.close()
    const r = await cli(["log", "verify", "--db", broken])
    expect(r.status).toBe(1)
    expect(r.stdout).toContain("note-a: version 9 follows 2")
    expect(r.stdout).toContain("verify: FAILED")
  })

  it("read commands and rebuild never create a database and name the missing file", async () => {
    const missing = NodePath.join(dir, "missing.db")
    for (const args of [["log", "streams"], ["log", "rebuild", "threads"]]) {
      const r = await cli([...args, "--db", missing])
      expect(r.status, args.join(" ")).toBe(1)
      expect(r.stderr).toContain(missing)
      expect(r.stderr).toContain("missing")
    }
    expect(NodeFs.existsSync(missing)).toBe(false)
  })

  it("a file that is not a database is refused and left untouched", async () => {
    const junk = NodePath.join(dir, "junk.db")
    NodeFs.writeFileSync(junk, "this is not sqlite at all, just text".repeat(20))
    const before = NodeFs.readFileSync(junk)
    for (const args of [["log", "verify", "--db", junk], ["log", "import", "--db", junk]]) {
      const r = await cli(args, "")
      expect(r.status).toBe(1)
      expect(r.stderr).toContain("not-a-database")
    }
    expect(NodeFs.readFileSync(junk).equals(before)).toBe(true)
  })
})
