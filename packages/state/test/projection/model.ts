/** A small event model for projection tests: counted numbers and names, plus an unknown type. */
import { defineEvent, makeEventRegistry, type EventEnvelope } from "@codewhale/protocol"
import { Either, Schema } from "effect"
import type { Projection } from "../../src/Projection.ts"
import { envelope } from "../fixtures/helpers.ts"

/** `test.counted` v1: a number to add. */
export const Counted = defineEvent("test.counted", Schema.Struct({ n: Schema.Number }))
/** `test.named` v1: a name to remember. */
export const Named = defineEvent("test.named", Schema.Struct({ name: Schema.String }))

/** The registry of the test projections. */
export const registry = Either.getOrThrow(makeEventRegistry([Counted, Named]))

/** The state of the counter projection. */
export const CounterState = Schema.Struct({ sum: Schema.Number, count: Schema.Number, names: Schema.Array(Schema.String) })
/** The state of the counter projection. */
export type CounterState = typeof CounterState.Type

/** Sums counted numbers, counts events it knows, keeps names in order. */
export const counter = (version = 1): Projection<CounterState, typeof Counted | typeof Named> => ({
  name: "counter",
  version,
  registry,
  initial: { sum: 0, count: 0, names: [] },
  evolve: (state, event) =>
    event.type === "test.counted"
      ? { ...state, sum: state.sum + (event.payload as { n: number }).n, count: state.count + 1 }
      : { ...state, count: state.count + 1, names: [...state.names, (event.payload as { name: string }).name] },
  stateSchema: CounterState
})

/** A counted event. */
export const counted = (n: number): EventEnvelope => envelope({ n }, { type: "test.counted" })
/** A named event. */
export const named = (name: string): EventEnvelope => envelope({ name }, { type: "test.named" })
/** An event of a type the registry does not know. */
export const other = (): EventEnvelope => envelope({ whatever: [1, 2] }, { type: "test.other" })
