#!/usr/bin/env node
import { ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect } from "effect"
import { runCli } from "./Main.ts"

runCli(process.argv).pipe(
  Effect.catchAllCause((cause) => {
    const failure = Cause.failureOption(cause)
    // @effect/cli has already printed usage help for validation errors.
    if (failure._tag === "Some" && ValidationError.isValidationError(failure.value)) {
      return Effect.sync(() => { process.exitCode = 2 })
    }
    const message = failure._tag === "Some" && failure.value instanceof Error
      ? failure.value.message
      : Cause.pretty(cause)
    return Console.error(`codewhale: ${message}`).pipe(Effect.zipRight(Effect.sync(() => { process.exitCode = 1 })))
  }),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
