/**
 * File tools confined to the workspace: `read_file`, `write_file` (atomic: temp file + rename) and
 * `list_dir`. Paths are normalised and symlink-checked by `resolveInWorkspace`.
 */
import { Effect, Schema } from "effect"
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { ToolFailed } from "../Errors.ts"
import { defineTool, functionOutput, type ToolDefinition } from "../ToolDefinition.ts"
import { resolveInWorkspace, workspaceRelative } from "../Workspace.ts"

const fsError = (tool: string, what: string) => (e: unknown) =>
  new ToolFailed({ tool, detail: `${what}: ${(e as NodeJS.ErrnoException).code ?? ""} ${(e as Error).message ?? String(e)}`.trim() })

/** Writes `content` to `path` atomically: a temp file in the same directory, fsync, then rename. */
export const writeFileAtomic = (path: string, content: string | Buffer): void => {
  const temp = NodePath.join(NodePath.dirname(path), `.${NodePath.basename(path)}.tmp-${NodeCrypto.randomBytes(6).toString("hex")}`)
  let mode: number | undefined
  try {
    mode = NodeFs.statSync(path).mode & 0o7777
  } catch {
    mode = undefined
  }
  try {
    const fd = NodeFs.openSync(temp, "w", mode ?? 0o644)
    try {
      NodeFs.writeFileSync(fd, content)
      NodeFs.fsyncSync(fd)
    } finally {
      NodeFs.closeSync(fd)
    }
    NodeFs.renameSync(temp, path)
  } catch (e) {
    NodeFs.rmSync(temp, { force: true })
    throw e
  }
}

/** The input of `read_file`. */
export const ReadFileInput = Schema.Struct({
  path: Schema.String.annotations({ description: "File path, relative to the workspace." }),
  offset: Schema.optional(Schema.Int.pipe(Schema.positive())).annotations({ description: "First line to return (1-based)." }),
  limit: Schema.optional(Schema.Int.pipe(Schema.positive())).annotations({ description: "Maximum number of lines." })
})

/** `read_file`: a file's text (optionally a line range), capped at `maxBytes` with a truncation marker. */
export const readFileTool = (options: { readonly maxBytes?: number | undefined } = {}): ToolDefinition =>
  defineTool({
    name: "read_file",
    description: "Read a text file from the workspace, optionally a range of lines.",
    input: ReadFileInput,
    handler: (input, context) =>
      Effect.gen(function*() {
        const path = yield* resolveInWorkspace("read_file", context.cwd, input.path)
        const text = yield* Effect.try({ try: () => NodeFs.readFileSync(path, "utf8"), catch: fsError("read_file", `cannot read '${input.path}'`) })
        const lines = text.split("\n")
        const totalLines = text.endsWith("\n") ? lines.length - 1 : lines.length
        const start = (input.offset ?? 1) - 1
        const selected = input.offset === undefined && input.limit === undefined
          ? text
          : lines.slice(start, input.limit === undefined ? undefined : start + input.limit).join("\n")
        const max = options.maxBytes ?? 256 * 1024
        const bytes = Buffer.byteLength(selected)
        const content = bytes > max ? `${Buffer.from(selected).subarray(0, max).toString("utf8")}\n[... truncated ${bytes - max} bytes ...]\n` : selected
        return functionOutput({ path: workspaceRelative(context.cwd, path), content, total_lines: totalLines, truncated: bytes > max })
      })
  })

/** The input of `write_file`. */
export const WriteFileInput = Schema.Struct({
  path: Schema.String.annotations({ description: "File path, relative to the workspace." }),
  content: Schema.String,
  create_dirs: Schema.optional(Schema.Boolean).annotations({ description: "Create missing parent directories (default true)." })
})

/** `write_file`: replaces (or creates) a file atomically. */
export const writeFileTool = (): ToolDefinition =>
  defineTool({
    name: "write_file",
    description: "Write a text file in the workspace (atomically: readers never see a partial file).",
    input: WriteFileInput,
    mutating: true,
    handler: (input, context) =>
      Effect.gen(function*() {
        const path = yield* resolveInWorkspace("write_file", context.cwd, input.path)
        const existed = NodeFs.existsSync(path)
        yield* Effect.try({
          try: () => {
            if (input.create_dirs !== false) NodeFs.mkdirSync(NodePath.dirname(path), { recursive: true })
            writeFileAtomic(path, input.content)
          },
          catch: fsError("write_file", `cannot write '${input.path}'`)
        })
        return functionOutput({ path: workspaceRelative(context.cwd, path), bytes_written: Buffer.byteLength(input.content), created: !existed })
      })
  })

/** The input of `list_dir`. */
export const ListDirInput = Schema.Struct({
  path: Schema.optional(Schema.String).annotations({ description: "Directory, relative to the workspace (default: the root)." }),
  recursive: Schema.optional(Schema.Boolean),
  max_entries: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

/** One `list_dir` entry. */
export interface DirEntry {
  readonly path: string
  readonly type: "file" | "dir" | "symlink" | "other"
  readonly size: number
}

/** `list_dir`: entries sorted by path (recursive on request; symlinks are listed, not followed). */
export const listDirTool = (): ToolDefinition =>
  defineTool({
    name: "list_dir",
    description: "List a directory of the workspace (optionally recursively), sorted by path.",
    input: ListDirInput,
    handler: (input, context) =>
      Effect.gen(function*() {
        const root = yield* resolveInWorkspace("list_dir", context.cwd, input.path ?? ".")
        const max = input.max_entries ?? 1000
        const entries: Array<DirEntry> = []
        let truncated = false
        const walk = (dir: string): void => {
          const names = NodeFs.readdirSync(dir).sort()
          for (const name of names) {
            if (entries.length >= max) {
              truncated = true
              return
            }
            const full = NodePath.join(dir, name)
            const stat = NodeFs.lstatSync(full)
            const type = stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "dir" : stat.isFile() ? "file" : "other"
            entries.push({ path: NodePath.relative(root, full).split(NodePath.sep).join("/"), type, size: stat.size })
            if (type === "dir" && input.recursive === true) walk(full)
          }
        }
        yield* Effect.try({ try: () => walk(root), catch: fsError("list_dir", `cannot list '${input.path ?? "."}'`) })
        return functionOutput({ path: workspaceRelative(context.cwd, root), entries, truncated })
      })
  })
