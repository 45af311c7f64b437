/** Test support: runs `codewhale` (or a fixture script) from the workspace sources as a child process. */
import { spawn } from "node:child_process"
import * as NodePath from "node:path"

/** The repository root. */
export const repoRoot = NodePath.resolve(import.meta.dirname, "../../../..")

/** What a finished child process printed and how it exited. */
export interface RunResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a TypeScript entry point with the workspace's `source` condition, without blocking the event loop. */
export const runNode = (
  args: ReadonlyArray<string>,
  options: { readonly input?: string | undefined; readonly env?: Record<string, string> | undefined } = {}
): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@codewhale/source", "--import", "tsx", ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
    child.stdin.end(options.input ?? "")
  })

/** Runs `codewhale <args>` from the workspace sources. */
export const runCli = (
  args: ReadonlyArray<string>,
  options: { readonly input?: string | undefined; readonly env?: Record<string, string> | undefined } = {}
): Promise<RunResult> => runNode(["packages/cli/src/bin.ts", ...args], options)
