/** Property tests: deny rules only ever restrict, and a chain is as strict as its strictest part. */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "effect/FastCheck"
import {
  type AskForApproval,
  type BashParser,
  decisionWord,
  type ExecPolicyEngine,
  makeEngine,
  type PolicyInput,
  type RuleInput,
  type RulesetLayer
} from "../src/index.ts"
import { getParser, shell, WS } from "./helpers.ts"

const COMMANDS = [
  "ls -la", "git status", "git log --oneline", "cargo test", "npm run dev", "echo hi", "cat README.md",
  "grep -r foo src", "make build", "rm -rf build", "git push origin main", "npm publish", "rm -rf /",
  "curl -s https://x.example", "cat .env", "python3 script.py", "sudo apt-get install jq", "echo x > out.txt",
  "git status > ~/.bashrc", "find . -name '*.rs'", "sed -i s/a/b/ f", "timeout 5 cargo test", "rm -fr ~",
  "bash -c 'npm publish'", "GIT_TRACE=1 git push", "cd src", "cat secrets/key.txt", "echo $(git push)"
]
const PREFIXES = ["git status", "git", "ls", "cargo test", "npm", "rm -rf /", "rm", "echo", "cat", "git push", "npm publish", "sudo", "make"]
const TOOLS = ["exec_shell", "read_file"]
const OPS = [" && ", " || ", "; ", " | ", " & ", "\n"]
const MODES: ReadonlyArray<AskForApproval> = [
  "unless_trusted", "on_failure", "on_request", "never",
  { reject: { sandbox_approval: true, rules: false, mcp_elicitations: false } },
  { reject: { sandbox_approval: false, rules: true, mcp_elicitations: false } }
]
const LAYERS: ReadonlyArray<RulesetLayer> = ["builtin", "agent", "user"]

const arbRule: fc.Arbitrary<RuleInput> = fc.record({
  action: fc.constantFrom("allow" as const, "ask" as const, "deny" as const),
  tool: fc.constantFrom(...TOOLS),
  command: fc.option(fc.constantFrom(...PREFIXES), { nil: undefined }),
  path: fc.option(fc.constantFrom(".env", "secrets/**", "src"), { nil: undefined })
}, { requiredKeys: ["action", "tool"] }).map((r) => {
  const out: { -readonly [K in keyof RuleInput]: RuleInput[K] } = { action: r.action, tool: r.tool }
  if (r.command !== undefined) out.command = r.command
  if (r.path !== undefined) out.path = r.path
  return out
})

const arbLayer = fc.record({
  trusted_prefixes: fc.array(fc.constantFrom(...PREFIXES), { maxLength: 4 }),
  denied_prefixes: fc.array(fc.constantFrom(...PREFIXES), { maxLength: 2 }),
  rules: fc.array(arbRule, { maxLength: 4 })
})
const arbPolicy: fc.Arbitrary<PolicyInput> = fc.record({ builtin: arbLayer, agent: arbLayer, user: arbLayer })
const arbMode = fc.constantFrom(...MODES)
const arbCommand = fc.constantFrom(...COMMANDS)

const SEVERITY = { allow: 0, ask: 1, forbidden: 2 } as const

/** The policy with every workspace-relative path pattern written as the absolute path under `ws`. */
const anchorPaths = (policy: PolicyInput, ws: string): PolicyInput => {
  const layer = (l: PolicyInput["user"]) =>
    l === undefined ? l : {
      ...l,
      rules: (l.rules ?? []).map((r) => r.path === undefined || r.path.startsWith("/") || r.path.startsWith("~") ? r : { ...r, path: `${ws}/${r.path}` })
    }
  return { builtin: layer(policy.builtin), agent: layer(policy.agent), user: layer(policy.user) }
}

/**
 * Where each part of `p0 op0 p1 op1 …` runs, by bash's rules, over every way each part can succeed
 * or fail: `|` binds tightest and runs each side in a subshell, `&&`/`||` run the next pipeline on
 * success/failure, `;`/newline/`&` end an and-or list (`&` runs it in a background subshell), and
 * only a successful `cd src` outside a subshell moves the shell.
 */
const runDirs = (parts: ReadonlyArray<string>, ops: ReadonlyArray<string>): Array<Set<string>> => {
  const dirs = parts.map(() => new Set<string>())
  const op = (i: number) => (i < parts.length - 1 ? ops[i]!.trim() || ";" : ";")
  for (let outcome = 0; outcome < 1 << parts.length; outcome++) {
    const ok = (i: number) => ((outcome >> i) & 1) === 1
    let cwd = WS
    let i = 0
    while (i < parts.length) {
      // One and-or list: pipelines joined by && / ||, ended by ; newline & or the end.
      let end = i
      while (op(end) === "&&" || op(end) === "||" || op(end) === "|") end++
      const background = op(end) === "&"
      let here = cwd
      let last = true
      let joiner = ""
      let j = i
      while (j <= end) {
        let k = j
        while (op(k) === "|" && k < end) k++
        // A skipped pipeline leaves the last status as it was.
        if (joiner === "" || (joiner === "&&") === last) {
          for (let m = j; m <= k; m++) dirs[m]!.add(here)
          if (k === j && parts[j] === "cd src" && ok(j)) here = `${here}/src`
          last = ok(k)
        }
        joiner = op(k)
        j = k + 1
      }
      if (!background) cwd = here
      i = end + 1
    }
  }
  return dirs
}

let parser: BashParser
beforeAll(async () => {
  parser = await getParser()
})

const engine = (policy: PolicyInput): ExecPolicyEngine => Effect.runSync(makeEngine(parser, policy))
const severity = (e: ExecPolicyEngine, command: string, mode: AskForApproval) =>
  SEVERITY[decisionWord(e.check(shell(command, mode)))]

describe("properties", () => {
  it("adding a deny rule (prefix or typed, any layer) never makes a decision less restrictive", () => {
    fc.assert(
      fc.property(
        arbPolicy,
        arbCommand,
        arbMode,
        fc.constantFrom(...LAYERS),
        fc.oneof(
          fc.constantFrom(...PREFIXES).map((p) => ({ prefix: p })),
          arbRule.map((r) => ({ rule: { ...r, action: "deny" as const } }))
        ),
        (policy, command, mode, layer, added) => {
          const before = severity(engine(policy), command, mode)
          const l = policy[layer] ?? {}
          const extended: PolicyInput = {
            ...policy,
            [layer]: "prefix" in added
              ? { ...l, denied_prefixes: [...(l.denied_prefixes ?? []), added.prefix] }
              : { ...l, rules: [...(l.rules ?? []), added.rule] }
          }
          const after = severity(engine(extended), command, mode)
          expect(after).toBeGreaterThanOrEqual(before)
          if (before === SEVERITY.forbidden) expect(after).toBe(SEVERITY.forbidden)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("a chain is never more permissive than its most restrictive part", () => {
    fc.assert(
      fc.property(arbPolicy, fc.array(arbCommand, { minLength: 2, maxLength: 4 }), fc.array(fc.constantFrom(...OPS), { minLength: 3, maxLength: 3 }), arbMode, (policy, parts, ops, mode) => {
        const e = engine(policy)
        const chain = parts.reduce((acc, part, i) => (i === 0 ? part : acc + ops[i - 1] + part), "")
        // Each part is judged alone in every directory it can really run in (`cd src` may move the
        // later parts), against the same workspace: the chain's workspace-relative rules stay
        // anchored at WS, so they are spelled absolute when a part is judged from another directory.
        const anchored = engine(anchorPaths(policy, WS))
        const strictest = Math.max(...runDirs(parts, ops).flatMap((dirs, i) =>
          [...dirs].map((cwd) => SEVERITY[decisionWord((cwd === WS ? e : anchored).check(shell(parts[i]!, mode, { cwd })))])
        ))
        expect(severity(e, chain, mode)).toBeGreaterThanOrEqual(strictest)
      }),
      { numRuns: 300 }
    )
  })

  it("a wrapped command is never more permissive than the command itself", () => {
    const wrappers = ["sudo ", "timeout 5 ", "nice -n 5 ", "env A=1 ", "nohup ", "command ", "time ", "stdbuf -oL ", "xargs "]
    fc.assert(
      fc.property(arbPolicy, arbCommand, fc.constantFrom(...wrappers), arbMode, (policy, command, wrapper, mode) => {
        const e = engine(policy)
        if (command.includes(">") || command.includes("$(") || command.startsWith("GIT_") || command.startsWith("cd ")) return
        expect(severity(e, wrapper + command, mode)).toBeGreaterThanOrEqual(severity(e, command, mode))
      }),
      { numRuns: 300 }
    )
  })

  it("a proposed amendment, added as a trusted prefix, allows the command next time", () => {
    fc.assert(
      fc.property(fc.array(arbCommand, { minLength: 1, maxLength: 3 }), (parts) => {
        const command = parts.join(" && ")
        const d = engine({}).check(shell(command, "unless_trusted"))
        if (d.requirement._tag !== "NeedsApproval" || d.requirement.proposedExecpolicyAmendment === null) return
        const prefixes = d.requirement.proposedExecpolicyAmendment.prefixes
        for (const p of prefixes) expect(["bash", "sh", "sudo", "env", "python3", "node", ""]).not.toContain(p.trim())
        const amended = engine({ user: { trusted_prefixes: [...prefixes] } })
        expect(decisionWord(amended.check(shell(command, "unless_trusted")))).toBe("allow")
      }),
      { numRuns: 200 }
    )
  })
})
