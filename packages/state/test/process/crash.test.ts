/** A writer killed with SIGKILL in the middle of appending batches. */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { envelopes, tempFile, verifyLog } from "../fixtures/helpers.ts"
import { open } from "../sqlite/helpers.ts"
import { finished, spawnFixture, verifyWithProject } from "./node.ts"

describe("process: crash", () => {
  it.scopedLive("SIGKILL mid-run: on reopen every batch is all there or not at all, and the log verifies", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const child = spawnFixture("batchWriter.ts", [filename])
      const committed = new Set<string>()
      // Kill once enough batches were reported committed: the writer is then in full flow.
      child.stdout!.on("data", (d: Buffer) => {
        for (const line of d.toString().split("\n")) if (line.startsWith("committed ")) committed.add(line.slice(10))
        if (committed.size >= 150 && child.exitCode === null) child.kill("SIGKILL")
      })
      const exit = yield* finished(child)
      expect(exit.signal, exit.stderr).toBe("SIGKILL")
      const opened = yield* open(filename)
      const { store } = opened
      const verified = yield* verifyWithProject(opened)
      expect(verified.problems).toEqual([])
      expect(verified.ok).toBe(true)
      const log = Chunk.toReadonlyArray(yield* Stream.runCollect(store.streamAll()))
      expect(verifyLog(log)).toEqual([])
      const perBatch = new Map<string, number>()
      for (const e of log) {
        const id = (e.payload as { batchId: string }).batchId
        perBatch.set(id, (perBatch.get(id) ?? 0) + 1)
      }
      expect([...perBatch.values()].filter((n) => n !== 10)).toEqual([])
      // Whatever was reported committed survived the kill.
      expect([...committed].filter((id) => perBatch.get(id) !== 10)).toEqual([])
      expect(log.length).toBeGreaterThanOrEqual(150 * 10)
      // The log goes on: the next append takes the next position, none is reused.
      const head = yield* store.headPosition
      expect(head).toBe(log[log.length - 1]!.position)
      const r = yield* store.append("batch-after", envelopes(2))
      expect(r.firstPosition).toBe(head + 1)
    }), 120_000)
})
