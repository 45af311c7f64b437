/**
 * The shortcuts taken for `check` speed agree with the plain definitions they replace: the arity
 * classification built without a word list against `classify`, and relative paths joined to a
 * normal directory without renormalising against the plain lexical normalisation, and display
 * quoting by a character table against the pattern it replaces, and the glob test of unquoted
 * words by a character scan against the pattern it replaces.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { ARITY } from "../src/internal/commandTables.ts"
import { classify, classifyCommand } from "../src/internal/matchers.ts"
import { normalizeAbsolute, resolvePath } from "../src/internal/paths.ts"
import { shellJoin, shellJoinWords, shellQuote, unquoteBare } from "../src/internal/words.ts"

const HEADS = [...new Set([...ARITY.keys()].map((k) => k.split(" ")[0]!)), "ls", "rm", "bash", ""]
const WORDS = [...new Set([...ARITY.keys()].flatMap((k) => k.split(" ").slice(1))), "x", "-m", "\u0000", "", "run dev"]

describe("classifyCommand", () => {
  it("gives classify's answer for every head and positional words", () => {
    fc.assert(
      fc.property(fc.constantFrom(...HEADS), fc.array(fc.constantFrom(...WORDS), { maxLength: 5 }), (head, rest) => {
        expect(classifyCommand(head, rest)).toBe(classify([head, ...rest]))
      }),
      { numRuns: 5000 }
    )
  })
})

const PARTS = ["", "a", "b", ".", "..", "...", ".a", "src", "x.ts", "~"]
const arbPath = fc.array(fc.constantFrom(...PARTS), { maxLength: 5 }).map((p) => p.join("/"))

describe("resolvePath", () => {
  it("resolves a relative path as the lexical normalisation of directory/path, whatever the directory", () => {
    fc.assert(
      fc.property(fc.constantFrom("/", "/ws", "/home/dev/project", "/ws/", "/ws/./src", "/a/../b"), arbPath, (cwd, path) => {
        fc.pre(!path.startsWith("/") && !path.startsWith("~") && path.trim() === path)
        expect(resolvePath(path, cwd, "/home/u")).toBe(normalizeAbsolute(`${cwd}/${path}`))
        expect(resolvePath(path, "/home/dev/project", "/home/u")).toBe(normalizeAbsolute(`/home/dev/project/${path}`))
      }),
      { numRuns: 5000 }
    )
  })
})

describe("shellQuote", () => {
  it("leaves exactly the words of [A-Za-z0-9_@%+=:,./-] unquoted", () => {
    const plain = (value: string): string =>
      value === "" ? "''" : /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "Z", "0", "_", "-", "/", ".", " ", "'", "$", "*", "é", "日", "\n", "~", "!") }), (value) => {
        expect(shellQuote(value)).toBe(plain(value))
      }),
      { numRuns: 3000 }
    )
    const words = ["git", "it's", "", "a b"].map((value) => ({ value, dynamic: false, glob: false }))
    expect(shellJoinWords(words)).toBe(shellJoin(words.map((w) => w.value)))
  })
})

describe("unquoteBare", () => {
  it("notes a glob exactly when an unescaped *, ? or [ is left", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "*", "?", "[", "]", "\\", "/", ".") }), (text) => {
        const { value, glob } = unquoteBare(text)
        if (!text.includes("\\")) {
          expect(value).toBe(text)
          expect(glob).toBe(/[*?[]/.test(text))
        } else {
          expect(glob).toBe(/(?:^|[^\\])(?:\\\\)*[*?[]/.test(text))
        }
      }),
      { numRuns: 3000 }
    )
  })
})
