import { logCommand } from "./log.ts"

/** Every top-level subcommand of `codewhale`, in the order `--help` shows them. */
export const subcommands = [logCommand] as const
