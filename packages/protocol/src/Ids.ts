import { Effect } from "effect"
/** placeholder */
export const hello = Effect.succeed(1)
