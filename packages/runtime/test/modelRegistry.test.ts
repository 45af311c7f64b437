import { describe, expect, it } from "@effect/vitest"
import { defaultModelRegistry, makeModelRegistry, modelFamily, parseProviderKind } from "../src/ModelRegistry.ts"

describe("ModelRegistry.resolve (the seed's rules)", () => {
  const r = defaultModelRegistry

  it("an exact id or alias resolves case-insensitively, with the registry's casing for the hinted provider", () => {
    const res = r.resolve("DeepSeek-Reasoner", "deepseek")
    expect(res.resolved.id).toBe("deepseek-v4-pro")
    expect(res.used_fallback).toBe(false)
    expect(res.fallback_chain).toEqual(["requested:DeepSeek-Reasoner"])
    expect(r.resolve("deepseek-chat").resolved.id).toBe("deepseek-v4-flash")
  })

  it("a global alias hit may come from another provider; the id keeps the requested casing when equal ignoring case", () => {
    const res = r.resolve("GPT-5", "deepseek")
    expect(res.resolved.provider).toBe("openai")
    expect(res.resolved.id).toBe("GPT-5")
  })

  it("auto and unknown names fall back to the provider's first model, then the global default", () => {
    const auto = r.resolve("auto")
    expect(auto.resolved.id).toBe("deepseek-v4-pro")
    expect(auto.used_fallback).toBe(true)
    expect(auto.fallback_chain).toEqual(["requested:auto", "provider_default:deepseek"])
    const openai = r.resolve("no-such-model", "openai")
    expect(openai.resolved.id).toBe("gpt-5")
    expect(openai.fallback_chain).toEqual(["requested:no-such-model", "provider_default:openai"])
    const none = r.resolve(undefined)
    expect(none.resolved.id).toBe("deepseek-v4-pro")
    expect(none.requested).toBeUndefined()
  })

  it("passthrough providers keep the requested name (ollama, arcee, xiaomi-mimo, atlascloud with a slash)", () => {
    expect(r.resolve("auto", "ollama").resolved).toMatchObject({ id: "auto", provider: "ollama", supports_tools: true, supports_reasoning: false })
    expect(r.resolve("my-thinking-model", "arcee").resolved).toMatchObject({ id: "my-thinking-model", supports_reasoning: true })
    expect(r.resolve("mimo-custom", "xiaomi-mimo").resolved.id).toBe("mimo-custom")
    expect(r.resolve("Org/Model-X", "atlascloud").resolved.id).toBe("Org/Model-X")
    expect(r.resolve("no-slash", "atlascloud").used_fallback).toBe(true)
  })

  it("first registration wins on duplicate aliases; an empty provider list falls back to the global default", () => {
    const reg = makeModelRegistry([
      { id: "a", provider: "deepseek", aliases: ["x"], supports_tools: true, supports_reasoning: false },
      { id: "b", provider: "openai", aliases: ["x"], supports_tools: true, supports_reasoning: false }
    ])
    expect(reg.resolve("x").resolved.id).toBe("a")
    const res = reg.resolve("zzz", "anthropic")
    expect(res.resolved.id).toBe("a")
    expect(res.fallback_chain).toEqual(["requested:zzz", "provider_default:anthropic", "global_default:deepseek-v4-pro"])
  })

  it("parses provider names with the seed's aliases and classifies model families", () => {
    expect(parseProviderKind("NIM")).toBe("nvidia-nim")
    expect(parseProviderKind("kimi")).toBe("moonshot")
    expect(parseProviderKind("siliconflow_cn")).toBe("siliconflow-CN")
    expect(parseProviderKind("nope")).toBeUndefined()
    expect(modelFamily("claude-sonnet-4-5")).toBe("anthropic")
    expect(modelFamily("gpt-oss-120b")).toBe("gpt-oss")
    expect(modelFamily("")).toBe("inferencer")
  })
})
