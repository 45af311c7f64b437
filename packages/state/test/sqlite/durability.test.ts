/** The SQLite log's durability: synced commits by default, and a WAL that starts over under load. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import { EventStore } from "../../src/EventStore.ts"
import { layerSqlite } from "../../src/layers.ts"
import { envelopes, tempFile } from "../fixtures/helpers.ts"

/** SQLite's WAL frame: a 24-byte header and one 4 KiB page. */
const FrameBytes = 24 + 4096

describe("sqlite: durability", () => {
  it.scoped("the log is FULL unless NORMAL is asked for, and says which it is", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const describeWith = (synchronous?: "normal" | "full") =>
        Effect.map(EventStore, (store) => store.describe).pipe(Effect.provide(layerSqlite({ filename, synchronous })), Effect.scoped)
      expect(yield* describeWith()).toContain("synchronous=FULL")
      expect(yield* describeWith("normal")).toContain("synchronous=NORMAL")
      expect(yield* describeWith("full")).toContain("synchronous=FULL")
    }))

  it.scoped("with FULL the WAL starts over after SQLite's checkpoints: steady appends keep it near 1,000 pages", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const { head, walBytes } = yield* Effect.gen(function*() {
        const store = yield* EventStore
        // 8 appenders, 300 single events each: about 300 group commits of ~13 frames, about 4,000
        // frames in all, which a WAL that never started over would hold.
        yield* Effect.forEach(
          Array.from({ length: 8 }, (_, f) => f),
          (f) => Effect.forEach(envelopes(300, { f }), (e) => store.append(`thread-${f}`, [e]), { discard: true }),
          { concurrency: 8, discard: true }
        )
        // Measured while the log is open (closing the last connection removes the WAL): the file
        // keeps its largest size, which must not have grown past the checkpoint threshold plus a
        // few commits.
        return { head: yield* store.headPosition, walBytes: NodeFs.statSync(`${filename}-wal`).size }
      }).pipe(Effect.provide(layerSqlite({ filename })), Effect.scoped)
      expect(head).toBe(2_400)
      expect(walBytes).toBeGreaterThan(0)
      expect(walBytes).toBeLessThan(1_500 * FrameBytes)
    }))
})
