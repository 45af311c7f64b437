/** Commits made by another process reach this process's subscriptions and waits. */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream } from "effect"
import { envelopes, tempFile } from "../fixtures/helpers.ts"
import { open } from "../sqlite/helpers.ts"
import { runFixture } from "./node.ts"

describe("process: other processes' commits", () => {
  it.scopedLive("a subscription here receives events appended by a child process", () =>
    Effect.gen(function*() {
      const filename = yield* tempFile()
      const { store } = yield* open(filename, { pollInterval: "20 millis" })
      yield* store.append("local-a", envelopes(3))
      const sub = yield* store.subscribe({ category: "remote" }).pipe(Stream.take(20), Stream.runCollect, Effect.fork)
      const all = yield* store.subscribe({ after: 3 }).pipe(Stream.take(20), Stream.runCollect, Effect.fork)
      const waiter = yield* Effect.fork(store.awaitPosition(23))
      const run = yield* runFixture("appendOnce.ts", [filename, "20"])
      expect(run.code, run.stderr).toBe(0)
      const ids = JSON.parse(run.stdout.trim()) as Array<string>
      const got = Chunk.toReadonlyArray(yield* Fiber.join(sub))
      expect(got.map((e) => e.eventId)).toEqual(ids)
      expect(got.map((e) => e.position)).toEqual(Array.from({ length: 20 }, (_, i) => i + 4))
      expect(Chunk.toReadonlyArray(yield* Fiber.join(all))).toEqual(got)
      yield* Fiber.join(waiter)
      expect(yield* store.streamVersion("remote-x")).toBe(20)
    }), 120_000)
})
