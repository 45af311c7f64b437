/**
 * Path normalisation and glob path patterns. Everything here is lexical and pure; symlinks are
 * resolved beforehand (see `resolveContextPaths`) and passed in as a map.
 */

/**
 * True when `path` from `start` on is `/`-separated components, none of them empty, `.` or `..`,
 * with no trailing slash (and at least one character).
 */
const normalFrom = (path: string, start: number): boolean => {
  const n = path.length
  if (start >= n || path.charCodeAt(n - 1) === 47) return false
  let from = start
  for (let i = start; i <= n; i++) {
    if (i < n && path.charCodeAt(i) !== 47) continue
    const len = i - from
    if (len === 0) return false
    if (path.charCodeAt(from) === 46 && (len === 1 || (len === 2 && path.charCodeAt(from + 1) === 46))) return false
    from = i + 1
  }
  return true
}

/** True when `path` is already what `normalizeAbsolute` returns: absolute, no empty, `.` or `..` part. */
const isNormalAbsolute = (path: string): boolean => path.charCodeAt(0) === 47 && (path.length === 1 || normalFrom(path, 1))

/** Collapses `.`, `..` and duplicate slashes of an absolute POSIX path. `..` above `/` stays at `/`. */
export const normalizeAbsolute = (path: string): string => {
  if (isNormalAbsolute(path)) return path
  const out: Array<string> = []
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") out.pop()
    else out.push(part)
  }
  return "/" + out.join("/")
}

/** The home directory stand-in used when the caller did not say where home is. */
export const UNKNOWN_HOME = "/~"

/**
 * Resolves a path as the shell or a tool would see it: `~` and `~/…` against `home`, relative paths
 * against `cwd`, then lexically normalised. Backslashes count as separators when `windowsSeparators`.
 */
export const resolvePath = (value: string, cwd: string, home: string | undefined, windowsSeparators = false): string => {
  let v = value.trim()
  if (windowsSeparators) v = v.replaceAll("\\", "/")
  const h = home ?? UNKNOWN_HOME
  if (v === "~") return normalizeAbsolute(h)
  if (v.startsWith("~/")) return normalizeAbsolute(`${h}/${v.slice(2)}`)
  if (v.startsWith("$HOME/") || v === "$HOME") return normalizeAbsolute(`${h}/${v.slice(5)}`)
  if (v.startsWith("/")) return normalizeAbsolute(v)
  if (isNormalRelative(v) && isKnownNormalAbsolute(cwd)) return cwd === "/" ? "/" + v : cwd + "/" + v
  return normalizeAbsolute(`${cwd}/${v}`)
}

/** True when a relative path has no empty, `.` or `..` component and no trailing slash. */
const isNormalRelative = (path: string): boolean => normalFrom(path, 0)

/** The last directory `isKnownNormalAbsolute` found normal (one check per directory, not per path). */
let lastNormalDir = "/"

const isKnownNormalAbsolute = (dir: string): boolean => {
  if (dir === lastNormalDir) return true
  if (!isNormalAbsolute(dir)) return false
  lastNormalDir = dir
  return true
}

/** The absolute directory reached from `cwd` by `cd`-ing to each of `targets` in turn. */
export const resolveDir = (targets: ReadonlyArray<string>, cwd: string, home: string | undefined): string => {
  let dir = cwd
  for (const t of targets) dir = resolvePath(t, dir, home)
  return dir
}

/** True when `path` is `dir` or inside it (both normalised absolute). */
export const isWithin = (path: string, dir: string): boolean =>
  dir === "/" || path === dir || (path.length > dir.length && path.charCodeAt(dir.length) === 47 && path.startsWith(dir))

/** A compiled path pattern from a policy rule. */
export interface PathPattern {
  /** The pattern as written. */
  readonly source: string
  /** Absolute patterns (`/…`, `~/…`) match absolute paths; others match workspace-relative paths. */
  readonly anchor: "absolute" | "home" | "workspace"
  /** Matches a path (absolute, home-relative without `~/`, or workspace-relative). */
  readonly regex: RegExp
  /** The literal directory prefix before the first glob character (for glob-argument overlap checks). */
  readonly literalPrefix: string
}

const GLOB_CHARS = /[*?[{]/

/** Translates a glob (`**`, `*`, `?`, `[…]`, `{a,b}`) to a regular expression source. */
export const globToRegexSource = (glob: string): string => {
  let re = ""
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const slashAfter = glob[i + 2] === "/"
        i += slashAfter ? 2 : 1
        re += slashAfter ? "(?:.*/)?" : ".*"
      } else {
        re += "[^/]*"
      }
    } else if (c === "?") {
      re += "[^/]"
    } else if (c === "[") {
      const end = glob.indexOf("]", i + 2)
      if (end < 0) {
        re += "\\["
        continue
      }
      let body = glob.slice(i + 1, end)
      if (body.startsWith("!")) body = "^" + body.slice(1)
      re += "[" + body.replace(/\\/g, "\\\\") + "]"
      i = end
    } else if (c === "{") {
      const end = glob.indexOf("}", i)
      if (end < 0) {
        re += "\\{"
        continue
      }
      re += "(?:" + glob.slice(i + 1, end).split(",").map(globToRegexSource).join("|") + ")"
      i = end
    } else {
      re += c.replace(/[.+^$()|\\\]}]/g, "\\$&")
    }
  }
  return re
}

/** Compiles a rule path pattern. Returns an error message for patterns that cannot match anything. */
export const compilePathPattern = (source: string): PathPattern | string => {
  let p = source.trim().replaceAll("\\", "/")
  if (p === "") return "path pattern is empty"
  let anchor: PathPattern["anchor"] = "workspace"
  if (p === "~" || p.startsWith("~/")) {
    anchor = "home"
    p = p === "~" ? "" : p.slice(2)
  } else if (p.startsWith("/")) {
    anchor = "absolute"
  }
  // Lexically normalise the literal part (`./a//b/../c` → `a/c`) without touching glob segments.
  const parts: Array<string> = []
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") {
      if (parts.length === 0 || GLOB_CHARS.test(parts[parts.length - 1]!)) {
        if (anchor === "workspace") return "a workspace-relative path pattern may not climb out with '..'"
        continue
      }
      parts.pop()
    } else parts.push(part)
  }
  const body = (anchor === "absolute" ? "/" : "") + parts.join("/")
  const firstGlob = body.search(GLOB_CHARS)
  const literal = firstGlob < 0 ? body : body.slice(0, body.lastIndexOf("/", firstGlob) + 1)
  const regex = body === "" || body === "/" ? /^.*$/ : new RegExp("^" + globToRegexSource(body) + "$")
  return { source, anchor, regex, literalPrefix: literal }
}

/** Every ancestor of a relative or absolute normalised path, the path itself first. */
export const selfAndAncestors = (path: string): Array<string> => {
  const out = [path]
  let p = path
  for (;;) {
    const i = p.lastIndexOf("/")
    if (i <= 0) break
    p = p.slice(0, i)
    out.push(p)
  }
  if (path.startsWith("/") && path !== "/") out.push("/")
  return out
}

/**
 * True when `abs` (a normalised absolute path) is matched by `pattern`, or lies inside a directory
 * the pattern matches (so a rule on `secrets` covers `secrets/api_key.txt`).
 */
export const pathPatternMatches = (pattern: PathPattern, abs: string, workspace: string, home: string | undefined): boolean => {
  let subject: string
  if (pattern.anchor === "absolute") subject = abs
  else {
    const root = pattern.anchor === "home" ? normalizeAbsolute(home ?? UNKNOWN_HOME) : workspace
    if (!isWithin(abs, root)) return false
    subject = abs === root ? "" : root === "/" ? abs.slice(1) : abs.slice(root.length + 1)
  }
  if (subject === "") return pattern.regex.test("")
  for (const candidate of selfAndAncestors(subject)) {
    if (pattern.regex.test(candidate)) return true
  }
  return false
}

/**
 * For a glob written in a shell argument: could it expand to a path the pattern matches? True when
 * the literal directory of the argument and the pattern's literal prefix overlap (conservative).
 */
export const globArgumentMayMatch = (
  pattern: PathPattern,
  argAbsLiteralDir: string,
  workspace: string,
  home: string | undefined
): boolean => {
  const base = pattern.anchor === "absolute"
    ? pattern.literalPrefix
    : pattern.anchor === "home"
    ? `${normalizeAbsolute(home ?? UNKNOWN_HOME)}/${pattern.literalPrefix}`
    : `${workspace}/${pattern.literalPrefix}`
  const patternDir = normalizeAbsolute(base)
  return isWithin(patternDir, argAbsLiteralDir) || isWithin(argAbsLiteralDir, patternDir)
}
