/**
 * Property: for random command sequences, the read model maintained as commands run equals the
 * read model rebuilt from the log, and both equal the in-memory folds of the log.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer } from "effect"
import {
  dumpThreads,
  foldedDump,
  ReadModels,
  replay,
  threadHistoryProjection,
  threadsProjection,
  threadsReadModel,
  ThreadStore
} from "../../src/index.ts"
import { makeTestLayer } from "./helpers.ts"

type Op =
  | { readonly op: "start"; readonly cwd: number }
  | { readonly op: "message"; readonly t: number; readonly text: string; readonly role: number }
  | { readonly op: "rename"; readonly t: number; readonly name: string }
  | { readonly op: "archive" | "unarchive"; readonly t: number }
  | { readonly op: "resume"; readonly t: number; readonly cwd: number; readonly unarchive: boolean; readonly history: number }
  | { readonly op: "fork"; readonly t: number; readonly back: number }
  | { readonly op: "rewind"; readonly t: number; readonly back: number }
  | { readonly op: "checkpoint"; readonly t: number; readonly name: number; readonly n: number }

const t = fc.nat(20)
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("start" as const), cwd: fc.nat(2) }),
  fc.record({ op: fc.constant("message" as const), t, text: fc.string({ minLength: 1, maxLength: 12 }), role: fc.nat(2) }),
  fc.record({ op: fc.constant("message" as const), t, text: fc.string({ minLength: 1, maxLength: 12 }), role: fc.constant(0) }),
  fc.record({ op: fc.constant("rename" as const), t, name: fc.string({ maxLength: 8 }) }),
  fc.record({ op: fc.constantFrom("archive" as const, "unarchive" as const), t }),
  fc.record({ op: fc.constant("resume" as const), t, cwd: fc.nat(3), unarchive: fc.boolean(), history: fc.nat(2) }),
  fc.record({ op: fc.constant("fork" as const), t, back: fc.nat(3) }),
  fc.record({ op: fc.constant("rewind" as const), t, back: fc.nat(4) }),
  fc.record({ op: fc.constant("checkpoint" as const), t, name: fc.nat(2), n: fc.integer() })
)

const cwds = ["/a", "/b", "/c"]
const roles = ["user", "assistant", "history"]

/** Runs the ops; refused commands (typed errors) are part of the sequence and must change nothing. */
const run = (ops: ReadonlyArray<Op>) =>
  Effect.gen(function*() {
    const threads = yield* ThreadStore
    const ids: Array<string> = []
    const pick = (n: number) => ids.length === 0 ? undefined : ids[n % ids.length]
    for (const o of ops) {
      const id = o.op === "start" ? undefined : pick(o.t)
      if (o.op !== "start" && id === undefined) continue
      const tid = id!
      const step: Effect.Effect<unknown, unknown> = (() => {
        switch (o.op) {
          case "start":
            return Effect.map(threads.start({ cwd: cwds[o.cwd]! }), (r) => ids.push(r.threadId))
          case "message":
            return threads.addMessage(tid, { content: o.text, role: roles[o.role]! })
          case "rename":
            return threads.rename(tid, o.name)
          case "archive":
            return threads.archive(tid)
          case "unarchive":
            return threads.unarchive(tid)
          case "resume":
            return threads.resume({
              threadId: tid,
              ...(o.cwd < 3 ? { cwd: cwds[o.cwd]! } : {}),
              unarchive: o.unarchive,
              history: Array.from({ length: o.history }, (_, i) => ({ i }))
            })
          case "fork":
            return Effect.gen(function*() {
              const row = yield* threads.get(tid)
              const version = Math.max(1, row.version - o.back)
              const fork = yield* threads.fork({ threadId: tid, version })
              ids.push(fork.threadId)
            })
          case "rewind":
            return Effect.gen(function*() {
              const page = yield* threads.history(tid, { limit: 10 })
              const target = page.entries[page.entries.length - 1 - o.back]
              yield* threads.rewind(tid, target === undefined ? null : target.entryId)
            })
          case "checkpoint":
            return threads.saveCheckpoint(tid, `cp${o.name}`, { n: o.n })
        }
      })()
      yield* Effect.either(step)
    }
    return ids.length
  })

describe("threads read model", () => {
  it("inline read model == rebuilt read model == in-memory folds, for random command sequences", async () => {
    const seen = { entries: 0, forks: 0, checkpoints: 0, archived: 0, branches: 0 }
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) =>
        Effect.runPromise(
          Effect.gen(function*() {
            yield* run([{ op: "start", cwd: 0 }, { op: "start", cwd: 1 }, ...ops])
            const inline = yield* dumpThreads
            const folded = foldedDump(yield* replay(threadsProjection), yield* replay(threadHistoryProjection))
            const models = yield* ReadModels
            yield* models.rebuild("threads")
            const rebuilt = yield* dumpThreads
            expect(inline).toEqual(folded)
            expect(rebuilt).toEqual(inline)
            seen.entries += folded.entries.length
            seen.forks += folded.threads.filter((r) => r.forkedFromThreadId !== null).length
            seen.checkpoints += folded.checkpoints.length
            seen.archived += folded.threads.filter((r) => r.status === "archived").length
            const perThread = new Map<string, number>()
            for (const tip of folded.tips) perThread.set(tip.threadId, (perThread.get(tip.threadId) ?? 0) + 1)
            seen.branches += [...perThread.values()].some((n) => n > 1) ? 1 : 0
          }).pipe(
            Effect.provide(Layer.provideMerge(ReadModels.layer([threadsReadModel]), makeTestLayer())),
            Effect.scoped
          )
        )),
      {
        numRuns: 40,
        // One known sequence that reaches every kind of state, besides the random ones.
        examples: [[[
          { op: "message", t: 0, text: "a", role: 0 },
          { op: "message", t: 0, text: "b", role: 1 },
          { op: "rewind", t: 0, back: 1 },
          { op: "message", t: 0, text: "c", role: 0 },
          { op: "fork", t: 0, back: 0 },
          { op: "checkpoint", t: 0, name: 1, n: 7 },
          { op: "archive", t: 1 }
        ]]]
      }
    )
    // The sequences did exercise every kind of state.
    for (const [what, n] of Object.entries(seen)) expect([what, n > 0]).toEqual([what, true])
  }, 120_000)
})
