import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { describeRuntimeOptions, loadRuntimeConfig, type RuntimeConfigError } from "../src/Config.ts"

const fresh = () => {
  const root = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-config-"))
  const home = NodePath.join(root, "home")
  const cwd = NodePath.join(root, "project")
  NodeFs.mkdirSync(home, { recursive: true })
  NodeFs.mkdirSync(NodePath.join(cwd, ".codewhale"), { recursive: true })
  return {
    home,
    cwd,
    user: (text: string) => NodeFs.writeFileSync(NodePath.join(home, "config.toml"), text),
    project: (text: string) => NodeFs.writeFileSync(NodePath.join(cwd, ".codewhale", "config.toml"), text),
    file: (name: string, text: string) => {
      const p = NodePath.join(home, name)
      NodeFs.writeFileSync(p, text)
      return p
    }
  }
}

const fail = (e: Effect.Effect<unknown, RuntimeConfigError>) =>
  Effect.map(Effect.either(e), (r) => {
    if (Either.isRight(r)) throw new Error("expected a RuntimeConfigError")
    return r.left
  })

describe("loadRuntimeConfig", () => {
  it.effect("defaults: deepseek, deepseek-v4-pro, on_request, telemetry off, no key", () =>
    Effect.gen(function*() {
      const d = fresh()
      const o = yield* loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} })
      expect(o).toMatchObject({
        provider: "deepseek",
        model: "deepseek-v4-pro",
        baseUrl: "https://api.deepseek.com/beta",
        hasApiKey: false,
        apiKeySource: "none",
        telemetry: false,
        askForApproval: "on_request",
        files: []
      })
    }))

  it.effect("precedence: user file < project file < environment < CLI overrides", () =>
    Effect.gen(function*() {
      const d = fresh()
      d.user(`model = "deepseek-v4-flash"\ntelemetry = false\napproval_policy = "on-request"\n`)
      d.project(`model = "deepseek-chat"\n`)
      const fromFiles = yield* loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} })
      expect(fromFiles.model).toBe("deepseek-chat")
      expect(fromFiles.files).toHaveLength(2)
      const fromEnv = yield* loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: { CODEWHALE_MODEL: "env-model", DEEPSEEK_TELEMETRY: "true" } })
      expect(fromEnv.model).toBe("env-model")
      expect(fromEnv.telemetry).toBe(true)
      const fromCli = yield* loadRuntimeConfig({
        home: d.home,
        cwd: d.cwd,
        env: { CODEWHALE_MODEL: "env-model", DEEPSEEK_TELEMETRY: "true" },
        overrides: { model: "cli-model", telemetry: false, approvalPolicy: "never" }
      })
      expect(fromCli).toMatchObject({ model: "cli-model", telemetry: false, askForApproval: "never", approvalPolicy: "never" })
    }))

  it.effect("the API key comes from the provider's environment variable; only its presence is described", () =>
    Effect.gen(function*() {
      const d = fresh()
      d.user(`provider = "openai"\n[providers.openai]\napi_key_env = "MY_KEY"\nmodel = "gpt-5-mini"\n`)
      const o = yield* loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: { MY_KEY: "sk-secret-value-123456" } })
      expect(o).toMatchObject({ provider: "openai", model: "gpt-5-mini", baseUrl: "https://api.openai.com/v1", hasApiKey: true, apiKeySource: "env", apiKeyEnv: "MY_KEY" })
      expect(Redacted.value(o.apiKey!)).toBe("sk-secret-value-123456")
      const described = JSON.stringify(describeRuntimeOptions(o))
      expect(described).not.toContain("sk-secret")
      expect(described).toContain("\"has_api_key\":true")
      expect(String(o.apiKey)).not.toContain("sk-secret")
    }))

  it.effect("a project file may only tighten approval_policy and sandbox_mode", () =>
    Effect.gen(function*() {
      const d = fresh()
      d.user(`approval_policy = "on-request"\nsandbox_mode = "workspace-write"\n`)
      d.project(`approval_policy = "auto"\nsandbox_mode = "read-only"\n`)
      const o = yield* loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} })
      expect(o.askForApproval).toBe("on_request")
      expect(o.sandboxMode).toBe("read-only")
      expect(o.notes.join("\n")).toContain("would loosen")
    }))

  it.effect("a project file may not set credentials", () =>
    Effect.gen(function*() {
      const d = fresh()
      d.project(`api_key = "sk-in-the-repo"\n`)
      const e = yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} }))
      expect(e.file).toBe(NodePath.join(d.cwd, ".codewhale", "config.toml"))
      expect(e.key).toBe("api_key")
    }))

  it.effect("invalid values are typed errors naming the file and the key", () =>
    Effect.gen(function*() {
      const d = fresh()
      d.user(`approval_policy = "sometimes"\n`)
      const bad = yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} }))
      expect(bad).toMatchObject({ _tag: "RuntimeConfigError", file: NodePath.join(d.home, "config.toml"), key: "approval_policy" })
      expect(bad.message).toContain("sometimes")
      d.user(`telemetry = "yes please"\n`)
      expect((yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} }))).key).toBe("telemetry")
      d.user(`no_such_key = 1\n`)
      expect((yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} }))).key).toBe("no_such_key")
      d.user(`model = [\n`)
      expect((yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} }))).detail).toContain("invalid TOML")
      d.user(``)
      const env = yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: { DEEPSEEK_SANDBOX_MODE: "wide-open" } }))
      expect(env).toMatchObject({ file: "env", key: "DEEPSEEK_SANDBOX_MODE" })
      const provider = yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: { CODEWHALE_PROVIDER: "acme" } }))
      expect(provider).toMatchObject({ file: "env", key: "CODEWHALE_PROVIDER" })
    }))

  it.effect("policy files, hooks and MCP servers are read and validated by their packages", () =>
    Effect.gen(function*() {
      const d = fresh()
      d.file("policy.toml", `[user]\ntrusted_prefixes = ["echo"]\n`)
      d.user([
        `[policy]`,
        `files = ["policy.toml"]`,
        `[hooks]`,
        `PreToolUse = [{ matcher = "exec_shell", command = "true" }]`,
        `[mcp_servers.everything]`,
        `command = "node"`,
        `args = ["server.js"]`
      ].join("\n"))
      const o = yield* loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} })
      expect(o.policies.map((p) => p.policy)).toEqual([{ user: { trusted_prefixes: ["echo"] } }])
      expect(o.hooks.map((h) => [h.event, h.matcher])).toEqual([["PreToolUse", "exec_shell"]])
      expect(o.mcpServers.map((s) => s.name)).toEqual(["everything"])

      d.user(`[mcp_servers.bad]\ncommand = "x"\nurl = "http://localhost"\n`)
      expect((yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} }))).key).toBe("mcp_servers.bad.url")
      d.user(`[hooks]\nNoSuchEvent = []\n`)
      expect((yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} }))).key).toBe("hooks.NoSuchEvent")
      d.user(`[policy]\nfiles = ["missing.toml"]\n`)
      expect((yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} }))).key).toBe("policy.files[0]")
      d.file("bad-policy.toml", `[user]\nnope = 1\n`)
      d.user(`[policy]\nfiles = ["bad-policy.toml"]\n`)
      const e = yield* fail(loadRuntimeConfig({ home: d.home, cwd: d.cwd, env: {} }))
      expect(e.key).toBe("policy.files[0]")
      expect(e.detail).toContain("bad-policy.toml")
    }))
})
