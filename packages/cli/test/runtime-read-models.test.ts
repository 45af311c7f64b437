import { ApprovalRequested, ApprovalResolved, IdGenerator, makeEnvelope } from "@codewhale/protocol"
import { makeGrants, makeToolPipeline, ToolPolicy, Grants } from "@codewhale/runtime"
import { EventStore, ExpectedVersion, layerSqlite } from "@codewhale/state"
import { ExecPolicy } from "@codewhale/execpolicy"
import { CommandHooks } from "@codewhale/hooks"
import { layerWithBuiltins } from "@codewhale/tools"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { runCli } from "./support/runCli.ts"

const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-cli-runtime-rm-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
const env = { CODEWHALE_HOME: NodePath.join(dir, "home") }
const cli = (args: ReadonlyArray<string>) => runCli(args, { env })

const names = ["grants", "policy_amendments", "pending_approvals"] as const

/** Writes grants, amendments (some revoked) and tool-call approvals (some answered) with the library; returns what the folds list. */
const seed = (filename: string) =>
  Effect.gen(function*() {
    const grants = yield* makeGrants
    const store = yield* EventStore
    for (let i = 0; i < 6; i++) {
      const g = yield* grants.createGrant({ threadId: i % 2 === 0 ? "t1" : "t2", tool: "exec_shell", command: `printf ${i}`, path: null }, {
        approvalId: `approval-${i}`, callId: `call-${i}`, actor: "tester"
      })
      if (i % 3 === 0) yield* grants.revokeGrant(g.grantId, { reason: "test" })
      const a = yield* grants.addAmendment([`printf ${i}`], { approvalId: null, callId: null, actor: null })
      if (i % 2 === 1) yield* grants.revokeAmendment(a.amendmentId)
      const streamId = `toolcall-0190aaaa-0000-7000-8000-00000000000${i}`
      const approvalId = `approval-${streamId}`
      const request = {
        call_id: `call-${i}`, approval_id: approvalId, turn_id: `turn-${i}`, command: `printf ${i}`, cwd: dir, reason: "asks",
        proposed_execpolicy_amendment: [], proposed_network_policy_amendments: [], additional_permissions: [],
        available_decisions: [{ type: "approved" as const }, { type: "denied" as const }]
      }
      yield* store.append(streamId, [
        yield* makeEnvelope(ApprovalRequested, {
          approval_id: approvalId, call_id: `call-${i}`, thread_id: "t1", turn_id: null, request, requested_by: "policy", hook_name: null, at: 1_000 + i
        })
      ], { expected: ExpectedVersion.NoStream() })
      if (i % 3 === 1) {
        yield* store.append(streamId, [
          yield* makeEnvelope(ApprovalResolved, { approval_id: approvalId, decision: { type: "denied" }, decided_by: "user", actor: null, hook_name: null, at: 2_000 + i })
        ], { expected: ExpectedVersion.Exact({ version: 1 }) })
      }
    }
    const deps = Layer.mergeAll(layerWithBuiltins(), CommandHooks.layer([]), ToolPolicy.layer({}).pipe(Layer.provide(ExecPolicy.Default))).pipe(
      Layer.provideMerge(Layer.succeed(Grants, grants))
    )
    const pipeline = yield* makeToolPipeline.pipe(Effect.provide(deps))
    return {
      grants: yield* grants.listGrants({ activeOnly: false }),
      amendments: yield* grants.listAmendments({ includeRevoked: true }),
      pending: yield* pipeline.pendingApprovals()
    }
  }).pipe(Effect.provide(Layer.mergeAll(Layer.orDie(layerSqlite({ filename })), IdGenerator.layer)), Effect.scoped)

const verifyOk = async (db: string) => {
  const r = await cli(["log", "verify", "--db", db, "--json"])
  expect(r.status, r.stderr).toBe(0)
  const report = JSON.parse(r.stdout) as { ok: boolean; readModels: ReadonlyArray<{ name: string; ok: boolean; detail: string }> }
  expect(report.ok).toBe(true)
  for (const name of names) expect(report.readModels.find((m) => m.name === name), name).toMatchObject({ ok: true })
}

describe("the grants, policy_amendments and pending_approvals read models in the CLI", () => {
  it("grants list and approvals list answer from them; log verify checks them; log rebuild rebuilds each", async () => {
    const db = NodePath.join(dir, "state.db")
    const expected = await Effect.runPromise(seed(db))
    expect(expected.pending.length).toBe(4)
    // Before any command caught them up, the models are rebuilt from nothing by verify.
    await verifyOk(db)

    const list = await cli(["grants", "list", "--all", "--json", "--db", db])
    expect(list.status, list.stderr).toBe(0)
    const lines = list.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string })
    expect(lines.filter((l) => l.kind === "grant")).toEqual(expected.grants.map((g) => ({ kind: "grant", ...g })))
    expect(lines.filter((l) => l.kind === "amendment")).toEqual(expected.amendments.map((a) => ({ kind: "amendment", ...a })))
    const active = await cli(["grants", "list", "--thread", "t1", "--db", db])
    expect(active.stdout).toContain(`${expected.grants.filter((g) => g.threadId === "t1" && g.revokedAt === null).length} grant(s), 3 amendment(s)`)

    const approvals = await cli(["approvals", "list", "--json", "--db", db])
    expect(approvals.status, approvals.stderr).toBe(0)
    expect(approvals.stdout.trim().split("\n").map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(expected.pending)))

    await verifyOk(db)
    for (const name of names) {
      const r = await cli(["log", "rebuild", name, "--db", db])
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`rebuilt ${name} up to position \\d+`))
    }
    await verifyOk(db)
    const again = await cli(["grants", "list", "--all", "--json", "--db", db])
    expect(again.stdout).toBe(list.stdout)
  }, 300_000)

  it("grants list and revoke never create a database", async () => {
    const missing = NodePath.join(dir, "missing.db")
    for (const args of [["grants", "list"], ["grants", "revoke", "grant-x"]]) {
      const r = await cli([...args, "--db", missing])
      expect(r.status, args.join(" ")).not.toBe(0)
      expect(r.stderr).toContain("never creates a database")
    }
    expect(NodeFs.existsSync(missing)).toBe(false)
  }, 120_000)
})
