/** Compiles a decoded policy into indexed, pre-tokenised rules. */
import { EXEC_SHELL } from "../Context.ts"
import type { PermissionAction, RulesetLayer } from "../Decision.ts"
import { actionRank, layerRank } from "../Decision.ts"
import type { PolicyInput, RuleInput } from "../Policy.ts"
import { ruleLabel } from "../Policy.ts"
import { compileLenient, compileStrict, splitRuleWords, type LenientPattern, type StrictPattern } from "./matchers.ts"
import { compilePathPattern, normalizeAbsolute, type PathPattern } from "./paths.ts"
import { basename, shellJoin } from "./words.ts"

/** A trusted or denied prefix. */
export interface CompiledPrefix {
  readonly text: string
  readonly layer: RulesetLayer
  readonly order: number
  readonly lenient: LenientPattern
  readonly strict: StrictPattern
  readonly source: string | null
}

/** A typed rule. */
export interface CompiledRule {
  readonly label: string
  readonly layer: RulesetLayer
  readonly layerRank: number
  readonly action: PermissionAction
  readonly actionRank: number
  readonly tool: string
  readonly command: {
    readonly raw: string
    readonly exact: boolean
    /** Rule words re-joined, for exact comparison with a segment. */
    readonly exactText: string
    readonly lenient: LenientPattern
    readonly strict: StrictPattern
    /** Whitespace tokens, lowercased (for non-shell tools). */
    readonly plain: ReadonlyArray<string>
  } | null
  readonly path: PathPattern | null
  readonly workspace: string | null
  readonly specificity: number
  readonly order: number
  readonly source: string | null
  readonly input: RuleInput
}

/** A compiled policy: prefix lanes and typed rules, indexed by command head and tool. */
export interface CompiledPolicy {
  readonly trusted: ReadonlyArray<CompiledPrefix>
  readonly denied: ReadonlyArray<CompiledPrefix>
  readonly rules: ReadonlyArray<CompiledRule>
  /** Denied prefixes by lowercased head word. */
  readonly deniedByHead: ReadonlyMap<string, ReadonlyArray<CompiledPrefix>>
  /** Trusted prefixes by lowercased head word. */
  readonly trustedByHead: ReadonlyMap<string, ReadonlyArray<CompiledPrefix>>
  /** Typed rules by tool, then by head word (`""` for rules without a command). */
  readonly rulesByTool: ReadonlyMap<string, { readonly byHead: ReadonlyMap<string, ReadonlyArray<CompiledRule>>; readonly noCommand: ReadonlyArray<CompiledRule> }>
  /** Restricting path rules (deny/ask) of every tool: they also apply to shell arguments (W11). */
  readonly restrictingPathRules: ReadonlyArray<CompiledRule>
  /** Typed rules with `command_exact`, by exact text. */
  readonly exactRules: ReadonlyMap<string, ReadonlyArray<CompiledRule>>
  /**
   * The typed rules a segment can meet, merged once at load time (policy order, no duplicates):
   * per tool, by command head (`byHead`), for a head no rule names (`otherHead`), and for segments
   * whose head is unknown or that are not shell commands (`anyHead`). Restricting path rules are
   * included for `exec_shell`. Rules with `command_exact` are added per call (see `exactRules`).
   */
  readonly candidates: ReadonlyMap<string, RuleCandidates>
  /** The candidate lists of a tool that no rule names. */
  readonly candidatesOfOtherTools: RuleCandidates
  /** Every rule path pattern of the policy in one expression per anchor (null: no pattern has that anchor). */
  readonly pathPrefilter: PathPrefilter
}

/**
 * Every rule path pattern of the policy in one expression per anchor, so one test rules out every
 * path rule for a path no pattern can match. `absolute` is the union of the absolute patterns;
 * `home` and `workspace` match a path relative to their root when a pattern of that anchor matches
 * the path or one of its ancestors (what `pathPatternMatches` tests one by one).
 */
export type PathPrefilter = Readonly<Record<PathPattern["anchor"], RegExp | null>>

/** The prefilter of a list of path patterns. */
export const pathPrefilterOf = (patterns: ReadonlyArray<PathPattern>): PathPrefilter => ({
  absolute: unionOf(patterns.filter((p) => p.anchor === "absolute"), false),
  home: unionOf(patterns.filter((p) => p.anchor === "home"), true),
  workspace: unionOf(patterns.filter((p) => p.anchor === "workspace"), true)
})

const unionOf = (patterns: ReadonlyArray<PathPattern>, orAncestor: boolean): RegExp | null => {
  if (patterns.length === 0) return null
  // Each source is `^…$`: strip the anchors and put them around the alternation.
  const union = patterns.map((p) => `(?:${p.regex.source.slice(1, -1)})`).join("|")
  return new RegExp("^(?:" + union + ")" + (orAncestor ? "(?:/.*)?" : "") + "$")
}

/** The typed rules a segment of one tool can meet (see `CompiledPolicy.candidates`). */
export interface RuleCandidates {
  readonly byHead: ReadonlyMap<string, ReadonlyArray<CompiledRule>>
  readonly otherHead: ReadonlyArray<CompiledRule>
  readonly anyHead: ReadonlyArray<CompiledRule>
}

/** Merges rule lists in policy order without duplicates. */
export const mergeRules = (lists: ReadonlyArray<ReadonlyArray<CompiledRule> | undefined>): Array<CompiledRule> => {
  const out: Array<CompiledRule> = []
  const seen = new Set<number>()
  for (const list of lists) {
    if (list === undefined) continue
    for (const r of list) {
      if (!seen.has(r.order)) {
        seen.add(r.order)
        out.push(r)
      }
    }
  }
  out.sort((a, b) => a.order - b.order)
  return out
}

/** Where a problem sits: `<layer>.<field>[<n>]` plus the offending key, if any. */
export interface CompileProblem {
  readonly layer: RulesetLayer
  readonly field: "trusted_prefixes" | "denied_prefixes" | "rules"
  readonly index: number
  readonly key: string | null
  readonly detail: string
}

/** Source locations of rules, when known: `rules` keys are `<layer>.<field>[<n>]`. */
export type SourceLocator = (layer: RulesetLayer, field: CompileProblem["field"], index: number) => string | null

const LAYERS: ReadonlyArray<RulesetLayer> = ["builtin", "agent", "user"]

const push = <K, V>(m: Map<K, Array<V>>, k: K, v: V): void => {
  const list = m.get(k)
  if (list === undefined) m.set(k, [v])
  else list.push(v)
}

/** Compiles a policy; returns the problems found instead when there are any. */
export const compilePolicy = (
  policy: PolicyInput,
  locate: SourceLocator = () => null
): { readonly policy: CompiledPolicy } | { readonly problems: ReadonlyArray<CompileProblem> } => {
  const problems: Array<CompileProblem> = []
  const trusted: Array<CompiledPrefix> = []
  const denied: Array<CompiledPrefix> = []
  const rules: Array<CompiledRule> = []
  let order = 0
  for (const layer of LAYERS) {
    const input = policy[layer]
    if (input === undefined) continue
    for (const field of ["trusted_prefixes", "denied_prefixes"] as const) {
      const list = input[field] ?? []
      list.forEach((text, index) => {
        const words = splitRuleWords(text)
        if (words.length === 0) {
          problems.push({ layer, field, index, key: null, detail: "a prefix may not be empty" })
          return
        }
        const compiled: CompiledPrefix = {
          text,
          layer,
          order: order++,
          lenient: compileLenient(words),
          strict: compileStrict(words),
          source: locate(layer, field, index)
        }
        ;(field === "trusted_prefixes" ? trusted : denied).push(compiled)
      })
    }
    ;(input.rules ?? []).forEach((rule, index) => {
      const at = (key: string | null, detail: string) => problems.push({ layer, field: "rules", index, key, detail })
      if (rule.tool.trim() === "") return at("tool", "tool may not be empty")
      let command: CompiledRule["command"] = null
      if (rule.command !== undefined) {
        const words = splitRuleWords(rule.command)
        if (words.length === 0) return at("command", "command may not be empty")
        command = {
          raw: rule.command,
          exact: rule.command_exact === true,
          exactText: shellJoin(words),
          lenient: compileLenient(words),
          strict: compileStrict(words),
          plain: rule.command.trim().toLowerCase().split(/\s+/)
        }
      } else if (rule.command_exact === true) {
        return at("command_exact", "command_exact needs a command")
      }
      let path: PathPattern | null = null
      if (rule.path !== undefined) {
        const compiled = compilePathPattern(rule.path)
        if (typeof compiled === "string") return at("path", compiled)
        path = compiled
      }
      let workspace: string | null = null
      if (rule.workspace !== undefined) {
        const w = rule.workspace.trim().replaceAll("\\", "/")
        if (!w.startsWith("/") || w.split("/").includes("..") || normalizeAbsolute(w) === "/") {
          return at("workspace", "workspace must be an absolute directory without '..' and not the root")
        }
        workspace = normalizeAbsolute(w)
      }
      const action = rule.action ?? "ask"
      const specificity = rule.tool.length +
        (rule.command !== undefined ? rule.command.length + 1000 : 0) +
        (rule.path !== undefined ? rule.path.length + 1000 : 0) +
        (rule.workspace !== undefined ? rule.workspace.length + 1000 : 0) +
        (rule.command_exact === true ? 1 : 0)
      rules.push({
        label: ruleLabel(rule),
        layer,
        layerRank: layerRank(layer),
        action,
        actionRank: actionRank(action),
        tool: rule.tool,
        command,
        path,
        workspace,
        specificity,
        order: order++,
        source: locate(layer, "rules", index),
        input: rule
      })
    })
  }
  if (problems.length > 0) return { problems }
  const deniedByHead = new Map<string, Array<CompiledPrefix>>()
  for (const p of denied) push(deniedByHead, basename(p.lenient.head), p)
  const trustedByHead = new Map<string, Array<CompiledPrefix>>()
  for (const p of trusted) push(trustedByHead, p.strict.words[0] ?? "", p)
  const rulesByTool = new Map<string, { byHead: Map<string, Array<CompiledRule>>; noCommand: Array<CompiledRule> }>()
  const exactRules = new Map<string, Array<CompiledRule>>()
  for (const r of rules) {
    let entry = rulesByTool.get(r.tool)
    if (entry === undefined) {
      entry = { byHead: new Map(), noCommand: [] }
      rulesByTool.set(r.tool, entry)
    }
    if (r.command === null) entry.noCommand.push(r)
    else push(entry.byHead, basename(r.command.lenient.head), r)
    if (r.command?.exact === true) push(exactRules, r.command.raw.trim(), r)
  }
  const restrictingPathRules = rules.filter((r) => r.path !== null && r.action !== "allow" && r.command === null)
  const candidates = new Map<string, RuleCandidates>()
  for (const [tool, entry] of rulesByTool) {
    const restricting = tool === EXEC_SHELL ? restrictingPathRules : undefined
    const byHead = new Map<string, ReadonlyArray<CompiledRule>>()
    for (const [head, list] of entry.byHead) byHead.set(head, mergeRules([entry.noCommand, list, restricting]))
    candidates.set(tool, {
      byHead,
      otherHead: mergeRules([entry.noCommand, restricting]),
      anyHead: mergeRules([entry.noCommand, ...entry.byHead.values(), restricting])
    })
  }
  const pathPatterns: Array<PathPattern> = []
  for (const r of rules) if (r.path !== null) pathPatterns.push(r.path)
  // A tool no rule names meets only the restricting path rules, and only when it is the shell.
  const none = mergeRules([])
  if (!candidates.has(EXEC_SHELL)) {
    const restricting = mergeRules([restrictingPathRules])
    candidates.set(EXEC_SHELL, { byHead: new Map(), otherHead: restricting, anyHead: restricting })
  }
  return {
    policy: {
      trusted,
      denied,
      rules,
      deniedByHead,
      trustedByHead,
      rulesByTool,
      restrictingPathRules,
      exactRules,
      candidates,
      candidatesOfOtherTools: { byHead: new Map(), otherHead: none, anyHead: none },
      pathPrefilter: pathPrefilterOf(pathPatterns)
    }
  }
}
