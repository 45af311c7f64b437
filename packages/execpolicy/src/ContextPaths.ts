/**
 * Symlink resolution happens here, before the pure decision: `resolveContextPaths` finds every path
 * a call mentions (the tool's path(s), patch headers, shell arguments and redirect targets), asks the
 * file system for their real paths, and returns the context with `resolvedPaths` filled in. `check`
 * and `explain` then only look the map up, so they stay pure.
 */
import { realpath } from "node:fs/promises"
import { Effect } from "effect"
import { EXEC_SHELL, type ExecPolicyContext } from "./Context.ts"
import type { BashParser } from "./ShellParser.ts"
import { analyseCommand } from "./internal/analyse.ts"
import { normalizeAbsolute, resolveDir, resolvePath } from "./internal/paths.ts"

const realOrUndefined = (p: string): Effect.Effect<string | undefined> =>
  Effect.tryPromise(() => realpath(p)).pipe(Effect.orElseSucceed(() => undefined))

/**
 * Most shell-argument paths resolved for one command (a bound on the file-system calls a single
 * command can cause; past it, arguments are matched by name only). The paths a tool declares
 * (`path`, `paths`) are always all resolved: they are the files the tool will touch.
 */
const MAX_SHELL_PATHS = 1024

/** Returns the context with `resolvedPaths` (path → real path, only where they differ). */
export const resolveContextPaths = (parser: BashParser, ctx: ExecPolicyContext): Effect.Effect<ExecPolicyContext> =>
  Effect.gen(function*() {
    const cwd = normalizeAbsolute(ctx.cwd)
    const candidates = new Set<string>()
    const add = (value: string, base = cwd) => {
      if (value.trim() !== "") candidates.add(resolvePath(value, base, ctx.home, true))
    }
    if (ctx.path !== undefined) add(ctx.path)
    for (const p of ctx.paths ?? []) add(p)
    const shellLimit = candidates.size + MAX_SHELL_PATHS
    if ((ctx.tool ?? EXEC_SHELL) === EXEC_SHELL) {
      const analysis = analyseCommand(parser, ctx.command)
      for (const s of analysis.segments) {
        const bases = s.dirs.map((d) => resolveDir(d, cwd, ctx.home))
        const words = s.kind === "redirect" ? (s.target ? [s.target] : []) : s.argv.slice(1)
        for (const w of words) {
          if (w.dynamic || w.glob || w.value.startsWith("-")) continue
          for (const base of bases) if (candidates.size < shellLimit) add(w.value, base)
        }
      }
    }
    const resolved = new Map<string, string>(ctx.resolvedPaths ?? [])
    for (const p of candidates) {
      let dir = p
      for (;;) {
        const real = yield* realOrUndefined(dir)
        if (real !== undefined) {
          if (real !== dir) resolved.set(dir, normalizeAbsolute(real))
          break
        }
        const i = dir.lastIndexOf("/")
        if (i <= 0) break
        dir = dir.slice(0, i)
      }
    }
    return { ...ctx, resolvedPaths: resolved }
  })
