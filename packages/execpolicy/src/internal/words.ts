import type { ShellWord } from "../Segments.ts"
import type { SyntaxNode } from "./syntax.ts"

/** A word plus whether it carries unquoted brace-expansion syntax. */
export interface RawWord extends ShellWord {
  readonly braces: boolean
}

const word = (value: string, dynamic: boolean, glob: boolean, braces = false): RawWord => ({ value, dynamic, glob, braces })

/** Removes backslash escapes from unquoted text and notes unquoted glob characters. */
export const unquoteBare = (text: string): { readonly value: string; readonly glob: boolean } => {
  let plain = true
  let globChar = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 92) {
      plain = false
      break
    }
    if (c === 42 || c === 63 || c === 91) globChar = true
  }
  if (plain) return { value: text, glob: globChar }
  let out = ""
  let glob = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === "\\") {
      const next = text[i + 1]
      if (next === undefined) break
      i++
      if (next !== "\n") out += next
      continue
    }
    if (c === "*" || c === "?" || c === "[") glob = true
    out += c
  }
  return { value: out, glob }
}

const unescapeDouble = (text: string): string => {
  if (!text.includes("\\")) return text
  let out = ""
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    const next = text[i + 1]
    if (c === "\\" && next !== undefined && (next === "$" || next === "`" || next === "\"" || next === "\\" || next === "\n")) {
      i++
      if (next !== "\n") out += next
      continue
    }
    out += c
  }
  return out
}

const C_ESCAPES: Readonly<Record<string, string>> = {
  n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", e: "\x1b", E: "\x1b", f: "\f", v: "\v", "\\": "\\", "'": "'", "\"": "\"", "?": "?"
}

/** Decodes the body of a `$'…'` string. */
export const decodeAnsiC = (body: string): string => {
  let out = ""
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!
    if (c !== "\\" || i + 1 >= body.length) {
      out += c
      continue
    }
    const n = body[++i]!
    const simple = C_ESCAPES[n]
    if (simple !== undefined) {
      out += simple
    } else if (n === "x") {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1))?.[0] ?? ""
      out += hex === "" ? "\\x" : String.fromCharCode(parseInt(hex, 16))
      i += hex.length
    } else if (n >= "0" && n <= "7") {
      const oct = /^[0-7]{1,3}/.exec(body.slice(i))?.[0] ?? n
      out += String.fromCharCode(parseInt(oct, 8))
      i += oct.length - 1
    } else if (n === "u" || n === "U") {
      const hex = /^[0-9a-fA-F]{1,8}/.exec(body.slice(i + 1))?.[0] ?? ""
      const cp = hex === "" ? NaN : parseInt(hex, 16)
      out += Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : `\\${n}`
      i += hex.length
    } else {
      out += "\\" + n
    }
  }
  return out
}

const DYNAMIC_TYPES = new Set([
  "simple_expansion", "expansion", "command_substitution", "process_substitution", "arithmetic_expansion",
  "brace_expression"
])

/** The value of a shell word node (word, string, raw_string, concatenation, expansion, …). */
export const wordOf = (node: SyntaxNode): RawWord => {
  switch (node.type) {
    case "word": {
      const u = unquoteBare(node.text)
      return word(u.value, false, u.glob)
    }
    case "number":
    case "variable_name":
    case "file_descriptor":
    case "test_operator":
      return word(node.text, false, false)
    case "raw_string": {
      const t = node.text
      return word(t.slice(1, t.length - 1), false, false)
    }
    case "ansi_c_string": {
      const t = node.text
      return word(decodeAnsiC(t.slice(2, t.length - 1)), false, false)
    }
    case "string":
    case "translated_string": {
      let value = ""
      let dynamic = false
      for (const child of node.namedChildren) {
        if (child.type === "string_content") value += unescapeDouble(child.text)
        else {
          value += child.text
          if (DYNAMIC_TYPES.has(child.type)) dynamic = true
        }
      }
      return word(value, dynamic, false)
    }
    case "concatenation": {
      let value = ""
      let dynamic = false
      let glob = false
      let open = false
      let comma = false
      for (const child of node.namedChildren) {
        const w = wordOf(child)
        if (child.type === "word") {
          if (w.value === "{") open = true
          if (open && w.value.includes(",")) comma = true
        }
        value += w.value
        dynamic ||= w.dynamic
        glob ||= w.glob
      }
      return word(value, dynamic, glob, open && comma)
    }
    default:
      return word(node.text, true, false)
  }
}

/** Character codes of a plain unquoted word character (`[A-Za-z0-9_@%+=:,./^-]`, and `~` past a word's start); 2 marks a blank. */
const PLAIN_CHAR = (() => {
  const table = new Uint8Array(128)
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./^-") table[c.charCodeAt(0)] = 1
  table[32] = 2
  table[9] = 2
  return table
})()

/**
 * The words of a `command` node's source text when that text holds nothing but plain words and
 * whole quoted strings separated by blanks: no expansion, substitution, glob, brace, escape, tilde
 * at a word's start, comment, redirection, assignment or non-ASCII character. Then every word's value
 * is its text (or the body of its quotes), exactly what `wordOf` reads from the children one by one,
 * so the analysis can skip reading them from the tree. Anything else gives `undefined`: the caller
 * reads the children. Only for text tree-sitter already parsed as one `command` node.
 */
export const plainCommandWords = (text: string): Array<RawWord> | undefined => {
  const out: Array<RawWord> = []
  const n = text.length
  let i = 0
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 32 || c === 9) {
      i++
      continue
    }
    if (c === 34 || c === 39) {
      const end = text.indexOf(c === 34 ? "\"" : "'", i + 1)
      if (end < 0) return undefined
      for (let j = i + 1; j < end; j++) {
        const q = text.charCodeAt(j)
        if (q >= 128 || q === 10 || (c === 34 && (q === 36 || q === 96 || q === 92 || q === 33))) return undefined
      }
      const after = end + 1 < n ? text.charCodeAt(end + 1) : 32
      if (after !== 32 && after !== 9) return undefined
      out.push(word(text.slice(i + 1, end), false, false))
      i = end + 1
      continue
    }
    const start = i
    while (i < n) {
      const k = text.charCodeAt(i)
      if (k >= 128) return undefined
      const kind = PLAIN_CHAR[k]!
      if (kind === 2) break
      if (kind === 0 && (k !== 126 || i === start)) return undefined
      i++
    }
    out.push(word(text.slice(start, i), false, false))
  }
  const head = out[0]
  return head === undefined || head.value.includes("=") ? undefined : out
}

const MAX_BRACE_WORDS = 64

/** Bash brace expansion of comma alternatives (`{a,b}c` → `ac bc`); sequences are left as they are. */
export const expandBraces = (text: string): ReadonlyArray<string> => {
  let depth = 0
  let start = -1
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === "{") {
      if (depth === 0) start = i
      depth++
    } else if (c === "}" && depth > 0) {
      depth--
      if (depth === 0) {
        const body = text.slice(start + 1, i)
        const parts: Array<string> = []
        let d = 0
        let last = 0
        for (let j = 0; j < body.length; j++) {
          const b = body[j]
          if (b === "{") d++
          else if (b === "}") d--
          else if (b === "," && d === 0) {
            parts.push(body.slice(last, j))
            last = j + 1
          }
        }
        if (parts.length === 0) continue
        parts.push(body.slice(last))
        const prefix = text.slice(0, start)
        const rest = expandBraces(text.slice(i + 1))
        const out: Array<string> = []
        for (const p of parts) {
          for (const inner of expandBraces(p)) {
            for (const r of rest) {
              if (out.length >= MAX_BRACE_WORDS) return out
              out.push(prefix + inner + r)
            }
          }
        }
        return out
      }
    }
  }
  return [text]
}

/** Character codes that need no quoting (`[A-Za-z0-9_@%+=:,./-]`). */
const SAFE_CHAR = (() => {
  const table = new Uint8Array(128)
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") table[c.charCodeAt(0)] = 1
  return table
})()

const isSafeWord = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c >= 128 || SAFE_CHAR[c] === 0) return false
  }
  return true
}

/** Quotes a value for display so that it reads back as one shell word. */
export const shellQuote = (value: string): string =>
  value === "" ? "''" : isSafeWord(value) ? value : `'${value.replaceAll("'", "'\\''")}'`

/** Joins argv values into a display string. */
export const shellJoin = (values: ReadonlyArray<string>): string => {
  let out = ""
  for (let i = 0; i < values.length; i++) out += (i === 0 ? "" : " ") + shellQuote(values[i]!)
  return out
}

/** `shellJoin` of the words' values. */
export const shellJoinWords = (words: ReadonlyArray<ShellWord>): string => {
  let out = ""
  for (let i = 0; i < words.length; i++) out += (i === 0 ? "" : " ") + shellQuote(words[i]!.value)
  return out
}

/** The last path component of a command name (`/usr/bin/git` → `git`). */
export const basename = (value: string): string => {
  const i = value.lastIndexOf("/")
  return i < 0 ? value : value.slice(i + 1)
}
