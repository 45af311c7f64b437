/** `codewhale thread ...` as a user runs it: separate processes on one database file. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { runCli } from "./support/runCli.ts"

const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-thread-cli-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

const env = { CODEWHALE_HOME: NodePath.join(dir, "home") }
const cli = (args: ReadonlyArray<string>) => runCli(args, { env })
const ok = async (args: ReadonlyArray<string>) => {
  const r = await cli(args)
  expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0)
  return r.stdout
}
const okJson = async (args: ReadonlyArray<string>) => JSON.parse(await ok([...args, "--json"])) as Record<string, any>

describe.concurrent("codewhale thread", () => {
  it("lifecycle on the default database: start, message, read, archive, refused message, list", async () => {
    const started = await okJson(["thread", "start", "--cwd", "/repo", "--name", "Demo", "--model", "m1"])
    expect(started).toMatchObject({ status: "started", model: "m1", cwd: "/repo", threads: [], events: [] })
    const id = started["thread_id"] as string
    expect(id).toMatch(/^thread-/)
    expect(NodeFs.existsSync(NodePath.join(dir, "home", "state.db"))).toBe(true)

    const accepted = await okJson(["thread", "message", id, "hello there"])
    expect(accepted["status"]).toBe("accepted")
    expect(accepted["events"].map((e: { event: string }) => e.event)).toEqual(["response_start", "response_delta", "response_end"])

    const read = await okJson(["thread", "read", id])
    expect(read["thread"]).toMatchObject({ id, name: "Demo", preview: "hello there", status: "running" })
    expect(read["data"]["history"].map((h: { content: string }) => h.content)).toEqual(["hello there"])

    expect(await ok(["thread", "archive", id])).toMatch(/archived .* \(status archived\)/)
    const refused = await cli(["thread", "message", id, "more"])
    expect(refused.status).toBe(1)
    expect(refused.stderr).toContain(`thread ${id} is archived`)

    const listed = await ok(["thread", "list", "--all"])
    expect(listed).toContain(id)
    expect(listed).toMatch(/archived/)
    expect(await ok(["thread", "list"])).toBe("no threads\n")
  }, 900_000)

  it("only thread start creates a database: the other commands report a missing one and create nothing", async () => {
    const missing = NodePath.join(dir, "nowhere", "state.db")
    for (const args of [["thread", "list"], ["thread", "read", "thread-x"], ["thread", "message", "thread-x", "hi"], ["thread", "checkpoint", "list", "thread-x"]]) {
      const r = await cli([...args, "--db", missing])
      expect(r.status, args.join(" ")).toBe(1)
      expect(r.stderr).toContain(missing)
      expect(r.stderr).toContain("never creates a database")
    }
    expect(NodeFs.existsSync(NodePath.dirname(missing))).toBe(false)
    expect((await okJson(["thread", "start", "--db", missing]))["status"]).toBe("started")
    expect(NodeFs.existsSync(missing)).toBe(true)
  }, 900_000)

  it("two processes messaging one thread at once: both messages are stored; bad input is refused", async () => {
    const db = NodePath.join(dir, "race.db")
    const id = (await okJson(["thread", "start", "--db", db]))["thread_id"] as string
    const [a, b] = await Promise.all([cli(["thread", "message", id, "from A", "--db", db]), cli(["thread", "message", id, "from B", "--db", db])])
    expect([a.status, b.status], a.stderr + b.stderr).toEqual([0, 0])
    const history = (await okJson(["thread", "read", id, "--db", db]))["data"]["history"] as Array<{ content: string; parent_id: string | null; id: string }>
    expect(history.map((h) => h.content).sort()).toEqual(["from A", "from B"])
    expect(history[1]!.parent_id).toBe(history[0]!.id)

    const tooBig = await cli(["thread", "list", "--limit", "500", "--db", db])
    expect(tooBig.status).toBe(1)
    expect(tooBig.stderr).toContain("thread list page size 500 is above the maximum of 200")
    const empty = await cli(["thread", "rename", id, "   ", "--db", db])
    expect(empty.status).toBe(1)
    expect(empty.stderr).toContain("invalid name: must not be empty")
  }, 900_000)

  it("fork at a version, checkpoints, rewind", async () => {
    const db = NodePath.join(dir, "fork.db")
    const id = (await okJson(["thread", "start", "--db", db, "--cwd", "/p"]))["thread_id"] as string
    await ok(["thread", "message", id, "one", "--db", db])
    await ok(["thread", "message", id, "two", "--db", db])
    const forked = await okJson(["thread", "fork", id, "--at-version", "2", "--db", db])
    expect(forked["status"]).toBe("forked")
    expect(forked["thread"]["forked_from"]).toEqual({ thread_id: id, version: 2 })
    expect(forked["data"]["history"].map((h: { content: string }) => h.content)).toEqual(["one"])

    await ok(["thread", "checkpoint", "save", id, "before", "--state", "{\"step\":1}", "--db", db])
    const latest = await okJson(["thread", "checkpoint", "show", id, "--db", db])
    expect(latest).toMatchObject({ checkpoint_id: "before", state: { step: 1 } })

    const rewound = await okJson(["thread", "rewind", id, "--root", "--db", db])
    expect(rewound["leaf_id"]).toBeNull()
    const read = await ok(["thread", "read", id, "--db", db])
    expect(read).toContain("history (0 shown")
    expect(read).toContain("latest checkpoint: before")
  }, 900_000)
})
