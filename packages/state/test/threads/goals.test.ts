/** Thread goals on the ThreadStore: at most one per thread, set replaces, clear records only when there was one. */
import { IdGenerator, ThreadGoal } from "@codewhale/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import {
  dumpThreads,
  EventStore,
  foldedDump,
  layerSqlite,
  replay,
  threadHistoryProjection,
  threadsProjection,
  ThreadStore,
  toWireGoal,
  toWireThread
} from "../../src/index.ts"
import { testConfig } from "./helpers.ts"

const tempFile = () => NodePath.join(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-goals-")), "state.db")

const storeOn = (filename: string) =>
  Layer.provideMerge(ThreadStore.layerWith(testConfig), Layer.merge(layerSqlite({ filename }), IdGenerator.layerTest(1)))

const backends = [
  ["in-memory database", () => storeOn(":memory:")],
  ["database file", () => storeOn(tempFile())]
] as const

const typesOf = (threadId: string) =>
  Effect.flatMap(EventStore, (s) => Effect.map(s.readStream(threadId), (es) => es.map((e) => e.eventType)))

for (const [name, layer] of backends) {
  describe(`thread goals (${name})`, () => {
    it.effect("set gives an active goal with zero usage; get shows it; the thread list and read carry it", () =>
      Effect.gen(function*() {
        const threads = yield* ThreadStore
        const { threadId } = yield* threads.start({})
        expect(yield* threads.goalGet(threadId)).toBeNull()
        const goal = yield* threads.goalSet(threadId, { objective: "ship the goals feature", tokenBudget: 5000 })
        expect(goal).toMatchObject({ objective: "ship the goals feature", status: "active", tokenBudget: 5000, tokensUsed: 0, timeUsedSeconds: 0 })
        expect(goal.goalId).toMatch(/^goal-[0-9a-f-]{36}$/)
        expect(yield* threads.goalGet(threadId)).toEqual(goal)
        const listed = (yield* threads.list()).threads.find((t) => t.threadId === threadId)
        expect(listed?.goal).toEqual(goal)
        const wire = toWireGoal(threadId, goal)
        expect(Schema.is(ThreadGoal)(wire)).toBe(true)
        expect(toWireThread(listed!).goal).toEqual(wire)
        expect(yield* typesOf(threadId)).toEqual(["thread.created", "thread.goal_set"])
      }).pipe(Effect.provide(layer())))

    it.effect("a second set replaces the goal with a new id and resets it; no budget means token_budget is omitted", () =>
      Effect.gen(function*() {
        const threads = yield* ThreadStore
        const { threadId } = yield* threads.start({})
        const first = yield* threads.goalSet(threadId, { objective: "first", tokenBudget: 10 })
        const second = yield* threads.goalSet(threadId, { objective: "second" })
        expect(second.goalId).not.toBe(first.goalId)
        expect(second).toMatchObject({ objective: "second", tokenBudget: null, status: "active" })
        expect("token_budget" in toWireGoal(threadId, second)).toBe(false)
        const events = yield* Effect.flatMap(EventStore, (s) => s.readStream(threadId))
        expect(events.at(-1)?.payload).toMatchObject({ goalId: second.goalId, replacedGoalId: first.goalId })
      }).pipe(Effect.provide(layer())))

    it.effect("clear returns the goal and records one event; clearing again returns null and records nothing", () =>
      Effect.gen(function*() {
        const threads = yield* ThreadStore
        const { threadId } = yield* threads.start({})
        expect(yield* threads.goalClear(threadId)).toBeNull()
        const goal = yield* threads.goalSet(threadId, { objective: "to clear" })
        expect(yield* threads.goalClear(threadId)).toEqual(goal)
        expect(yield* threads.goalGet(threadId)).toBeNull()
        expect(yield* threads.goalClear(threadId)).toBeNull()
        expect(yield* typesOf(threadId)).toEqual(["thread.created", "thread.goal_set", "thread.goal_cleared"])
      }).pipe(Effect.provide(layer())))

    it.effect("typed errors: unknown thread, malformed id, blank objective, bad budget, archived thread; nothing is recorded", () =>
      Effect.gen(function*() {
        const threads = yield* ThreadStore
        const store = yield* EventStore
        const unknown = yield* Effect.either(threads.goalSet("thread-nope", { objective: "x" }))
        expect(Either.isLeft(unknown) && unknown.left._tag).toBe("ThreadNotFound")
        expect(Either.isLeft(yield* Effect.either(threads.goalGet("thread-nope")))).toBe(true)
        const malformed = yield* Effect.either(threads.goalClear("nope"))
        expect(Either.isLeft(malformed) && malformed.left._tag).toBe("InvalidThreadInput")
        const { threadId } = yield* threads.start({})
        const head = yield* store.headPosition
        const blank = yield* Effect.either(threads.goalSet(threadId, { objective: "   " }))
        expect(Either.isLeft(blank) && blank.left.message).toBe("invalid objective: must not be empty")
        const budget = yield* Effect.either(threads.goalSet(threadId, { objective: "x", tokenBudget: 0 }))
        expect(Either.isLeft(budget) && budget.left.message).toBe("invalid token_budget: must be a positive integer")
        yield* threads.archive(threadId)
        const archived = yield* Effect.either(threads.goalSet(threadId, { objective: "x" }))
        expect(Either.isLeft(archived) && archived.left._tag).toBe("ThreadIsArchived")
        expect(yield* store.headPosition).toBe(head + 1)
        expect(yield* threads.goalGet(threadId)).toBeNull()
      }).pipe(Effect.provide(layer())))

    it.effect("the in-memory fold of the log and the SQL read model agree on goals", () =>
      Effect.gen(function*() {
        const threads = yield* ThreadStore
        const a = yield* threads.start({})
        const b = yield* threads.start({})
        yield* threads.goalSet(a.threadId, { objective: "kept", tokenBudget: 7 })
        yield* threads.goalSet(b.threadId, { objective: "cleared" })
        yield* threads.goalClear(b.threadId)
        yield* threads.goalSet(b.threadId, { objective: "set again" })
        const folded = foldedDump(yield* replay(threadsProjection), yield* replay(threadHistoryProjection))
        expect(yield* dumpThreads).toEqual(folded)
        expect(folded.threads.map((t) => t.goal?.objective)).toEqual(
          [a, b].sort((x, y) => (x.threadId < y.threadId ? -1 : 1)).map((t) => (t.threadId === a.threadId ? "kept" : "set again"))
        )
      }).pipe(Effect.provide(layer())))
  })
}

describe("thread goals survive a reopen (the read model is rebuilt from the log)", () => {
  it.effect("a goal set before closing is read back after reopening", () =>
    Effect.gen(function*() {
      const file = tempFile()
      const layer = () => Layer.provideMerge(ThreadStore.layerWith(testConfig), Layer.merge(layerSqlite({ filename: file }), IdGenerator.layer))
      const { threadId, goal } = yield* Effect.gen(function*() {
        const threads = yield* ThreadStore
        const { threadId } = yield* threads.start({})
        return { threadId, goal: yield* threads.goalSet(threadId, { objective: "persist me", tokenBudget: 42 }) }
      }).pipe(Effect.provide(layer()))
      const read = yield* Effect.flatMap(ThreadStore, (t) => t.goalGet(threadId)).pipe(Effect.provide(layer()))
      expect(read).toEqual(goal)
    }))
})
