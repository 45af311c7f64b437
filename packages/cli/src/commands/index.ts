import { approvalsCommand } from "./approvals.ts"
import { demoCommand } from "./demo.ts"
import { grantsCommand } from "./grants.ts"
import { hooksCommand } from "./hooks.ts"
import { jobsCommand } from "./jobs.ts"
import { logCommand } from "./log.ts"
import { mcpCommand } from "./mcp.ts"
import { policyCommand } from "./policy.ts"
import { serveCommand } from "./serve.ts"
import { threadCommand } from "./thread.ts"
import { toolCommand } from "./tool.ts"

/** Every top-level subcommand of `codewhale`, in the order `--help` shows them. */
export const subcommands = [demoCommand, logCommand, policyCommand, threadCommand, toolCommand, approvalsCommand, grantsCommand, hooksCommand, jobsCommand, mcpCommand, serveCommand] as const
