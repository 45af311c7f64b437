/** Projection tests: the thread row, the thread list fold (with replay up to a position) and the history tree. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, HashMap, HashSet } from "effect"
import { ThreadArchived, ThreadCreated, ThreadLeafMoved, ThreadMessageAdded, ThreadUnarchived } from "@codewhale/protocol"
import {
  EventStore,
  foldRecords,
  replay,
  threadHistoryProjection,
  threadListOf,
  threadsProjection,
  ThreadStore,
  type ThreadEventDraft
} from "../../src/index.ts"
import { makeTestLayer, recordsOf } from "./helpers.ts"

const T = "thread-0190a000-0000-7000-8000-000000000001"
const created: ThreadEventDraft = {
  definition: ThreadCreated,
  payload: { at: 1_000, via: "start", source: "interactive", modelProvider: "p", cwd: "/r", ephemeral: true, cliVersion: "1", preview: "New conversation" }
}
const msg = (entryId: string, parentId: string | null, at: number, role = "user"): ThreadEventDraft => ({
  definition: ThreadMessageAdded,
  payload: { at, entryId, parentId, role, content: `content of ${entryId}` }
})

const fold = (drafts: ReadonlyArray<ThreadEventDraft>) => {
  const records = recordsOf(T, drafts, { version: 0, position: 10 })
  return {
    list: Either.getOrThrow(foldRecords(threadsProjection, records)),
    history: Either.getOrThrow(foldRecords(threadHistoryProjection, records))
  }
}

describe("thread projections", () => {
  it("a thread row follows its events: activity, preview, leaf, archive and restore", () => {
    const { list } = fold([
      created,
      msg("entry-1", null, 2_000),
      msg("entry-2", "entry-1", 3_000, "assistant"),
      { definition: ThreadArchived, payload: { at: 9_000, previousStatus: "running" } }
    ])
    const row = HashMap.unsafeGet(list.threads, T)
    expect(row).toMatchObject({
      version: 4,
      createdAt: 1_000,
      updatedAt: 3_000, // archiving is not activity
      lastPosition: 13,
      status: "archived",
      statusBeforeArchive: "running",
      preview: "content of entry-1", // only user messages set the preview
      leafId: "entry-2",
      messageCount: 2
    })
    const restored = fold([created, { definition: ThreadArchived, payload: { at: 2, previousStatus: "paused" } }, {
      definition: ThreadUnarchived,
      payload: { at: 3, restoredStatus: "paused" }
    }])
    expect(HashMap.unsafeGet(restored.list.threads, T)).toMatchObject({ status: "paused", statusBeforeArchive: null })
  })

  it("the history tree keeps every branch; tips are the entries without children", () => {
    const { history, list } = fold([
      created,
      msg("entry-1", null, 1),
      msg("entry-2", "entry-1", 2),
      { definition: ThreadLeafMoved, payload: { at: 3, from: "entry-2", to: "entry-1", reason: "rewind" } },
      msg("entry-3", "entry-1", 4)
    ])
    expect([...HashMap.keys(history.entries)].sort()).toEqual(["entry-1", "entry-2", "entry-3"])
    expect([...HashSet.values(HashMap.unsafeGet(history.tips, T))].sort()).toEqual(["entry-2", "entry-3"])
    expect(HashMap.unsafeGet(list.threads, T).leafId).toBe("entry-3")
  })

  it.effect("replay --until shows the thread list as of a position", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const store = yield* EventStore
      const a = yield* threads.start({ name: "first name" })
      const mid = yield* store.headPosition
      yield* threads.rename(a.threadId, "second name")
      yield* threads.start({})
      const then = yield* replay(threadsProjection, { until: mid, category: "thread" })
      expect([...HashMap.values(then.threads)].map((r) => r.name)).toEqual(["first name"])
      const now = yield* replay(threadsProjection, { category: "thread" })
      expect(HashMap.size(now.threads)).toBe(2)
      expect(threadListOf(now).map((r) => r.name)).toEqual([null, "second name"])
      expect(HashMap.unsafeGet(now.threads, a.threadId).name).toBe("second name")
    }).pipe(Effect.provide(makeTestLayer())))
})
