/**
 * Runtime configuration: `~/.codewhale/config.toml` (user) < `<cwd>/.codewhale/config.toml`
 * (project) < environment variables < CLI overrides, resolved as the seed's
 * `ConfigToml::resolve_runtime_options` (reference §6.2): provider, model, base_url, the API key
 * (from the CLI, the user file or an environment variable), telemetry, approval_policy and
 * sandbox_mode, plus policy files, command hooks and MCP servers.
 *
 * ```toml
 * provider = "deepseek"
 * model = "deepseek-v4-pro"
 * approval_policy = "on-request"      # unless-trusted | on-failure | on-request | never | deny
 * sandbox_mode = "workspace-write"    # read-only | workspace-write | danger-full-access | external-sandbox
 * telemetry = false
 *
 * [providers.openai]
 * base_url = "https://api.openai.com/v1"
 * model = "gpt-5"
 * api_key_env = "MY_OPENAI_KEY"       # where the key is read from (default OPENAI_API_KEY)
 *
 * [policy]
 * files = ["policy.toml"]             # execpolicy TOML, relative to this file's directory
 *
 * [hooks]                             # @codewhale/hooks configuration
 * PreToolUse = [{ matcher = "exec_shell", command = "./hooks/check.sh" }]
 *
 * [mcp_servers.everything]            # @codewhale/mcp configuration
 * command = "npx"
 * args = ["-y", "@modelcontextprotocol/server-everything"]
 * ```
 *
 * Differences from the seed, on purpose: a project file may only tighten `approval_policy` and
 * `sandbox_mode` and may not set credentials, endpoints or the provider (an error says so instead
 * of silently ignoring it); an invalid value anywhere (file or environment) is a typed
 * `RuntimeConfigError` naming the file (or `env`) and the key, never a silent default. The API key
 * value is kept in memory only: what is shown and recorded is `has_api_key` and where it came from.
 */
import { approvalModeFromConfig, type AskForApproval, parsePolicyToml, type PolicyInput, SandboxMode } from "@codewhale/execpolicy"
import { hooksFromConfig, type HookDefinition } from "@codewhale/hooks"
import { decodeMcpServers, mergeMcpServers, type McpServersConfig } from "@codewhale/mcp"
import { Effect, Either, ParseResult, Redacted, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { parse as parseToml, stringify as stringifyToml } from "smol-toml"
import { parseProviderKind, type ProviderKind } from "./ModelRegistry.ts"

/** Invalid configuration: names the file (or `env`, `cli`) and the key, and says what is wrong. */
export class RuntimeConfigError extends Schema.TaggedError<RuntimeConfigError>()("RuntimeConfigError", {
  file: Schema.String,
  key: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return this.key === ""
      ? `invalid configuration in ${this.file}: ${this.detail}`
      : `invalid configuration in ${this.file}, key \`${this.key}\`: ${this.detail}`
  }
}

/** The seed's `CliRuntimeOverrides` (the ones the runtime reads): each wins over everything else. */
export interface CliRuntimeOverrides {
  readonly provider?: string | undefined
  readonly model?: string | undefined
  /** A key given on the command line (kept in memory only). */
  readonly apiKey?: string | undefined
  readonly baseUrl?: string | undefined
  readonly telemetry?: boolean | undefined
  readonly approvalPolicy?: string | undefined
  readonly sandboxMode?: string | undefined
}

/** One `[providers.<name>]` table. */
export const ProviderTable = Schema.Struct({
  base_url: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  api_key: Schema.optional(Schema.String),
  /** The environment variable holding the key (default: the provider's usual one, e.g. `OPENAI_API_KEY`). */
  api_key_env: Schema.optional(Schema.String)
})

/** The keys of `config.toml` the runtime reads (`hooks` and `mcp_servers` are validated by their packages). */
export const ConfigFileSchema = Schema.Struct({
  provider: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  default_text_model: Schema.optional(Schema.String),
  api_key: Schema.optional(Schema.String),
  api_key_env: Schema.optional(Schema.String),
  base_url: Schema.optional(Schema.String),
  telemetry: Schema.optional(Schema.Boolean),
  approval_policy: Schema.optional(Schema.String),
  sandbox_mode: Schema.optional(Schema.String),
  providers: Schema.optional(Schema.Record({ key: Schema.String, value: ProviderTable })),
  policy: Schema.optional(Schema.Struct({ files: Schema.optional(Schema.Array(Schema.String)) })),
  hooks: Schema.optional(Schema.Unknown),
  hook_sinks: Schema.optional(Schema.Struct({ jsonl_path: Schema.optional(Schema.String), unix_socket_path: Schema.optional(Schema.String) })),
  mcp_servers: Schema.optional(Schema.Unknown)
})
/** One parsed `config.toml`. */
export type ConfigFile = typeof ConfigFileSchema.Type

/** Where the API key came from (never the key itself). */
export type ApiKeySource = "cli" | "config" | "env" | "none"

/** A policy file named by the configuration, parsed (the engine is built by the runtime). */
export interface PolicyFileConfig {
  readonly file: string
  readonly toml: string
  readonly policy: PolicyInput
}

/** The resolved runtime options: the seed's `ResolvedRuntimeOptions` plus policies, hooks and MCP servers. */
export interface ResolvedRuntimeOptions {
  readonly provider: ProviderKind
  readonly model: string
  readonly baseUrl: string
  /** The key, redacted: `Redacted.value` only where a request is really sent. */
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly hasApiKey: boolean
  readonly apiKeySource: ApiKeySource
  /** The environment variable the key is read from for this provider. */
  readonly apiKeyEnv: string
  readonly telemetry: boolean
  /** As written (trimmed), or absent. */
  readonly approvalPolicy: string | undefined
  /** The typed approval mode (`on_request` when none is configured). */
  readonly askForApproval: AskForApproval
  readonly sandboxMode: SandboxMode | undefined
  readonly policies: ReadonlyArray<PolicyFileConfig>
  readonly hooks: ReadonlyArray<HookDefinition>
  readonly mcpServers: McpServersConfig
  /** The files that were read, lowest precedence first. */
  readonly files: ReadonlyArray<string>
  /** Things a user should know (a project value that tried to loosen the user's, ...). */
  readonly notes: ReadonlyArray<string>
}

/** What `loadRuntimeConfig` reads. Everything defaults to the process's own. */
export interface ConfigSources {
  /** The Codewhale home (`$CODEWHALE_HOME`, else `~/.codewhale`): `<home>/config.toml` is the user file. */
  readonly home?: string | undefined
  /** The project directory: `<cwd>/.codewhale/config.toml` is the project file. */
  readonly cwd?: string | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  readonly overrides?: CliRuntimeOverrides | undefined
  /** Extra files (e.g. `--config`), after the project file; a missing one is an error. */
  readonly extraFiles?: ReadonlyArray<string> | undefined
}

/** The seed's built-in base URLs. */
export const defaultBaseUrls: Readonly<Record<ProviderKind, string>> = {
  deepseek: "https://api.deepseek.com/beta",
  "nvidia-nim": "https://integrate.api.nvidia.com/v1",
  openai: "https://api.openai.com/v1",
  atlascloud: "https://api.atlascloud.ai/v1",
  "wanjie-ark": "https://maas-openapi.wanjiedata.com/api/v1",
  volcengine: "https://ark.cn-beijing.volces.com/api/v3",
  openrouter: "https://openrouter.ai/api/v1",
  "xiaomi-mimo": "https://api.xiaomimimo.com/v1",
  novita: "https://api.novita.ai/v3/openai",
  fireworks: "https://api.fireworks.ai/inference/v1",
  siliconflow: "https://api.siliconflow.com/v1",
  "siliconflow-CN": "https://api.siliconflow.cn/v1",
  arcee: "https://conductor.arcee.ai/v1",
  moonshot: "https://api.moonshot.ai/v1",
  sglang: "http://localhost:30000/v1",
  vllm: "http://localhost:8000/v1",
  ollama: "http://localhost:11434/v1",
  huggingface: "https://router.huggingface.co/v1",
  together: "https://api.together.xyz/v1",
  "openai-codex": "https://chatgpt.com/backend-api/codex",
  anthropic: "https://api.anthropic.com/v1"
}

/** The environment-variable stem of a provider (`OPENAI`, `NVIDIA_NIM`, `SILICONFLOW_CN`, ...). */
export const providerEnvStem = (provider: ProviderKind): string => provider.toUpperCase().replaceAll("-", "_")

/** The seed's default provider model (used when nothing names one). */
const providerDefaultModel = (provider: ProviderKind): string | undefined =>
  provider === "deepseek" ? "deepseek-v4-pro" : undefined

/**
 * How strict a mode is, with execpolicy's meanings: `never` and `on_failure` run unmatched commands
 * (0), `unless_trusted` asks for them (1), `on_request` asks for everything (2), `reject` refuses (3).
 */
const approvalRank = (mode: AskForApproval): number =>
  typeof mode !== "string" ? 3 : mode === "on_request" ? 2 : mode === "unless_trusted" ? 1 : 0
const sandboxRank = (mode: SandboxMode): number =>
  mode === "read-only" ? 2 : mode === "workspace-write" ? 1 : 0

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const decodeFile = Schema.decodeUnknownEither(ConfigFileSchema, { errors: "first", onExcessProperty: "error" })

interface LoadedFile {
  readonly path: string
  readonly kind: "user" | "project" | "extra"
  readonly config: ConfigFile
  readonly raw: Record<string, unknown>
}

/** Reads and validates one config file (missing: undefined, unless required). */
const readConfigFile = (
  path: string,
  kind: LoadedFile["kind"],
  required: boolean
): Effect.Effect<LoadedFile | undefined, RuntimeConfigError> =>
  Effect.gen(function*() {
    if (!NodeFs.existsSync(path)) {
      if (required) return yield* new RuntimeConfigError({ file: path, key: "", detail: "no such file" })
      return undefined
    }
    const text = yield* Effect.try({
      try: () => NodeFs.readFileSync(path, "utf8"),
      catch: (e) => new RuntimeConfigError({ file: path, key: "", detail: `cannot read the file: ${(e as Error).message}` })
    })
    const raw = yield* Effect.try({
      try: () => parseToml(text) as unknown,
      catch: (e) => {
        const line = isRecord(e) && typeof e["line"] === "number" ? ` (line ${e["line"]})` : ""
        return new RuntimeConfigError({
          file: path,
          key: "",
          detail: `invalid TOML${line}: ${(e instanceof Error ? e.message : String(e)).split("\n")[0] ?? ""}`
        })
      }
    })
    if (!isRecord(raw)) return yield* new RuntimeConfigError({ file: path, key: "", detail: "expected a TOML table" })
    const decoded = decodeFile(raw)
    if (Either.isLeft(decoded)) {
      const { key, detail } = firstIssue(decoded.left)
      return yield* new RuntimeConfigError({ file: path, key, detail })
    }
    return { path, kind, config: decoded.right, raw }
  })

const firstIssue = (error: ParseResult.ParseError): { readonly key: string; readonly detail: string } => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const issue = issues[0]
  if (issue === undefined) return { key: "", detail: "invalid value" }
  return {
    key: issue.path.map(String).join("."),
    detail: issue._tag === "Unexpected" ? "is not a known key" : issue.message
  }
}

const nonEmpty = (s: string | undefined): string | undefined => {
  const t = s?.trim()
  return t === undefined || t === "" ? undefined : t
}

const first = <A>(...values: ReadonlyArray<A | undefined>): A | undefined => values.find((v) => v !== undefined)

/** The Codewhale home of this process: `$CODEWHALE_HOME`, else `~/.codewhale`. */
export const defaultCodewhaleHome = (env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const home = nonEmpty(env["CODEWHALE_HOME"])
  return home !== undefined ? NodePath.resolve(home) : NodePath.join(NodeOs.homedir(), ".codewhale")
}

/**
 * Reads the user and project files (and `extraFiles`), the environment and the overrides, and
 * resolves them. Fails with a `RuntimeConfigError` naming the file and key of the first problem.
 */
export const loadRuntimeConfig = (sources: ConfigSources = {}): Effect.Effect<ResolvedRuntimeOptions, RuntimeConfigError> =>
  Effect.gen(function*() {
    const env = sources.env ?? process.env
    const home = sources.home ?? defaultCodewhaleHome(env)
    const cwd = sources.cwd ?? process.cwd()
    const loaded: Array<LoadedFile> = []
    const user = yield* readConfigFile(NodePath.join(home, "config.toml"), "user", false)
    if (user !== undefined) loaded.push(user)
    const projectPath = NodePath.join(cwd, ".codewhale", "config.toml")
    if (NodePath.resolve(projectPath) !== NodePath.resolve(NodePath.join(home, "config.toml"))) {
      const project = yield* readConfigFile(projectPath, "project", false)
      if (project !== undefined) loaded.push(project)
    }
    for (const extra of sources.extraFiles ?? []) {
      const file = yield* readConfigFile(NodePath.resolve(cwd, extra), "extra", true)
      if (file !== undefined) loaded.push(file)
    }
    return yield* resolveRuntimeOptions(loaded, env, sources.overrides ?? {})
  })

/** Resolves already-read files (lowest precedence first), the environment and the overrides. */
const resolveRuntimeOptions = (
  files: ReadonlyArray<LoadedFile>,
  env: Readonly<Record<string, string | undefined>>,
  cli: CliRuntimeOverrides
): Effect.Effect<ResolvedRuntimeOptions, RuntimeConfigError> =>
  Effect.gen(function*() {
    const notes: Array<string> = []
    // A project file may not set credentials, endpoints or the provider.
    for (const f of files) {
      if (f.kind !== "project") continue
      for (const key of ["provider", "api_key", "api_key_env", "base_url", "providers"] as const) {
        if (f.config[key] !== undefined) {
          return yield* new RuntimeConfigError({
            file: f.path,
            key,
            detail: "a project config may not set credentials, endpoints or the provider; put it in ~/.codewhale/config.toml or an environment variable"
          })
        }
      }
    }
    const trusted = files.filter((f) => f.kind !== "project")
    const lastOf = <A>(pick: (c: ConfigFile) => A | undefined, from: ReadonlyArray<LoadedFile> = files): { value: A; file: string } | undefined => {
      for (let i = from.length - 1; i >= 0; i--) {
        const f = from[i]!
        const v = pick(f.config)
        if (v !== undefined) return { value: v, file: f.path }
      }
      return undefined
    }

    // provider: CLI → CODEWHALE_PROVIDER → DEEPSEEK_PROVIDER → config → deepseek.
    const parseProvider = (text: string, file: string, key: string) => {
      const p = parseProviderKind(text)
      return p === undefined
        ? Either.left(new RuntimeConfigError({ file, key, detail: `unknown provider '${text}'` }))
        : Either.right(p)
    }
    let provider: ProviderKind = "deepseek"
    const cliProvider = nonEmpty(cli.provider)
    const envProvider = nonEmpty(env["CODEWHALE_PROVIDER"]) !== undefined
      ? { text: nonEmpty(env["CODEWHALE_PROVIDER"])!, key: "CODEWHALE_PROVIDER" }
      : nonEmpty(env["DEEPSEEK_PROVIDER"]) !== undefined
      ? { text: nonEmpty(env["DEEPSEEK_PROVIDER"])!, key: "DEEPSEEK_PROVIDER" }
      : undefined
    const fileProvider = lastOf((c) => nonEmpty(c.provider), trusted)
    if (cliProvider !== undefined) provider = yield* parseProvider(cliProvider, "cli", "--provider")
    else if (envProvider !== undefined) provider = yield* parseProvider(envProvider.text, "env", envProvider.key)
    else if (fileProvider !== undefined) provider = yield* parseProvider(fileProvider.value, fileProvider.file, "provider")

    const stem = providerEnvStem(provider)
    const tableOf = (c: ConfigFile) => {
      const tables = c.providers ?? {}
      for (const [name, table] of Object.entries(tables)) {
        const p = parseProviderKind(name)
        if (p === provider) return table
      }
      if (provider === "siliconflow-CN") {
        for (const [name, table] of Object.entries(tables)) if (parseProviderKind(name) === "siliconflow") return table
      }
      return undefined
    }
    for (const f of trusted) {
      for (const name of Object.keys(f.config.providers ?? {})) {
        if (parseProviderKind(name) === undefined) {
          return yield* new RuntimeConfigError({ file: f.path, key: `providers.${name}`, detail: `unknown provider '${name}'` })
        }
      }
    }
    const rootApplies = provider === "deepseek"

    // base_url: CLI → <PROVIDER>_BASE_URL → providers.<p>.base_url → root (deepseek) → built-in.
    const baseUrl = first(
      nonEmpty(cli.baseUrl),
      nonEmpty(env[`${stem}_BASE_URL`]),
      lastOf((c) => nonEmpty(tableOf(c)?.base_url), trusted)?.value,
      rootApplies ? lastOf((c) => nonEmpty(c.base_url), trusted)?.value : undefined
    ) ?? defaultBaseUrls[provider]
    const checkUrl = (url: string): boolean => {
      try {
        const u = new URL(url)
        return u.protocol === "http:" || u.protocol === "https:"
      } catch {
        return false
      }
    }
    if (!checkUrl(baseUrl)) {
      const from = nonEmpty(cli.baseUrl) !== undefined ? { file: "cli", key: "--base-url" } : nonEmpty(env[`${stem}_BASE_URL`]) !== undefined
        ? { file: "env", key: `${stem}_BASE_URL` }
        : { file: lastOf((c) => nonEmpty(tableOf(c)?.base_url) ?? (rootApplies ? nonEmpty(c.base_url) : undefined), trusted)?.file ?? "config", key: "base_url" }
      return yield* new RuntimeConfigError({ ...from, detail: `'${baseUrl}' is not an http(s) URL` })
    }

    // api key: CLI → config file (user) → the provider's environment variable.
    const apiKeyEnv = first(
      lastOf((c) => nonEmpty(tableOf(c)?.api_key_env), trusted)?.value,
      rootApplies ? lastOf((c) => nonEmpty(c.api_key_env), trusted)?.value : undefined
    ) ?? `${stem}_API_KEY`
    const cliKey = nonEmpty(cli.apiKey)
    const fileKey = first(
      lastOf((c) => nonEmpty(tableOf(c)?.api_key), trusted)?.value,
      rootApplies ? lastOf((c) => nonEmpty(c.api_key), trusted)?.value : undefined
    )
    const envKey = nonEmpty(env[apiKeyEnv])
    const [keyValue, apiKeySource]: readonly [string | undefined, ApiKeySource] = cliKey !== undefined
      ? [cliKey, "cli"]
      : fileKey !== undefined
      ? [fileKey, "config"]
      : envKey !== undefined
      ? [envKey, "env"]
      : [undefined, "none"]

    // model: CLI → CODEWHALE_MODEL / DEEPSEEK_MODEL / DEEPSEEK_DEFAULT_TEXT_MODEL → <PROVIDER>_MODEL →
    // providers.<p>.model → root default_text_model (deepseek) → root model → provider default.
    const model = first(
      nonEmpty(cli.model),
      nonEmpty(env["CODEWHALE_MODEL"]),
      nonEmpty(env["DEEPSEEK_MODEL"]),
      nonEmpty(env["DEEPSEEK_DEFAULT_TEXT_MODEL"]),
      provider === "deepseek" ? undefined : nonEmpty(env[`${stem}_MODEL`]),
      lastOf((c) => nonEmpty(tableOf(c)?.model), trusted)?.value,
      rootApplies ? lastOf((c) => nonEmpty(c.default_text_model))?.value : undefined,
      lastOf((c) => nonEmpty(c.model))?.value,
      providerDefaultModel(provider)
    ) ?? "auto"

    // telemetry: CLI → CODEWHALE_TELEMETRY / DEEPSEEK_TELEMETRY → config → false.
    let telemetry = false
    const envTelemetryKey = ["CODEWHALE_TELEMETRY", "DEEPSEEK_TELEMETRY"].find((k) => nonEmpty(env[k]) !== undefined)
    if (cli.telemetry !== undefined) telemetry = cli.telemetry
    else if (envTelemetryKey !== undefined) {
      const t = nonEmpty(env[envTelemetryKey])!.toLowerCase()
      if (t === "true" || t === "1" || t === "yes" || t === "on") telemetry = true
      else if (t === "false" || t === "0" || t === "no" || t === "off") telemetry = false
      else return yield* new RuntimeConfigError({ file: "env", key: envTelemetryKey, detail: `expected true or false, got '${env[envTelemetryKey]}'` })
    } else {
      const fromFile = lastOf((c) => c.telemetry)
      if (fromFile !== undefined) telemetry = fromFile.value
    }

    // approval_policy and sandbox_mode: CLI → env → config; a project file may only tighten the user's.
    const parseApproval = (text: string, file: string, key: string) => {
      const mode = approvalModeFromConfig(text)
      return mode === undefined
        ? Either.left(new RuntimeConfigError({ file, key, detail: `unknown approval policy '${text}' (expected unless-trusted, on-failure, on-request, never or deny)` }))
        : Either.right(mode)
    }
    const parseSandbox = (text: string, file: string, key: string) => {
      const t = text.trim().toLowerCase().replaceAll("_", "-")
      return Schema.is(SandboxMode)(t)
        ? Either.right(t)
        : Either.left(new RuntimeConfigError({ file, key, detail: `unknown sandbox mode '${text}' (expected ${SandboxMode.literals.join(", ")})` }))
    }
    let approvalPolicy: string | undefined
    let askForApproval: AskForApproval = "on_request"
    // The default (`on_request`) counts as the user's choice: a project may not loosen it either.
    let approvalRankSoFar = approvalRank("on_request")
    for (const f of files) {
      const text = nonEmpty(f.config.approval_policy)
      if (text === undefined) continue
      const mode = yield* parseApproval(text, f.path, "approval_policy")
      if (f.kind === "project" && approvalRank(mode) < approvalRankSoFar) {
        notes.push(`${f.path}: approval_policy '${text}' would loosen the user's '${approvalPolicy ?? "on-request (default)"}' and is ignored`)
        continue
      }
      approvalPolicy = text
      askForApproval = mode
      approvalRankSoFar = approvalRank(mode)
    }
    const envApproval = ["CODEWHALE_APPROVAL_POLICY", "DEEPSEEK_APPROVAL_POLICY"].find((k) => nonEmpty(env[k]) !== undefined)
    if (nonEmpty(cli.approvalPolicy) !== undefined) {
      approvalPolicy = nonEmpty(cli.approvalPolicy)!
      askForApproval = yield* parseApproval(approvalPolicy, "cli", "--approval-policy")
    } else if (envApproval !== undefined) {
      approvalPolicy = nonEmpty(env[envApproval])!
      askForApproval = yield* parseApproval(approvalPolicy, "env", envApproval)
    }

    let sandboxMode: SandboxMode | undefined
    for (const f of files) {
      const text = nonEmpty(f.config.sandbox_mode)
      if (text === undefined) continue
      const mode = yield* parseSandbox(text, f.path, "sandbox_mode")
      if (f.kind === "project" && sandboxMode !== undefined && sandboxRank(mode) < sandboxRank(sandboxMode)) {
        notes.push(`${f.path}: sandbox_mode '${text}' would loosen the user's '${sandboxMode}' and is ignored`)
        continue
      }
      sandboxMode = mode
    }
    const envSandbox = ["CODEWHALE_SANDBOX_MODE", "DEEPSEEK_SANDBOX_MODE"].find((k) => nonEmpty(env[k]) !== undefined)
    if (nonEmpty(cli.sandboxMode) !== undefined) sandboxMode = yield* parseSandbox(cli.sandboxMode!, "cli", "--sandbox-mode")
    else if (envSandbox !== undefined) sandboxMode = yield* parseSandbox(env[envSandbox]!, "env", envSandbox)

    // Policy files (relative to the file naming them), parsed by execpolicy's loader.
    const policies: Array<PolicyFileConfig> = []
    for (const f of files) {
      const names = f.config.policy?.files ?? []
      for (let i = 0; i < names.length; i++) {
        const path = NodePath.resolve(NodePath.dirname(f.path), names[i]!)
        if (!NodeFs.existsSync(path)) {
          return yield* new RuntimeConfigError({ file: f.path, key: `policy.files[${i}]`, detail: `no such policy file: ${path}` })
        }
        const toml = NodeFs.readFileSync(path, "utf8")
        const policy = yield* parsePolicyToml(toml, path).pipe(
          Effect.mapError((e) => new RuntimeConfigError({ file: f.path, key: `policy.files[${i}]`, detail: e.message }))
        )
        policies.push({ file: path, toml, policy })
      }
    }

    // Hooks (the hooks package's format), in file order: user hooks run before project hooks.
    const hooks: Array<HookDefinition> = []
    for (const f of files) {
      if (f.config.hooks === undefined) continue
      const decoded = hooksFromConfig({ hooks: f.config.hooks })
      if (Either.isLeft(decoded)) {
        return yield* new RuntimeConfigError({ file: f.path, key: decoded.left.path, detail: decoded.left.detail })
      }
      hooks.push(...decoded.right)
    }

    // MCP servers (the mcp package's schema); a later file's server replaces an earlier one of that name.
    const lists: Array<McpServersConfig> = []
    for (const f of files) {
      const decoded = decodeMcpServers(f.raw["mcp_servers"], { source: f.path, baseDir: NodePath.dirname(f.path) })
      if (Either.isLeft(decoded)) {
        const e = decoded.left
        const key = e.server === "" ? "mcp_servers" : e.field === "" ? `mcp_servers.${e.server}` : `mcp_servers.${e.server}.${e.field}`
        return yield* new RuntimeConfigError({ file: f.path, key, detail: e.detail })
      }
      lists.push(decoded.right)
    }

    return {
      provider,
      model,
      baseUrl,
      apiKey: keyValue === undefined ? undefined : Redacted.make(keyValue),
      hasApiKey: keyValue !== undefined,
      apiKeySource,
      apiKeyEnv,
      telemetry,
      approvalPolicy,
      askForApproval,
      sandboxMode,
      policies,
      hooks,
      mcpServers: mergeMcpServers(...lists),
      files: files.map((f) => f.path),
      notes
    } satisfies ResolvedRuntimeOptions
  })

/** The options with no file, no environment and no overrides (the seed's defaults). */
export const defaultRuntimeOptions: ResolvedRuntimeOptions = {
  provider: "deepseek",
  model: "deepseek-v4-pro",
  baseUrl: defaultBaseUrls.deepseek,
  apiKey: undefined,
  hasApiKey: false,
  apiKeySource: "none",
  apiKeyEnv: "DEEPSEEK_API_KEY",
  telemetry: false,
  approvalPolicy: undefined,
  askForApproval: "on_request",
  sandboxMode: undefined,
  policies: [],
  hooks: [],
  mcpServers: [],
  files: [],
  notes: []
}

/** The options as safe JSON (for `app/config`-style output and logs): the key is never included. */
export const describeRuntimeOptions = (o: ResolvedRuntimeOptions) => ({
  provider: o.provider,
  model: o.model,
  base_url: o.baseUrl,
  has_api_key: o.hasApiKey,
  api_key_source: o.apiKeySource,
  api_key_env: o.apiKeyEnv,
  telemetry: o.telemetry,
  approval_policy: o.approvalPolicy ?? null,
  sandbox_mode: o.sandboxMode ?? null,
  policy_files: o.policies.map((p) => p.file),
  hooks: o.hooks.map((h) => ({ name: h.name, event: h.event, matcher: h.matcher })),
  mcp_servers: o.mcpServers.map((s) => s.name),
  files: o.files,
  notes: o.notes
})

/** The top-level keys `setConfigValue` may change (secrets are refused: use the environment). */
export const SettableConfigKeys = ["provider", "model", "default_text_model", "base_url", "telemetry", "approval_policy", "sandbox_mode"] as const

/**
 * Sets (or, with `value` undefined, removes) one top-level key of the user file
 * `<home>/config.toml`, after checking that the whole configuration still resolves with it; on
 * any error nothing is written. Returns the options resolved with the change.
 */
export const setConfigValue = (
  sources: ConfigSources,
  key: string,
  value: string | undefined
): Effect.Effect<ResolvedRuntimeOptions, RuntimeConfigError> =>
  Effect.gen(function*() {
    const env = sources.env ?? process.env
    const home = sources.home ?? defaultCodewhaleHome(env)
    const path = NodePath.join(home, "config.toml")
    if (key === "api_key" || key.endsWith(".api_key")) {
      return yield* new RuntimeConfigError({ file: path, key, detail: "secrets are not written to config files here: set the provider's API key environment variable instead" })
    }
    if (!(SettableConfigKeys as ReadonlyArray<string>).includes(key)) {
      return yield* new RuntimeConfigError({ file: path, key, detail: `not a settable key (settable: ${SettableConfigKeys.join(", ")})` })
    }
    const current = yield* readConfigFile(path, "user", false)
    const raw: Record<string, unknown> = { ...(current?.raw ?? {}) }
    if (value === undefined) delete raw[key]
    else if (key === "telemetry") {
      const t = value.trim().toLowerCase()
      if (t !== "true" && t !== "false") return yield* new RuntimeConfigError({ file: path, key, detail: `expected true or false, got '${value}'` })
      raw[key] = t === "true"
    } else raw[key] = value
    const decoded = decodeFile(raw)
    if (Either.isLeft(decoded)) {
      const issue = firstIssue(decoded.left)
      return yield* new RuntimeConfigError({ file: path, key: issue.key, detail: issue.detail })
    }
    // Resolve with the change in place of the user file before writing anything.
    const others: Array<LoadedFile> = []
    const cwd = sources.cwd ?? process.cwd()
    const projectPath = NodePath.join(cwd, ".codewhale", "config.toml")
    if (NodePath.resolve(projectPath) !== NodePath.resolve(path)) {
      const project = yield* readConfigFile(projectPath, "project", false)
      if (project !== undefined) others.push(project)
    }
    const resolved = yield* resolveRuntimeOptions([{ path, kind: "user", config: decoded.right, raw }, ...others], env, sources.overrides ?? {})
    yield* Effect.try({
      try: () => {
        NodeFs.mkdirSync(home, { recursive: true })
        const tmp = `${path}.${process.pid}.tmp`
        NodeFs.writeFileSync(tmp, stringifyToml(raw) + "\n", { mode: 0o600 })
        NodeFs.renameSync(tmp, path)
      },
      catch: (e) => new RuntimeConfigError({ file: path, key, detail: `cannot write the file: ${(e as Error).message}` })
    })
    return resolved
  })
