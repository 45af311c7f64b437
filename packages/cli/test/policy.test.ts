/** `codewhale policy check`, run for real as a child process. */
import { execFile, spawn } from "node:child_process"
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { commandFromArgs } from "../src/commands/policy.ts"

const root = resolve(fileURLToPath(new URL("../../..", import.meta.url)))
const bin = join(root, "packages/cli/src/bin.ts")
const nodeArgs = ["--conditions=@codewhale/source", "--import", "tsx", bin]

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (args: ReadonlyArray<string>, stdin?: string): Promise<Run> =>
  new Promise((done) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (code) => done({ code, stdout, stderr }))
    child.stdin.end(stdin ?? "")
  })

let policyFile = ""
let badPolicyFile = ""

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "policy-cli-"))
  policyFile = join(dir, "policy.toml")
  badPolicyFile = join(dir, "bad.toml")
  await writeFile(policyFile, `[user]
trusted_prefixes = ["git status", "cargo test"]
denied_prefixes = ["rm -rf /"]

[[user.rules]]
action = "ask"
tool = "exec_shell"
command = "git push"
`)
  await writeFile(badPolicyFile, `[user]\n\n[[user.rules]]\ntool = "exec_shell"\naction = "sometimes"\n`)
})

describe("commandFromArgs", () => {
  it("takes one word verbatim and quotes several", () => {
    expect(commandFromArgs(["git status && ls"])).toBe("git status && ls")
    expect(commandFromArgs(["git", "commit", "-m", "fix it"])).toBe("git commit -m 'fix it'")
    expect(commandFromArgs(["ls", "&&", "rm"])).toBe("ls '&&' rm")
  })
})

// Each spawn transpiles the CLI with tsx: slow on a busy machine, so give these tests room.
describe("codewhale policy check", { timeout: 300_000 }, () => {
  it("prints the decision as JSON for a command after --", async () => {
    const r = await run(["policy", "check", "--policy", policyFile, "--approval-mode", "never", "--json", "--", "git status && rm -fr /"])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout.trim())
    expect(out).toMatchObject({
      decision: "forbidden",
      matched_rule: "rm -rf /",
      matched_action: null,
      reason: "Command blocked by denied prefix rule 'rm -rf /'",
      proposed_amendment: null
    })
    expect(out.segments.map((s: { command: string }) => s.command)).toEqual(["git status", "rm -fr /"])
  })

  it("accepts several words after -- as argv, and every option", async () => {
    const r = await run([
      "policy", "check", "--policy", policyFile, "--approval-mode", "reject", "--reject-flags", "sandbox_approval",
      "--sandbox", "workspace-write", "--tool", "exec_shell", "--cwd", "/ws", "--json", "--", "cargo", "build", "--release"
    ])
    expect(JSON.parse(r.stdout.trim())).toMatchObject({
      decision: "forbidden",
      reason: "Policy is configured to reject sandbox approvals.",
      segments: [{ command: "cargo build --release" }]
    })
  })

  it("prints text, and --explain adds the explanation", async () => {
    const [plain, explained, json] = await Promise.all([
      run(["policy", "check", "--policy", policyFile, "--", "cargo build"]),
      run(["policy", "check", "--policy", policyFile, "--approval-mode", "on_request", "--explain", "--", "sudo git push"]),
      run(["policy", "check", "--policy", policyFile, "--json", "--explain", "--", "git status"])
    ])
    expect(plain.stdout).toContain("decision: ask")
    expect(plain.stdout).toContain("reason: Unmatched command prefix requires approval.")
    expect(plain.stdout).toContain(`proposed_amendment: ["cargo build"]`)
    expect(explained.stdout).toContain("decision: ask")
    expect(explained.stdout).toContain("match: rule 'tool=exec_shell command=git push' layer=user action=ask")
    expect(explained.stdout).toContain("mode: on_request")
    const out = JSON.parse(json.stdout.trim())
    expect(out.decision).toBe("ask")
    expect(out.explanation.segments[0].matches[0].label).toBe("git status")
  })

  it("reports an invalid policy with file, line and rule, and fails", async () => {
    const r = await run(["policy", "check", "--policy", badPolicyFile, "--", "ls"])
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toContain(`${badPolicyFile}:5 (rule user.rules[0])`)
  })

  it("--batch prints one JSON line per input line and keeps going after bad lines", async () => {
    const lines = [
      JSON.stringify({ policy: { user: { denied_prefixes: ["npm publish"] } }, approval_mode: "never", command: "ls && npm publish" }),
      "not json",
      JSON.stringify({ command: "cargo build", approval_mode: { reject: { sandbox_approval: false, rules: false, mcp_elicitations: false } }, cwd: "/ws" }),
      JSON.stringify({ policy: { user: { rules: [{ tool: "exec_shell", action: "permit" }] } }, command: "ls" }),
      JSON.stringify({ command: "ls", colour: "blue" }),
      "",
      JSON.stringify({ policy: { user: { rules: [{ tool: "read_file", action: "deny", path: ".env" }] } }, tool: "read_file", path: "src/../.env", cwd: "/ws", command: "read_file", sandbox_mode: "read-only" }),
      JSON.stringify({ policy: { user: { trusted_prefixes: ["git status"] } }, approval_mode: "unless_trusted", command: "git status > ~/.bashrc", tool: null, path: null })
    ]
    const r = await run(["policy", "check", "--batch"], lines.join("\n") + "\n")
    expect(r.code).toBe(0)
    const out = r.stdout.trim().split("\n").map((l) => JSON.parse(l))
    expect(out).toHaveLength(7)
    expect(out[0]).toMatchObject({ decision: "forbidden", matched_rule: "npm publish" })
    expect(out[1].error).toContain("<stdin>:2")
    expect(out[2]).toMatchObject({ decision: "ask", proposed_amendment: ["cargo build"], matched_rule: null, matched_action: null })
    expect(out[3].error).toContain("<stdin>:4 (rule user.rules[0])")
    expect(out[4].error).toContain("colour")
    expect(out[5]).toMatchObject({ decision: "forbidden", matched_rule: "tool=read_file path=.env", matched_action: "deny" })
    expect(out[6]).toMatchObject({ decision: "ask", matched_rule: null })
    for (const line of out.filter((o) => !("error" in o))) {
      expect(Object.keys(line)).toEqual(["decision", "matched_rule", "matched_action", "reason", "proposed_amendment", "segments"])
    }
  })

  it("is listed in the root help", async () => {
    const help = await new Promise<string>((done) =>
      execFile(process.execPath, [...nodeArgs, "policy", "check", "--help"], { cwd: root }, (_e, stdout) => done(stdout))
    )
    expect(help).toContain("--approval-mode")
    expect(help).toContain("--batch")
  })
})
