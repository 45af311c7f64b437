/** The benchmark harness: each case measures our API and a raw baseline in the same run. */

/** One measured case: our rate, the baseline's rate in the same run, and their ratio. */
export interface BenchResult {
  readonly name: string
  readonly rate: number
  readonly baselineRate: number
  readonly ratio: number
  readonly unit: string
  /** The ratio (or figure) the issue asks for, as text. */
  readonly target?: string | undefined
  readonly extra?: Record<string, number | string> | undefined
}

/** A benchmark case. */
export interface BenchCase {
  readonly name: string
  readonly run: () => Promise<BenchResult>
}

/** Runs `fn` and returns the elapsed seconds. */
export const time = async (fn: () => Promise<unknown> | unknown): Promise<number> => {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e9
}

/** A ~0.5 KB JSON payload, varied by `i`. */
export const samplePayload = (i: number) => ({
  call_id: `call-${i}`,
  tool: "exec_shell",
  command: ["bash", "-lc", `git status --porcelain && ls -la src/module_${i % 97}`],
  cwd: `/home/dev/projects/codewhale/workspace-${i % 13}`,
  approval: { mode: "on_request", decision: "approved", scope: "session", decided_by: "user" },
  output_preview: "M packages/state/src/internal/sqliteStore.ts\n?? packages/state/test/conformance/\n".repeat(2),
  exit_code: i % 7 === 0 ? 1 : 0,
  duration_ms: 12 + (i % 500),
  tags: ["bench", "tool-call", `shard-${i % 8}`]
})
