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
import { analyseCommand, START_DIRS } from "./analyse.ts"
import { INTERPRETERS, isLauncher } from "./commandTables.ts"
import { type CompiledPolicy, type CompiledPrefix, type CompiledRule, mergeRules, type PathPrefilter } from "./compile.ts"
import { dangerReasons } from "./danger.ts"
import {
  type LenientArgv,
  lenientMatchPrepared,
  prepareLenient,
  prepareStrict,
  type StrictArgv,
  strictMatchPrepared,
  uncoveredRiskyFlag
} from "./matchers.ts"
import {
  globArgumentMayMatch,
  isWithin,
  normalizeAbsolute,
  type PathPattern,
  resolveDir,
  resolvePath,
  selfAndAncestors,
  UNKNOWN_HOME
} from "./paths.ts"
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
export interface Subject {
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
  /** The directories it may run in (`ShellSegment.dirs`); a tool call runs in the context's cwd. */
  readonly dirs: ReadonlyArray<ReadonlyArray<string>>
}

/** `abs` relative to `root` (`""` for the root itself), or null when it is outside. */
const relativeTo = (abs: string, root: string): string | null =>
  !isWithin(abs, root) ? null : abs === root ? "" : root === "/" ? abs.slice(1) : abs.slice(root.length + 1)

/**
 * Path facts of one call, memoised: for each normalised absolute path, the strings a pattern of each
 * anchor tests (the path relative to its root, then every ancestor), as `pathPatternMatches` does.
 */
export class PathFacts {
  private absolute: Map<string, ReadonlyArray<string>> | undefined
  private workspace: Map<string, ReadonlyArray<string> | null> | undefined
  private home: Map<string, ReadonlyArray<string> | null> | undefined

  constructor(private readonly workspaceRoot: string, private readonly homeRoot: string) {}

  private candidates(anchor: PathPattern["anchor"], abs: string): ReadonlyArray<string> | null {
    if (anchor === "absolute") {
      const cache = this.absolute ??= new Map()
      let c = cache.get(abs)
      if (c === undefined) {
        c = selfAndAncestors(abs)
        cache.set(abs, c)
      }
      return c
    }
    const home = anchor === "home"
    const cache = home ? (this.home ??= new Map()) : (this.workspace ??= new Map())
    let c = cache.get(abs)
    if (c === undefined) {
      const subject = relativeTo(abs, home ? this.homeRoot : this.workspaceRoot)
      c = subject === null ? null : subject === "" ? [""] : selfAndAncestors(subject)
      cache.set(abs, c)
    }
    return c
  }

  /** `pathPatternMatches(pattern, abs, workspace, home)`. */
  matches(pattern: PathPattern, abs: string): boolean {
    return this.test(pattern.regex, pattern.anchor, abs)
  }

  /** Could any pattern of the policy match `abs`? (false means none does). */
  mayMatch(prefilter: PathPrefilter, abs: string): boolean {
    if (prefilter.workspace !== null) {
      const subject = relativeTo(abs, this.workspaceRoot)
      if (subject !== null && prefilter.workspace.test(subject)) return true
    }
    if (prefilter.home !== null) {
      const subject = relativeTo(abs, this.homeRoot)
      if (subject !== null && prefilter.home.test(subject)) return true
    }
    return prefilter.absolute !== null && this.test(prefilter.absolute, "absolute", abs)
  }

  private test(regex: RegExp, anchor: PathPattern["anchor"], abs: string): boolean {
    const candidates = this.candidates(anchor, abs)
    if (candidates === null) return false
    for (const c of candidates) if (regex.test(c)) return true
    return false
  }
}

interface Env {
  readonly policy: CompiledPolicy
  readonly ctx: ExecPolicyContext
  readonly tool: string
  readonly cwd: string
  readonly home: string | undefined
  readonly trimmed: string
  readonly ctxPaths: ReadonlyArray<string>
  readonly chained: boolean
  readonly paths: PathFacts
  /** Build everything `explain` shows (matches, notes, why); `check` only needs the decision. */
  readonly detail: boolean
  /** The command text's lowercased whitespace words (tool calls), computed on first use. */
  plainWords: ReadonlyArray<string> | undefined
}

/** A path a segment argument names: a literal path (and its symlink views), or a glob's literal directory. */
type ArgumentPath = { readonly glob: false; readonly views: ReadonlyArray<string> } | { readonly glob: true; readonly dir: string }

/** What one segment's matching needs, prepared on first use and shared by every rule. */
interface Facts {
  /** The directory the segment runs in (relative arguments resolve against it). */
  readonly dir: string
  lenient: LenientArgv | undefined
  strict: StrictArgv | undefined
  argumentPaths: ReadonlyArray<ArgumentPath> | undefined
  argumentPathsMayMatch: boolean | undefined
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

const pathMatchesAll = (env: Env, pattern: PathPattern, paths: ReadonlyArray<string>): boolean => {
  if (paths.length === 0) return false
  for (const p of paths) {
    for (const v of views(p, env.ctx.resolvedPaths)) if (!env.paths.matches(pattern, v)) return false
  }
  return true
}

const pathMatchesAny = (env: Env, pattern: PathPattern, paths: ReadonlyArray<string>): boolean => {
  for (const p of paths) {
    for (const v of views(p, env.ctx.resolvedPaths)) if (env.paths.matches(pattern, v)) return true
  }
  return false
}

const GLOB_CHAR = /[*?[]/

/** Paths named by a segment's arguments (or its redirect target), relative ones against `dir`. */
const argumentPaths = (env: Env, subject: Subject, dir: string): ReadonlyArray<ArgumentPath> => {
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
  const out: Array<ArgumentPath> = []
  for (const w of words) {
    if (w.dynamic) continue
    const base = w.value.startsWith("/") || w.value.startsWith("~") ? env.cwd : dir
    if (w.glob) {
      const i = w.value.search(GLOB_CHAR)
      const literal = w.value.slice(0, i).includes("/") ? w.value.slice(0, w.value.lastIndexOf("/", i) + 1) : "."
      out.push({ glob: true, dir: resolvePath(literal, base, env.home) })
      continue
    }
    out.push({ glob: false, views: views(resolvePath(w.value, base, env.home), env.ctx.resolvedPaths) })
  }
  return out
}

/** Could any path rule match an argument of the segment? (false means no path rule does). */
const argumentPathsMayMatch = (env: Env, paths: ReadonlyArray<ArgumentPath>): boolean => {
  for (const a of paths) {
    if (a.glob) return true
    for (const v of a.views) if (env.paths.mayMatch(env.policy.pathPrefilter, v)) return true
  }
  return false
}

const argumentPathsMatch = (env: Env, subject: Subject, facts: Facts, pattern: PathPattern): boolean => {
  facts.argumentPaths ??= argumentPaths(env, subject, facts.dir)
  facts.argumentPathsMayMatch ??= argumentPathsMayMatch(env, facts.argumentPaths)
  if (!facts.argumentPathsMayMatch) return false
  for (const a of facts.argumentPaths) {
    if (a.glob) {
      if (globArgumentMayMatch(pattern, a.dir, env.cwd, env.home)) return true
      continue
    }
    for (const v of a.views) if (env.paths.matches(pattern, v)) return true
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

/** Layer > action > specificity > later listing. */
const beats = (a: CompiledRule, b: CompiledRule): boolean => {
  if (a.layerRank !== b.layerRank) return a.layerRank > b.layerRank
  if (a.actionRank !== b.actionRank) return a.actionRank > b.actionRank
  if (a.specificity !== b.specificity) return a.specificity > b.specificity
  return a.order > b.order
}

/**
 * The typed rules that can apply to a segment, in policy order: the lists compiled at load time for
 * the tool and the segment's command name (`headKey`: the lowercased basename of a static name,
 * undefined when the name is dynamic or a glob), plus `command_exact` rules for this exact text.
 */
export const candidateRules = (
  policy: CompiledPolicy,
  tool: string,
  kind: Subject["kind"],
  head: ShellWord | undefined,
  headKey: string | undefined,
  trimmed: string
): ReadonlyArray<CompiledRule> => {
  const lists = policy.candidates.get(tool) ?? policy.candidatesOfOtherTools
  let list: ReadonlyArray<CompiledRule>
  if (kind === "tool") list = lists.anyHead
  else if (head === undefined) list = lists.otherHead
  else if (headKey === undefined) list = lists.anyHead
  else list = lists.byHead.get(headKey) ?? lists.otherHead
  if (policy.exactRules.size > 0) {
    const exact = policy.exactRules.get(trimmed)?.filter((r) => r.tool === tool)
    if (exact !== undefined && exact.length > 0) return mergeRules([list, exact])
  }
  return list
}

interface Classified {
  readonly matches: ReadonlyArray<RuleMatch>
  readonly winner: RuleMatch | null
  readonly label: string | null
  readonly category: SegmentCategory
  readonly uncertain: ReadonlyArray<string>
  readonly dangerous: ReadonlyArray<string>
  readonly why: string
  /** True when an ask rule matched only possibly (it depends on run-time values). */
  readonly possibleAsk: boolean
}

const NONE: ReadonlyArray<string> = []
const NO_MATCHES: ReadonlyArray<RuleMatch> = []

/**
 * Classifies a segment as it runs in `dir`. With `withoutPossibleAsks`, ask rules that only possibly
 * match are left out (the world where the run-time values do not make them match).
 */
const classify = (env: Env, subject: Subject, dir: string, withoutPossibleAsks: boolean): Classified => {
  const detail = env.detail
  const matches: Array<RuleMatch> = []
  const notes: Array<string> = []
  const uncertain = subject.uncertain.length === 0 ? [] : [...subject.uncertain]
  const facts: Facts = { dir, lenient: undefined, strict: undefined, argumentPaths: undefined, argumentPathsMayMatch: undefined }
  let hardDeny: CompiledPrefix | null = null
  let possibleAsk = false
  const head = subject.argv[0]
  const headKey = head === undefined || head.dynamic || head.glob ? undefined : basename(head.value.toLowerCase())
  const isCommand = subject.kind === "command" && head !== undefined
  // 1. Hard-denied prefixes (shell commands only: W12).
  if (isCommand) {
    const list = headKey === undefined ? env.policy.denied : env.policy.deniedByHead.get(headKey)
    if (list !== undefined) {
      for (const p of list) {
        facts.lenient ??= prepareLenient(subject.argv)
        const c = lenientMatchPrepared(p.lenient, facts.lenient, subject.openEnded)
        if (c === "none") continue
        if (detail) matches.push(prefixMatch(p, "denied_prefix", c))
        if (c === "match" && hardDeny === null) hardDeny = p
        if (c === "possible") uncertain.push(`may match denied prefix rule '${p.text}' depending on run-time values`)
      }
    }
  }
  // 2. Typed rules.
  let winner: CompiledRule | null = null
  let winnerOn: RuleMatch["on"] = "tool"
  for (const r of candidateRules(env.policy, env.tool, subject.kind, head, headKey, env.trimmed)) {
    if (r.workspace !== null && r.workspace !== env.cwd) continue
    const crossTool = r.tool !== env.tool
    let certainty: RuleMatch["certainty"] = "match"
    let on: RuleMatch["on"] = "tool"
    if (r.command !== null) {
      if (subject.kind === "tool") {
        const words = env.plainWords ??= env.trimmed.toLowerCase().split(/\s+/)
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
          facts.strict ??= prepareStrict(subject.argv)
          const covered = strictMatchPrepared(r.command.strict, facts.strict)
          if (covered < 0) continue
          const risky = uncoveredRiskyFlag(subject.argv, covered)
          if (risky !== undefined) {
            if (detail) notes.push(`allow rule '${r.label}' does not cover ${risky}`)
            continue
          }
          on = "command"
        } else {
          facts.lenient ??= prepareLenient(subject.argv)
          const c = lenientMatchPrepared(r.command.lenient, facts.lenient, subject.openEnded)
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
        hit = argumentPathsMatch(env, subject, facts, r.path)
      }
      if (!hit) continue
      if (r.command === null) on = "path"
    } else if (r.command === null && subject.kind !== "command" && subject.kind !== "tool") {
      continue
    }
    if (detail) matches.push(ruleMatch(r, certainty, on))
    if (certainty === "possible") {
      if (r.action === "deny") {
        uncertain.push(`may match deny rule '${r.label}' depending on run-time values`)
        continue
      }
      // A possible ask still asks, unless not matching is stricter (judge weighs both worlds).
      if (withoutPossibleAsks) continue
      possibleAsk = true
    }
    if (winner === null || beats(r, winner)) {
      winner = r
      winnerOn = on
    }
  }
  // 3. Trusted prefixes, when no typed rule decided.
  let trusted: CompiledPrefix | null = null
  const needsOwnAllow = isCommand && !(subject.transparent && !subject.privileged)
  if (winner === null && needsOwnAllow && !head.dynamic && !head.glob) {
    const key = head.value.toLowerCase()
    const own = env.policy.trustedByHead.get(key)
    const byBase = key.includes("/") ? env.policy.trustedByHead.get(basename(key)) : undefined
    for (let l = 0; l < 2; l++) {
      const list = l === 0 ? own : byBase
      if (list === undefined) continue
      for (const p of list) {
        facts.strict ??= prepareStrict(subject.argv)
        const covered = strictMatchPrepared(p.strict, facts.strict)
        if (covered < 0) continue
        const risky = uncoveredRiskyFlag(subject.argv, covered)
        if (risky !== undefined) {
          if (detail) notes.push(`trusted prefix '${p.text}' does not cover ${risky}`)
          continue
        }
        if (detail) matches.push(prefixMatch(p, "trusted_prefix", "match"))
        if (trusted === null || p.order < trusted.order) trusted = p
      }
    }
  }
  let category: SegmentCategory
  if (hardDeny !== null) category = "denied_prefix"
  else if (winner !== null) category = winner.action === "deny" ? "denied_rule" : winner.action === "ask" ? "ask_rule" : "allowed"
  else if (trusted !== null) category = "trusted"
  else if (subject.kind === "command" && subject.transparent && !subject.privileged) category = "neutral"
  else if (subject.kind === "redirect") category = subject.writes ? "write" : "neutral"
  else if (subject.kind === "assignment") category = "neutral"
  else category = "unmatched"
  // The dangerous floor only matters to categories it can raise; `explain` lists it always.
  const floorApplies = category === "allowed" || category === "trusted" || category === "neutral" || category === "unmatched" ||
    category === "write"
  const dangerous = subject.kind === "tool" || !(detail || floorApplies) ? NONE : dangerReasons(subject as ShellSegment, env.cwd, env.home, dir)
  let why = ""
  if (detail) {
    matches.sort((a, b) => a.order - b.order)
    if (hardDeny !== null) {
      why = `denied prefix '${hardDeny.text}' matches; denied prefixes are checked before every other rule`
    } else if (winner !== null) {
      const w = winner
      const others = matches.filter((m) => m.kind === "rule" && m.certainty === "match" && m.order !== w.order).length
      why = `typed rule '${w.label}' wins (layer ${w.layer}, action ${w.action}, specificity ${w.specificity})` +
        (others > 0 ? ` over ${others} other matching rule${others > 1 ? "s" : ""}: layer > action > specificity > later listing` : "")
    } else if (trusted !== null) {
      why = `trusted prefix '${trusted.text}' matches`
    } else if (category === "neutral" && subject.kind === "command") {
      why = "a wrapper whose payload is evaluated as its own segment"
    } else if (subject.kind === "redirect") {
      why = subject.writes ? "no rule allows writing this file" : "reads a file no rule restricts"
    } else if (subject.kind === "assignment") {
      why = "a variable assignment"
    } else {
      why = "no rule matches"
    }
    if (notes.length > 0) why += ` (${notes.join("; ")})`
  }
  if (floorApplies) {
    if (dangerous.length > 0) category = "dangerous"
    else if (uncertain.length > 0) category = "uncertain"
  }
  const won: RuleMatch | null = hardDeny !== null
    ? prefixMatch(hardDeny, "denied_prefix", "match")
    : winner !== null
    ? ruleMatch(winner, "match", winnerOn)
    : trusted !== null
    ? prefixMatch(trusted, "trusted_prefix", "match")
    : null
  return {
    matches: detail ? matches : NO_MATCHES,
    winner: won,
    label: won?.label ?? null,
    category,
    uncertain,
    dangerous,
    why,
    possibleAsk
  }
}

const isReject = (m: AskForApproval): m is { readonly reject: { readonly sandbox_approval: boolean; readonly rules: boolean; readonly mcp_elicitations: boolean } } =>
  typeof m === "object"

interface ModeOutcome {
  readonly outcome: Outcome
  readonly reason: string
}

const ask = (reason: string): ModeOutcome => ({ outcome: "ask", reason })
const forbid = (reason: string): ModeOutcome => ({ outcome: "forbidden", reason })
const allow: ModeOutcome = { outcome: "allow", reason: "Execution allowed by policy." }

/** A prompt the reject mode may refuse. */
const rejectOrAsk = (mode: AskForApproval, mcp: boolean, reason: string): ModeOutcome => {
  if (isReject(mode)) {
    if (mode.reject.rules) return forbid(REASONS.rejectRules)
    if (mode.reject.sandbox_approval) return forbid(REASONS.rejectSandbox)
    if (mode.reject.mcp_elicitations && mcp) return forbid(REASONS.rejectMcp)
  }
  return ask(reason)
}

/** Applies the approval mode (and sandbox) to a category. */
const applyMode = (
  env: Env,
  subject: Subject,
  c: Classified
): ModeOutcome => {
  const mode = env.ctx.askForApproval
  const mcp = env.tool.startsWith("mcp__")
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
      return rejectOrAsk(mode, mcp, `${what} requires approval: ${detail}.`)
    }
    case "uncertain": {
      const detail = c.uncertain[0] ?? ""
      if (mode === "never") return forbid(`Command cannot be analysed with certainty, and approval policy is never: ${detail}.`)
      return rejectOrAsk(mode, mcp, `Command cannot be analysed with certainty and requires approval: ${detail}.`)
    }
    case "unmatched":
    case "write": {
      const reason = c.category === "write" ? `Writing to '${subject.target?.value ?? ""}' requires approval.` : REASONS.unmatched
      if (mode === "never") return allow
      if (mode === "on_failure") return env.ctx.sandboxMode === "danger-full-access" ? ask(reason) : allow
      return rejectOrAsk(mode, mcp, reason)
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

const toolSubject = (text: string): Subject => ({
  index: 0,
  kind: "tool",
  argv: [],
  text,
  via: "tool",
  wrappers: [],
  env: [],
  transparent: false,
  privileged: false,
  openEnded: false,
  target: null,
  writes: false,
  uncertain: [],
  dirs: START_DIRS
})

interface Judgement {
  readonly c: Classified
  readonly outcome: Outcome
  readonly reason: string
}

const judgeIn = (env: Env, subject: Subject, dir: string): Judgement => {
  const c = classify(env, subject, dir, false)
  const { outcome, reason } = applyMode(env, subject, c)
  const j = { c, outcome, reason }
  if (!c.possibleAsk) return j
  // An ask rule that matches only for some run-time values: the segment must be acceptable both
  // where it matches and where it does not (under reject with sandbox_approval, no match is stricter).
  const other = classify(env, subject, dir, true)
  const o = applyMode(env, subject, other)
  const k = { c: other, outcome: o.outcome, reason: o.reason }
  return rankOf(k) > rankOf(j) ? k : j
}

/**
 * A segment that may run in several directories (after a `cd`) must be acceptable in each: it is
 * judged in each one on its own, and the strictest judgement stands.
 */
const judge = (env: Env, subject: Subject): Judgement => {
  if (subject.dirs === START_DIRS) return judgeIn(env, subject, env.cwd)
  const dirs = [...new Set(subject.dirs.map((d) => resolveDir(d, env.cwd, env.home)))]
  let best = judgeIn(env, subject, dirs[0]!)
  let bestDir = dirs[0]!
  for (let i = 1; i < dirs.length; i++) {
    const here = judgeIn(env, subject, dirs[i]!)
    if (rankOf(here) > rankOf(best)) {
      best = here
      bestDir = dirs[i]!
    }
  }
  if (!env.detail || dirs.length < 2) return best
  return { ...best, c: { ...best.c, why: `${best.c.why} (when run in ${bestDir}, the strictest of ${dirs.join(", ")})` } }
}

const rankOf = (j: Judgement): number => SEVERITY[j.outcome] * 10 + PRIORITY[j.c.category]

/** Adds a path the context names (Windows separators accepted), resolved against `cwd`. */
const addContextPath = (into: Array<string>, p: string | undefined, cwd: string, home: string | undefined): void => {
  if (p !== undefined && p.trim() !== "") into.push(resolvePath(p, cwd, home, true))
}

/** The decision plus, with `detail`, everything `explain` shows; without it the segments are partial. */
const evaluateCall = (policy: CompiledPolicy, parser: BashParser, ctx: ExecPolicyContext, detail: boolean): Explanation => {
  const tool = ctx.tool ?? EXEC_SHELL
  const rawCwd = ctx.cwd.trim()
  const cwd = normalizeAbsolute(rawCwd.includes("\\") ? rawCwd.replaceAll("\\", "/") : rawCwd)
  const trimmed = ctx.command.trim()
  const home = ctx.home === undefined ? undefined : normalizeAbsolute(ctx.home)
  let subjects: Array<Subject>
  let chained = false
  let globalUncertain: ReadonlyArray<string> = []
  if (tool === EXEC_SHELL) {
    const analysis = analyseCommand(parser, ctx.command)
    chained = analysis.chained
    globalUncertain = analysis.uncertain
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
        uncertain: analysis.uncertain,
        dirs: START_DIRS
      })
    }
  } else {
    subjects = [toolSubject(trimmed)]
  }
  const ctxPaths: Array<string> = []
  addContextPath(ctxPaths, ctx.path, cwd, home)
  if (ctx.paths !== undefined) for (const p of ctx.paths) addContextPath(ctxPaths, p, cwd, home)
  if (tool !== EXEC_SHELL) for (const p of patchPaths(ctx.command)) addContextPath(ctxPaths, p, cwd, home)
  const env: Env = {
    policy,
    ctx,
    tool,
    cwd,
    home,
    trimmed,
    ctxPaths,
    chained,
    paths: new PathFacts(cwd, normalizeAbsolute(home ?? UNKNOWN_HOME)),
    detail,
    plainWords: undefined
  }
  const segments: Array<SegmentExplanation> = []
  let deciding = -1
  let bestRank = -1
  for (const subject of subjects) {
    const { c, outcome, reason } = judge(env, subject)
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
      contribution: detail ? describeMode(ctx.askForApproval, ctx.sandboxMode) : ""
    }
  }
}

/** Evaluates a call and explains the decision. */
export const explainCall = (policy: CompiledPolicy, parser: BashParser, ctx: ExecPolicyContext): Explanation =>
  evaluateCall(policy, parser, ctx, true)

/**
 * Evaluates a call for its decision only: the same evaluation as `explainCall`, without building
 * what only the explanation shows (every matching rule, why the winner won, the mode's description).
 */
export const decideCall = (policy: CompiledPolicy, parser: BashParser, ctx: ExecPolicyContext): ExecPolicyDecision =>
  evaluateCall(policy, parser, ctx, false).decision
