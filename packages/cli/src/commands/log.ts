import { Command } from "@effect/cli"

/** `codewhale log ...`: event-log tooling (filled in by the state work). */
export const logCommand = Command.make("log")
