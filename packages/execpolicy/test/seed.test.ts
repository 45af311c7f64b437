/** The seed's contract: mode table, precedence, labels, reasons, phase/reason, matching rules. */
import { describe, expect, it } from "@effect/vitest"
import { phase, reason, SKIP_REASON, type AskForApproval, type PolicyInput } from "../src/index.ts"
import { engineFor, shell, verdict } from "./helpers.ts"

const policy: PolicyInput = {
  user: {
    trusted_prefixes: ["git status", "cargo test", "ls", "npm run dev"],
    denied_prefixes: ["rm -rf /"],
    rules: [{ action: "ask", tool: "exec_shell", command: "git push" }]
  }
}

const REJECT_RULES: AskForApproval = { reject: { sandbox_approval: false, rules: true, mcp_elicitations: false } }
const REJECT_NONE: AskForApproval = { reject: { sandbox_approval: false, rules: false, mcp_elicitations: false } }

describe("mode table (seed §2)", () => {
  const typed = "Typed ask rule 'tool=exec_shell command=git push' requires approval."
  const table: ReadonlyArray<readonly [string, AskForApproval, string, "allow" | "ask" | "forbidden", string]> = [
    ["typed ask", "unless_trusted", "git push origin", "ask", typed],
    ["trusted", "unless_trusted", "git status", "allow", SKIP_REASON],
    ["unmatched", "unless_trusted", "cargo build", "ask", "Unmatched command prefix requires approval."],
    ["typed ask", "on_failure", "git push", "ask", typed],
    ["trusted", "on_failure", "cargo test --workspace", "allow", SKIP_REASON],
    ["unmatched", "on_failure", "cargo build", "allow", SKIP_REASON],
    ["typed ask", "on_request", "git push", "ask", typed],
    ["trusted", "on_request", "git status", "ask", "Approval requested by policy mode."],
    ["unmatched", "on_request", "cargo build", "ask", "Unmatched command prefix requires approval."],
    ["typed ask", REJECT_RULES, "git push", "forbidden", "Policy is configured to reject rule-exceptions."],
    ["unmatched", REJECT_RULES, "cargo build", "forbidden", "Policy is configured to reject rule-exceptions."],
    ["typed ask", REJECT_NONE, "git push", "ask", typed],
    ["unmatched", REJECT_NONE, "cargo build", "ask", "Unmatched command prefix requires approval."],
    ["typed ask", "never", "git push", "forbidden", "Typed ask rule 'tool=exec_shell command=git push' requires approval, but approval policy is never."],
    ["trusted", "never", "git status", "allow", SKIP_REASON],
    ["unmatched", "never", "cargo build", "allow", SKIP_REASON]
  ]
  for (const [what, mode, command, decision, why] of table) {
    it(`${what} under ${typeof mode === "string" ? mode : JSON.stringify(mode)}: ${command} -> ${decision}`, async () => {
      const v = verdict(await engineFor(policy), shell(command, mode))
      expect(v.decision).toBe(decision)
      expect(v.reason).toBe(why)
    })
  }

  it("proposes an amendment only for unmatched commands, never a network amendment", async () => {
    const engine = await engineFor(policy)
    const unmatched = engine.check(shell("cargo build --release"))
    expect(unmatched.requirement).toEqual({
      _tag: "NeedsApproval",
      reason: "Unmatched command prefix requires approval.",
      proposedExecpolicyAmendment: { prefixes: ["cargo build --release"] },
      proposedNetworkPolicyAmendments: []
    })
    const typed = engine.check(shell("git push"))
    expect(typed.requirement._tag === "NeedsApproval" && typed.requirement.proposedExecpolicyAmendment).toBe(null)
    const mode = engine.check(shell("git status", "on_request"))
    expect(mode.requirement._tag === "NeedsApproval" && mode.requirement.proposedExecpolicyAmendment).toBe(null)
  })
})

describe("decision shape (seed §1)", () => {
  it("phase, reason, allow and requires_approval follow the requirement", async () => {
    const engine = await engineFor(policy)
    const skip = engine.check(shell("git status"))
    expect([phase(skip.requirement), reason(skip.requirement), skip.allow, skip.requiresApproval]).toEqual(["allowed", SKIP_REASON, true, false])
    expect(skip.requirement).toEqual({ _tag: "Skip", bypassSandbox: false, proposedExecpolicyAmendment: null })
    const ask = engine.check(shell("git push"))
    expect([phase(ask.requirement), ask.allow, ask.requiresApproval]).toEqual(["needs_approval", true, true])
    const forbidden = engine.check(shell("rm -rf /"))
    expect([phase(forbidden.requirement), forbidden.allow, forbidden.requiresApproval]).toEqual(["forbidden", false, false])
    expect(reason(forbidden.requirement)).toBe("Command blocked by denied prefix rule 'rm -rf /'")
  })

  it("matched_rule is the prefix text for prefix rules and the label for typed rules", async () => {
    const engine = await engineFor(policy)
    expect(engine.check(shell("rm -rf /"))).toMatchObject({ matchedRule: "rm -rf /", matchedAction: null })
    expect(engine.check(shell("git status"))).toMatchObject({ matchedRule: "git status", matchedAction: null })
    expect(engine.check(shell("git push"))).toMatchObject({ matchedRule: "tool=exec_shell command=git push", matchedAction: "ask" })
    expect(engine.check(shell("cargo build"))).toMatchObject({ matchedRule: null, matchedAction: null })
  })

  it("labels typed rules as tool=… command=… command_exact=true path=… workspace=…", async () => {
    const engine = await engineFor({
      user: { rules: [{ action: "allow", tool: "exec_shell", command: "make ci", command_exact: true, workspace: "/ws" }] }
    })
    expect(engine.check(shell("make ci")).matchedRule).toBe("tool=exec_shell command=make ci command_exact=true workspace=/ws")
    const paths = await engineFor({ user: { rules: [{ action: "ask", tool: "read_file", path: "src/a.rs" }] } })
    expect(paths.check({ ...shell("read_file"), tool: "read_file", path: "src/a.rs" }).matchedRule).toBe("tool=read_file path=src/a.rs")
  })
})

describe("typed rule precedence (HEAD §3/§9)", () => {
  it("a higher layer beats a lower one whatever the action", async () => {
    const engine = await engineFor({
      agent: { rules: [{ action: "deny", tool: "exec_shell", command: "git push" }] },
      user: { rules: [{ action: "allow", tool: "exec_shell", command: "git push" }] }
    })
    expect(verdict(engine, shell("git push", "never")).decision).toBe("allow")
    expect(verdict(engine, shell("ls && git push", "never")).decision).toBe("allow")
  })

  it("within a layer deny beats ask beats allow, regardless of specificity", async () => {
    const engine = await engineFor({
      user: {
        rules: [
          { action: "allow", tool: "exec_shell", command: "git push origin main" },
          { action: "ask", tool: "exec_shell", command: "git push" },
          { action: "deny", tool: "exec_shell", command: "git" }
        ]
      }
    })
    expect(engine.check(shell("git push origin main"))).toMatchObject({
      matchedRule: "tool=exec_shell command=git",
      matchedAction: "deny",
      requirement: { _tag: "Forbidden", reason: "Permission rule 'tool=exec_shell command=git' explicitly denies this invocation." }
    })
  })

  it("within a layer and action the more specific rule wins, then the later one", async () => {
    const engine = await engineFor({
      user: {
        rules: [
          { action: "ask", tool: "exec_shell", command: "git push origin" },
          { action: "ask", tool: "exec_shell", command: "git push" },
          { action: "ask", tool: "exec_shell", command: "git push" }
        ]
      }
    })
    const e = engine.explain(shell("git push origin main"))
    expect(e.segments[0]!.winner?.label).toBe("tool=exec_shell command=git push origin")
    const tie = engine.explain(shell("git push upstream"))
    expect(tie.segments[0]!.winner?.order).toBe(2)
  })

  it("a typed allow runs in every mode, including never and reject", async () => {
    const engine = await engineFor({ user: { rules: [{ action: "allow", tool: "exec_shell", command: "cargo build" }] } })
    for (const mode of ["unless_trusted", "on_request", "never", REJECT_RULES] as const) {
      expect(engine.check(shell("cargo build --release", mode)).requirement._tag).toBe("Skip")
    }
    expect(engine.check(shell("cargo build")).matchedAction).toBe("allow")
  })

  it("a chained typed deny says so", async () => {
    const engine = await engineFor({ user: { rules: [{ action: "deny", tool: "exec_shell", command: "git push" }] } })
    expect(verdict(engine, shell("ls && git push")).reason).toBe(
      "Permission rule 'tool=exec_shell command=git push' explicitly denies a chained segment of this invocation."
    )
  })

  it("command_exact compares the whole command, case- and space-sensitively", async () => {
    const engine = await engineFor({ user: { rules: [{ action: "allow", tool: "exec_shell", command: "make ci && make docs", command_exact: true }] } })
    expect(verdict(engine, shell("make ci && make docs")).decision).toBe("allow")
    expect(verdict(engine, shell("make ci && make docs --all")).decision).toBe("ask")
    expect(verdict(engine, shell("Make ci && make docs")).decision).toBe("ask")
  })

  it("workspace-scoped rules apply only in their workspace", async () => {
    const engine = await engineFor({ user: { rules: [{ action: "allow", tool: "exec_shell", command: "make", workspace: "/ws/" }] } })
    expect(verdict(engine, shell("make all")).decision).toBe("allow")
    expect(verdict(engine, shell("make all", "unless_trusted", { cwd: "/other" })).decision).toBe("ask")
  })
})

describe("trusted-prefix matching (seed §4.1)", () => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ["git status", "git status --short", true],
    ["git status", "git --no-pager status", true],
    ["git status", "git -C /x status", false],
    ["git status", "git push", false],
    ["ls", "lsof", false],
    ["ls", "ls -la src", true],
    ["npm run dev", "npm run dev -- --port 3000", true],
    ["npm run dev", "npm run build", false],
    ["cargo", "cargo test", true],
    ["cat README.md", "cat README.md", true],
    ["git status", "/usr/bin/git status", true],
    ["git status", "./git status", false]
  ]
  for (const [prefix, command, allowed] of cases) {
    it(`'${prefix}' ${allowed ? "allows" : "does not allow"} '${command}'`, async () => {
      const engine = await engineFor({ user: { trusted_prefixes: [prefix] } })
      expect(verdict(engine, shell(command)).decision).toBe(allowed ? "allow" : "ask")
    })
  }
})

describe("non-shell tools", () => {
  it("typed rules decide by tool name and path; prefix lanes do not apply (W12)", async () => {
    const engine = await engineFor({
      user: {
        trusted_prefixes: ["read_file"],
        denied_prefixes: ["read_file"],
        rules: [{ action: "allow", tool: "read_file", path: "src/**" }]
      }
    })
    const call = (path: string) => ({ ...shell("read_file"), tool: "read_file", path })
    expect(verdict(engine, call("src/lib.rs")).decision).toBe("allow")
    expect(verdict(engine, call("README.md"))).toMatchObject({ decision: "ask", proposed_amendment: null })
  })

  it("paths of a patch are all checked", async () => {
    const engine = await engineFor({ user: { rules: [{ action: "deny", tool: "apply_patch", path: "src/secrets.rs" }] } })
    const patch = "*** Begin Patch\n*** Update File: src/main.rs\n@@\n-a\n+b\n*** Update File: src/secrets.rs\n@@\n-x\n+y\n*** End Patch"
    expect(verdict(engine, { ...shell(patch), tool: "apply_patch" }).decision).toBe("forbidden")
  })

  it("mcp_elicitations rejects prompts for MCP tools only", async () => {
    const engine = await engineFor({})
    const mode: AskForApproval = { reject: { sandbox_approval: false, rules: false, mcp_elicitations: true } }
    expect(verdict(engine, { ...shell("mcp__github__create_issue", mode), tool: "mcp__github__create_issue" })).toMatchObject({
      decision: "forbidden",
      reason: "Policy is configured to reject MCP elicitations."
    })
    expect(verdict(engine, { ...shell("write_file", mode), tool: "write_file" }).decision).toBe("ask")
  })
})
