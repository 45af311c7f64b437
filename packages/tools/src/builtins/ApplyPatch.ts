/**
 * `apply_patch`: applies a unified diff (as `diff -u` or `git diff` write it) to the workspace,
 * all or nothing: every hunk of every file is checked against the current contents first, and
 * files are only written when all of them apply (temp files + renames, rolled back on failure).
 */
import { Effect, Either, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { ToolFailed } from "../Errors.ts"
import { defineTool, functionOutput, type ToolDefinition } from "../ToolDefinition.ts"
import { resolveInWorkspace } from "../Workspace.ts"
import { writeFileAtomic } from "./FileTools.ts"

/** One hunk: the old and new line ranges and its lines (`' '` context, `-` removed, `+` added). */
export interface Hunk {
  readonly oldStart: number
  readonly oldLines: number
  readonly newStart: number
  readonly newLines: number
  readonly lines: ReadonlyArray<{ readonly op: " " | "-" | "+"; readonly text: string }>
  /** `\ No newline at end of file` after the last old / new line. */
  readonly oldNoEol: boolean
  readonly newNoEol: boolean
}

/** The changes to one file. `oldPath` / `newPath` are null for `/dev/null` (creation / deletion). */
export interface FilePatch {
  readonly oldPath: string | null
  readonly newPath: string | null
  readonly hunks: ReadonlyArray<Hunk>
}

const stripPrefix = (raw: string): string | null => {
  const name = raw.split("\t")[0]!.trim()
  if (name === "/dev/null") return null
  return name.startsWith("a/") || name.startsWith("b/") ? name.slice(2) : name
}

/** Parses a unified diff; a malformed one is a `Left` naming the line. */
export const parseUnifiedDiff = (text: string): Either.Either<ReadonlyArray<FilePatch>, string> => {
  const lines = text.replace(/\r\n/g, "\n").split("\n")
  const files: Array<FilePatch> = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (!line.startsWith("--- ")) {
      i++
      continue
    }
    const next = lines[i + 1]
    if (next === undefined || !next.startsWith("+++ ")) return Either.left(`line ${i + 2}: expected '+++ ' after '--- '`)
    const oldPath = stripPrefix(line.slice(4))
    const newPath = stripPrefix(next.slice(4))
    i += 2
    const hunks: Array<Hunk> = []
    while (i < lines.length && lines[i]!.startsWith("@@")) {
      const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(lines[i]!)
      if (m === null) return Either.left(`line ${i + 1}: malformed hunk header '${lines[i]}'`)
      const oldLines = m[2] === undefined ? 1 : Number(m[2])
      const newLines = m[4] === undefined ? 1 : Number(m[4])
      i++
      const body: Array<{ op: " " | "-" | "+"; text: string }> = []
      let seenOld = 0
      let seenNew = 0
      let oldNoEol = false
      let newNoEol = false
      while (i < lines.length && (seenOld < oldLines || seenNew < newLines || lines[i]!.startsWith("\\"))) {
        const l = lines[i]!
        if (l.startsWith("\\")) {
          const last = body[body.length - 1]
          if (last !== undefined) {
            if (last.op !== "+") oldNoEol = true
            if (last.op !== "-") newNoEol = true
          }
          i++
          continue
        }
        const op = l === "" ? " " : l[0]
        if (op !== " " && op !== "-" && op !== "+") return Either.left(`line ${i + 1}: unexpected '${l.slice(0, 40)}' inside a hunk`)
        body.push({ op, text: l === "" ? "" : l.slice(1) })
        if (op !== "+") seenOld++
        if (op !== "-") seenNew++
        i++
      }
      if (seenOld !== oldLines || seenNew !== newLines) {
        return Either.left(`hunk at -${m[1]},${oldLines} of '${newPath ?? oldPath}': expected ${oldLines}/${newLines} old/new lines, found ${seenOld}/${seenNew}`)
      }
      hunks.push({ oldStart: Number(m[1]), oldLines, newStart: Number(m[3]), newLines, lines: body, oldNoEol, newNoEol })
    }
    if (hunks.length === 0 && !(oldPath !== null && newPath === null)) return Either.left(`file '${newPath ?? oldPath}' has no hunks`)
    files.push({ oldPath, newPath, hunks })
  }
  if (files.length === 0) return Either.left("no file changes found (expected '--- ' / '+++ ' headers)")
  return Either.right(files)
}

const sameLines = (content: ReadonlyArray<string>, at: number, expected: ReadonlyArray<string>): boolean =>
  at >= 0 && at + expected.length <= content.length && expected.every((l, k) => content[at + k] === l)

/** Applies the hunks of one file to its text; a `Left` names the hunk that does not match. */
export const applyHunks = (original: string, patch: FilePatch): Either.Either<string, string> => {
  const hadEol = original.endsWith("\n")
  const content = original === "" ? [] : (hadEol ? original.slice(0, -1) : original).split("\n")
  let eol = original === "" ? true : hadEol
  const out: Array<string> = []
  let cursor = 0
  for (const [n, hunk] of patch.hunks.entries()) {
    const oldBlock = hunk.lines.filter((l) => l.op !== "+").map((l) => l.text)
    const newBlock = hunk.lines.filter((l) => l.op !== "-").map((l) => l.text)
    const wanted = Math.max(hunk.oldLines === 0 ? hunk.oldStart : hunk.oldStart - 1, cursor)
    let at = -1
    for (let delta = 0; delta <= content.length; delta++) {
      if (sameLines(content, wanted + delta, oldBlock) && wanted + delta >= cursor) {
        at = wanted + delta
        break
      }
      if (delta > 0 && sameLines(content, wanted - delta, oldBlock) && wanted - delta >= cursor) {
        at = wanted - delta
        break
      }
      if (wanted + delta > content.length && wanted - delta < cursor) break
    }
    if (at < 0) return Either.left(`hunk ${n + 1} (@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@) does not match the file`)
    out.push(...content.slice(cursor, at), ...newBlock)
    cursor = at + oldBlock.length
    if (cursor === content.length) {
      if (hunk.newNoEol) eol = false
      else if (hunk.oldNoEol || newBlock.length > 0) eol = true
    }
  }
  out.push(...content.slice(cursor))
  return Either.right(out.length === 0 ? "" : out.join("\n") + (eol ? "\n" : ""))
}

/** The input of `apply_patch`: `{ patch }`, or the diff text itself (a `custom` payload). */
export const ApplyPatchInput = Schema.Union(
  Schema.Struct({ patch: Schema.String.annotations({ description: "A unified diff (diff -u / git diff)." }) }),
  Schema.String
)

/** The file a file header changes: its new path, or its old one when the patch deletes it. */
const targetOf = (file: FilePatch): string | null => file.newPath ?? file.oldPath

/** The diff text of a raw `apply_patch` input (`{ patch }` or the text itself), if it holds one. */
const patchTextOf = (input: unknown): string | undefined => {
  if (typeof input === "string") return input
  if (typeof input !== "object" || input === null) return undefined
  const patch = (input as { readonly patch?: unknown }).patch
  return typeof patch === "string" ? patch : undefined
}

/**
 * Every file a raw `apply_patch` input touches, exactly as the tool resolves them: per file
 * header, the new path, or the old one when the file is deleted (the tool reads and writes only
 * that one). So a path rule of the policy sees each file of a multi-file patch, and a session
 * grant covers the files the approved patch changed. None when the input is not a readable patch,
 * which the tool refuses without touching anything.
 */
export const patchedPaths = (input: unknown): ReadonlyArray<string> => {
  const text = patchTextOf(input)
  if (text === undefined) return []
  const files = parseUnifiedDiff(text)
  if (Either.isLeft(files)) return []
  const paths = new Set<string>()
  for (const file of files.right) {
    const target = targetOf(file)
    if (target !== null) paths.add(target)
  }
  return [...paths]
}

interface PlannedWrite {
  readonly display: string
  readonly path: string
  readonly content: string | null
  readonly original: string | null
}

/** `apply_patch`: all-or-nothing application of a unified diff inside the workspace. */
export const applyPatchTool = (): ToolDefinition =>
  defineTool({
    name: "apply_patch",
    description: "Apply a unified diff to files in the workspace. Either every hunk applies or nothing is changed.",
    input: ApplyPatchInput,
    mutating: true,
    touchedPaths: patchedPaths,
    handler: (input, context) =>
      Effect.gen(function*() {
        const text = typeof input === "string" ? input : input.patch
        const fail = (detail: string) => new ToolFailed({ tool: "apply_patch", detail })
        const files = yield* Either.mapLeft(parseUnifiedDiff(text), (d) => fail(`invalid patch: ${d}`))
        const plan: Array<PlannedWrite> = []
        for (const file of files) {
          const display = targetOf(file)
          if (display === null) return yield* fail("a file header names /dev/null on both sides")
          const path = yield* resolveInWorkspace("apply_patch", context.cwd, display)
          if (plan.some((p) => p.path === path)) return yield* fail(`'${display}' appears twice in the patch`)
          const exists = NodeFs.existsSync(path)
          if (file.oldPath === null && exists) return yield* fail(`'${display}' already exists (the patch creates it)`)
          if (file.oldPath !== null && !exists) return yield* fail(`'${display}' does not exist`)
          const original = exists ? NodeFs.readFileSync(path, "utf8") : null
          if (file.newPath === null) {
            plan.push({ display, path, content: null, original })
            continue
          }
          const next = yield* Either.mapLeft(applyHunks(original ?? "", file), (d) => fail(`'${display}': ${d}`))
          plan.push({ display, path, content: next, original })
        }
        const done: Array<PlannedWrite> = []
        const applied = Either.try({
          try: () => {
            for (const p of plan) {
              if (p.content === null) NodeFs.rmSync(p.path)
              else {
                NodeFs.mkdirSync(NodePath.dirname(p.path), { recursive: true })
                writeFileAtomic(p.path, p.content)
              }
              done.push(p)
            }
          },
          catch: (e) => e
        })
        if (Either.isLeft(applied)) {
          for (const p of done.reverse()) {
            if (p.original === null) NodeFs.rmSync(p.path, { force: true })
            else writeFileAtomic(p.path, p.original)
          }
          return yield* fail(`writing failed, every change was rolled back: ${String(applied.left)}`)
        }
        return functionOutput({
          files: plan.map((p) => ({ path: p.display, action: p.original === null ? "created" : p.content === null ? "deleted" : "modified" }))
        })
      })
  })
