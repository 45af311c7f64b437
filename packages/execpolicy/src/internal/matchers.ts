/**
 * How rule text meets an argv. Rules that restrict (denied prefixes, typed deny and ask rules) match
 * generously: binaries named by path, flags anywhere and in any spelling (`-rf`, `-fr`, `-r -f`,
 * `--recursive --force`), options with values before the subcommand, globs and brace expansions,
 * normalised path operands. Rules that permit (trusted prefixes, typed allow rules) match narrowly:
 * the seed's word-prefix and arity semantics on static words only, and never over a risky flag the
 * rule does not spell out.
 */
import type { ShellWord } from "../Segments.ts"
import { ARITY, RISKY_FLAGS } from "./commandTables.ts"
import { basename } from "./words.ts"

/** Splits rule text into words (whitespace, single and double quotes, backslash escapes). */
export const splitRuleWords = (text: string): Array<string> => {
  const out: Array<string> = []
  let cur = ""
  let has = false
  let quote: "'" | "\"" | null = null
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote !== null) {
      if (c === quote) quote = null
      else if (c === "\\" && quote === "\"" && i + 1 < text.length) cur += text[++i]
      else cur += c
      continue
    }
    if (c === "'" || c === "\"") {
      quote = c
      has = true
    } else if (c === "\\" && i + 1 < text.length) {
      cur += text[++i]
      has = true
    } else if (/\s/.test(c)) {
      if (has) out.push(cur)
      cur = ""
      has = false
    } else {
      cur += c
      has = true
    }
  }
  if (has) out.push(cur)
  return out
}

const LONG_ALIASES: Readonly<Record<string, string>> = {
  "--recursive": "-r",
  "--force": "-f",
  "--interactive": "-i",
  "--verbose": "-v",
  "--dir": "-d"
}

/** Canonical flags of one flag word: short clusters split, long aliases folded, case folded. */
export const canonicalFlags = (token: string): Array<string> => {
  const t = token.toLowerCase()
  if (t.startsWith("--")) {
    const eq = t.indexOf("=")
    const name = eq < 0 ? t : t.slice(0, eq)
    const alias = LONG_ALIASES[name]
    if (alias !== undefined) return [alias]
    return eq < 0 ? [t] : [name, t]
  }
  if (/^-[a-z]+$/.test(t)) return [...t.slice(1)].map((c) => `-${c}`)
  return [t]
}

const SHORT_FLAG_CLUSTER = /^-[a-z]+$/

/** Adds `canonicalFlags(token)` to `into` (for a lowercased token) without building the list. */
const addCanonicalFlags = (lower: string, into: Set<string>): void => {
  if (lower.startsWith("--") || !SHORT_FLAG_CLUSTER.test(lower)) {
    for (const f of canonicalFlags(lower)) into.add(f)
    return
  }
  if (lower.length === 2) {
    into.add(lower)
    return
  }
  for (let i = 1; i < lower.length; i++) into.add("-" + lower[i])
}

/** Normalises a path-looking operand for comparison (`//`, `/./`, trailing `/`, `~/`). */
export const normalizeOperand = (value: string): string => {
  if (!(value.includes("/") || value === "~" || value === "." || value === "..")) return value
  const absolute = value.startsWith("/")
  const parts: Array<string> = []
  for (const p of value.split("/")) {
    if (p === "" || (p === "." && (parts.length > 0 || absolute))) continue
    if (p === ".." && absolute && parts.length === 0) continue
    if (p === ".." && parts.length > 0 && parts[parts.length - 1] !== ".." && parts[parts.length - 1] !== "~") {
      parts.pop()
      continue
    }
    parts.push(p)
  }
  const joined = parts.join("/")
  return absolute ? "/" + joined : joined === "" ? "." : joined
}

const globRegexCache = new Map<string, RegExp>()

/** Tests a shell glob (from a command word) against a literal string. */
export const shellGlobMatches = (glob: string, literal: string): boolean => {
  let re = globRegexCache.get(glob)
  if (re === undefined) {
    let src = ""
    for (let i = 0; i < glob.length; i++) {
      const c = glob[i]!
      if (c === "*") src += ".*"
      else if (c === "?") src += "."
      else if (c === "[") {
        const end = glob.indexOf("]", i + 2)
        if (end < 0) src += "\\["
        else {
          let body = glob.slice(i + 1, end)
          if (body.startsWith("!")) body = "^" + body.slice(1)
          src += "[" + body.replace(/\\/g, "\\\\") + "]"
          i = end
        }
      } else src += c.replace(/[.+^$(){}|\\\]]/g, "\\$&")
    }
    re = new RegExp("^" + src + "$", "i")
    if (globRegexCache.size > 1000) globRegexCache.clear()
    globRegexCache.set(glob, re)
  }
  return re.test(literal)
}

/** A restricting rule compiled for generous matching. */
export interface LenientPattern {
  readonly head: string
  readonly headHasSlash: boolean
  readonly positionals: ReadonlyArray<string>
  readonly flags: ReadonlyArray<string>
}

/** Compiles rule words for generous matching. */
export const compileLenient = (words: ReadonlyArray<string>): LenientPattern => {
  const head = (words[0] ?? "").toLowerCase()
  const positionals: Array<string> = []
  const flags: Array<string> = []
  let endOfOptions = false
  for (const w of words.slice(1)) {
    if (!endOfOptions && w === "--") {
      endOfOptions = true
      continue
    }
    if (!endOfOptions && w.startsWith("-") && w.length > 1) flags.push(...canonicalFlags(w))
    else positionals.push(normalizeOperand(w.toLowerCase()))
  }
  return { head, headHasSlash: head.includes("/"), positionals, flags }
}

/** Outcome of a generous match. `possible`: only run-time values or appended arguments decide. */
export type Certainty = "match" | "possible" | "none"

const better = (a: Certainty, b: Certainty): Certainty => (a === "match" || b === "match" ? "match" : a === "possible" || b === "possible" ? "possible" : "none")

/** One argument word as the generous matcher sees it. */
export interface Token {
  readonly value: string
  readonly flag: boolean
  readonly wild: boolean
  readonly glob: boolean
  readonly hasEq: boolean
  /** `normalizeOperand(value)`, computed on first comparison. */
  norm: string | undefined
}

const tokenEquals = (t: Token, rule: string): boolean => {
  if (t.value === rule) return true
  const norm = t.norm ??= normalizeOperand(t.value)
  if (norm === rule) return true
  if (t.glob) {
    if (shellGlobMatches(t.value, rule)) return true
    // `/*` covers everything inside `/`, `~/*` everything inside `~`.
    if (t.value.endsWith("/*") && normalizeOperand(t.value.slice(0, -2) || "/") === rule) return true
  }
  return false
}

/** The command-name test shared by both matchers (`/bin/rm` is `rm` unless the rule names a path). */
const headMatches = (headWord: ShellWord, pattern: LenientPattern): Certainty => {
  if (headWord.dynamic) return "possible"
  const v = headWord.value.toLowerCase()
  if (v === pattern.head) return "match"
  const base = basename(v)
  if (!pattern.headHasSlash && base === pattern.head) return "match"
  if (headWord.glob) {
    if (shellGlobMatches(v, pattern.head) || (!pattern.headHasSlash && shellGlobMatches(basename(v), pattern.head))) {
      return "match"
    }
  }
  return "none"
}

/** An argv prepared once for every generous match against it (lowercased tokens and canonical flags). */
export interface LenientArgv {
  readonly first: ShellWord | undefined
  readonly tokens: ReadonlyArray<Token>
  readonly flags: ReadonlySet<string>
  /** Some argument is only known at run time. */
  readonly wild: boolean
}

/** Prepares an argv for `lenientMatchPrepared`. */
export const prepareLenient = (argv: ReadonlyArray<ShellWord>): LenientArgv => {
  const tokens: Array<Token> = []
  const flags = new Set<string>()
  let wild = false
  let endOfOptions = false
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!
    const lower = w.value.toLowerCase()
    if (!endOfOptions && lower === "--") {
      endOfOptions = true
      continue
    }
    const isFlag = !endOfOptions && !w.dynamic && lower.startsWith("-") && lower.length > 1
    if (isFlag) addCanonicalFlags(lower, flags)
    if (w.dynamic) wild = true
    tokens.push({ value: lower, flag: isFlag, wild: w.dynamic, glob: w.glob, hasEq: lower.includes("="), norm: undefined })
  }
  return { first: argv[0], tokens, flags, wild }
}

const CERTAINTY: ReadonlyArray<Certainty> = ["none", "none", "possible", "match"]
const CODE: Readonly<Record<Certainty, number>> = { none: 1, possible: 2, match: 3 }

/** Memo of `matchPositionals` (0: not computed yet), reused by every call: matching never re-enters. */
let memo = new Uint8Array(256)

const matchPositionals = (
  rp: ReadonlyArray<string>,
  tokens: ReadonlyArray<Token>,
  openEnded: boolean,
  ri: number,
  ci: number
): Certainty => {
  if (ri === rp.length) return "match"
  if (ci >= tokens.length) return openEnded ? "possible" : "none"
  const key = ri * tokens.length + ci
  const cached = memo[key]!
  if (cached !== 0) return CERTAINTY[cached]!
  const t = tokens[ci]!
  let result: Certainty
  if (t.flag) {
    result = matchPositionals(rp, tokens, openEnded, ri, ci + 1)
    if (result !== "match" && !t.hasEq && ci + 1 < tokens.length && !tokens[ci + 1]!.flag) {
      result = better(result, matchPositionals(rp, tokens, openEnded, ri, ci + 2))
    }
  } else if (t.wild) {
    const r = matchPositionals(rp, tokens, openEnded, ri + 1, ci + 1)
    result = r === "none" ? "none" : "possible"
  } else {
    result = tokenEquals(t, rp[ri]!) ? matchPositionals(rp, tokens, openEnded, ri + 1, ci + 1) : "none"
  }
  memo[key] = CODE[result]
  return result
}

const matchAllPositionals = (rp: ReadonlyArray<string>, tokens: ReadonlyArray<Token>, openEnded: boolean): Certainty => {
  const size = rp.length * tokens.length
  if (memo.length < size) memo = new Uint8Array(size)
  else memo.fill(0, 0, size)
  return matchPositionals(rp, tokens, openEnded, 0, 0)
}

/** `lenientMatch` over an argv prepared with `prepareLenient`. */
export const lenientMatchPrepared = (pattern: LenientPattern, argv: LenientArgv, openEnded: boolean): Certainty => {
  const first = argv.first
  if (first === undefined) return "none"
  const head = headMatches(first, pattern)
  if (head === "none") return "none"
  let flagCertainty: Certainty = "match"
  for (const f of pattern.flags) {
    if (!argv.flags.has(f)) {
      flagCertainty = argv.wild || openEnded ? "possible" : "none"
      if (flagCertainty === "none") return "none"
    }
  }
  const pos = pattern.positionals.length === 0 ? "match" : matchAllPositionals(pattern.positionals, argv.tokens, openEnded)
  if (pos === "none") return "none"
  if (head === "possible" || flagCertainty === "possible" || pos === "possible") return "possible"
  return "match"
}

/**
 * Generous match of a restricting rule against an argv. `openEnded`: more arguments are appended at
 * run time (xargs, find -exec), so a rule that needs more words is a possible match.
 */
export const lenientMatch = (pattern: LenientPattern, argv: ReadonlyArray<ShellWord>, openEnded: boolean): Certainty =>
  lenientMatchPrepared(pattern, prepareLenient(argv), openEnded)

/** A permitting rule compiled for narrow matching. */
export interface StrictPattern {
  readonly words: ReadonlyArray<string>
  readonly joined: string
}

/** Compiles rule words for narrow matching. */
export const compileStrict = (words: ReadonlyArray<string>): StrictPattern => {
  const lower = words.map((w) => w.toLowerCase())
  return { words: lower, joined: lower.join(" ") }
}

const SYSTEM_BIN = /^\/(?:usr\/(?:local\/)?)?s?bin\/[^/]+$|^\/opt\/homebrew\/bin\/[^/]+$/

/** The seed's `classify`: flags dropped, longest arity-table prefix, else the first word. */
export const classify = (positional: ReadonlyArray<string>): string => {
  if (positional.length === 0) return ""
  for (let depth = Math.min(3, positional.length); depth >= 1; depth--) {
    const arity = ARITY.get(positional.slice(0, depth).join(" "))
    if (arity !== undefined) return positional.slice(0, Math.min(arity, positional.length)).join(" ")
  }
  return positional[0]!
}

/** How many words the longest key of the arity table has. */
const ARITY_MAX_WORDS = (() => {
  let most = 0
  for (const key of ARITY.keys()) most = Math.max(most, key.split(" ").length)
  return most
})()

/**
 * `classify([head, ...rest])` without building the word list: each key of the arity table is
 * joined from the words it needs, and depths longer than the table's longest key are not tried.
 */
export const classifyCommand = (head: string, rest: ReadonlyArray<string>): string => {
  const count = rest.length + 1
  let key = head
  let found = 0
  let arity = ARITY.get(key)
  if (arity !== undefined) found = 1
  const deepest = Math.min(3, count, ARITY_MAX_WORDS)
  for (let depth = 2; depth <= deepest; depth++) {
    key += " " + rest[depth - 2]!
    const a = ARITY.get(key)
    if (a !== undefined) {
      arity = a
      found = depth
    }
  }
  if (found === 0 || arity === undefined) return head
  const take = Math.min(arity, count)
  let out = head
  for (let i = 1; i < take; i++) out += " " + rest[i - 1]!
  return out
}

/** An argv prepared once for every narrow match against it. */
export interface StrictArgv {
  /** The lowercased command name, or null when it is dynamic or a glob (nothing matches). */
  readonly head: string | null
  /** The command name's basename when it names a system binary directory (`/usr/bin/git`), else null. */
  readonly systemBase: string | null
  /** Lowercased static words (index 0 unused), null where a word is dynamic or a glob. */
  readonly words: ReadonlyArray<string | null>
  /** Positional words after the name (flags dropped; `\u0000` for dynamic or glob words). */
  readonly positional: ReadonlyArray<string>
  /** `classify` of `[head, ...positional]`, computed on first use. */
  classifiedHead: string | undefined
  /** `classify` of `[systemBase, ...positional]`, computed on first use. */
  classifiedBase: string | undefined
}

/** Prepares an argv for `strictMatchPrepared`. */
export const prepareStrict = (argv: ReadonlyArray<ShellWord>): StrictArgv => {
  const first = argv[0]
  const words: Array<string | null> = [null]
  const positional: Array<string> = []
  if (first === undefined || first.dynamic || first.glob) {
    return { head: null, systemBase: null, words, positional, classifiedHead: undefined, classifiedBase: undefined }
  }
  const head = first.value.toLowerCase()
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!
    words.push(w.dynamic || w.glob ? null : w.value.toLowerCase())
    if (!w.dynamic && w.value.startsWith("-") && w.value.length > 1) continue
    positional.push(w.dynamic || w.glob ? "\u0000" : w.value.toLowerCase())
  }
  const systemBase = head.charCodeAt(0) === 47 && SYSTEM_BIN.test(head) ? basename(head) : null
  return { head, systemBase, words, positional, classifiedHead: undefined, classifiedBase: undefined }
}

/** `strictMatch` over an argv prepared with `prepareStrict`. */
export const strictMatchPrepared = (pattern: StrictPattern, argv: StrictArgv): number => {
  if (argv.head === null || pattern.words.length === 0) return -1
  const want = pattern.words[0]!
  const base = argv.systemBase
  const byBase = argv.head !== want && base !== null
  const head = byBase ? base : argv.head
  if (head !== want) return -1
  // Word prefix (the seed's fallback): the rule's words, in order, at the start.
  if (argv.words.length >= pattern.words.length) {
    let ok = true
    for (let i = 1; i < pattern.words.length; i++) {
      if (argv.words[i] !== pattern.words[i]) {
        ok = false
        break
      }
    }
    if (ok) return pattern.words.length
  }
  // Arity class (the seed's primary test): flags dropped, first positional words equal the rule.
  const c = byBase
    ? (argv.classifiedBase ??= classifyCommand(head, argv.positional))
    : (argv.classifiedHead ??= classifyCommand(head, argv.positional))
  return c === pattern.joined ? 1 : -1
}

/**
 * Narrow match of a permitting rule. Returns how many leading argv words the rule covers (the rest
 * are checked for risky flags), or -1 when it does not match. Words must be static.
 */
export const strictMatch = (pattern: StrictPattern, argv: ReadonlyArray<ShellWord>): number =>
  strictMatchPrepared(pattern, prepareStrict(argv))

/** Risky flags among the words a permitting rule did not cover (weakness W4), or undefined. */
export const uncoveredRiskyFlag = (argv: ReadonlyArray<ShellWord>, covered: number): string | undefined => {
  const first = argv[0]
  if (first === undefined) return undefined
  const risky = RISKY_FLAGS.get(basename(first.value).toLowerCase())
  if (risky === undefined) return undefined
  for (let i = Math.max(1, covered); i < argv.length; i++) {
    const w = argv[i]!
    if (w.dynamic) return w.value
    const v = w.value
    if (!v.startsWith("-") || v.length < 2) continue
    if (v.startsWith("--")) {
      const eq = v.indexOf("=")
      if (risky.long.includes(eq < 0 ? v : v.slice(0, eq))) return v
      continue
    }
    if (risky.words.includes(v)) return v
    if (risky.words.length === 0 && /^-[A-Za-z]/.test(v)) {
      for (const c of v.slice(1)) if (risky.short.includes(c)) return v
    }
  }
  return undefined
}
