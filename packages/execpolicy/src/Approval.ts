import type { AskForApproval } from "@codewhale/protocol"
import { Schema } from "effect"

/** The approval modes are the protocol's (the seed's wire shape); re-exported for the engine's users. */
export { AskForApproval, RejectConfig } from "@codewhale/protocol"

/** The sandbox the command will run in (read by the engine: `on_failure` needs a sandbox to fail in). */
export const SandboxMode = Schema.Literal("read-only", "workspace-write", "danger-full-access", "external-sandbox")
/** The sandbox the command will run in. */
export type SandboxMode = typeof SandboxMode.Type

/** A short name for a mode: the literal, or `reject`. */
export const approvalModeName = (mode: AskForApproval): string => (typeof mode === "string" ? mode : "reject")

/**
 * Maps a configuration string to one meaning (fixes weakness W14, where `deny` became `never`, which
 * auto-runs unmatched commands). Here `never` means "never prompt: refuse what would need approval,
 * run the rest"; `deny`/`denied` mean "run only what the policy allows" (reject every prompt).
 * Returns undefined for unknown strings.
 */
export const approvalModeFromConfig = (value: string): AskForApproval | undefined => {
  switch (value.trim().toLowerCase().replaceAll("-", "_")) {
    case "unless_trusted":
    case "untrusted":
    case "auto":
    case "yolo":
      return "unless_trusted"
    case "on_failure":
      return "on_failure"
    case "on_request":
    case "suggest":
    case "ask":
      return "on_request"
    case "never":
      return "never"
    case "deny":
    case "denied":
    case "reject":
      return { reject: { sandbox_approval: true, rules: true, mcp_elicitations: true } }
    default:
      return undefined
  }
}
