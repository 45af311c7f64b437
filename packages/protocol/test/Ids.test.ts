import { it, expect } from "@effect/vitest"
import { Effect } from "effect"
import { hello } from "@codewhale/protocol"
it.effect("works", () => Effect.gen(function*() { expect(yield* hello).toBe(1) }))
