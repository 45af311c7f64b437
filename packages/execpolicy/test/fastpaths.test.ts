/**
 * The shortcuts taken for `check` speed agree with the plain definitions they replace: the arity
 * classification built without a word list against `classify`, and relative paths joined to a
 * normal directory without renormalising against the plain lexical normalisation, and display
 * quoting by a character table against the pattern it replaces, and the glob test of unquoted
 * words by a character scan against the pattern it replaces; a node's first named child read alone
 * against the first of its listed named children; a plain `command` node read from its text against
 * the same node read child by child.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { ARITY } from "../src/internal/commandTables.ts"
import { classify, classifyCommand } from "../src/internal/matchers.ts"
import { normalizeAbsolute, resolvePath } from "../src/internal/paths.ts"
import { SyntaxNode } from "../src/internal/syntax.ts"
import { analyseCommand } from "../src/internal/analyse.ts"
import { plainCommandWords, shellJoin, shellJoinWords, shellQuote, unquoteBare } from "../src/internal/words.ts"
import type { BashParser } from "../src/ShellParser.ts"
import { getParser } from "./helpers.ts"

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

let parser: BashParser
beforeAll(async () => {
  parser = await getParser()
})

const SCRIPTS = [
  "git status --short", "FOO=1 BAR=$x git push origin main > log.txt 2>&1", "echo \"$(ls -la src)\" | tee out/1.txt",
  "bash -lc 'cargo test && rm -rf build'", "cat <<< \"$HOME\" && cat <<'EOF'\nbody $x\nEOF", "for f in *.ts; do echo \"$f\"; done",
  "a=$(( 1 + 2 )); declare -x PATH=/bin; [ -f x ] && echo {a,b}c", "f() { rm -rf ~; }; f", "( cd src && ls ) || echo 'fail'",
  "git commit -m \"fix: issue 12\" --no-verify; echo $'a\\tb'", "if true; then echo x; fi"
]

describe("SyntaxNode.firstNamedChild", () => {
  it("is the first named child the node lists, for every node of varied scripts", () => {
    const visit = (node: SyntaxNode, fresh: (n: SyntaxNode) => SyntaxNode | undefined): void => {
      const first = fresh(node)
      const listed = node.namedChildren[0]
      expect(first?.type).toBe(listed?.type)
      expect(first?.text).toBe(listed?.text)
      for (const child of node.namedChildren) visit(child, fresh)
    }
    for (const script of SCRIPTS) {
      const parsed = parser.parse(script)
      expect(parsed).toBeDefined()
      if (parsed === undefined) continue
      try {
        // A second reader over the same tree asks for the first child before listing any children.
        const index = new Map<string, SyntaxNode | undefined>()
        const other = new SyntaxNode(parsed.root, script)
        const collect = (n: SyntaxNode, path: string): void => {
          index.set(path, n.firstNamedChild)
          n.namedChildren.forEach((c, i) => collect(c, `${path}/${i}`))
        }
        collect(other, "")
        const paths = new Map<SyntaxNode, string>()
        const number = (n: SyntaxNode, path: string): void => {
          paths.set(n, path)
          n.namedChildren.forEach((c, i) => number(c, `${path}/${i}`))
        }
        const root = new SyntaxNode(parsed.root, script)
        number(root, "")
        visit(root, (n) => index.get(paths.get(n)!))
      } finally {
        parsed.dispose()
      }
    }
  })
})

/** Tokens of generated command lines that the shortcut reads. */
const PLAIN_TOKENS = [
  "git", "status", "-m", "\"fix: a b\"", "'*.rs'", "HEAD~3", "a=b", "--port=3000", "\"\"", "''", "^x", "a%b", "@x", "1", "-5",
  "rm", "-rf", "bash", "-c", "'ls -la'", "\"x'y\"", "sudo", "env", "cd", "..", "echo", "'a\"b'", "x,y", "a:b", "./s.sh", "find",
  "-exec", "xargs", "eval", "'rm -rf /'", "timeout", "10", "x=~/y", "a:~/b", "--dir=~", "%1", ":", "-", "--"
]
/** Tokens that leave the shortcut (or change the tree around it). */
const OTHER_TOKENS = [
  "~/x", "~", "FOO=1", "\"$HOME\"", "\"a\\\"b\"", "'it'\"s\"", "x\"y\"", "#c", "é", "{a,b}", "*.ts", "a\\ b", "!", "2>&1", ">", "<",
  "|", "&&", ";", "$(ls)", "`ls`", "\"!x\"", "\n", "(", ")", "[", "]", "\\"
]
const arbToken = fc.oneof({ arbitrary: fc.constantFrom(...PLAIN_TOKENS), weight: 5 }, { arbitrary: fc.constantFrom(...OTHER_TOKENS), weight: 1 })

describe("plainCommandWords", () => {
  it("reads plain words and whole quoted strings, and nothing else", () => {
    expect(plainCommandWords("git commit -m \"fix: a b\" --port=3000 HEAD~3")?.map((w) => w.value)).toEqual([
      "git", "commit", "-m", "fix: a b", "--port=3000", "HEAD~3"
    ])
    expect(plainCommandWords("rg 'fn*' ''\tsrc")?.map((w) => w.value)).toEqual(["rg", "fn*", "", "src"])
    for (const text of ["FOO=1 git", "ls ~/x", "ls *.ts", "echo $HOME", "echo \"$HOME\"", "echo -m\"x\"", "echo a\\ b", "echo 'a", "ls {a,b}", "echo é", "echo #x", "echo \"a\nb\""]) {
      expect(plainCommandWords(text), text).toBeUndefined()
    }
  })

  it("gives the analysis that reading every command node child by child gives", async () => {
    const parser: BashParser = await getParser()
    fc.assert(
      fc.property(fc.array(arbToken, { minLength: 1, maxLength: 8 }), fc.array(fc.constantFrom(" ", "  ", "\t", ""), { minLength: 8, maxLength: 8 }), (tokens, gaps) => {
        const command = tokens.map((t, i) => (i === 0 ? "" : gaps[i]!) + t).join("")
        expect(analyseCommand(parser, command), command).toEqual(analyseCommand(parser, command, { readPlainText: false }))
      }),
      { numRuns: 4000 }
    )
  })
})
