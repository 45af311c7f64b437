/**
 * The decision: pure, given a compiled policy, a parser and a context. Every segment of the command
 * is classified on its own (hard-denied prefix > typed rule by layer > action > specificity > later
 * listing > trusted prefix > unmatched; the dangerous floor and uncertainty cap what may run), the
 * approval mode turns each category into allow / ask / forbidden, and the strictest segment decides.
 */
import type { AskForApproval, SandboxMode } from "../Approval.ts"
import { approvalModeName } from "../Approval.ts"
import { EXEC_SHELL, type ExecPolicyContext } from "../Context.ts"
import type { ExecApprovalRequirement, ExecPolicyDecision } from "../Decision.ts"
import type { Explanation, RuleMatch, SegmentCategory, SegmentExplanation } from "../Explanation.ts"
import type { ShellSegment, ShellWord } from "../Segments.ts"
import type { BashParser } from "../ShellParser.ts"
import { analyseCommand } from "./analyse.ts"
import { INTERPRETERS, isLauncher } from "./commandTables.ts"
import type { CompiledPolicy, CompiledPrefix, CompiledRule } from "./compile.ts"
import { dangerReasons } from "./danger.ts"
import { lenientMatch, strictMatch, uncoveredRiskyFlag } from "./matchers.ts"
import { globArgumentMayMatch, normalizeAbsolute, pathPatternMatches, resolvePath, type PathPattern } from "./paths.ts"
import { basename, shellJoin } from "./words.ts"

/** Reason strings shared with the seed. */
export const REASONS = {
  unmatched: "Unmatched command prefix requires approval.",
  policyMode: "Approval requested by policy mode.",
  rejectRules: "Policy is configured to reject rule-exceptions.",
  rejectSandbox: "Policy is configured to reject sandbox approvals.",
  rejectMcp: "Policy is configured to reject MCP elicitations."
} as const

type Outcome = "allow" | "ask" | "forbidden"

const SEVERITY: Readonly<Record<Outcome, number>> = { allow: 1, ask: 2, forbidden: 3 }
const PRIORITY: Readonly<Record<SegmentCategory, number>> = {
  denied_prefix: 9,
  denied_rule: 8,
  ask_rule: 7,
  dangerous: 6,
  uncertain: 5,
  write: 4,
  unmatched: 3,
  trusted: 2,
  allowed: 1,
  neutral: 0
}

/** A segment under evaluation: a shell segment, or the single pseudo-segment of a non-shell tool call. */
interface Subject {
  readonly index: number
  readonly kind: ShellSegment["kind"] | "tool"
  readonly argv: ReadonlyArray<ShellWord>
  readonly text: string
  readonly via: ShellSegment["via"] | "tool"
  readonly wrappers: ReadonlyArray<string>
  readonly env: ReadonlyArray<string>
  readonly transparent: boolean
  readonly privileged: boolean
  readonly openEnded: boolean
  readonly target: ShellWord | null
  readonly writes: boolean
  readonly uncertain: ReadonlyArray<string>
}

interface Env {
  readonly policy: CompiledPolicy
  readonly ctx: ExecPolicyContext
  readonly tool: string
  readonly cwd: string
  readonly home: string | undefined
  readonly trimmed: string
  readonly bases: ReadonlyArray<string>
  readonly ctxPaths: ReadonlyArray<string>
  readonly chained: boolean
}

const patchPaths = (text: string): Array<string> => {
  const out: Array<string> = []
  for (const line of text.split("\n")) {
    const m = /^\*\*\* (?:Add|Update|Delete) File: (.+)$/.exec(line) ?? /^\*\*\* Move to: (.+)$/.exec(line) ??
      /^(?:\+\+\+|---) [ab]\/(.+)$/.exec(line)
    if (m?.[1] !== undefined) out.push(m[1].trim())
  }
  return out
}

/** The path and its symlink-resolved forms. */
const views = (abs: string, resolved: ReadonlyMap<string, string> | undefined): Array<string> => {
  if (resolved === undefined || resolved.size === 0) return [abs]
  const out = [abs]
  let dir = abs
  let rest = ""
  for (;;) {
    const real = resolved.get(dir)
    if (real !== undefined) {
      const full = normalizeAbsolute(real + rest)
      if (full !== abs) out.push(full)
      break
    }
    const i = dir.lastIndexOf("/")
    if (i <= 0) break
    rest = dir.slice(i) + rest
    dir = dir.slice(0, i)
  }
  return out
}

const pathMatchesAll = (env: Env, pattern: PathPattern, paths: ReadonlyArray<string>): boolean =>
  paths.length > 0 && paths.every((p) => views(p, env.ctx.resolvedPaths).every((v) => pathPatternMatches(pattern, v, env.cwd, env.home)))

const pathMatchesAny = (env: Env, pattern: PathPattern, paths: ReadonlyArray<string>): boolean =>
  paths.some((p) => views(p, env.ctx.resolvedPaths).some((v) => pathPatternMatches(pattern, v, env.cwd, env.home)))

/** Paths named by a segment's arguments (or its redirect target), against cwd and every `cd` target. */
const argumentPathsMatch = (env: Env, subject: Subject, pattern: PathPattern): boolean => {
  const words: Array<ShellWord> = []
  if (subject.kind === "redirect") {
    if (subject.target !== null) words.push(subject.target)
  } else {
    for (let i = 1; i < subject.argv.length; i++) {
      const w = subject.argv[i]!
      if (!w.dynamic && w.value.startsWith("-")) {
        const eq = w.value.indexOf("=")
        if (eq > 0) words.push({ ...w, value: w.value.slice(eq + 1) })
        continue
      }
      words.push(w)
    }
  }
  for (const w of words) {
    if (w.dynamic) continue
    const absolute = w.value.startsWith("/") || w.value.startsWith("~")
    for (const base of absolute ? [env.cwd] : env.bases) {
      if (w.glob) {
        const i = w.value.search(/[*?[]/)
        const dir = w.value.slice(0, i).includes("/") ? w.value.slice(0, w.value.lastIndexOf("/", i) + 1) : "."
        if (globArgumentMayMatch(pattern, resolvePath(dir, base, env.home), env.cwd, env.home)) return true
        continue
      }
      const abs = resolvePath(w.value, base, env.home)
      if (views(abs, env.ctx.resolvedPaths).some((v) => pathPatternMatches(pattern, v, env.cwd, env.home))) return true
    }
  }
  return false
}

const prefixMatch = (p: CompiledPrefix, kind: RuleMatch["kind"], certainty: RuleMatch["certainty"]): RuleMatch => ({
  kind,
  label: p.text,
  layer: p.layer,
  action: kind === "denied_prefix" ? "deny" : "allow",
  specificity: 0,
  order: p.order,
  certainty,
  on: "command",
  source: p.source
})

const ruleMatch = (r: CompiledRule, certainty: RuleMatch["certainty"], on: RuleMatch["on"]): RuleMatch => ({
  kind: "rule",
  label: r.label,
  layer: r.layer,
  action: r.action,
  specificity: r.specificity,
  order: r.order,
  certainty,
  on,
  source: r.source
})

const RANK_LAYER = { builtin: 0, agent: 1, user: 2 } as const
const RANK_ACTION = { allow: 0, ask: 1, deny: 2 } as const

const beats = (a: RuleMatch, b: RuleMatch): boolean => {
  if (RANK_LAYER[a.layer] !== RANK_LAYER[b.layer]) return RANK_LAYER[a.layer] > RANK_LAYER[b.layer]
  if (RANK_ACTION[a.action] !== RANK_ACTION[b.action]) return RANK_ACTION[a.action] > RANK_ACTION[b.action]
  if (a.specificity !== b.specificity) return a.specificity > b.specificity
  return a.order > b.order
}

const candidateRules = (env: Env, subject: Subject): Array<CompiledRule> => {
  const out: Array<CompiledRule> = []
  const seen = new Set<number>()
  const add = (list: ReadonlyArray<CompiledRule> | undefined) => {
    if (list === undefined) return
    for (const r of list) {
      if (!seen.has(r.order)) {
        seen.add(r.order)
        out.push(r)
      }
    }
  }
  const entry = env.policy.rulesByTool.get(env.tool)
  if (entry !== undefined) {
    add(entry.noCommand)
    const head = subject.argv[0]
    if (subject.kind === "tool") {
      for (const list of entry.byHead.values()) add(list)
    } else if (head !== undefined) {
      if (head.dynamic || head.glob) for (const list of entry.byHead.values()) add(list)
      else add(entry.byHead.get(basename(head.value.toLowerCase())))
    }
    const exact = env.policy.exactRules.get(env.trimmed)
    if (exact !== undefined) add(exact.filter((r) => r.tool === env.tool))
  }
  if (env.tool === EXEC_SHELL) add(env.policy.restrictingPathRules)
  out.sort((a, b) => a.order - b.order)
  return out
}

interface Classified {
  readonly matches: ReadonlyArray<RuleMatch>
  readonly winner: RuleMatch | null
  readonly label: string | null
  readonly category: SegmentCategory
  readonly uncertain: ReadonlyArray<string>
  readonly dangerous: ReadonlyArray<string>
  readonly why: string
}

const classify = (env: Env, subject: Subject): Classified => {
  const matches: Array<RuleMatch> = []
  const notes: Array<string> = []
  const uncertain = [...subject.uncertain]
  let hardDeny: RuleMatch | null = null
  const head = subject.argv[0]
  const isCommand = subject.kind === "command" && head !== undefined
  // 1. Hard-denied prefixes (shell commands only: W12).
  if (isCommand) {
    const list = head.dynamic || head.glob ? env.policy.denied : env.policy.deniedByHead.get(basename(head.value.toLowerCase()))
    for (const p of list ?? []) {
      const c = lenientMatch(p.lenient, subject.argv, subject.openEnded)
      if (c === "none") continue
      const m = prefixMatch(p, "denied_prefix", c)
      matches.push(m)
      if (c === "match" && hardDeny === null) hardDeny = m
      if (c === "possible") uncertain.push(`may match denied prefix rule '${p.text}' depending on run-time values`)
    }
  }
  // 2. Typed rules.
  let winner: RuleMatch | null = null
  for (const r of candidateRules(env, subject)) {
    if (r.workspace !== null && r.workspace !== env.cwd) continue
    const crossTool = r.tool !== env.tool
    let certainty: RuleMatch["certainty"] = "match"
    let on: RuleMatch["on"] = "tool"
    if (r.command !== null) {
      if (subject.kind === "tool") {
        const words = env.trimmed.toLowerCase().split(/\s+/)
        const ok = r.command.exact
          ? env.trimmed === r.command.raw.trim()
          : r.command.plain.every((w, i) => words[i] === w)
        if (!ok) continue
        on = r.command.exact ? "exact_command" : "command"
      } else {
        if (!isCommand) continue
        if (r.command.exact) {
          if (env.trimmed === r.command.raw.trim()) on = "exact_command"
          else if (subject.text === r.command.exactText) on = "command"
          else continue
        } else if (r.action === "allow") {
          const covered = strictMatch(r.command.strict, subject.argv)
          if (covered < 0) continue
          const risky = uncoveredRiskyFlag(subject.argv, covered)
          if (risky !== undefined) {
            notes.push(`allow rule '${r.label}' does not cover ${risky}`)
            continue
          }
          on = "command"
        } else {
          const c = lenientMatch(r.command.lenient, subject.argv, subject.openEnded)
          if (c === "none") continue
          certainty = c
          on = "command"
        }
      }
    }
    if (r.path !== null) {
      let hit = false
      if (!crossTool && env.ctxPaths.length > 0) {
        hit = r.action === "allow" ? pathMatchesAll(env, r.path, env.ctxPaths) : pathMatchesAny(env, r.path, env.ctxPaths)
      }
      if (!hit && r.action !== "allow" && env.tool === EXEC_SHELL && subject.kind !== "assignment") {
        hit = argumentPathsMatch(env, subject, r.path)
      }
      if (!hit) continue
      if (r.command === null) on = "path"
    } else if (r.command === null && subject.kind !== "command" && subject.kind !== "tool") {
      continue
    }
    const m = ruleMatch(r, certainty, on)
    matches.push(m)
    if (certainty === "possible") {
      if (r.action === "deny") {
        uncertain.push(`may match deny rule '${r.label}' depending on run-time values`)
        continue
      }
      // A possible ask still asks: restricting rules match generously.
    }
    if (winner === null || beats(m, winner)) winner = { ...m, certainty: "match" }
  }
  // 3. Trusted prefixes, when no typed rule decided.
  let trusted: RuleMatch | null = null
  const needsOwnAllow = isCommand && !(subject.transparent && !subject.privileged)
  if (winner === null && needsOwnAllow && !head.dynamic && !head.glob) {
    const key = head.value.toLowerCase()
    const lists = [env.policy.trustedByHead.get(key)]
    if (key.includes("/")) lists.push(env.policy.trustedByHead.get(basename(key)))
    for (const list of lists) {
      for (const p of list ?? []) {
        const covered = strictMatch(p.strict, subject.argv)
        if (covered < 0) continue
        const risky = uncoveredRiskyFlag(subject.argv, covered)
        if (risky !== undefined) {
          notes.push(`trusted prefix '${p.text}' does not cover ${risky}`)
          continue
        }
        const m = prefixMatch(p, "trusted_prefix", "match")
        matches.push(m)
        if (trusted === null || m.order < trusted.order) trusted = m
      }
    }
  }
  matches.sort((a, b) => a.order - b.order)
  const dangerous = subject.kind === "tool" ? [] : dangerReasons(subject as ShellSegment, env.cwd, env.home)
  let category: SegmentCategory
  let why: string
  if (hardDeny !== null) {
    category = "denied_prefix"
    why = `denied prefix '${hardDeny.label}' matches; denied prefixes are checked before every other rule`
  } else if (winner !== null) {
    const others = matches.filter((m) => m.kind === "rule" && m.certainty === "match" && m.order !== winner!.order).length
    why = `typed rule '${winner.label}' wins (layer ${winner.layer}, action ${winner.action}, specificity ${winner.specificity})` +
      (others > 0 ? ` over ${others} other matching rule${others > 1 ? "s" : ""}: layer > action > specificity > later listing` : "")
    category = winner.action === "deny" ? "denied_rule" : winner.action === "ask" ? "ask_rule" : "allowed"
  } else if (trusted !== null) {
    category = "trusted"
    why = `trusted prefix '${trusted.label}' matches`
  } else if (subject.kind === "command" && subject.transparent && !subject.privileged) {
    category = "neutral"
    why = "a wrapper whose payload is evaluated as its own segment"
  } else if (subject.kind === "redirect") {
    category = subject.writes ? "write" : "neutral"
    why = subject.writes ? "no rule allows writing this file" : "reads a file no rule restricts"
  } else if (subject.kind === "assignment") {
    category = "neutral"
    why = "a variable assignment"
  } else {
    category = "unmatched"
    why = "no rule matches"
  }
  if (notes.length > 0) why += ` (${notes.join("; ")})`
  if (category === "allowed" || category === "trusted" || category === "neutral" || category === "unmatched" || category === "write") {
    if (dangerous.length > 0) category = "dangerous"
    else if (uncertain.length > 0) category = "uncertain"
  }
  const label = hardDeny?.label ?? winner?.label ?? trusted?.label ?? null
  return { matches, winner: hardDeny ?? winner ?? trusted, label, category, uncertain, dangerous, why }
}

const isReject = (m: AskForApproval): m is { readonly reject: { readonly sandbox_approval: boolean; readonly rules: boolean; readonly mcp_elicitations: boolean } } =>
  typeof m === "object"

/** Applies the approval mode (and sandbox) to a category. */
const applyMode = (
  env: Env,
  subject: Subject,
  c: Classified
): { readonly outcome: Outcome; readonly reason: string } => {
  const mode = env.ctx.askForApproval
  const mcp = env.tool.startsWith("mcp__")
  const ask = (reason: string) => ({ outcome: "ask" as const, reason })
  const forbid = (reason: string) => ({ outcome: "forbidden" as const, reason })
  const allow = { outcome: "allow" as const, reason: "Execution allowed by policy." }
  const rejectPrompt = (reason: string) => {
    if (isReject(mode)) {
      if (mode.reject.rules) return forbid(REASONS.rejectRules)
      if (mode.reject.sandbox_approval) return forbid(REASONS.rejectSandbox)
      if (mode.reject.mcp_elicitations && mcp) return forbid(REASONS.rejectMcp)
    }
    return ask(reason)
  }
  switch (c.category) {
    case "denied_prefix":
      return forbid(`Command blocked by denied prefix rule '${c.label}'`)
    case "denied_rule":
      return forbid(env.chained
        ? `Permission rule '${c.label}' explicitly denies a chained segment of this invocation.`
        : `Permission rule '${c.label}' explicitly denies this invocation.`)
    case "ask_rule": {
      if (mode === "never") return forbid(`Typed ask rule '${c.label}' requires approval, but approval policy is never.`)
      if (isReject(mode)) {
        if (mode.reject.rules) return forbid(REASONS.rejectRules)
        if (mode.reject.mcp_elicitations && mcp) return forbid(REASONS.rejectMcp)
      }
      return ask(`Typed ask rule '${c.label}' requires approval.`)
    }
    case "dangerous": {
      const detail = c.dangerous[0] ?? ""
      const what = subject.kind === "redirect" ? `Writing to '${subject.target?.value ?? ""}'` : `Potentially destructive command '${subject.text}'`
      if (mode === "never") return forbid(`${what} cannot run without approval, and approval policy is never: ${detail}.`)
      return rejectPrompt(`${what} requires approval: ${detail}.`)
    }
    case "uncertain": {
      const detail = c.uncertain[0] ?? ""
      if (mode === "never") return forbid(`Command cannot be analysed with certainty, and approval policy is never: ${detail}.`)
      return rejectPrompt(`Command cannot be analysed with certainty and requires approval: ${detail}.`)
    }
    case "unmatched":
    case "write": {
      const reason = c.category === "write" ? `Writing to '${subject.target?.value ?? ""}' requires approval.` : REASONS.unmatched
      if (mode === "never") return allow
      if (mode === "on_failure") return env.ctx.sandboxMode === "danger-full-access" ? ask(reason) : allow
      return rejectPrompt(reason)
    }
    case "trusted":
      return mode === "on_request" ? ask(REASONS.policyMode) : allow
    case "allowed":
    case "neutral":
      return allow
  }
}

/** The narrowest trusted prefix that allows exactly this segment, or null (never a bare launcher). */
const amendmentFor = (subject: Subject): string | null => {
  if (subject.kind !== "command") return null
  const words: Array<string> = []
  for (const w of subject.argv) {
    if (w.dynamic || w.glob) break
    words.push(w.value)
  }
  const head = words[0]
  if (head === undefined || head.trim() === "") return null
  const base = basename(head).toLowerCase()
  if (words.length === 1 && isLauncher(base)) return null
  const inline = INTERPRETERS.get(base) ?? (/^python\d/.test(base) ? ["-c"] : undefined)
  if (inline !== undefined && words.slice(1).some((w) => inline.includes(w.toLowerCase()))) return null
  return shellJoin(words)
}

const describeMode = (mode: AskForApproval, sandbox: SandboxMode | undefined): string => {
  const name = approvalModeName(mode)
  switch (name) {
    case "unless_trusted":
      return "unless_trusted: trusted and allowed segments run; unmatched segments ask (with a proposed prefix); ask rules, uncertain and dangerous segments ask."
    case "on_failure":
      return sandbox === "danger-full-access"
        ? "on_failure with danger-full-access: there is no sandbox to fail in, so unmatched segments ask; trusted and allowed segments run."
        : "on_failure: unmatched segments run and the sandbox catches failures; ask rules, uncertain and dangerous segments ask."
    case "on_request":
      return "on_request: trusted prefixes still ask ('Approval requested by policy mode.'); typed allow rules run; everything else asks."
    case "never":
      return "never: nothing asks; what would ask (ask rules, uncertain and dangerous segments) is forbidden; unmatched segments run."
    default: {
      const r = isReject(mode) ? mode.reject : { sandbox_approval: false, rules: false, mcp_elicitations: false }
      return `reject (sandbox_approval=${r.sandbox_approval}, rules=${r.rules}, mcp_elicitations=${r.mcp_elicitations}): trusted and allowed segments run; ` +
        "ask rules are refused when rules=true; other prompts are refused when rules or sandbox_approval is true; MCP tool prompts when mcp_elicitations=true."
    }
  }
}

const toSubject = (s: ShellSegment, extraUncertain: ReadonlyArray<string>): Subject =>
  extraUncertain.length === 0 ? s : { ...s, uncertain: [...s.uncertain, ...extraUncertain] }

/** Evaluates a call and explains the decision. */
export const explainCall = (policy: CompiledPolicy, parser: BashParser, ctx: ExecPolicyContext): Explanation => {
  const tool = ctx.tool ?? EXEC_SHELL
  const cwd = normalizeAbsolute(ctx.cwd.trim().replaceAll("\\", "/"))
  const trimmed = ctx.command.trim()
  const home = ctx.home === undefined ? undefined : normalizeAbsolute(ctx.home)
  let subjects: Array<Subject>
  let chained = false
  let globalUncertain: ReadonlyArray<string> = []
  let cdTargets: ReadonlyArray<string> = []
  if (tool === EXEC_SHELL) {
    const analysis = analyseCommand(parser, ctx.command)
    chained = analysis.chained
    globalUncertain = analysis.uncertain
    cdTargets = analysis.cdTargets
    subjects = analysis.segments.map((s) => toSubject(s, analysis.uncertain))
    if (!subjects.some((s) => s.kind === "command")) {
      subjects.push({
        index: subjects.length,
        kind: "command",
        argv: [],
        text: trimmed,
        via: "command",
        wrappers: [],
        env: [],
        transparent: false,
        privileged: false,
        openEnded: false,
        target: null,
        writes: false,
        uncertain: analysis.uncertain
      })
    }
  } else {
    subjects = [{
      index: 0,
      kind: "tool",
      argv: [],
      text: trimmed,
      via: "tool",
      wrappers: [],
      env: [],
      transparent: false,
      privileged: false,
      openEnded: false,
      target: null,
      writes: false,
      uncertain: []
    }]
  }
  const ctxPaths: Array<string> = []
  const windows = true
  for (const p of [ctx.path, ...(ctx.paths ?? []), ...(tool === EXEC_SHELL ? [] : patchPaths(ctx.command))]) {
    if (p !== undefined && p.trim() !== "") ctxPaths.push(resolvePath(p, cwd, home, windows))
  }
  const bases = [cwd, ...cdTargets.map((t) => resolvePath(t, cwd, home))]
  const env: Env = { policy, ctx, tool, cwd, home, trimmed, bases, ctxPaths, chained }
  const segments: Array<SegmentExplanation> = []
  let deciding = -1
  let bestRank = -1
  for (const subject of subjects) {
    const c = classify(env, subject)
    const { outcome, reason } = applyMode(env, subject, c)
    const amendment = c.category === "unmatched" && tool === EXEC_SHELL ? amendmentFor(subject) : null
    segments.push({
      index: segments.length,
      kind: subject.kind,
      text: subject.text,
      via: subject.via,
      wrappers: subject.wrappers,
      env: subject.env,
      uncertain: c.uncertain,
      dangerous: c.dangerous,
      matches: c.matches,
      winner: c.winner,
      why: c.why,
      category: c.category,
      outcome,
      reason,
      amendment
    })
    const rank = SEVERITY[outcome] * 10 + PRIORITY[c.category]
    if (rank > bestRank) {
      bestRank = rank
      deciding = segments.length - 1
    }
  }
  const top = segments[deciding]!
  let requirement: ExecApprovalRequirement
  let matchedRule: string | null = top.winner?.label ?? null
  let matchedAction = top.winner?.kind === "rule" ? top.winner.action : null
  if (top.outcome === "forbidden") {
    requirement = { _tag: "Forbidden", reason: top.reason }
  } else if (top.outcome === "ask") {
    const asks = segments.filter((s) => s.outcome === "ask")
    let amendment: { readonly prefixes: ReadonlyArray<string> } | null = null
    if (asks.every((s) => s.category === "unmatched" && s.amendment !== null)) {
      amendment = { prefixes: [...new Set(asks.map((s) => s.amendment!))] }
    }
    requirement = {
      _tag: "NeedsApproval",
      reason: top.reason,
      proposedExecpolicyAmendment: amendment,
      proposedNetworkPolicyAmendments: []
    }
  } else {
    requirement = { _tag: "Skip", bypassSandbox: false, proposedExecpolicyAmendment: null }
    const labelled = segments.find((s) => s.winner !== null)
    matchedRule = labelled?.winner?.label ?? null
    matchedAction = labelled?.winner?.kind === "rule" ? labelled.winner.action : null
  }
  const decision: ExecPolicyDecision = {
    allow: requirement._tag !== "Forbidden",
    requiresApproval: requirement._tag === "NeedsApproval",
    requirement,
    matchedRule,
    matchedAction
  }
  return {
    decision,
    tool,
    command: ctx.command,
    chained,
    uncertain: globalUncertain,
    segments,
    decidingSegment: deciding,
    mode: {
      approval: ctx.askForApproval,
      sandbox: ctx.sandboxMode ?? null,
      contribution: describeMode(ctx.askForApproval, ctx.sandboxMode)
    }
  }
}
