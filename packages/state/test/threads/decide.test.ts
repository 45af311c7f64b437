/** Given/when/then tests of the thread decider: given past events, when a command, then events or an error. */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import {
  ThreadArchived,
  ThreadCheckpointSaved,
  ThreadCreated,
  ThreadMessageAdded,
  ThreadRenamed,
  ThreadResumed
} from "@codewhale/protocol"
import { decide, fingerprint, type ThreadCommand, type ThreadEventDraft } from "../../src/index.ts"
import { stateOf } from "./helpers.ts"

const T = "thread-0190a000-0000-7000-8000-000000000001"

const created: ThreadEventDraft = {
  definition: ThreadCreated,
  payload: {
    at: 1_000,
    via: "start",
    source: "interactive",
    modelProvider: "deepseek",
    model: "m1",
    cwd: "/repo",
    ephemeral: false,
    cliVersion: "1.0.0",
    preview: "New conversation",
    git: { sha: "abc", branch: "main" },
    approvalPolicy: "on-request"
  }
}
const message = (entryId: string, parentId: string | null, content = "hi", role = "user"): ThreadEventDraft => ({
  definition: ThreadMessageAdded,
  payload: { at: 2_000, entryId, parentId, role, content }
})
const archived = (previousStatus = "running"): ThreadEventDraft => ({ definition: ThreadArchived, payload: { at: 3_000, previousStatus } })

/** given `history`, when `command`, then the result. */
const given = (history: ReadonlyArray<ThreadEventDraft>) => ({
  when: (command: ThreadCommand) => {
    const result = decide(T, command, stateOf(T, history))
    return {
      thenEvents: (expected: ReadonlyArray<{ readonly type: string; readonly payload: unknown }>) =>
        expect(Either.map(result, (ds) => ds.map((d) => ({ type: d.definition.type, payload: d.payload })))).toEqual(
          Either.right(expected)
        ),
      thenError: (tag: string, message?: RegExp) => {
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) {
          expect(result.left._tag).toBe(tag)
          if (message !== undefined) expect(result.left.message).toMatch(message)
        }
      }
    }
  }
})

const settings = { modelProvider: "deepseek", cwd: "/repo", ephemeral: true, cliVersion: "1.0.0" }

describe("thread decider", () => {
  describe("create", () => {
    it("given no thread, when created, then thread.created with the settings", () =>
      given([]).when({ _tag: "Create", at: 5, via: "create", source: "interactive", settings, preview: "New conversation", metadata: { a: 1 } })
        .thenEvents([{
          type: "thread.created",
          payload: {
            at: 5,
            via: "create",
            source: "interactive",
            modelProvider: "deepseek",
            cwd: "/repo",
            ephemeral: true,
            cliVersion: "1.0.0",
            preview: "New conversation",
            metadata: { a: 1 }
          }
        }]))
    it("given a thread, when created again, then ThreadAlreadyExists", () =>
      given([created]).when({ _tag: "Create", at: 5, via: "start", source: "interactive", settings, preview: "x" })
        .thenError("ThreadAlreadyExists"))
    it("rejects an empty name or cwd", () => {
      given([]).when({ _tag: "Create", at: 5, via: "start", source: "interactive", settings: { ...settings, name: "  " }, preview: "x" })
        .thenError("InvalidThreadInput", /name: must not be empty/)
      given([]).when({ _tag: "Create", at: 5, via: "start", source: "interactive", settings: { ...settings, cwd: "" }, preview: "x" })
        .thenError("InvalidThreadInput", /cwd/)
    })
  })

  describe("resume", () => {
    it("given no thread, then ThreadNotFound", () =>
      given([]).when({ _tag: "Resume", at: 9, overrides: {}, unarchive: false, history: [] }).thenError("ThreadNotFound", /not found/))
    it("keeps stored metadata and records only what the request changed", () =>
      given([created]).when({ _tag: "Resume", at: 9, overrides: { cwd: "/other", model: "m1" }, unarchive: false, history: [] })
        .thenEvents([{
          type: "thread.resumed",
          payload: { at: 9, previousStatus: "running", changes: { cwd: { from: "/repo", to: "/other" } } }
        }]))
    it("given an archived thread, when resumed without unarchive, then ThreadIsArchived", () =>
      given([created, archived()]).when({ _tag: "Resume", at: 9, overrides: {}, unarchive: false, history: [] })
        .thenError("ThreadIsArchived", /unarchive/))
    it("given an archived thread, when resumed with unarchive, then unarchived (restoring the old status) and resumed", () =>
      given([created, archived("paused")]).when({ _tag: "Resume", at: 9, overrides: {}, unarchive: true, history: [] })
        .thenEvents([
          { type: "thread.unarchived", payload: { at: 9, restoredStatus: "paused" } },
          { type: "thread.resumed", payload: { at: 9, previousStatus: "paused", changes: {} } }
        ]))
    it("records history items once: a resume with the same history again adds only the new suffix", () => {
      const first: ThreadEventDraft[] = [
        { definition: ThreadResumed, payload: { at: 9, previousStatus: "running", changes: {} } },
        message("entry-h1", null, JSON.stringify({ a: 1 }), "history"),
        message("entry-h2", "entry-h1", JSON.stringify({ b: 2 }), "history")
      ]
      ;(first[1]!.payload as { item?: unknown }).item = { a: 1 }
      ;(first[2]!.payload as { item?: unknown }).item = { b: 2 }
      const state = stateOf(T, [created, ...first])
      expect(state.imported).toEqual([fingerprint({ a: 1 }), fingerprint({ b: 2 })])
      given([created, ...first]).when({
        _tag: "Resume",
        at: 10,
        overrides: {},
        unarchive: false,
        history: [{ entryId: "entry-x1", item: { a: 1 } }, { entryId: "entry-x2", item: { b: 2 } }, { entryId: "entry-x3", item: { c: 3 } }]
      }).thenEvents([
        { type: "thread.resumed", payload: { at: 10, previousStatus: "running", changes: {} } },
        {
          type: "thread.message_added",
          payload: { at: 10, entryId: "entry-x3", parentId: "entry-h2", role: "history", content: "{\"c\":3}", item: { c: 3 } }
        }
      ])
    })
  })

  describe("rename", () => {
    it("sets a trimmed name and records the previous one", () =>
      given([created]).when({ _tag: "Rename", at: 4, name: "  My thread " })
        .thenEvents([{ type: "thread.renamed", payload: { at: 4, name: "My thread", previousName: null } }]))
    it("the same name again changes nothing", () =>
      given([created, { definition: ThreadRenamed, payload: { at: 4, name: "A", previousName: null } }])
        .when({ _tag: "Rename", at: 5, name: "A" }).thenEvents([]))
    it("rejects empty, overlong and multi-line names", () => {
      given([created]).when({ _tag: "Rename", at: 4, name: "" }).thenError("InvalidThreadInput", /must not be empty/)
      given([created]).when({ _tag: "Rename", at: 4, name: "x".repeat(201) }).thenError("InvalidThreadInput", /longer than 200/)
      given([created]).when({ _tag: "Rename", at: 4, name: "a\nb" }).thenError("InvalidThreadInput", /control characters/)
    })
    it("given no thread, then ThreadNotFound", () => given([]).when({ _tag: "Rename", at: 4, name: "x" }).thenError("ThreadNotFound"))
  })

  describe("archive and unarchive", () => {
    it("archive records the status it had", () =>
      given([created]).when({ _tag: "Archive", at: 4 }).thenEvents([{ type: "thread.archived", payload: { at: 4, previousStatus: "running" } }]))
    it("archiving an archived thread changes nothing", () => given([created, archived()]).when({ _tag: "Archive", at: 4 }).thenEvents([]))
    it("unarchive restores the status from before archiving", () =>
      given([created, archived("completed")]).when({ _tag: "Unarchive", at: 4 })
        .thenEvents([{ type: "thread.unarchived", payload: { at: 4, restoredStatus: "completed" } }]))
    it("unarchiving a thread that is not archived changes nothing", () => given([created]).when({ _tag: "Unarchive", at: 4 }).thenEvents([]))
    it("given no thread, then ThreadNotFound", () => given([]).when({ _tag: "Archive", at: 4 }).thenError("ThreadNotFound"))
  })

  describe("messages and branching", () => {
    it("a message goes under the current leaf", () =>
      given([created, message("entry-1", null)]).when({ _tag: "AddMessage", at: 7, entryId: "entry-2", role: "user", content: "next" })
        .thenEvents([{ type: "thread.message_added", payload: { at: 7, entryId: "entry-2", parentId: "entry-1", role: "user", content: "next" } }]))
    it("a message to an unknown thread is ThreadNotFound, to an archived one ThreadIsArchived", () => {
      given([]).when({ _tag: "AddMessage", at: 7, entryId: "e", role: "user", content: "x" }).thenError("ThreadNotFound")
      given([created, archived()]).when({ _tag: "AddMessage", at: 7, entryId: "e", role: "user", content: "x" })
        .thenError("ThreadIsArchived", /archived/)
    })
    it("an empty message is refused", () =>
      given([created]).when({ _tag: "AddMessage", at: 7, entryId: "e", role: "user", content: "  " }).thenError("InvalidThreadInput", /input/))
    it("rewind moves the leaf to an entry of the tree", () =>
      given([created, message("entry-1", null), message("entry-2", "entry-1")])
        .when({ _tag: "Rewind", at: 8, to: "entry-1", targetInTree: true })
        .thenEvents([{ type: "thread.leaf_moved", payload: { at: 8, from: "entry-2", to: "entry-1", reason: "rewind" } }]))
    it("rewind to the start of the thread moves the leaf to null", () =>
      given([created, message("entry-1", null)]).when({ _tag: "Rewind", at: 8, to: null, targetInTree: false })
        .thenEvents([{ type: "thread.leaf_moved", payload: { at: 8, from: "entry-1", to: null, reason: "rewind" } }]))
    it("rewind to an entry outside the tree is EntryNotFound; to the leaf changes nothing", () => {
      given([created, message("entry-1", null)]).when({ _tag: "Rewind", at: 8, to: "entry-9", targetInTree: false })
        .thenError("EntryNotFound", /entry-9/)
      given([created, message("entry-1", null)]).when({ _tag: "Rewind", at: 8, to: "entry-1", targetInTree: true }).thenEvents([])
    })
  })

  describe("checkpoints", () => {
    it("saving records the name, the state and the leaf", () =>
      given([created, message("entry-1", null)]).when({ _tag: "SaveCheckpoint", at: 8, checkpointId: "before-refactor", state: { n: 1 } })
        .thenEvents([{
          type: ThreadCheckpointSaved.type,
          payload: { at: 8, checkpointId: "before-refactor", state: { n: 1 }, entryId: "entry-1" }
        }]))
    it("rejects an empty name and a state that is not JSON", () => {
      given([created]).when({ _tag: "SaveCheckpoint", at: 8, checkpointId: "", state: 1 }).thenError("InvalidThreadInput", /checkpoint name/)
      given([created]).when({ _tag: "SaveCheckpoint", at: 8, checkpointId: "a", state: { f: () => 1 } })
        .thenError("InvalidThreadInput", /JSON/)
    })
  })
})
