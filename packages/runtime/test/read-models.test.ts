import {
  allEventDefinitions,
  ApprovalCancelled,
  ApprovalRequested,
  ApprovalResolved,
  GrantCreated,
  GrantRevoked,
  IdGenerator,
  makeEnvelope,
  makeEventRegistry,
  PolicyAmendmentAdded,
  PolicyAmendmentRevoked,
  ToolCallAborted,
  ToolCallCancelled,
  ToolCallCompleted,
  ToolCallDenied,
  ToolCallFailed,
  ToolCallCategory,
  ToolCallStarted,
  ToolOutputDelta,
  type EventDefinition,
  type ExecApprovalRequestEvent
} from "@codewhale/protocol"
import { catchUp, EventStore, ExpectedVersion, layerSqlite, verifyLog } from "@codewhale/state"
import { ExecPolicy } from "@codewhale/execpolicy"
import { layerWithBuiltins } from "@codewhale/tools"
import { CommandHooks } from "@codewhale/hooks"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import {
  Grants,
  grantsReadModel,
  type GrantsShape,
  makeGrants,
  makeGrantsSql,
  makeToolPipeline,
  makeToolPipelineSql,
  pendingApprovalsReadModel,
  policyAmendmentsReadModel,
  ToolPolicy,
  type ToolPipelineShape
} from "../src/index.ts"

const tempDirs: Array<string> = []
afterAll(() => {
  for (const dir of tempDirs) NodeFs.rmSync(dir, { recursive: true, force: true })
})
const tempDb = () => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-runtime-rm-"))
  tempDirs.push(dir)
  return NodePath.join(dir, "state.db")
}

const registry = Either.getOrThrow(makeEventRegistry(allEventDefinitions))
const models = [grantsReadModel, policyAmendmentsReadModel, pendingApprovalsReadModel]

const base = (filename: string, seed = 0) => Layer.mergeAll(Layer.orDie(layerSqlite({ filename })), IdGenerator.layerTest(seed))

/** A deterministic pseudo-random generator (mulberry32), so every sequence is reproducible from its seed. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0
  }
}

/** Appends one event to a stream whatever its version (sequences may repeat or revoke anything). */
const put = <T extends string, A, I>(streamId: string, definition: EventDefinition<T, A, I>, payload: NoInfer<A>) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const envelope = yield* makeEnvelope(definition, payload)
    yield* store.append(streamId, [envelope], { expected: ExpectedVersion.Any() })
  })

const threads = ["t1", "t2", "(none)"] as const
const tools = ["exec_shell", "read_file"] as const
const commands = ["ls -la", "git status", "printf one"] as const
const paths = [null, "/tmp/a", "/tmp/b"] as const

/** A sequence of grant and amendment events: creations, revocations (also twice, also of unknown ids) and re-creations. */
const grantEvents = (seed: number, n: number) =>
  Effect.gen(function*() {
    const r = prng(seed)
    const grantIds: Array<string> = []
    const amendmentIds: Array<string> = []
    for (let i = 0; i < n; i++) {
      const at = 1_000 + i
      switch (r(7)) {
        case 0:
        case 1: {
          const id = grantIds.length > 0 && r(8) === 0 ? grantIds[r(grantIds.length)]! : `grant-${seed}-${i}`
          grantIds.push(id)
          yield* put(id, GrantCreated, {
            grant_id: id, thread_id: threads[r(3)]!, scope: "thread", tool: tools[r(2)]!, command: commands[r(3)]!, path: paths[r(3)]!,
            approval_id: `approval-${i}`, call_id: `call-${i}`, actor: r(2) === 0 ? null : "alice", at
          })
          break
        }
        case 2: {
          const id = grantIds.length > 0 && r(6) !== 0 ? grantIds[r(grantIds.length)]! : `grant-unknown-${i}`
          yield* put(id, GrantRevoked, { grant_id: id, reason: r(2) === 0 ? null : `reason ${i}`, actor: r(2) === 0 ? null : "bob", at })
          break
        }
        case 3:
        case 4: {
          const id = amendmentIds.length > 0 && r(8) === 0 ? amendmentIds[r(amendmentIds.length)]! : `policy_amendment-${seed}-${i}`
          amendmentIds.push(id)
          yield* put(id, PolicyAmendmentAdded, {
            amendment_id: id, layer: "user", prefixes: commands.slice(0, 1 + r(3)), approval_id: r(2) === 0 ? null : `approval-${i}`,
            call_id: r(2) === 0 ? null : `call-${i}`, actor: r(2) === 0 ? null : "carol", at
          })
          break
        }
        default: {
          const id = amendmentIds.length > 0 && r(6) !== 0 ? amendmentIds[r(amendmentIds.length)]! : `policy_amendment-unknown-${i}`
          yield* put(id, PolicyAmendmentRevoked, { amendment_id: id, reason: r(2) === 0 ? null : `reason ${i}`, actor: null, at })
        }
      }
    }
  })

const request = (id: string, i: number, r: (n: number) => number): ExecApprovalRequestEvent => ({
  call_id: `call-${id}`,
  approval_id: `approval-${id}`,
  turn_id: `turn-${i}`,
  command: commands[r(3)]!,
  cwd: "/work",
  reason: `needs approval ${i}`,
  ...(r(2) === 0 ? {} : { matched_rule: "tool=exec_shell command=git" }),
  proposed_execpolicy_amendment: r(2) === 0 ? [] : ["git"],
  proposed_network_policy_amendments: [],
  additional_permissions: [],
  available_decisions: [{ type: "approved" }, { type: "denied" }]
})

/** A sequence of tool-call events: approvals requested (also again), resolved, cancelled, calls ending in every way, and noise. */
const toolCallEvents = (seed: number, n: number) =>
  Effect.gen(function*() {
    const r = prng(seed)
    const calls: Array<string> = []
    for (let i = 0; i < n; i++) {
      const at = 5_000 + i
      const known = calls.length > 0 && r(5) !== 0
      const streamId = known ? calls[r(calls.length)]! : `toolcall-0190aaaa-0000-7000-8000-${String(seed * 10_000 + i).padStart(12, "0")}`
      if (!known) calls.push(streamId)
      const approvalId = `approval-${streamId}`
      switch (r(11)) {
        case 0:
        case 1:
        case 2:
          yield* put(streamId, ApprovalRequested, {
            approval_id: approvalId, call_id: `call-${streamId}`, thread_id: r(4) === 0 ? null : threads[r(2)]!, turn_id: null,
            request: request(streamId, i, r), requested_by: r(2) === 0 ? "policy" : "hook", hook_name: null, at
          })
          break
        case 3:
          yield* put(streamId, ApprovalResolved, { approval_id: approvalId, decision: { type: "approved" }, decided_by: "user", actor: "dan", hook_name: null, at })
          break
        case 4:
          yield* put(streamId, ApprovalCancelled, { approval_id: approvalId, reason: "turn ended", at })
          break
        case 5:
          yield* put(streamId, ToolCallCompleted, { output: { type: "function", body: { exit_code: 0 }, success: true }, success: true, exit_code: 0, duration_ms: 3, at })
          break
        case 6:
          yield* put(streamId, ToolCallFailed, { error_tag: "ToolTimeout", message: "timed out", duration_ms: 9, at })
          break
        case 7: {
          const end = r(3)
          if (end === 0) {
            yield* put(streamId, ToolCallDenied, { source: "user", reason: "no", matched_rule: null, hook_name: null, approval_id: approvalId, actor: null, at })
          } else if (end === 1) {
            yield* put(streamId, ToolCallAborted, { approval_id: approvalId, reason: "aborted", actor: "dan", at })
          } else {
            yield* put(streamId, ToolCallCancelled, { reason: "cancelled", at })
          }
          break
        }
        case 8:
          yield* put(streamId, ToolCallStarted, { tool_name: "exec_shell", arguments: { type: "local_shell", params: { command: "ls" } }, at })
          break
        default:
          yield* put(streamId, ToolOutputDelta, { stream: "stdout", delta: `line ${i}\n` })
      }
    }
  })

const threadFilters = [undefined, "t1", "t2", "(none)", "nobody"] as const

/** Every filter of the three queries answers the same from the read models as from the folds (also as JSON text: same key order). */
const sameAnswers = (sql: GrantsShape, fold: GrantsShape, sqlPipeline?: ToolPipelineShape, foldPipeline?: ToolPipelineShape) =>
  Effect.gen(function*() {
    const same = (a: unknown, b: unknown, label: string) => {
      expect(a, label).toEqual(b)
      expect(JSON.stringify(a), label).toBe(JSON.stringify(b))
    }
    for (const threadId of threadFilters) {
      for (const activeOnly of [undefined, false, true]) {
        const q = { threadId, activeOnly }
        same(yield* sql.listGrants(q), yield* fold.listGrants(q), `listGrants ${JSON.stringify(q)}`)
      }
      for (const tool of tools) {
        for (const command of [...commands, "  ls   -la ", "nothing"]) {
          for (const path of paths) {
            const key = { threadId: threadId ?? "t1", tool, command, path }
            same(yield* sql.findGrant(key), yield* fold.findGrant(key), `findGrant ${JSON.stringify(key)}`)
          }
        }
      }
    }
    same(yield* sql.listGrants(), yield* fold.listGrants(), "listGrants()")
    for (const includeRevoked of [undefined, false, true]) {
      same(yield* sql.listAmendments({ includeRevoked }), yield* fold.listAmendments({ includeRevoked }), `listAmendments ${includeRevoked}`)
    }
    same(yield* sql.listAmendments(), yield* fold.listAmendments(), "listAmendments()")
    if (sqlPipeline !== undefined && foldPipeline !== undefined) {
      for (const threadId of threadFilters) {
        same(yield* sqlPipeline.pendingApprovals({ threadId }), yield* foldPipeline.pendingApprovals({ threadId }), `pendingApprovals ${threadId}`)
      }
      same(yield* sqlPipeline.pendingApprovals(), yield* foldPipeline.pendingApprovals(), "pendingApprovals()")
    }
  })

/** Both implementations of every query over the same log: the read models and the folds over the log. */
const both = Effect.gen(function*() {
  const grantsSql = yield* makeGrantsSql
  const grantsFold = yield* makeGrants
  const deps = Layer.mergeAll(
    layerWithBuiltins(),
    CommandHooks.layer([]),
    ToolPolicy.layer({}).pipe(Layer.provide(ExecPolicy.Default))
  ).pipe(Layer.provideMerge(Layer.succeed(Grants, grantsFold)))
  const pipelineSql = yield* makeToolPipelineSql.pipe(Effect.provide(deps))
  const pipelineFold = yield* makeToolPipeline.pipe(Effect.provide(deps))
  return { grantsSql, grantsFold, pipelineSql, pipelineFold }
})

describe("runtime read models (grants, policy_amendments, pending_approvals)", () => {
  it.effect("for many generated sequences, every query answers as the fold over the log does, while the log grows", () =>
    Effect.gen(function*() {
      for (let seed = 1; seed <= 12; seed++) {
        const filename = tempDb()
        yield* Effect.gen(function*() {
          const { grantsSql, grantsFold, pipelineSql, pipelineFold } = yield* both
          // Compare along the way, so rows evolve from stored rows as well as within one page.
          for (let round = 0; round < 4; round++) {
            yield* grantEvents(seed * 100 + round, 15 + seed * 3)
            yield* toolCallEvents(seed * 100 + round, 30 + seed * 5)
            yield* sameAnswers(grantsSql, grantsFold, pipelineSql, pipelineFold)
          }
          // The sequences reach every case the queries distinguish.
          const grants = yield* grantsFold.listGrants()
          expect(grants.some((g) => g.revokedAt !== null)).toBe(true)
          expect(grants.some((g) => g.revokedAt === null)).toBe(true)
          const amendments = yield* grantsFold.listAmendments({ includeRevoked: true })
          expect(amendments.some((a) => a.revokedAt !== null)).toBe(true)
          expect((yield* pipelineFold.pendingApprovals()).length).toBeGreaterThan(0)
          // `log verify`: every model equals a fresh rebuild.
          const report = yield* verifyLog({ registry, readModels: models })
          expect(report.readModels.map((m) => [m.name, m.ok])).toEqual(models.map((m) => [m.name, true]))
        }).pipe(Effect.provide(base(filename, seed)))
      }
    }), 300_000)

  it.effect("the answers of the read models equal the folds' also when the whole log is applied in one catch-up", () =>
    Effect.gen(function*() {
      const filename = tempDb()
      yield* Effect.gen(function*() {
        yield* grantEvents(77, 400)
        yield* toolCallEvents(77, 1_500)
        const { grantsSql, grantsFold, pipelineSql, pipelineFold } = yield* both
        yield* sameAnswers(grantsSql, grantsFold, pipelineSql, pipelineFold)
      }).pipe(Effect.provide(base(filename, 3)))
    }), 120_000)

  it.effect("read-your-writes: what another connection appends is in the next answer", () =>
    Effect.gen(function*() {
      const filename = tempDb()
      // Two connections to one file, open for the whole test: a reader on the read models, a writer on the folds.
      const reader = yield* both.pipe(Effect.provide(yield* Layer.build(base(filename, 1))))
      const writerContext = yield* Layer.build(base(filename, 2))
      const writer = yield* makeGrants.pipe(Effect.provide(writerContext))
      expect(yield* reader.grantsSql.listGrants()).toEqual([])
      expect(yield* reader.grantsSql.listAmendments()).toEqual([])
      expect(yield* reader.pipelineSql.pendingApprovals()).toEqual([])
      const key = { threadId: "t1", tool: "exec_shell", command: "git  status", path: null }
      const grant = yield* writer.createGrant(key, { approvalId: "approval-1", callId: "call-1", actor: "alice" })
      expect(yield* reader.grantsSql.findGrant(key)).toEqual(grant)
      expect(yield* reader.grantsSql.listGrants({ threadId: "t1" })).toEqual([grant])
      const amendment = yield* writer.addAmendment(["git"], { approvalId: null, callId: null, actor: "alice" })
      expect(yield* reader.grantsSql.listAmendments()).toEqual([amendment])
      yield* writer.revokeGrant(grant.grantId, { reason: "done" })
      expect(yield* reader.grantsSql.findGrant(key)).toBeUndefined()
      expect((yield* reader.grantsSql.listGrants())[0]).toMatchObject({ grantId: grant.grantId, revokeReason: "done" })
      yield* writer.revokeAmendment(amendment.amendmentId)
      expect(yield* reader.grantsSql.listAmendments()).toEqual([])
      // A pending approval written by the other connection, then resolved there.
      const streamId = "toolcall-0190aaaa-0000-7000-8000-000000000001"
      yield* toolCallEventsAt(streamId).pipe(Effect.provide(writerContext))
      const pending = yield* reader.pipelineSql.pendingApprovals({ threadId: "t2" })
      expect(pending.map((p) => p.streamId)).toEqual([streamId])
      expect(pending).toEqual(yield* reader.pipelineFold.pendingApprovals({ threadId: "t2" }))
      yield* put(streamId, ApprovalResolved, { approval_id: `approval-${streamId}`, decision: { type: "denied" }, decided_by: "user", actor: null, hook_name: null, at: 9 }).pipe(
        Effect.provide(writerContext)
      )
      expect(yield* reader.pipelineSql.pendingApprovals()).toEqual([])
    }).pipe(Effect.scoped), 60_000)

  it.effect("findGrant is an indexed lookup; a corrupt row is a typed error naming it; a rebuild restores the rows", () =>
    Effect.gen(function*() {
      const filename = tempDb()
      yield* Effect.gen(function*() {
        yield* grantEvents(5, 60)
        yield* toolCallEvents(5, 120)
        const { grantsSql, grantsFold, pipelineSql, pipelineFold } = yield* both
        yield* sameAnswers(grantsSql, grantsFold, pipelineSql, pipelineFold)
        const sql = yield* SqlClient.SqlClient
        const plan = yield* sql.unsafe<{ detail: string }>(
          `EXPLAIN QUERY PLAN SELECT * FROM grants_list WHERE thread_id = ? AND tool = ? AND command = ? AND path IS ? AND revoked_at IS NULL ORDER BY position LIMIT 1`,
          ["t1", "exec_shell", "ls -la", null]
        ).withoutTransform
        expect(plan.map((p) => p.detail).join("\n")).toContain("USING INDEX grants_list_active_by_key")
        const dumps = yield* Effect.forEach(models, (m) => m.dump)

        const grant = (yield* grantsFold.listGrants())[0]!
        yield* sql.unsafe("UPDATE grants_list SET scope = 'galaxy' WHERE grant_id = ?", [grant.grantId])
        const e1 = yield* Effect.flip(grantsSql.listGrants())
        expect(e1._tag).toBe("CorruptReadModelRow")
        expect(e1.message).toContain(grant.grantId)
        const amendment = (yield* grantsFold.listAmendments({ includeRevoked: true }))[0]!
        yield* sql.unsafe("UPDATE policy_amendments_list SET prefixes = '{not json' WHERE amendment_id = ?", [amendment.amendmentId])
        const e2 = yield* Effect.flip(grantsSql.listAmendments({ includeRevoked: true }))
        expect(e2._tag).toBe("CorruptReadModelRow")
        expect(e2.message).toContain(amendment.amendmentId)
        const pending = (yield* pipelineFold.pendingApprovals())[0]!
        yield* sql.unsafe("UPDATE pending_approvals SET request = '{\"call_id\":1}' WHERE stream_id = ?", [pending.streamId])
        const e3 = yield* Effect.flip(pipelineSql.pendingApprovals())
        expect(e3._tag).toBe("CorruptReadModelRow")
        expect(e3.message).toContain(pending.streamId)

        // `log rebuild <name>`: dropping the checkpoint makes the next catch-up rebuild the same rows.
        for (const model of models) {
          yield* sql.unsafe("DELETE FROM projection_checkpoints WHERE name = ?", [model.name])
          yield* catchUp(model)
        }
        expect(yield* Effect.forEach(models, (m) => m.dump)).toEqual(dumps)
        yield* sameAnswers(grantsSql, grantsFold, pipelineSql, pipelineFold)
      }).pipe(Effect.provide(base(filename, 4)))
    }), 60_000)

  it.effect("a stored approval request that breaks its schema is a typed error in both implementations, not a crash", () =>
    Effect.gen(function*() {
      const filename = tempDb()
      yield* Effect.gen(function*() {
        const store = yield* EventStore
        const valid = yield* makeEnvelope(ApprovalRequested, {
          approval_id: "approval-bad", call_id: "call-bad", thread_id: "t2", turn_id: null,
          request: request(`${ToolCallCategory}-bad`, 1, prng(5)), requested_by: "policy", hook_name: null, at: 7
        })
        const stored = yield* store.append(`${ToolCallCategory}-bad`, [{ ...valid, payload: { ...(valid.payload as object), at: "yesterday" } }])
        const { pipelineSql, pipelineFold } = yield* both
        const fold = yield* Effect.flip(pipelineFold.pendingApprovals())
        expect(fold._tag).toBe("ToolStoreError")
        expect(fold.message).toContain(`position ${stored.lastPosition}`)
        const sql = yield* Effect.flip(pipelineSql.pendingApprovals())
        expect(["ToolStoreError", "CorruptReadModelRow"]).toContain(sql._tag)
      }).pipe(Effect.provide(base(filename, 8)))
    }), 60_000)

  it.effect("Grants.layerSql lists what it wrote", () =>
    Effect.gen(function*() {
      const filename = tempDb()
      yield* Effect.gen(function*() {
        const grants = yield* Grants
        const key = { threadId: "t1", tool: "exec_shell", command: "ls", path: null }
        const g = yield* grants.createGrant(key, { approvalId: "a", callId: "c", actor: null })
        expect(yield* grants.findGrant(key)).toEqual(g)
        expect(yield* grants.listGrants({ activeOnly: true })).toEqual([g])
        const a = yield* grants.addAmendment(["ls"], { approvalId: null, callId: null, actor: null })
        expect(yield* grants.listAmendments()).toEqual([a])
      }).pipe(Effect.provide(Layer.provideMerge(Grants.layerSql, base(filename, 6))))
    }), 60_000)
})

/** Tool-call events of one call, ending with its approval pending (thread `t2`). */
const toolCallEventsAt = (streamId: string) =>
  Effect.gen(function*() {
    const r = prng(9)
    yield* put(streamId, ToolOutputDelta, { stream: "stdout", delta: "x" })
    yield* put(streamId, ApprovalRequested, {
      approval_id: `approval-${streamId}`, call_id: `call-${streamId}`, thread_id: "t2", turn_id: null,
      request: request(streamId, 1, r), requested_by: "policy", hook_name: null, at: 7
    })
  })
