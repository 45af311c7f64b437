/**
 * Turns a command line into the list of everything that will execute, using tree-sitter-bash.
 * Every `command` node anywhere in the tree is a segment (chains, pipelines, subshells, groups,
 * loops, substitutions, here-doc bodies, assignment values, …). Wrappers are unwrapped (the wrapper
 * and its payload are both segments), `bash -c` / `eval` / `trap` / `watch` / `su -c` scripts and
 * static here-docs fed to a shell are parsed recursively, `xargs` and `find -exec` payloads are
 * segments with open-ended arguments, and redirections are segments of their own.
 */
import type { ShellAnalysis, ShellSegment, ShellWord, SegmentKind, SegmentVia } from "../Segments.ts"
import type { BashParser } from "../ShellParser.ts"
import { DANGEROUS_ENV, SHELLS, WRAPPERS, type WrapperSpec } from "./commandTables.ts"
import { SyntaxNode } from "./syntax.ts"
import { basename, expandBraces, plainCommandWords, shellJoin, shellJoinWords, wordOf, type RawWord } from "./words.ts"

/** Deepest nesting of substitutions and nested scripts that is analysed. */
export const MAX_DEPTH = 8
/** Most segments analysed for one command line. */
export const MAX_SEGMENTS = 256

type Stdin =
  | { readonly kind: "none" }
  | { readonly kind: "pipe" }
  | { readonly kind: "script"; readonly text: string | null }

interface Frame {
  readonly depth: number
  readonly via: SegmentVia
  readonly wrappers: ReadonlyArray<string>
  readonly stdin: Stdin
  readonly openEnded: boolean
}

interface Redirect {
  readonly writes: boolean
  readonly target: ShellWord
  readonly extraArgs: ReadonlyArray<ShellWord>
}

/** The directories a segment with no `cd` before it may run in: only the starting one. */
export const START_DIRS: ReadonlyArray<ReadonlyArray<string>> = [[]]
/** Most distinct directories tracked for one command line; more makes later paths uncertain. */
export const MAX_DIRS = 16

/** A frame; every frame is built here, so all share one object shape. */
const makeFrame = (depth: number, via: SegmentVia, wrappers: ReadonlyArray<string>, stdin: Stdin, openEnded: boolean): Frame => ({
  depth,
  via,
  wrappers,
  stdin,
  openEnded
})

/** `frame` with another stdin (the frame itself when the stdin is the same: frames are never changed). */
const withStdin = (frame: Frame, stdin: Stdin): Frame =>
  frame.stdin === stdin ? frame : makeFrame(frame.depth, frame.via, frame.wrappers, stdin, frame.openEnded)

const NO_STDIN: Stdin = { kind: "none" }
/** The empty list a segment without env prefixes or uncertainty shares (segments are never changed). */
const NO_STRINGS: ReadonlyArray<string> = Object.freeze([])
const PIPE: Stdin = { kind: "pipe" }

const NEUTRAL_WRITE_TARGETS = new Set(["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"])
const WRITE_OPS = new Set([">", ">>", "&>", "&>>", ">|", "<>"])
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/

const toWords = (raw: ReadonlyArray<RawWord>): Array<ShellWord> => {
  const out: Array<ShellWord> = []
  for (const w of raw) {
    if (w.braces && !w.dynamic) {
      for (const value of expandBraces(w.value)) out.push({ value, dynamic: false, glob: w.glob })
    } else {
      out.push({ value: w.value, dynamic: w.dynamic, glob: w.glob })
    }
  }
  return out
}

class Analyser {
  readonly segments: Array<ShellSegment> = []
  readonly uncertain: Array<string> = []
  readonly cdTargets: Array<string> = []
  /** Where the shell may be now (see `ShellSegment.dirs`); replaced, never mutated. */
  dirs: ReadonlyArray<ReadonlyArray<string>> = START_DIRS
  private group = 0
  private full = false

  constructor(private readonly parser: BashParser, private readonly readPlainText: boolean) {}

  note(reason: string): void {
    if (!this.uncertain.includes(reason)) this.uncertain.push(reason)
  }

  newGroup(): number {
    return ++this.group
  }

  emit(
    kind: SegmentKind,
    group: number,
    argv: ReadonlyArray<ShellWord>,
    frame: Frame,
    extra: {
      readonly env?: ReadonlyArray<string>
      readonly transparent?: boolean
      readonly privileged?: boolean
      readonly uncertain?: ReadonlyArray<string>
      readonly target?: ShellWord
      readonly writes?: boolean
      readonly text?: string
    }
  ): void {
    if (this.segments.length >= MAX_SEGMENTS) {
      if (!this.full) this.note(`more than ${MAX_SEGMENTS} commands`)
      this.full = true
      return
    }
    this.segments.push({
      index: this.segments.length,
      group,
      kind,
      argv,
      text: extra.text ?? shellJoinWords(argv),
      env: extra.env ?? NO_STRINGS,
      wrappers: frame.wrappers,
      via: frame.via,
      transparent: extra.transparent ?? false,
      privileged: extra.privileged ?? false,
      openEnded: frame.openEnded,
      target: extra.target ?? null,
      writes: extra.writes ?? false,
      uncertain: extra.uncertain ?? NO_STRINGS,
      dirs: this.dirs
    })
  }

  /** After a static `cd target`: the shell may now also be in `target` relative to where it was. */
  changeDir(target: string): void {
    const next = [...this.dirs]
    const seen = new Set(next.map((d) => d.join("\0")))
    for (const d of this.dirs) {
      const moved = [...d, target]
      const key = moved.join("\0")
      if (seen.has(key)) continue
      if (next.length >= MAX_DIRS) {
        this.note(`changes directory in more than ${MAX_DIRS} ways`)
        break
      }
      seen.add(key)
      next.push(moved)
    }
    this.dirs = next
  }

  /** Walks a part that runs in a subshell: a `cd` inside it does not move the rest of the line. */
  isolated(node: SyntaxNode, frame: Frame): void {
    const dirs = this.dirs
    this.walk(node, frame)
    this.dirs = dirs
  }

  /**
   * Walks a loop: a later iteration runs where an earlier one left the shell, so when the body
   * changes directory every segment of the loop may run in every directory the loop reaches.
   */
  loop(node: SyntaxNode, frame: Frame): void {
    const before = this.dirs
    const first = this.segments.length
    this.children(node, frame)
    if (this.dirs === before) return
    for (let i = first; i < this.segments.length; i++) this.segments[i] = { ...this.segments[i]!, dirs: this.dirs }
  }

  /** Parses and walks a nested script (`bash -c`, `eval`, here-doc to a shell). */
  script(text: string, frame: Frame): void {
    if (frame.depth >= MAX_DEPTH) {
      this.note(`nesting deeper than ${MAX_DEPTH} levels`)
      return
    }
    const parsed = this.parser.parse(text)
    if (parsed === undefined) {
      this.note("a nested script could not be parsed")
      return
    }
    try {
      const root = new SyntaxNode(parsed.root, text)
      if (root.hasError) this.note("a nested script does not parse cleanly")
      this.walk(root, makeFrame(frame.depth + 1, frame.via, frame.wrappers, NO_STDIN, frame.openEnded))
    } catch {
      // Reading the tree crosses into wasm; a failure there is "not analysed": it never auto-allows.
      this.note("a nested script could not be analysed")
    } finally {
      parsed.dispose()
    }
  }

  walk(node: SyntaxNode, frame: Frame): void {
    switch (node.type) {
      case "command":
        return this.command(node, frame, [])
      case "redirected_statement":
        return this.redirected(node, frame)
      case "pipeline": {
        // Every command of a pipeline runs in a subshell.
        let first = true
        for (const child of node.namedChildren) {
          this.isolated(child, first ? frame : withStdin(frame, PIPE))
          first = false
        }
        return
      }
      case "subshell": {
        const dirs = this.dirs
        this.children(node, frame)
        this.dirs = dirs
        return
      }
      case "for_statement":
      case "c_style_for_statement":
      case "while_statement":
        return this.loop(node, frame)
      case "command_substitution":
      case "process_substitution": {
        if (frame.depth >= MAX_DEPTH) {
          this.note(`nesting deeper than ${MAX_DEPTH} levels`)
          return
        }
        const via: SegmentVia = node.type === "command_substitution" ? "substitution" : "process_substitution"
        const dirs = this.dirs
        this.children(node, makeFrame(frame.depth + 1, via, frame.wrappers, NO_STDIN, false))
        this.dirs = dirs
        return
      }
      case "function_definition":
        this.note("defines a shell function (a function can shadow any command)")
        return this.children(node, frame)
      case "variable_assignment":
        this.assignment(node, frame)
        return this.children(node, frame)
      case "declaration_command":
        for (const child of node.namedChildren) {
          const name = child.type === "variable_assignment" ? child.namedChildren[0]?.text : child.type ===
              "variable_name" ? child.text : undefined
          if (name !== undefined && DANGEROUS_ENV.has(name)) {
            this.emit("assignment", this.newGroup(), [], frame, {
              text: child.text,
              uncertain: [`sets ${name}, which changes what later commands run`]
            })
          }
          if (child.type !== "variable_name") this.children(child, frame)
        }
        return
      case "comment":
        return
      default:
        return this.children(node, frame)
    }
  }

  children(node: SyntaxNode, frame: Frame): void {
    for (const child of node.namedChildren) {
      this.walk(child, frame)
    }
  }

  assignment(node: SyntaxNode, frame: Frame): void {
    const name = node.namedChildren[0]?.text ?? ""
    if (DANGEROUS_ENV.has(name)) {
      this.emit("assignment", this.newGroup(), [], frame, {
        text: node.text,
        uncertain: [`sets ${name}, which changes what later commands run`]
      })
    }
  }

  /** A redirection node: returns what it means for the command it is attached to. */
  redirect(node: SyntaxNode, frame: Frame, out: { stdin: Stdin; redirects: Array<Redirect> }): void {
    switch (node.type) {
      case "file_redirect": {
        let op = ""
        const dest: Array<SyntaxNode> = []
        for (const child of node.children) {
          if (!child.isNamed) op += child.type
          else if (child.type !== "file_descriptor") dest.push(child)
        }
        const first = dest[0]
        if (first === undefined) return
        for (const d of dest) this.walk(d, frame)
        const target = wordOf(first)
        const extraArgs = toWords(dest.slice(1).map(wordOf))
        const dup = (op === ">&" || op === "<&") && (/^\d+-?$/.test(target.value) || target.value === "-")
        if (dup) {
          if (extraArgs.length > 0) out.redirects.push({ writes: false, target: { value: "/dev/null", dynamic: false, glob: false }, extraArgs })
          return
        }
        const writes = WRITE_OPS.has(op) || op === ">&"
        out.redirects.push({ writes, target, extraArgs })
        return
      }
      case "herestring_redirect": {
        const child = node.firstNamedChild
        if (child) {
          this.walk(child, frame)
          const w = wordOf(child)
          out.stdin = { kind: "script", text: w.dynamic ? null : w.value }
        }
        return
      }
      case "heredoc_redirect": {
        let quoted = false
        let body: string | null = ""
        for (const child of node.namedChildren) {
          switch (child.type) {
            case "heredoc_start":
              quoted = /['"\\]/.test(child.text)
              break
            case "heredoc_body": {
              const dynamic = child.namedChildren.some((c) => c.type !== "heredoc_content")
              body = !quoted && dynamic ? null : child.text
              if (!quoted) this.children(child, frame)
              break
            }
            case "heredoc_end":
              break
            case "file_redirect":
            case "herestring_redirect":
              this.redirect(child, frame, out)
              break
            case "pipeline":
              for (const c of child.namedChildren) this.walk(c, withStdin(frame, PIPE))
              break
            default:
              this.walk(child, withStdin(frame, NO_STDIN))
          }
        }
        out.stdin = { kind: "script", text: body }
        return
      }
      default:
        this.walk(node, frame)
    }
  }

  redirected(node: SyntaxNode, frame: Frame): void {
    const out = { stdin: frame.stdin, redirects: [] as Array<Redirect> }
    let body: SyntaxNode | null = null
    const later: Array<SyntaxNode> = []
    for (const child of node.namedChildren) {
      if (child.type === "file_redirect" || child.type === "herestring_redirect" || child.type === "heredoc_redirect") {
        later.push(child)
      } else if (body === null) body = child
      else later.push(child)
    }
    // Redirections are applied before the command runs: read them first so the body sees its stdin.
    const bodyFrame = frame
    for (const r of later) this.redirect(r, bodyFrame, out)
    if (body !== null) {
      if (body.type === "command") this.command(body, withStdin(frame, out.stdin), out.redirects)
      else {
        this.walk(body, withStdin(frame, out.stdin))
        this.redirectSegments(out.redirects, this.newGroup(), frame)
      }
    } else {
      this.redirectSegments(out.redirects, this.newGroup(), frame)
    }
  }

  redirectSegments(redirects: ReadonlyArray<Redirect>, group: number, frame: Frame): void {
    for (const r of redirects) {
      if (r.writes && NEUTRAL_WRITE_TARGETS.has(r.target.value)) continue
      if (r.writes && /^\/dev\/fd\/\d+$/.test(r.target.value)) continue
      if (!r.writes && r.target.value === "/dev/null") continue
      const uncertain = r.target.dynamic
        ? [`${r.writes ? "writes to" : "reads from"} a file only known at run time (${r.target.value})`]
        : []
      this.emit("redirect", group, [], frame, {
        target: r.target,
        writes: r.writes,
        uncertain,
        text: `${r.writes ? ">" : "<"} ${shellJoin([r.target.value])}`
      })
    }
  }

  command(node: SyntaxNode, frame: Frame, outer: ReadonlyArray<Redirect>): void {
    if (this.readPlainText) {
      const plain = plainCommandWords(node.text)
      if (plain !== undefined) {
        const words = toWords(plain)
        for (const r of outer) words.push(...r.extraArgs)
        const group = this.newGroup()
        this.argv(words, NO_STRINGS, NO_STRINGS, group, frame)
        this.redirectSegments(outer, group, frame)
        return
      }
    }
    const env: Array<string> = []
    const envUncertain: Array<string> = []
    // tree-sitter-bash can join the next line to the last command of a pipeline
    // (`ls | ls | ls⏎echo x`); bash runs that line as a command of its own, so it is split off.
    const lines: Array<Array<RawWord>> = [[]]
    let raw = lines[0]!
    let previous: SyntaxNode | undefined
    const multiline = node.hasNewline
    const out = { stdin: frame.stdin, redirects: [...outer] as Array<Redirect> }
    for (const child of node.namedChildren) {
      if (multiline && previous !== undefined && raw.length > 0 && previous.newlineBefore(child)) {
        raw = []
        lines.push(raw)
      }
      previous = child
      switch (child.type) {
        case "variable_assignment": {
          const name = child.namedChildren[0]?.text ?? ""
          env.push(child.text)
          if (DANGEROUS_ENV.has(name)) envUncertain.push(`sets ${name}, which changes what the command runs`)
          this.children(child, frame)
          break
        }
        case "command_name": {
          const inner = child.firstNamedChild
          if (inner) {
            raw.push(wordOf(inner))
            this.walk(inner, frame)
          }
          break
        }
        case "file_redirect":
        case "herestring_redirect":
        case "heredoc_redirect":
          this.redirect(child, frame, out)
          break
        default:
          raw.push(wordOf(child))
          this.walk(child, frame)
      }
    }
    for (let l = 0; l < lines.length; l++) {
      const last = l === lines.length - 1
      const words = toWords(lines[l]!)
      if (last) for (const r of out.redirects) words.push(...r.extraArgs)
      const group = this.newGroup()
      this.argv(words, l === 0 ? env : [], l === 0 ? envUncertain : [], group, last ? withStdin(frame, out.stdin) : frame)
      if (last) this.redirectSegments(out.redirects, group, frame)
    }
  }

  argv(
    words: ReadonlyArray<ShellWord>,
    env: ReadonlyArray<string>,
    envUncertain: ReadonlyArray<string>,
    group: number,
    frame: Frame
  ): void {
    const name = words[0]
    if (name === undefined) {
      if (env.length > 0 || envUncertain.length > 0) {
        this.emit("assignment", group, [], frame, { env, uncertain: envUncertain, text: env.join(" ") })
      }
      return
    }
    const uncertain = [...envUncertain]
    if (name.dynamic) uncertain.push(`the command name ${name.value} is only known at run time`)
    else if (name.glob) uncertain.push(`the command name ${name.value} is a glob pattern`)
    const base = basename(name.value).toLowerCase()
    const known = !name.dynamic && !name.glob
    const wrapper = known ? WRAPPERS.get(base) : undefined
    if (wrapper !== undefined) return this.wrapper(base, wrapper, words, env, uncertain, group, frame)
    if (known && SHELLS.has(base)) return this.shell(words, env, uncertain, group, frame)
    if (known && base === "eval") {
      const args = words.slice(1)
      const dynamic = args.some((a) => a.dynamic)
      if (dynamic) uncertain.push("eval of text only known at run time")
      this.emit("command", group, words, frame, { env, uncertain, transparent: !dynamic && args.length > 0 })
      if (!dynamic && args.length > 0) this.script(args.map((a) => a.value).join(" "), makeFrame(frame.depth, "eval", [...frame.wrappers, "eval"], frame.stdin, frame.openEnded))
      return
    }
    if (known && base === "trap") {
      const code = words[1]
      const listing = code === undefined || code.value.startsWith("-")
      if (!listing && code.dynamic) uncertain.push("trap with a handler only known at run time")
      this.emit("command", group, words, frame, { env, uncertain, transparent: !listing && !code.dynamic })
      if (!listing && !code.dynamic) this.script(code.value, makeFrame(frame.depth, "trap", [...frame.wrappers, "trap"], frame.stdin, frame.openEnded))
      return
    }
    if (known && base === "watch") return this.watch(words, env, uncertain, group, frame)
    if (known && base === "xargs") return this.xargs(words, env, uncertain, group, frame)
    let cdTarget: string | undefined
    if (known && (base === "cd" || base === "pushd")) {
      const args = words.slice(1)
      const target = args.find((a) => !a.value.startsWith("-"))
      if (target !== undefined && !target.dynamic) {
        this.cdTargets.push(target.value)
        cdTarget = target.value
      } else if (target === undefined && base === "cd" && !args.some((a) => a.value === "-")) cdTarget = "~"
    }
    this.emit("command", group, words, frame, { env, uncertain })
    if (cdTarget !== undefined) this.changeDir(cdTarget)
    if (known && base === "find") this.findExec(words.slice(1), group, frame)
  }

  wrapper(
    base: string,
    spec: WrapperSpec,
    words: ReadonlyArray<ShellWord>,
    env: ReadonlyArray<string>,
    uncertain: Array<string>,
    group: number,
    frame: Frame
  ): void {
    const args = words.slice(1)
    const innerEnv: Array<string> = [...env]
    let i = 0
    let noPayload = false
    let commandScript: ShellWord | undefined
    let splitString: ShellWord | undefined
    let operands = spec.operands
    const takeOptions = (): void => {
      while (i < args.length) {
        const w = args[i]!
        const v = w.value
        if (v === "--") {
          i++
          return
        }
        if (v.startsWith("--") && v.length > 2) {
          const eq = v.indexOf("=")
          const optName = eq < 0 ? v : v.slice(0, eq)
          const takes = spec.longWithValue.includes(optName)
          const value = eq >= 0 ? { ...w, value: v.slice(eq + 1) } : takes ? args[i + 1] : undefined
          if ((optName === "--command" && spec.commandOption !== "") && value) commandScript = value
          if (optName === "--split-string" && value) splitString = value
          i += takes && eq < 0 ? 2 : 1
          continue
        }
        if (v.startsWith("-") && v.length > 1 && !(base === "su" && v === "-")) {
          const letters = v.slice(1)
          let consumed = 1
          for (let j = 0; j < letters.length; j++) {
            const l = letters[j]!
            if (spec.noPayloadFlags.includes(l)) noPayload = true
            if (spec.shortWithValue.includes(l) || spec.commandOption.includes(l)) {
              const attached = letters.slice(j + 1)
              const value = attached !== "" ? { ...w, value: attached } : args[i + 1]
              if (attached === "") consumed = 2
              if (spec.commandOption.includes(l) && value) commandScript = value
              if (base === "env" && l === "S" && value) splitString = value
              break
            }
          }
          i += consumed
          continue
        }
        if (v === "-") {
          i++
          continue
        }
        if (spec.assignments && ASSIGNMENT.test(v)) {
          innerEnv.push(v)
          const n = v.slice(0, v.indexOf("="))
          if (DANGEROUS_ENV.has(n)) uncertain.push(`sets ${n}, which changes what the command runs`)
          i++
          continue
        }
        return
      }
    }
    takeOptions()
    while (operands > 0 && i < args.length && commandScript === undefined) {
      if (base === "su" || base === "runuser") break
      i++
      operands--
      takeOptions()
    }
    if (base === "su" || base === "runuser") {
      // `su [options] [-] [user] [args]`: everything after the user is passed to the shell.
      if (i < args.length && !args[i]!.value.startsWith("-")) i++
      takeOptions()
    }
    const wrappers = [...frame.wrappers, base]
    if (commandScript !== undefined || splitString !== undefined) {
      const script = commandScript ?? splitString!
      const rest = splitString !== undefined ? args.slice(i) : []
      const dynamic = script.dynamic || rest.some((r) => r.dynamic)
      if (dynamic) uncertain.push(`${base} runs a command line only known at run time`)
      this.emit("command", group, words, frame, { env, uncertain, transparent: !dynamic, privileged: spec.privileged })
      if (!dynamic) {
        const text = [script.value, ...rest.map((r) => shellJoin([r.value]))].join(" ")
        this.script(text, makeFrame(frame.depth, commandScript !== undefined ? "su_c" : "wrapper", wrappers, frame.stdin, frame.openEnded))
      }
      return
    }
    const payload = args.slice(i)
    if (payload.length === 0 || noPayload) {
      if (spec.shellWhenEmpty && !noPayload) uncertain.push(`${base} without a command starts an interactive shell`)
      this.emit("command", group, words, frame, { env, uncertain, privileged: spec.privileged })
      return
    }
    this.emit("command", group, words, frame, { env, uncertain, transparent: true, privileged: spec.privileged })
    this.argv(payload, innerEnv, [], group, makeFrame(frame.depth, "wrapper", wrappers, frame.stdin, frame.openEnded))
  }

  shell(
    words: ReadonlyArray<ShellWord>,
    env: ReadonlyArray<string>,
    uncertain: Array<string>,
    group: number,
    frame: Frame
  ): void {
    const name = basename(words[0]!.value)
    const args = words.slice(1)
    let commandMode = false
    let stdinMode = false
    let i = 0
    while (i < args.length) {
      const v = args[i]!.value
      if (v === "--" || v === "-") {
        i++
        break
      }
      if (v === "--rcfile" || v === "--init-file" || v === "-o" || v === "+o" || v === "-O" || v === "+O") {
        i += 2
        continue
      }
      if (v === "--command" || v === "-command") {
        commandMode = true
        i++
        continue
      }
      if (v.startsWith("--")) {
        i++
        continue
      }
      if ((v.startsWith("-") || v.startsWith("+")) && v.length > 1) {
        if (v.includes("c")) commandMode = true
        if (v.includes("s")) stdinMode = true
        i++
        continue
      }
      break
    }
    const wrappers = [...frame.wrappers, `${name}${commandMode ? " -c" : ""}`]
    if (commandMode) {
      const script = args[i]
      if (script === undefined) uncertain.push(`${name} -c without a script`)
      else if (script.dynamic) uncertain.push(`${name} -c runs a script only known at run time`)
      const ok = script !== undefined && !script.dynamic
      this.emit("command", group, words, frame, { env, uncertain, transparent: ok })
      if (ok) this.script(script.value, makeFrame(frame.depth, "shell_c", wrappers, frame.stdin, false))
      return
    }
    if (i < args.length && !stdinMode) {
      // `bash script.sh …`: runs a script file; the segment stands for it.
      this.emit("command", group, words, frame, { env, uncertain })
      return
    }
    const stdin = frame.stdin
    if (stdin.kind === "script" && stdin.text !== null) {
      this.emit("command", group, words, frame, { env, uncertain, transparent: true })
      this.script(stdin.text, makeFrame(frame.depth, "shell_stdin", wrappers, frame.stdin, false))
      return
    }
    if (stdin.kind === "pipe") uncertain.push(`pipes text into ${name}`)
    else if (stdin.kind === "script") uncertain.push(`feeds a here-document with expansions to ${name}`)
    else uncertain.push(`${name} without a script starts an interactive shell`)
    this.emit("command", group, words, frame, { env, uncertain })
  }

  watch(
    words: ReadonlyArray<ShellWord>,
    env: ReadonlyArray<string>,
    uncertain: Array<string>,
    group: number,
    frame: Frame
  ): void {
    const args = words.slice(1)
    let i = 0
    let exec = false
    while (i < args.length) {
      const v = args[i]!.value
      if (v === "--") {
        i++
        break
      }
      if (v === "-n" || v === "--interval" || v === "-q" || v === "--equexit") {
        i += 2
        continue
      }
      if (v === "-x" || v === "--exec") exec = true
      if (v.startsWith("-")) {
        i++
        continue
      }
      break
    }
    const rest = args.slice(i)
    const dynamic = rest.some((r) => r.dynamic)
    if (dynamic) uncertain.push("watch runs a command line only known at run time")
    this.emit("command", group, words, frame, { env, uncertain, transparent: rest.length > 0 && !dynamic })
    if (rest.length === 0 || dynamic) return
    const inner: Frame = makeFrame(frame.depth, "watch", [...frame.wrappers, "watch"], frame.stdin, frame.openEnded)
    if (exec) this.argv(rest, [], [], group, inner)
    else this.script(rest.map((r) => r.value).join(" "), inner)
  }

  xargs(
    words: ReadonlyArray<ShellWord>,
    env: ReadonlyArray<string>,
    uncertain: Array<string>,
    group: number,
    frame: Frame
  ): void {
    const args = words.slice(1)
    const withValue = new Set(["-I", "-L", "-n", "-P", "-s", "-d", "-E", "-a"])
    const longWithValue = new Set(["--max-args", "--max-procs", "--max-chars", "--delimiter", "--arg-file", "--process-slot-var"])
    let i = 0
    while (i < args.length) {
      const v = args[i]!.value
      if (v === "--") {
        i++
        break
      }
      if (!v.startsWith("-") || v.length < 2) break
      i += withValue.has(v) || longWithValue.has(v) ? 2 : 1
    }
    const payload = args.slice(i)
    this.emit("command", group, words, frame, { env, uncertain, transparent: true })
    const inner: Frame = makeFrame(frame.depth, "xargs", [...frame.wrappers, "xargs"], NO_STDIN, true)
    this.argv(payload.length > 0 ? payload : [{ value: "echo", dynamic: false, glob: false }], [], [], group, inner)
  }

  findExec(args: ReadonlyArray<ShellWord>, group: number, frame: Frame): void {
    const roots: Array<ShellWord> = []
    let i = 0
    while (i < args.length) {
      const v = args[i]!.value
      if (v.startsWith("-") || v === "(" || v === "!") break
      roots.push(args[i]!)
      i++
    }
    const root = roots[0] ?? { value: ".", dynamic: false, glob: false }
    for (; i < args.length; i++) {
      const v = args[i]!.value
      if (v !== "-exec" && v !== "-execdir" && v !== "-ok" && v !== "-okdir") continue
      const payload: Array<ShellWord> = []
      let j = i + 1
      for (; j < args.length; j++) {
        const a = args[j]!
        if (a.value === ";" || a.value === "+") break
        payload.push(a.value === "{}" ? root : a)
      }
      if (payload.length > 0) {
        this.argv(payload, [], [], group, makeFrame(frame.depth, "find_exec", [...frame.wrappers, "find"], NO_STDIN, true))
      }
      i = j
    }
  }
}

/** How `analyseCommand` reads the tree. */
export interface AnalyseOptions {
  /**
   * Read a `command` node made only of plain words and whole quoted strings from its source text
   * instead of child by child (`plainCommandWords`); both readings give the same analysis.
   */
  readonly readPlainText: boolean
}

const DEFAULT_OPTIONS: AnalyseOptions = { readPlainText: true }

/**
 * Analyses a command line. Pure apart from the parser's wasm memory, which is freed before returning.
 */
export const analyseCommand = (parser: BashParser, command: string, options: AnalyseOptions = DEFAULT_OPTIONS): ShellAnalysis => {
  const a = new Analyser(parser, options.readPlainText)
  const parsed = parser.parse(command)
  if (parsed === undefined) {
    return { segments: [], chained: false, uncertain: ["the command could not be parsed"], cdTargets: [] }
  }
  try {
    const root = new SyntaxNode(parsed.root, command)
    if (root.hasError) a.note("the command does not parse cleanly as bash")
    a.walk(root, makeFrame(0, "command", [], NO_STDIN, false))
  } catch {
    // Reading the tree crosses into wasm; a failure there is "not analysed": it never auto-allows.
    a.note("the command could not be analysed")
  } finally {
    parsed.dispose()
  }
  let commands = 0
  for (const s of a.segments) if (s.kind === "command" && !s.transparent) commands++
  return { segments: a.segments, chained: commands > 1, uncertain: a.uncertain, cdTargets: a.cdTargets }
}
