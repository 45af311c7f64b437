/**
 * The model registry: providers, their models with aliases, and the seed's
 * `ModelRegistry::resolve(requested, provider_hint)` (see the reference §6.1). Resolution never
 * fails: an unknown name falls back to the provider's first model (or the global default), and
 * the chain of what was tried is returned so a caller can show why.
 */
import { Schema } from "effect"

/** The 21 providers of the seed, in their kebab-case wire spelling. */
export const ProviderKind = Schema.Literal(
  "deepseek",
  "nvidia-nim",
  "openai",
  "atlascloud",
  "wanjie-ark",
  "volcengine",
  "openrouter",
  "xiaomi-mimo",
  "novita",
  "fireworks",
  "siliconflow",
  "siliconflow-CN",
  "arcee",
  "moonshot",
  "sglang",
  "vllm",
  "ollama",
  "huggingface",
  "together",
  "openai-codex",
  "anthropic"
)
/** A provider. */
export type ProviderKind = typeof ProviderKind.Type

const providerAliases: Readonly<Record<string, ProviderKind>> = {
  nim: "nvidia-nim",
  nvidia: "nvidia-nim",
  "nvidia_nim": "nvidia-nim",
  kimi: "moonshot",
  claude: "anthropic",
  codex: "openai-codex",
  mimo: "xiaomi-mimo",
  xiaomi: "xiaomi-mimo",
  ark: "wanjie-ark",
  "siliconflow-cn": "siliconflow-CN",
  "siliconflow_cn": "siliconflow-CN",
  hf: "huggingface"
}

/** Parses a provider name case-insensitively (`-` or `_`), with the seed's aliases (`nim`, `kimi`, `claude`, `codex`, ...). */
export const parseProviderKind = (text: string): ProviderKind | undefined => {
  const t = text.trim().toLowerCase()
  if (t === "") return undefined
  const alias = providerAliases[t]
  if (alias !== undefined) return alias
  const dashed = t.replaceAll("_", "-")
  for (const p of ProviderKind.literals) if (p.toLowerCase() === dashed) return p
  return providerAliases[dashed]
}

/** `ModelInfo { id, provider, aliases, supports_tools, supports_reasoning }` (the seed's JSON shape). */
export const ModelInfo = Schema.Struct({
  id: Schema.String,
  provider: ProviderKind,
  aliases: Schema.Array(Schema.String),
  supports_tools: Schema.Boolean,
  supports_reasoning: Schema.Boolean
})
/** A model the registry knows. */
export type ModelInfo = typeof ModelInfo.Type

/** `ModelResolution { requested?, resolved, used_fallback, fallback_chain }`. */
export const ModelResolution = Schema.Struct({
  requested: Schema.optional(Schema.String),
  resolved: ModelInfo,
  used_fallback: Schema.Boolean,
  fallback_chain: Schema.Array(Schema.String)
})
/** The outcome of resolving a model name. */
export type ModelResolution = typeof ModelResolution.Type

const model = (
  id: string,
  provider: ProviderKind,
  aliases: ReadonlyArray<string> = [],
  supports_reasoning = false,
  supports_tools = true
): ModelInfo => ({ id, provider, aliases, supports_tools, supports_reasoning })

/** The default model id, used when nothing else resolves (the seed's `global_default`). */
export const GlobalDefaultModel = "deepseek-v4-pro"

/** The built-in models: DeepSeek first (its first model is the global default), then the other providers. */
export const defaultModels: ReadonlyArray<ModelInfo> = [
  model("deepseek-v4-pro", "deepseek", ["deepseek-reasoner", "deepseek-r1"], true),
  model("deepseek-v4-flash", "deepseek", ["deepseek-chat", "deepseek-v3", "deepseek-v3.2"]),
  model("deepseek-ai/deepseek-v4-pro", "nvidia-nim", ["nim-deepseek-v4-pro"], true),
  model("moonshotai/kimi-k2-instruct", "nvidia-nim", ["nim-kimi-k2"]),
  model("gpt-5", "openai", ["gpt5"], true),
  model("gpt-5-mini", "openai", ["gpt5-mini"], true),
  model("gpt-4.1", "openai", ["gpt-4.1-latest"]),
  model("deepseek-ai/DeepSeek-V4-Pro", "atlascloud", [], true),
  model("deepseek/deepseek-v4-pro", "openrouter", ["openrouter-deepseek-v4-pro"], true),
  model("anthropic/claude-sonnet-4.5", "openrouter", ["openrouter-claude-sonnet"], true),
  model("mimo-v2-pro", "xiaomi-mimo", ["mimo"], true),
  model("kimi-k2-0905-preview", "moonshot", ["kimi-k2"]),
  model("kimi-k2-thinking", "moonshot", [], true),
  model("claude-sonnet-4-5", "anthropic", ["claude-sonnet", "sonnet"], true),
  model("claude-opus-4-1", "anthropic", ["claude-opus", "opus"], true),
  model("gpt-5-codex", "openai-codex", ["codex"], true),
  model("deepseek-v4-pro", "novita", [], true),
  model("accounts/fireworks/models/deepseek-v4-pro", "fireworks", [], true),
  model("deepseek-ai/DeepSeek-V4-Pro", "siliconflow", [], true),
  model("deepseek-ai/DeepSeek-V4-Pro", "siliconflow-CN", [], true),
  model("deepseek-ai/DeepSeek-V4-Pro", "together", [], true),
  model("deepseek-ai/DeepSeek-V4-Pro", "huggingface", [], true),
  model("deepseek-v4-pro", "wanjie-ark", [], true),
  model("deepseek-v4-pro", "volcengine", [], true),
  model("default", "sglang"),
  model("default", "vllm"),
  model("afm-4.5b", "arcee"),
  model("llama3.1", "ollama")
]

const normalise = (name: string): string => name.trim().toLowerCase()

const hasControlChars = (s: string): boolean => {
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}

/** A registry of models with an alias map (first registration wins on duplicates). */
export interface ModelRegistry {
  /** Every model, in registration order. */
  readonly models: ReadonlyArray<ModelInfo>
  /** The seed's `resolve(requested, provider_hint)`. */
  readonly resolve: (requested?: string | undefined, providerHint?: ProviderKind | undefined) => ModelResolution
  /** The models of one provider, in registration order. */
  readonly forProvider: (provider: ProviderKind) => ReadonlyArray<ModelInfo>
}

/** Builds a registry over these models (the first model must exist: it is the global fallback). */
export const makeModelRegistry = (models: ReadonlyArray<ModelInfo> = defaultModels): ModelRegistry => {
  const byName = new Map<string, ModelInfo>()
  for (const m of models) {
    for (const name of [m.id, ...m.aliases]) {
      const key = normalise(name)
      if (!byName.has(key)) byName.set(key, m)
    }
  }
  const forProvider = (provider: ProviderKind) => models.filter((m) => m.provider === provider)

  const resolve: ModelRegistry["resolve"] = (requested, providerHint) => {
    const chain: Array<string> = []
    const trimmed = requested?.trim()
    const req = trimmed === undefined || trimmed === "" ? undefined : trimmed
    const done = (resolved: ModelInfo, usedFallback: boolean): ModelResolution => ({
      ...(requested === undefined ? {} : { requested }),
      resolved,
      used_fallback: usedFallback,
      fallback_chain: chain
    })
    if (req !== undefined) {
      chain.push(`requested:${req}`)
      if (providerHint === "ollama") return done(model(req, "ollama"), false)
      if (providerHint !== undefined) {
        const key = normalise(req)
        const own = forProvider(providerHint).find((m) => normalise(m.id) === key || m.aliases.some((a) => normalise(a) === key))
        if (own !== undefined) return done(own, false)
        if (providerHint === "atlascloud" && req.includes("/")) return done(model(req, "atlascloud"), false)
        if (providerHint === "arcee") return done(model(req, "arcee", [], req.toLowerCase().includes("thinking")), false)
        if (providerHint === "xiaomi-mimo" && !hasControlChars(req)) return done(model(req, "xiaomi-mimo"), false)
      }
      const hit = byName.get(normalise(req))
      if (hit !== undefined) {
        return done(normalise(hit.id) === normalise(req) ? { ...hit, id: req } : hit, false)
      }
    }
    const provider = providerHint ?? "deepseek"
    chain.push(`provider_default:${provider}`)
    const first = forProvider(provider)[0]
    if (first !== undefined) return done(first, true)
    chain.push(`global_default:${GlobalDefaultModel}`)
    return done(models[0] ?? model(GlobalDefaultModel, "deepseek", [], true), true)
  }

  return { models, resolve, forProvider }
}

/** The registry of the built-in models. */
export const defaultModelRegistry: ModelRegistry = makeModelRegistry()

/** The seed's `model_family(id)`: a substring classifier, checked in the seed's order. */
export const modelFamily = (id: string): string => {
  const t = id.toLowerCase()
  const families: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["deepseek", ["deepseek"]],
    ["anthropic", ["claude", "anthropic"]],
    ["gpt-oss", ["gpt-oss"]],
    ["openai", ["gpt", "o1", "o3", "o4", "codex"]],
    ["google", ["gemini", "gemma"]],
    ["meta", ["llama"]],
    ["mistral", ["mistral", "mixtral", "codestral"]],
    ["qwen", ["qwen"]],
    ["grok", ["grok"]],
    ["cohere", ["command", "cohere"]]
  ]
  for (const [family, needles] of families) if (needles.some((n) => t.includes(n))) return family
  return "inferencer"
}
