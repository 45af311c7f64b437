import type { AskForApproval, SandboxMode } from "./Approval.ts"

/** The tool name of shell commands. */
export const EXEC_SHELL = "exec_shell"

/** Everything the engine looks at for one tool call (the seed's `ExecPolicyContext`). */
export interface ExecPolicyContext {
  /** The shell command line, or for other tools the tool's command text (often the tool name or a patch). */
  readonly command: string
  /** The working directory (absolute); relative paths and workspace scopes are resolved against it. */
  readonly cwd: string
  /** The tool; absent means `exec_shell`. */
  readonly tool?: string | undefined
  /** The file the call touches (tools other than the shell). */
  readonly path?: string | undefined
  /** More files the call touches (every file of a multi-file patch). */
  readonly paths?: ReadonlyArray<string> | undefined
  /** The approval mode. */
  readonly askForApproval: AskForApproval
  /** The sandbox the command runs in, when known. */
  readonly sandboxMode?: SandboxMode | undefined
  /** The home directory, for `~`; absent means home is unknown (then `~` only matches `~` rules). */
  readonly home?: string | undefined
  /**
   * Symlink resolutions (normalised absolute path → real path) for paths the call mentions. Filled by
   * `resolveContextPaths` before the pure decision; absent means "lexical only".
   */
  readonly resolvedPaths?: ReadonlyMap<string, string> | undefined
}
