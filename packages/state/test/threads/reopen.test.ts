/** A thread's full lifecycle survives closing and reopening the database file. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { dumpThreads, ThreadStore } from "../../src/index.ts"
import { makeTestLayer } from "./helpers.ts"

describe("reopening the database", () => {
  it.effect("keeps threads, history, branches, forks, checkpoints and archive state; writing goes on", () =>
    Effect.gen(function*() {
      const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-threads-"))
      const filename = NodePath.join(dir, "state.db")
      const first = yield* Effect.gen(function*() {
        const threads = yield* ThreadStore
        const t = yield* threads.start({ cwd: "/repo", name: "Lifecycle" })
        const a = (yield* threads.addMessage(t.threadId, { content: "a" })).entry
        yield* threads.addMessage(t.threadId, { content: "b" })
        yield* threads.rewind(t.threadId, a.entryId)
        yield* threads.addMessage(t.threadId, { content: "c" })
        yield* threads.saveCheckpoint(t.threadId, "cp", { step: 1 })
        const fork = yield* threads.fork({ threadId: t.threadId })
        yield* threads.addMessage(fork.threadId, { content: "in fork" })
        yield* threads.resume({ threadId: t.threadId, cwd: "/elsewhere" })
        yield* threads.archive(t.threadId)
        return { id: t.threadId, fork: fork.threadId, dump: yield* dumpThreads }
      }).pipe(Effect.provide(makeTestLayer({ filename })), Effect.scoped)

      yield* Effect.gen(function*() {
        const threads = yield* ThreadStore
        expect(yield* dumpThreads).toEqual(first.dump)
        const t = yield* threads.get(first.id)
        expect(t).toMatchObject({ name: "Lifecycle", cwd: "/elsewhere", status: "archived", statusBeforeArchive: "running" })
        expect((yield* threads.history(first.id)).entries.map((e) => e.content)).toEqual(["a", "c"])
        expect((yield* threads.branches(first.id)).length).toBe(2)
        expect((yield* threads.history(first.fork)).entries.map((e) => e.content)).toEqual(["a", "c", "in fork"])
        expect(JSON.parse((yield* threads.checkpoint(first.id)).state)).toEqual({ step: 1 })
        expect((yield* threads.list({ archived: true })).threads.map((r) => r.threadId)).toEqual([first.id])
        yield* threads.unarchive(first.id)
        yield* threads.addMessage(first.id, { content: "d" })
        expect((yield* threads.history(first.id)).entries.map((e) => e.content)).toEqual(["a", "c", "d"])
      }).pipe(Effect.provide(makeTestLayer({ filename })), Effect.scoped)
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }))
})
