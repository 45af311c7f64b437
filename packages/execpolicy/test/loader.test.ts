/** Loading policies from TOML and JSON: errors name file, line and rule; examples prove each rule. */
import { mkdtemp, symlink, writeFile, mkdir } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import { ExecPolicy, PolicyLoadError, renderExplanation } from "../src/index.ts"

const load = (toml: string, file = "policy.toml") =>
  Effect.gen(function*() {
    const ep = yield* ExecPolicy
    return yield* Effect.either(ep.fromToml(toml, file))
  })

const loadError = (toml: string) =>
  load(toml).pipe(
    Effect.map((r) => {
      if (Either.isRight(r)) throw new Error("expected the policy to be rejected")
      return r.left
    })
  )

layer(ExecPolicy.Default)("policy loading", (it) => {
  it.effect("loads all three layers and the typed rule fields", () =>
    Effect.gen(function*() {
      const r = yield* load(`
[builtin]
denied_prefixes = ["rm -rf /"]

[agent]
trusted_prefixes = ["cargo test"]

[user]
trusted_prefixes = ["git status"]

[[user.rules]]
action = "allow"
tool = "exec_shell"
command = "make ci"
command_exact = true
workspace = "/ws"
justification = "CI entry point"

[[user.rules]]
tool = "read_file"
path = "secrets/**"
`)
      expect(Either.isRight(r)).toBe(true)
      if (Either.isRight(r)) {
        expect(r.right.check({ command: "make ci", cwd: "/ws", askForApproval: "never" }).matchedRule).toBe(
          "tool=exec_shell command=make ci command_exact=true workspace=/ws"
        )
        // action defaults to ask
        expect(r.right.check({ command: "read_file", cwd: "/ws", tool: "read_file", path: "secrets/a", askForApproval: "on_failure" }).matchedAction).toBe("ask")
      }
    }))

  it.effect("invalid TOML names the file and line", () =>
    Effect.gen(function*() {
      const e = yield* loadError(`[user]\ntrusted_prefixes = ["a"\n`)
      expect(e).toBeInstanceOf(PolicyLoadError)
      expect(e.file).toBe("policy.toml")
      expect(e.line).toBeGreaterThanOrEqual(2)
      expect(e.message).toContain("policy.toml:")
      expect(e.detail).toContain("invalid TOML")
    }))

  it.effect("an unknown field names the rule and its line", () =>
    Effect.gen(function*() {
      const e = yield* loadError(`[user]
trusted_prefixes = ["ls"]

[[user.rules]]
tool = "exec_shell"
command = "git push"

[[user.rules]]
tool = "exec_shell"
decision = "deny"
command = "npm publish"
`)
      expect(e.rule).toBe("user.rules[1]")
      expect(e.line).toBe(10)
      expect(e.detail).toContain("unknown field 'decision'")
      expect(e.message).toBe(`Invalid policy policy.toml:10 (rule user.rules[1]): ${e.detail}`)
    }))

  it.effect("a bad action value names the rule and the key's line", () =>
    Effect.gen(function*() {
      const e = yield* loadError(`[[agent.rules]]\ntool = "exec_shell"\ncommand = "x"\naction = "permit"\n`)
      expect([e.rule, e.line]).toEqual(["agent.rules[0]", 4])
      expect(e.detail).toContain("allow, ask, deny")
    }))

  it.effect("a missing tool, an unknown layer, a relative workspace and a climbing path are rejected", () =>
    Effect.gen(function*() {
      const noTool = yield* loadError(`[[user.rules]]\ncommand = "x"\n`)
      expect(noTool.rule).toBe("user.rules[0]")
      const layerName = yield* loadError(`[project]\ntrusted_prefixes = []\n`)
      expect(layerName.detail).toContain("unknown field 'project'")
      expect(layerName.line).toBe(1)
      const ws = yield* loadError(`[user]\ntrusted_prefixes = []\n[[user.rules]]\ntool = "exec_shell"\ncommand = "make"\nworkspace = "repo"\n`)
      expect([ws.rule, ws.line]).toEqual(["user.rules[0]", 6])
      const climb = yield* loadError(`[[user.rules]]\ntool = "read_file"\npath = "../outside"\n`)
      expect([climb.rule, climb.line]).toEqual(["user.rules[0]", 3])
      const emptyPrefix = yield* loadError(`[builtin]\ndenied_prefixes = ["rm -rf /", "  "]\n`)
      expect([emptyPrefix.rule, emptyPrefix.line]).toEqual(["builtin.denied_prefixes[1]", 2])
    }))

  it.effect("match / not_match examples are checked at load time", () =>
    Effect.gen(function*() {
      const ok = yield* load(`[[user.rules]]
action = "deny"
tool = "exec_shell"
command = "git push"
match = ["git push", "git -c protocol.version=2 push origin", "sudo git push", "bash -c 'git push'", "/usr/bin/git push"]
not_match = ["git pull", "git log push", "echo git push"]
`)
      expect(Either.isRight(ok)).toBe(true)
      const bad = yield* loadError(`[[user.rules]]
action = "deny"
tool = "exec_shell"
command = "git push"
match = ["git pull"]
`)
      expect([bad.rule, bad.line]).toEqual(["user.rules[0]", 5])
      expect(bad.detail).toBe("rule 'tool=exec_shell command=git push' does not match its example 'git pull'")
      const counter = yield* loadError(`[[user.rules]]
action = "allow"
tool = "exec_shell"
command = "git log"
not_match = ["git log --oneline"]
`)
      expect(counter.detail).toBe("rule 'tool=exec_shell command=git log' matches its counter-example 'git log --oneline'")
      const paths = yield* load(`[[user.rules]]
action = "deny"
tool = "read_file"
path = "secrets/**"
match = ["secrets/a.txt", "./secrets/../secrets/b"]
not_match = ["src/secrets.rs"]
`)
      expect(Either.isRight(paths)).toBe(true)
    }))

  it.effect("the same structure loads from JSON with a fixed line", () =>
    Effect.gen(function*() {
      const ep = yield* ExecPolicy
      const e = yield* Effect.flip(ep.fromInput({ user: { rules: [{ tool: "exec_shell", action: "nope" }] } }, { file: "<stdin>", line: 7 }))
      expect(e.message).toContain("<stdin>:7 (rule user.rules[0])")
    }))

  it.effect("loadFile reports unreadable files", () =>
    Effect.gen(function*() {
      const ep = yield* ExecPolicy
      const e = yield* Effect.flip(ep.loadFile("/nonexistent/policy.toml"))
      expect(e.file).toBe("/nonexistent/policy.toml")
      expect(e.detail).toContain("cannot read")
    }))

  it.effect("resolvePaths follows real symlinks before the pure decision", () =>
    Effect.gen(function*() {
      const ep = yield* ExecPolicy
      const ws = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "execpolicy-")))
      yield* Effect.promise(async () => {
        await mkdir(join(ws, "src"))
        await writeFile(join(ws, "src", "secrets.rs"), "x")
        await symlink(join(ws, "src", "secrets.rs"), join(ws, "innocent.rs"))
      })
      const engine = yield* ep.fromInput({ user: { rules: [{ action: "deny", tool: "read_file", path: "src/secrets.rs" }] } }, { file: "t" })
      const direct = { command: "cat innocent.rs", cwd: ws, askForApproval: "never" as const }
      expect(engine.check(direct).requirement._tag).toBe("Skip")
      const resolved = yield* ep.resolvePaths(direct)
      expect(engine.check(resolved).requirement._tag).toBe("Forbidden")
      const tool = yield* ep.resolvePaths({ ...direct, command: "read_file", tool: "read_file", path: "innocent.rs" })
      expect(engine.check(tool).requirement._tag).toBe("Forbidden")
    }))

  /** A workspace whose `link` is a symlink to its `secrets` directory. */
  const linkedSecrets = Effect.promise(async () => {
    const ws = await mkdtemp(join(tmpdir(), "execpolicy-"))
    await mkdir(join(ws, "secrets"))
    await symlink(join(ws, "secrets"), join(ws, "link"))
    return ws
  })
  /** 99 harmless paths, then one into `secrets` through the symlink. */
  const hundredPaths = [...Array.from({ length: 99 }, (_, i) => `src/file-${i}.ts`), "link/key.pem"]

  it.effect("resolvePaths resolves every path a tool declares, however many: the last of 100 cannot slip through a symlink", () =>
    Effect.gen(function*() {
      const ep = yield* ExecPolicy
      const ws = yield* linkedSecrets
      const engine = yield* ep.fromInput({ user: { rules: [{ action: "deny", tool: "apply_patch", path: "secrets/**" }] } }, { file: "t" })
      const paths = hundredPaths
      const ctx = { command: "apply_patch", tool: "apply_patch", paths, cwd: ws, askForApproval: "never" as const }
      expect(engine.check(ctx).requirement._tag).toBe("Skip")
      expect(engine.check(yield* ep.resolvePaths(ctx)).requirement._tag).toBe("Forbidden")
    }))

  it.effect("resolvePaths follows symlinks for a shell command's later arguments too (the 100th of 100)", () =>
    Effect.gen(function*() {
      const ep = yield* ExecPolicy
      const ws = yield* linkedSecrets
      const engine = yield* ep.fromInput({ user: { rules: [{ action: "deny", tool: "read_file", path: "secrets/**" }] } }, { file: "t" })
      const ctx = { command: `cat ${hundredPaths.join(" ")}`, cwd: ws, askForApproval: "never" as const }
      expect(engine.check(ctx).requirement._tag).toBe("Skip")
      expect(engine.check(yield* ep.resolvePaths(ctx)).requirement._tag).toBe("Forbidden")
    }))

  it.effect("explain lists segments, every matching rule, the winner and why, and the mode", () =>
    Effect.gen(function*() {
      const ep = yield* ExecPolicy
      const engine = yield* ep.fromToml(`[agent]
trusted_prefixes = ["git status"]

[[agent.rules]]
action = "deny"
tool = "exec_shell"
command = "git push"

[[user.rules]]
action = "allow"
tool = "exec_shell"
command = "git push origin"
`, "p.toml")
      const e = engine.explain({ command: "git status && sudo git push origin main", cwd: "/ws", askForApproval: "on_request" })
      expect(e.segments.map((s) => [s.text, s.category, s.outcome])).toEqual([
        ["git status", "trusted", "ask"],
        ["sudo git push origin main", "unmatched", "ask"],
        ["git push origin main", "allowed", "allow"]
      ])
      const push = e.segments[2]!
      expect(push.matches.map((m) => [m.label, m.layer, m.action])).toEqual([
        ["tool=exec_shell command=git push", "agent", "deny"],
        ["tool=exec_shell command=git push origin", "user", "allow"]
      ])
      expect(push.winner?.label).toBe("tool=exec_shell command=git push origin")
      expect(push.why).toContain("layer > action > specificity")
      expect(push.matches[0]!.source).toBe("p.toml:4")
      expect(e.decidingSegment).toBe(1)
      expect(e.mode.contribution).toContain("on_request")
      const text = renderExplanation(e)
      expect(text).toContain("* segment 1 [command, via command]: sudo git push origin main")
      expect(text).toContain("(winner)")
      expect(text).toContain("mode: on_request")
    }))
})

it("PolicyLoadError message without a line or rule", () => {
  expect(new PolicyLoadError({ file: "f.toml", line: null, rule: null, detail: "x" }).message).toBe("Invalid policy f.toml: x")
})
