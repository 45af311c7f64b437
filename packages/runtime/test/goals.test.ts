/** handleThread's goal requests: the seed's statuses (ok, missing, cleared, empty), frames and data. */
import { IdGenerator, type ThreadGoal } from "@codewhale/protocol"
import { EventStore, layerSqlite } from "@codewhale/state"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Runtime } from "../src/Runtime.ts"

const file = () => NodePath.join(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-runtime-goals-")), "state.db")
const runtime = () =>
  Runtime.layer({ jobRunner: false }).pipe(Layer.provideMerge(Layer.merge(layerSqlite({ filename: file() }), IdGenerator.layer)))

describe("Runtime.handleThread goals", { timeout: 120_000 }, () => {
  it.scopedLive("goal_set answers ok with a thread_goal_updated frame; a second set replaces the goal; get, read and list show it", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const { thread_id } = yield* rt.handleThread({ kind: "start", persist_extended_history: true })
      const set = yield* rt.handleThread({ kind: "goal_set", thread_id, objective: "make the tests pass", token_budget: 20_000 })
      expect(set.status).toBe("ok")
      const goal = set.goal as ThreadGoal
      expect(goal).toMatchObject({ thread_id, objective: "make the tests pass", status: "active", token_budget: 20_000, tokens_used: 0, time_used_seconds: 0 })
      expect(goal.goal_id).toMatch(/^goal-/)
      expect(set.events).toEqual([{ event: "thread_goal_updated", goal }])
      expect(set.data).toEqual({ goal })

      const replaced = yield* rt.handleThread({ kind: "goal_set", thread_id, objective: "a better goal" })
      const second = replaced.goal as ThreadGoal
      expect(second.goal_id).not.toBe(goal.goal_id)
      expect(Object.keys(second)).not.toContain("token_budget")

      const got = yield* rt.handleThread({ kind: "goal_get", thread_id })
      expect(got).toMatchObject({ status: "ok", goal: second, data: { goal: second }, events: [] })
      const read = yield* rt.handleThread({ kind: "read", thread_id })
      expect(read.goal).toEqual(second)
      expect((read.data as { goal: unknown }).goal).toEqual(second)
      const list = yield* rt.handleThread({ kind: "list", include_archived: false })
      expect(list.threads.find((t) => t.id === thread_id)?.goal).toEqual(second)
    }).pipe(Effect.provide(runtime())))

  it.scopedLive("goal_clear answers cleared with a thread_goal_cleared frame, then empty with no frame; get then shows no goal", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const { thread_id } = yield* rt.handleThread({ kind: "start", persist_extended_history: false })
      const empty = yield* rt.handleThread({ kind: "goal_clear", thread_id })
      expect(empty).toMatchObject({ status: "empty", events: [], data: { cleared: false } })
      yield* rt.handleThread({ kind: "goal_set", thread_id, objective: "temporary" })
      const cleared = yield* rt.handleThread({ kind: "goal_clear", thread_id })
      expect(cleared.status).toBe("cleared")
      expect(cleared.events).toEqual([{ event: "thread_goal_cleared", thread_id }])
      expect(cleared.data).toMatchObject({ cleared: true })
      expect(yield* rt.handleThread({ kind: "goal_clear", thread_id })).toMatchObject({ status: "empty", events: [] })
      const got = yield* rt.handleThread({ kind: "goal_get", thread_id })
      expect(got.status).toBe("ok")
      expect(got.goal).toBeUndefined()
      expect(got.data).toEqual({ goal: null })
    }).pipe(Effect.provide(runtime())))

  it.scopedLive("an unknown thread answers missing to goal_set, goal_get and goal_clear, and nothing is recorded", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const store = yield* EventStore
      const head = yield* store.headPosition
      for (const request of [
        { kind: "goal_set", thread_id: "thread-unknown", objective: "x" },
        { kind: "goal_get", thread_id: "thread-unknown" },
        { kind: "goal_clear", thread_id: "thread-unknown" }
      ] as const) {
        const response = yield* rt.handleThread(request)
        expect(response).toMatchObject({ thread_id: "thread-unknown", status: "missing", events: [], data: { error: "thread not found" } })
      }
      expect(yield* store.headPosition).toBe(head)
    }).pipe(Effect.provide(runtime())))
})
