/**
 * Confining paths to the workspace: a path is normalised against the workspace root (`.`, `..`,
 * duplicate slashes, absolute vs relative), then the nearest existing ancestor is resolved through
 * symlinks, so neither `src/../../etc/passwd` nor a symlink pointing outside gets through.
 */
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { ToolFailed } from "./Errors.ts"

const inside = (root: string, candidate: string): boolean => {
  const rel = NodePath.relative(root, candidate)
  return rel === "" || (!rel.startsWith("..") && !NodePath.isAbsolute(rel))
}

const realpathOfNearestExisting = (path: string): string => {
  let current = path
  const rest: Array<string> = []
  while (true) {
    try {
      const real = NodeFs.realpathSync(current)
      return rest.length === 0 ? real : NodePath.join(real, ...rest.reverse())
    } catch {
      const parent = NodePath.dirname(current)
      if (parent === current) return path
      rest.push(NodePath.basename(current))
      current = parent
    }
  }
}

/**
 * Resolves `path` inside the workspace `root`; fails with `ToolFailed` (`path escapes workspace`)
 * when the normalised or symlink-resolved path lies outside it.
 */
export const resolveInWorkspace = (tool: string, root: string, path: string): Effect.Effect<string, ToolFailed> =>
  Effect.suspend(() => {
    const escape = () => Effect.fail(new ToolFailed({ tool, detail: `Failed to resolve path '${path}': path escapes workspace` }))
    if (path.includes("\u0000")) return Effect.fail(new ToolFailed({ tool, detail: `Failed to resolve path: it contains a NUL byte` }))
    const absoluteRoot = NodePath.resolve(root)
    const candidate = NodePath.resolve(absoluteRoot, path === "" ? "." : path)
    if (!inside(absoluteRoot, candidate)) return escape()
    const realRoot = realpathOfNearestExisting(absoluteRoot)
    if (!inside(realRoot, realpathOfNearestExisting(candidate))) return escape()
    return Effect.succeed(candidate)
  })

/** The path relative to the workspace root, with `/` separators (for display and records). */
export const workspaceRelative = (root: string, absolute: string): string =>
  NodePath.relative(NodePath.resolve(root), absolute).split(NodePath.sep).join("/") || "."
