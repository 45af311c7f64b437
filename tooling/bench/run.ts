/**
 * `pnpm bench [-- --json] [-- --only <case>]`: runs every benchmark case and prints rate, baseline
 * rate (measured in the same run) and ratio; with `--json`, one JSON object on the last line.
 */
import type { BenchCase, BenchResult } from "./harness.ts"

const modules = ["./eventstore.ts", "./policy-check.ts", "./jobs.ts"]

const args = process.argv.slice(2)
const asJson = args.includes("--json")
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined

const cases: Array<BenchCase> = []
for (const m of modules) {
  const url = new URL(m, import.meta.url)
  // A case module of a package that has not landed yet is simply absent.
  if (!(await import("node:fs")).existsSync(url)) continue
  const mod = (await import(url.href)) as { cases?: ReadonlyArray<BenchCase> }
  cases.push(...(mod.cases ?? []))
}

/** `global.gc` (the bench runs with `--expose-gc`). */
const collectGarbage = (globalThis as { gc?: () => void }).gc

const results: Array<BenchResult> = []
for (const c of cases) {
  if (only !== undefined && c.name !== only) continue
  // Each case starts on a collected heap, so what an earlier case left behind does not slow it.
  collectGarbage?.()
  const r = await c.run()
  results.push(r)
  const extra = r.extra === undefined ? "" : "  " + Object.entries(r.extra).map(([k, v]) => `${k}=${v}`).join(" ")
  process.stdout.write(
    `${r.name.padEnd(22)} ${String(r.rate).padStart(9)} ${r.unit}  baseline ${String(r.baselineRate).padStart(9)}  ratio ${r.ratio.toFixed(2)}  (target ${r.target ?? "-"})${extra}\n`
  )
}
if (asJson) process.stdout.write(`${JSON.stringify({ results: results.map(({ name, rate, baselineRate, ratio }) => ({ name, rate, baselineRate, ratio })) })}\n`)
