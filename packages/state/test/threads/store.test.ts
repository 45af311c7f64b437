/** ThreadStore behaviour: the seed's thread surface, event-sourced, where the seed is wrong doing what a user expects. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { EventStore, ThreadStore } from "../../src/index.ts"
import { makeTestLayer } from "./helpers.ts"

const test = <A, E>(title: string, body: () => Effect.Effect<A, E, ThreadStore | EventStore>) =>
  it.effect(title, () => body().pipe(Effect.provide(makeTestLayer())))

/** The events of a thread's stream, as types. */
const typesOf = (threadId: string) =>
  Effect.flatMap(EventStore, (s) => Effect.map(s.readStream(threadId), (es) => es.map((e) => e.eventType)))

describe("ThreadStore", () => {
  test("start records the settings and shows the new thread with empty history", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const row = yield* threads.start({ model: "m1", modelProvider: "openai", cwd: "/repo", persistExtendedHistory: true, name: "First" })
      expect(row.threadId).toMatch(/^thread-[0-9a-f-]{36}$/)
      expect(row).toMatchObject({
        status: "running",
        model: "m1",
        modelProvider: "openai",
        cwd: "/repo",
        ephemeral: false,
        source: "interactive",
        preview: "New conversation",
        name: "First",
        cliVersion: "9.9.9-test",
        messageCount: 0,
        leafId: null
      })
      expect(yield* typesOf(row.threadId)).toEqual(["thread.created"])
      expect((yield* threads.history(row.threadId)).entries).toEqual([])
    }))

  test("create makes an ephemeral thread in the default cwd with the default provider", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const row = yield* threads.create({ metadata: { from: "test" } })
      expect(row).toMatchObject({ ephemeral: true, cwd: "/work/project", modelProvider: "deepseek", model: null })
    }))

  test("messages build the history; preview and status follow the last user message", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const { threadId } = yield* threads.start({})
      yield* threads.addMessage(threadId, { content: "hello" })
      yield* threads.addMessage(threadId, { role: "assistant", content: "hi there" })
      const long = "x".repeat(300)
      const { thread, entry } = yield* threads.addMessage(threadId, { content: long, item: { k: 1 } })
      expect(thread.preview).toBe("x".repeat(120))
      expect(thread.messageCount).toBe(3)
      expect(thread.leafId).toBe(entry.entryId)
      const page = yield* threads.history(threadId)
      expect(page.entries.map((e) => [e.role, e.content.slice(0, 5)])).toEqual([["user", "hello"], ["assistant", "hi th"], ["user", "xxxxx"]])
      expect(page.entries[2]!.item).toBe("{\"k\":1}")
      expect(page.before).toBeUndefined()
    }))

  test("a message to an unknown or archived thread is a typed error and stores nothing", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const store = yield* EventStore
      const unknown = yield* Effect.flip(threads.addMessage("thread-0190a000-0000-7000-8000-00000000dead", { content: "x" }))
      expect(unknown._tag).toBe("ThreadNotFound")
      const { threadId } = yield* threads.start({})
      yield* threads.archive(threadId)
      const head = yield* store.headPosition
      const archived = yield* Effect.flip(threads.addMessage(threadId, { content: "x" }))
      expect(archived._tag).toBe("ThreadIsArchived")
      expect(yield* store.headPosition).toBe(head)
    }))

  test("malformed ids, empty names, overlong names: typed errors, nothing stored", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const store = yield* EventStore
      const { threadId } = yield* threads.start({})
      const head = yield* store.headPosition
      expect((yield* Effect.flip(threads.rename("nope", "x")))._tag).toBe("InvalidThreadInput")
      expect((yield* Effect.flip(threads.get("thread-"))).message).toMatch(/not a thread id/)
      expect((yield* Effect.flip(threads.rename(threadId, " "))).message).toBe("invalid name: must not be empty")
      expect((yield* Effect.flip(threads.rename(threadId, "n".repeat(201)))).message).toMatch(/longer than 200/)
      expect((yield* Effect.flip(threads.start({ cwd: "" }))).message).toMatch(/cwd/)
      expect(yield* store.headPosition).toBe(head)
    }))

  test("resume keeps the stored metadata unless overridden, and records what changed", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const store = yield* EventStore
      const { threadId } = yield* threads.start({
        model: "m1",
        modelProvider: "openai",
        cwd: "/repo",
        name: "Kept",
        git: { sha: "abc", branch: "main", originUrl: "git@x:y.git" }
      })
      const resumed = yield* threads.resume({ threadId })
      expect(resumed).toMatchObject({
        model: "m1",
        modelProvider: "openai",
        cwd: "/repo",
        name: "Kept",
        gitSha: "abc",
        gitBranch: "main",
        gitOriginUrl: "git@x:y.git",
        status: "running"
      })
      const changed = yield* threads.resume({ threadId, cwd: "/elsewhere", git: { branch: "feature" } })
      expect(changed).toMatchObject({ cwd: "/elsewhere", gitBranch: "feature", gitSha: "abc", model: "m1" })
      const last = (yield* store.readStream(threadId, { backwards: true, limit: 1 }))[0]!
      expect(last.payload).toMatchObject({
        changes: { cwd: { from: "/repo", to: "/elsewhere" }, gitBranch: { from: "main", to: "feature" } }
      })
    }))

  test("resuming an archived thread is explicit; unarchive restores the status it had", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const { threadId } = yield* threads.start({})
      yield* threads.archive(threadId)
      expect((yield* Effect.flip(threads.resume({ threadId })))._tag).toBe("ThreadIsArchived")
      expect((yield* threads.get(threadId)).status).toBe("archived")
      const resumed = yield* threads.resume({ threadId, unarchive: true })
      expect(resumed.status).toBe("running")
      yield* threads.archive(threadId)
      const restored = yield* threads.unarchive(threadId)
      expect(restored.status).toBe("running")
      expect(restored.statusBeforeArchive).toBeNull()
    }))

  test("resume with history records the items once", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const { threadId } = yield* threads.start({})
      yield* threads.resume({ threadId, history: [{ type: "message", text: "a" }, { type: "message", text: "b" }] })
      yield* threads.resume({ threadId, history: [{ text: "a", type: "message" }, { type: "message", text: "b" }] })
      const page = yield* threads.history(threadId)
      expect(page.entries.map((e) => e.role)).toEqual(["history", "history"])
    }))

  test("fork at the head: its history is the parent's followed by its own; lineage is readable", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const store = yield* EventStore
      const parent = yield* threads.start({ cwd: "/repo", modelProvider: "openai", model: "m2" })
      yield* threads.addMessage(parent.threadId, { content: "p1" })
      yield* threads.addMessage(parent.threadId, { content: "p2" })
      const fork = yield* threads.fork({ threadId: parent.threadId })
      expect(fork).toMatchObject({
        source: "fork",
        cwd: "/repo",
        modelProvider: "openai",
        model: "m2",
        forkedFromThreadId: parent.threadId,
        forkedFromVersion: 3,
        preview: "p2",
        messageCount: 0
      })
      yield* threads.addMessage(fork.threadId, { content: "f1" })
      yield* threads.addMessage(parent.threadId, { content: "p3 after the fork" })
      const history = yield* threads.history(fork.threadId)
      expect(history.entries.map((e) => e.content)).toEqual(["p1", "p2", "f1"])
      expect(history.entries.map((e) => e.threadId)).toEqual([parent.threadId, parent.threadId, fork.threadId])
      expect((yield* threads.history(parent.threadId)).entries.map((e) => e.content)).toEqual(["p1", "p2", "p3 after the fork"])
      // Nothing was copied: the fork's stream holds its creation and its own message only.
      expect((yield* store.readStream(fork.threadId)).map((e) => e.eventType)).toEqual(["thread.created", "thread.message_added"])
    }))

  test("fork at an earlier version sees the parent as it was then, never later state", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const parent = yield* threads.start({ cwd: "/repo" })
      yield* threads.addMessage(parent.threadId, { content: "one" }) // v2
      yield* threads.rename(parent.threadId, "later name") // v3
      yield* threads.resume({ threadId: parent.threadId, cwd: "/moved" }) // v4
      yield* threads.addMessage(parent.threadId, { content: "two" }) // v5
      const fork = yield* threads.fork({ threadId: parent.threadId, version: 2 })
      expect(fork).toMatchObject({ cwd: "/repo", forkedFromVersion: 2, preview: "one" })
      expect((yield* threads.history(fork.threadId)).entries.map((e) => e.content)).toEqual(["one"])
      const tooFar = yield* Effect.flip(threads.fork({ threadId: parent.threadId, version: 6 }))
      expect(tooFar.message).toMatch(/versions are 1\.\.5/)
      expect((yield* Effect.flip(threads.fork({ threadId: "thread-0190a000-0000-7000-8000-00000000dead" })))._tag).toBe("ThreadNotFound")
    }))

  test("branching: rewind and continue; the abandoned branch is kept and readable", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const { threadId } = yield* threads.start({})
      const a = (yield* threads.addMessage(threadId, { content: "a" })).entry
      yield* threads.addMessage(threadId, { content: "b" })
      const c = (yield* threads.addMessage(threadId, { content: "c" })).entry
      yield* threads.rewind(threadId, a.entryId)
      const d = (yield* threads.addMessage(threadId, { content: "d" })).entry
      expect(d.parentId).toBe(a.entryId)
      expect((yield* threads.history(threadId)).entries.map((e) => e.content)).toEqual(["a", "d"])
      expect((yield* threads.history(threadId, { leafId: c.entryId })).entries.map((e) => e.content)).toEqual(["a", "b", "c"])
      const branches = yield* threads.branches(threadId)
      expect(branches.map((b) => [b.entry.content, b.active])).toEqual([["d", true], ["c", false]])
      // Back to the old branch and on from there.
      yield* threads.rewind(threadId, c.entryId)
      yield* threads.addMessage(threadId, { content: "e" })
      expect((yield* threads.history(threadId)).entries.map((e) => e.content)).toEqual(["a", "b", "c", "e"])
      // Rewind to the very start: the next message is a new root.
      yield* threads.rewind(threadId, null)
      yield* threads.addMessage(threadId, { content: "fresh" })
      expect((yield* threads.history(threadId)).entries.map((e) => e.content)).toEqual(["fresh"])
      expect((yield* Effect.flip(threads.rewind(threadId, "entry-missing")))._tag).toBe("EntryNotFound")
    }))

  test("a fork can rewind into inherited history but not into the parent's later entries", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const parent = yield* threads.start({})
      const p1 = (yield* threads.addMessage(parent.threadId, { content: "p1" })).entry
      yield* threads.addMessage(parent.threadId, { content: "p2" })
      const fork = yield* threads.fork({ threadId: parent.threadId })
      const p3 = (yield* threads.addMessage(parent.threadId, { content: "p3" })).entry
      yield* threads.rewind(fork.threadId, p1.entryId)
      yield* threads.addMessage(fork.threadId, { content: "f" })
      expect((yield* threads.history(fork.threadId)).entries.map((e) => e.content)).toEqual(["p1", "f"])
      expect((yield* Effect.flip(threads.rewind(fork.threadId, p3.entryId)))._tag).toBe("EntryNotFound")
    }))

  test("history pages walk back from the leaf with a cursor; no silent caps", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const { threadId } = yield* threads.start({})
      for (let i = 1; i <= 7; i++) yield* threads.addMessage(threadId, { content: `m${i}` })
      const p1 = yield* threads.history(threadId, { limit: 3 })
      expect(p1.entries.map((e) => e.content)).toEqual(["m5", "m6", "m7"])
      const p2 = yield* threads.history(threadId, { limit: 3, before: p1.before })
      expect(p2.entries.map((e) => e.content)).toEqual(["m2", "m3", "m4"])
      const p3 = yield* threads.history(threadId, { limit: 3, before: p2.before })
      expect(p3.entries.map((e) => e.content)).toEqual(["m1"])
      expect(p3.before).toBeUndefined()
      const tooBig = yield* Effect.flip(threads.history(threadId, { limit: 1001 }))
      expect(tooBig.message).toBe("history page size 1001 is above the maximum of 1000")
    }))

  test("checkpoints are named; latest is the most recently saved, even in the same millisecond", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const { threadId } = yield* threads.start({})
      expect((yield* Effect.flip(threads.checkpoint(threadId)))._tag).toBe("CheckpointNotFound")
      yield* threads.saveCheckpoint(threadId, "zeta", { n: 1 })
      yield* threads.saveCheckpoint(threadId, "alpha", { n: 2 })
      expect((yield* threads.checkpoint(threadId)).checkpointId).toBe("alpha")
      yield* threads.saveCheckpoint(threadId, "zeta", { n: 3 })
      const latest = yield* threads.checkpoint(threadId)
      expect([latest.checkpointId, JSON.parse(latest.state)]).toEqual(["zeta", { n: 3 }])
      expect(JSON.parse((yield* threads.checkpoint(threadId, "alpha")).state)).toEqual({ n: 2 })
      expect((yield* threads.checkpoints(threadId)).map((c) => c.checkpointId)).toEqual(["zeta", "alpha"])
      expect((yield* Effect.flip(threads.checkpoint(threadId, "nope"))).message).toMatch(/no checkpoint named "nope"/)
    }))

  test("list: last activity first, then id; paged by cursor; filtered by archived, cwd and text", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const a = yield* threads.start({ cwd: "/a", name: "Alpha refactor" })
      yield* TestClock.adjust(1000)
      const b = yield* threads.start({ cwd: "/b" })
      const c = yield* threads.start({ cwd: "/a" })
      yield* threads.addMessage(a.threadId, { content: "Fix the PARSER bug" })
      yield* threads.archive(b.threadId)
      const all = yield* threads.list({ includeArchived: true })
      expect(all.threads.map((t) => t.threadId)).toEqual([a.threadId, c.threadId, b.threadId])
      expect((yield* threads.list()).threads.map((t) => t.threadId)).toEqual([a.threadId, c.threadId])
      expect((yield* threads.list({ archived: true })).threads.map((t) => t.threadId)).toEqual([b.threadId])
      expect((yield* threads.list({ cwd: "/a" })).threads.map((t) => t.threadId)).toEqual([a.threadId, c.threadId])
      expect((yield* threads.list({ search: "parser" })).threads.map((t) => t.threadId)).toEqual([a.threadId])
      expect((yield* threads.list({ search: "alpha" })).threads.map((t) => t.threadId)).toEqual([a.threadId])
      const p1 = yield* threads.list({ includeArchived: true, limit: 2 })
      expect(p1.threads.length).toBe(2)
      const p2 = yield* threads.list({ includeArchived: true, limit: 2, cursor: p1.nextCursor })
      expect(p2.threads.map((t) => t.threadId)).toEqual([b.threadId])
      expect(p2.nextCursor).toBeUndefined()
      expect((yield* Effect.flip(threads.list({ limit: 201 }))).message).toBe("thread list page size 201 is above the maximum of 200")
      expect((yield* Effect.flip(threads.list({ limit: 0 }))).message).toMatch(/between 1 and 200/)
      expect((yield* Effect.flip(threads.list({ cursor: "garbage" })))._tag).toBe("InvalidCursor")
    }))

  test("rename and the list's text search see the new name", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const { threadId } = yield* threads.start({})
      yield* threads.rename(threadId, "Release notes")
      expect((yield* threads.list({ search: "RELEASE" })).threads.map((t) => t.name)).toEqual(["Release notes"])
    }))
})
