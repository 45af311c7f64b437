import { IdGenerator, JobsAppStatus } from "@codewhale/protocol"
import { layerMemory } from "@codewhale/state"
import { expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { quickstart } from "../examples/quickstart.ts"
import { JobStore } from "../src/index.ts"

it.live("the README's example runs: both jobs complete, the flaky one after a retry", () =>
  Effect.gen(function*() {
    const status = yield* quickstart
    expect(Schema.is(JobsAppStatus)(status)).toBe(true)
    expect(status.data.jobs.map((j) => [j.name, j.status])).toEqual([["flaky", "completed"], ["report", "completed"]])
    const readme = NodeFs.readFileSync(NodePath.join(import.meta.dirname, "../README.md"), "utf8")
    expect(readme).toContain("examples/quickstart.ts")
  }).pipe(Effect.provide(Layer.provideMerge(JobStore.layer, Layer.mergeAll(layerMemory, IdGenerator.layer)))))
