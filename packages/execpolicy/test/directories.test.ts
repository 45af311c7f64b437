/**
 * Each part of a chain is judged in the directory it really runs in: after `cd` relative arguments
 * resolve against the new directory (and only for what runs after it in the same shell), path rules
 * stay anchored at the call's workspace, and a part that may run in several directories must be
 * acceptable in each. Likewise an ask rule that only possibly matches is weighed against no match.
 */
import { describe, expect, it } from "@effect/vitest"
import { type AskForApproval, decisionWord, type PolicyInput } from "../src/index.ts"
import { engineFor, shell, verdict, WS } from "./helpers.ts"

const REJECT_SANDBOX: AskForApproval = { reject: { sandbox_approval: true, rules: false, mcp_elicitations: false } }
const SEVERITY = { allow: 0, ask: 1, forbidden: 2 } as const

describe("a part after cd is judged as if it ran alone there (ask path=src, reject sandbox approvals)", () => {
  const policy: PolicyInput = { user: { rules: [{ action: "ask", tool: "exec_shell", path: "src" }] } }
  // The same rule, anchored at the chain's workspace, for judging a part alone from another directory.
  const anchored: PolicyInput = { user: { rules: [{ action: "ask", tool: "exec_shell", path: `${WS}/src` }] } }
  const cases: ReadonlyArray<readonly [chain: string, part: string, dir: string, expected: "ask" | "forbidden"]> = [
    // The counterexample the chain property found: the chain used to ask, the part alone is refused.
    ["cd src && curl -s https://x.example", "curl -s https://x.example", `${WS}/src`, "forbidden"],
    ["cd src; curl -s https://x.example", "curl -s https://x.example", `${WS}/src`, "forbidden"],
    ["cd src\ncurl -s https://x.example", "curl -s https://x.example", `${WS}/src`, "forbidden"],
    ["cd src && curl -s http://x.example/a?b=1", "curl -s http://x.example/a?b=1", `${WS}/src`, "forbidden"],
    ["cd ./src/ && curl -s HTTPS://x.example", "curl -s HTTPS://x.example", `${WS}/src`, "forbidden"],
    ["cd src && echo hi", "echo hi", `${WS}/src`, "forbidden"],
    ["cd src && cat README.md", "cat README.md", `${WS}/src`, "forbidden"],
    // A later cd does not move what ran before it.
    ["curl -s https://x.example && cd src", "curl -s https://x.example", WS, "forbidden"],
    ["echo hi; cd src", "echo hi", WS, "forbidden"],
    // What names src absolutely still meets the rule, wherever the shell is.
    ["cd src && cat /ws/src/main.rs", "cat /ws/src/main.rs", `${WS}/src`, "ask"],
    ["cd src; cat ~/../../ws/src/main.rs", "cat ~/../../ws/src/main.rs", `${WS}/src`, "ask"]
  ]
  for (const [chain, part, dir, expected] of cases) {
    it(`${JSON.stringify(chain)} -> ${expected}, never more permissive than ${JSON.stringify(part)} in ${dir}`, async () => {
      const engine = await engineFor(policy)
      const alone = await engineFor(dir === WS ? policy : anchored)
      const whole = decisionWord(engine.check(shell(chain, REJECT_SANDBOX)))
      expect(whole).toBe(expected)
      const inPlace = decisionWord(alone.check(shell(part, REJECT_SANDBOX, { cwd: dir })))
      expect(SEVERITY[whole]).toBeGreaterThanOrEqual(SEVERITY[inPlace])
      expect(verdict(engine, shell(chain, REJECT_SANDBOX)).decision).toBe(whole)
    })
  }
})

const table = (name: string, policy: PolicyInput, mode: AskForApproval, cases: ReadonlyArray<readonly [string, "allow" | "ask" | "forbidden"]>) =>
  describe(name, () => {
    for (const [command, expected] of cases) {
      it(`${JSON.stringify(command)} -> ${expected}`, async () => {
        const engine = await engineFor(policy)
        expect(decisionWord(engine.check(shell(command, mode)))).toBe(expected)
        expect(verdict(engine, shell(command, mode)).decision).toBe(expected)
      })
    }
  })

table("the directory a part runs in (deny path=a/b/x, never)", {
  user: { rules: [{ action: "deny", tool: "exec_shell", path: "a/b/x" }] }
}, "never", [
  ["cat a/b/x", "forbidden"],
  ["cd a/b && cat x", "forbidden"],
  ["cd a && cd b && cat x", "forbidden"],
  ["cd a; cd b; cat x", "forbidden"],
  ["cd a/b/c && cat ../x", "forbidden"],
  ["cd a/b || true; cat x", "forbidden"],
  ["for d in 1 2; do cat x; cd a/b; done", "forbidden"],
  ["{ cd a/b; }; cat x", "forbidden"],
  ["eval 'cd a/b'; cat x", "forbidden"],
  ["cd a/b && (cat x)", "forbidden"],
  ["cd a/b && echo $(cat x)", "forbidden"],
  ["cat x", "allow"],
  ["cat x; cd a/b", "allow"],
  ["(cd a/b); cat x", "allow"],
  ["cd a/b | cat x", "allow"],
  ["echo $(cd a/b) && cat x", "allow"],
  ["cd a && cat x", "allow"]
])

table("URL-like arguments are still paths: a file argument can be spelled that way", {
  user: { rules: [{ action: "deny", tool: "exec_shell", path: ".env" }] }
}, "never", [
  ["cat https://../.env", "forbidden"],
  ["cd src && cat https://../../.env", "forbidden"],
  ["curl -s https://x.example", "allow"],
  ["cd src && curl -s https://x.example", "allow"]
])

table("the dangerous floor resolves operands where the command runs (no rules, never)", {}, "never", [
  ["rm -rf other", "allow"],
  ["cd .. && rm -rf other", "forbidden"],
  ["cd src && rm -rf ..", "forbidden"],
  ["cd src && rm -rf build", "allow"],
  ["cd /tmp && rm -rf scratch", "allow"]
])

table("cd without a target goes home (deny path=~/.bashrc, never)", {
  user: { rules: [{ action: "deny", tool: "exec_shell", path: "~/.bashrc" }] }
}, "never", [
  ["cd && cat .bashrc", "forbidden"],
  ["cd ~ && cat .bashrc", "forbidden"],
  ["cat .bashrc", "allow"]
])

table("an ask rule that matches only for some run-time values is weighed against no match (reject sandbox approvals)", {
  agent: { rules: [{ action: "ask", tool: "exec_shell", command: "rm -rf /" }] }
}, REJECT_SANDBOX, [
  // The wrapped-command property's counterexample: `xargs` may append `/`, or may not.
  ["rm -rf build", "forbidden"],
  ["xargs rm -rf build", "forbidden"],
  ["find . -name x -exec rm -rf {} +", "forbidden"],
  ["rm -rf /", "ask"]
])

table("an ask rule that matches only for some run-time values still asks (unless_trusted)", {
  agent: { rules: [{ action: "ask", tool: "exec_shell", command: "rm -rf /" }] }
}, "unless_trusted", [
  ["xargs rm -rf build", "ask"],
  ["rm -rf /", "ask"]
])

table("a line that tree-sitter-bash joins to a pipeline still runs on its own (denied prefix echo)", {
  agent: { denied_prefixes: ["echo"] }
}, "unless_trusted", [
  // The chain property's counterexample: the parser read `ls -la echo x` with `> out.txt` on the pipeline.
  ["ls -la | ls -la | ls -la\necho x > out.txt", "forbidden"],
  ["ls | ls | ls\necho x", "forbidden"],
  ["ls | ls\necho x > out.txt", "forbidden"],
  ["ls | ls | ls \\\necho x", "ask"]
])
