// Runs `@modelcontextprotocol/conformance client` for every client scenario it lists, one at a
// time (the scenarios check reconnect timings, which parallel runs on a small machine distort),
// against conformance/client.ts with conformance/baseline.yml as the expected failures.
// Exit code 0 when every scenario passes or fails as the baseline expects.
import { spawnSync } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const bin = path.join(root, "node_modules", ".bin", "conformance")
const outputDir = path.join(process.env.TMPDIR ?? os.tmpdir(), "codewhale-mcp-conformance")
const only = process.argv.slice(2)

const listed = spawnSync(bin, ["list"], { cwd: root, encoding: "utf8" })
if (listed.status !== 0) {
  process.stderr.write(listed.stderr)
  process.exit(1)
}
const lines = listed.stdout.split("\n")
const start = lines.findIndex((l) => l.startsWith("Client scenarios"))
const scenarios = lines.slice(start + 1).map((l) => l.match(/^\s+-\s+(\S+)/)?.[1]).filter((s) => s !== undefined)
const selected = only.length > 0 ? scenarios.filter((s) => only.includes(s)) : scenarios

const results = []
for (const scenario of selected) {
  const run = spawnSync(bin, [
    "client",
    "--command", "node --conditions=@codewhale/source --import tsx conformance/client.ts",
    "--scenario", scenario,
    "--expected-failures", "conformance/baseline.yml",
    "--timeout", "120000",
    "-o", outputDir
  ], { cwd: root, encoding: "utf8" })
  const ok = run.status === 0
  const expected = /expected failure|in baseline/i.test(run.stdout)
  results.push({ scenario, ok })
  process.stdout.write(`${ok ? (expected ? "~" : "✓") : "✗"} ${scenario}${ok && expected ? " (expected failure, see baseline)" : ""}\n`)
  if (!ok) process.stdout.write(run.stdout.split("\n").filter((l) => /FAIL|stale|Unexpected|error/i.test(l)).map((l) => `    ${l}`).join("\n") + "\n")
}
const failed = results.filter((r) => !r.ok)
process.stdout.write(`\n${results.length - failed.length}/${results.length} scenarios as expected; results in ${outputDir}\n`)
process.exit(failed.length === 0 ? 0 : 1)
