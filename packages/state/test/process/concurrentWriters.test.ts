/** Three OS processes appending to one database file with expected versions. */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { verifyLog, tempFile } from "../fixtures/helpers.ts"
import { open } from "../sqlite/helpers.ts"
import { runFixture, verifyWithProject } from "./node.ts"

describe("process: concurrent writers", () => {
  it.scopedLive("three processes, 2,000 events each, partly to the same streams: only WrongExpectedVersion, and the log verifies", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const runs = yield* Effect.all([0, 1, 2].map((p) => runFixture("writer.ts", [filename, String(p), "2000"])), { concurrency: "unbounded" })
      const reports = runs.map((r) => {
        expect(r.code, r.stderr).toBe(0)
        return JSON.parse(r.stdout.trim().split("\n").pop()!) as { proc: number; events: number; appends: number; retries: number; errors: Array<string> }
      })
      for (const r of reports) {
        expect(r.errors).toEqual([])
        expect(r.events).toBe(2_000)
      }
      const opened = yield* open(filename, { readonly: true })
      const { store } = opened
      const verified = yield* verifyWithProject(opened)
      expect(verified.problems).toEqual([])
      expect([verified.ok, verified.events, verified.headPosition]).toEqual([true, 6_000, 6_000])
      const log = Chunk.toReadonlyArray(yield* Stream.runCollect(store.streamAll()))
      expect(verifyLog(log)).toEqual([])
      expect(log.length).toBe(6_000)
      expect(log[log.length - 1]!.position).toBe(6_000)
      // Every logical event exactly once, whatever the retries.
      const keys = new Set(log.map((e) => { const p = e.payload as { proc: number; fiber: number; k: number }; return `${p.proc}/${p.fiber}/${p.k}` }))
      expect(keys.size).toBe(6_000)
      const appends = reports.reduce((n, r) => n + r.appends, 0)
      const streams = yield* store.listStreams()
      expect(streams.reduce((n, s) => n + s.version, 0)).toBe(6_000)
      // Retries are accounted for: each batch records the attempt that landed, and the number of
      // batches that landed is the number of successful appends the processes reported.
      const firsts = log.filter((e) => (e.payload as { first: boolean }).first)
      expect(firsts.length).toBe(appends)
      const retried = firsts.reduce((n, e) => n + (e.payload as { attempt: number }).attempt, 0)
      expect(retried).toBe(reports.reduce((n, r) => n + r.retries, 0))
    }), 120_000)
})
