import { Command } from "@effect/cli"
import { subcommands } from "./commands/index.ts"

/** The root `codewhale` command with every subcommand attached. */
export const rootCommand = Command.make("codewhale").pipe(Command.withSubcommands(subcommands))

/** Runs the CLI on an argv array (as `process.argv`). */
export const runCli = Command.run(rootCommand, { name: "codewhale", version: "0.0.0" })
