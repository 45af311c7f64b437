/**
 * The dangerous floor: segments destructive enough that no rule and no mode auto-allows them
 * (weakness W7). They ask, or are forbidden when the mode cannot ask.
 */
import type { ShellSegment, ShellWord } from "../Segments.ts"
import { canonicalFlags } from "./matchers.ts"
import { isWithin, resolvePath } from "./paths.ts"
import { basename } from "./words.ts"

const SCRATCH = ["/tmp", "/var/tmp", "/private/tmp"]

/**
 * Why a path operand of a destructive command reaches outside the workspace (`cwd`), or undefined.
 * Relative operands are resolved against `dir`, the directory the command runs in (default `cwd`).
 */
export const riskyTarget = (w: ShellWord, cwd: string, home: string | undefined, dir: string = cwd): string | undefined => {
  let value = w.value
  if (w.dynamic) {
    const i = value.search(/[$`]/)
    const prefix = i < 0 ? value : value.slice(0, i)
    if (prefix === "" || prefix === "/" || prefix === "~" || prefix === "~/") return `${w.value} is only known at run time`
    value = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/") + 1) || "/" : "."
  }
  if (w.glob) {
    const i = value.search(/[*?[]/)
    const prefix = value.slice(0, i)
    value = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/") + 1) || "/" : "."
    if (value === ".") return undefined
  }
  const abs = resolvePath(value, dir, home)
  if (abs === "/") return `${w.value} is the root directory`
  if (abs === cwd) return `${w.value} is the whole workspace`
  if (isWithin(abs, cwd)) return undefined
  if (SCRATCH.some((d) => isWithin(abs, d) && abs !== d)) return undefined
  return `${w.value} is outside the workspace`
}

const operands = (argv: ReadonlyArray<ShellWord>): { flags: Set<string>; positional: Array<ShellWord> } => {
  const flags = new Set<string>()
  const positional: Array<ShellWord> = []
  let end = false
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!
    if (!end && w.value === "--") {
      end = true
      continue
    }
    if (!end && !w.dynamic && w.value.startsWith("-") && w.value.length > 1) {
      for (const f of canonicalFlags(w.value)) flags.add(f)
    } else positional.push(w)
  }
  return { flags, positional }
}

/** Command names the switch of `dangerReasons` looks at (others can only be `mkfs*` / `mke2fs`). */
const FLOOR_COMMANDS: ReadonlySet<string> = new Set([
  "rm", "shred", "srm", "wipe", "find", "chmod", "chown", "chgrp", "dd", "shutdown", "reboot", "halt", "poweroff", "init",
  "telinit", "kill", "pkill", "killall", "wipefs", "fdisk", "sfdisk", "parted", "mkswap"
])

const NEUTRAL_DEVICES = /^\/dev\/(?:null|zero|stdout|stderr|stdin|tty|fd\/\d+|random|urandom)$/

/**
 * Reasons a segment is on the dangerous floor (empty when it is not). `cwd` is the workspace; `dir`
 * is the directory the segment runs in (after a `cd`), against which relative operands resolve.
 */
export const dangerReasons = (seg: ShellSegment, cwd: string, home: string | undefined, dir: string = cwd): Array<string> => {
  const out: Array<string> = []
  if (seg.kind === "redirect") {
    if (!seg.writes || seg.target === null) return out
    if (NEUTRAL_DEVICES.test(seg.target.value)) return out
    if (seg.target.value.startsWith("/dev/")) return [`writes to the device ${seg.target.value}`]
    const why = riskyTarget(seg.target, cwd, home, dir)
    if (why !== undefined) out.push(`writes to a file: ${why}`)
    return out
  }
  const head = seg.argv[0]
  if (seg.kind !== "command" || head === undefined || head.dynamic) return out
  const base = basename(head.value).toLowerCase()
  if (!FLOOR_COMMANDS.has(base)) {
    if (base.startsWith("mkfs") || base === "mke2fs") out.push(`${base} formats a file system`)
    return out
  }
  let parsed: ReturnType<typeof operands> | undefined
  const args = () => (parsed ??= operands(seg.argv))
  const targets = (list: ReadonlyArray<ShellWord>, what: string) => {
    for (const t of list) {
      const why = riskyTarget(t, cwd, home, dir)
      if (why !== undefined) out.push(`${what}: ${why}`)
    }
  }
  switch (base) {
    case "rm":
      if (args().flags.has("-r") || args().flags.has("-f")) targets(args().positional, "recursive or forced delete")
      break
    case "shred":
    case "srm":
    case "wipe":
      targets(args().positional, "overwrites files")
      break
    case "find":
      if (seg.argv.some((w) => w.value === "-delete")) {
        const roots: Array<ShellWord> = []
        for (const w of seg.argv.slice(1)) {
          if (w.value.startsWith("-") || w.value === "(" || w.value === "!") break
          roots.push(w)
        }
        targets(roots.length > 0 ? roots : [{ value: ".", dynamic: false, glob: false }], "find -delete")
      }
      break
    case "chmod":
    case "chown":
    case "chgrp":
      if (args().flags.has("-r")) targets(args().positional.slice(1), `recursive ${base}`)
      break
    case "dd":
      for (const w of seg.argv) {
        if (w.value.startsWith("of=/dev/") && !NEUTRAL_DEVICES.test(w.value.slice(3))) out.push(`dd writes to ${w.value.slice(3)}`)
      }
      break
    case "shutdown":
    case "reboot":
    case "halt":
    case "poweroff":
      out.push(`${base} stops the machine`)
      break
    case "init":
    case "telinit":
      if (args().positional.some((w) => w.value === "0" || w.value === "6")) out.push(`${base} changes the run level`)
      break
    case "kill":
    case "pkill":
    case "killall":
      if (base === "kill" && args().positional.some((w) => w.value === "-1")) out.push("kill -1 signals every process")
      if (seg.argv.slice(1).some((w) => w.value === "-1")) out.push("kill -1 signals every process")
      break
    case "wipefs":
    case "fdisk":
    case "sfdisk":
    case "parted":
    case "mkswap":
      out.push(`${base} rewrites disks`)
      break
    default:
      if (base.startsWith("mkfs") || base === "mke2fs") out.push(`${base} formats a file system`)
  }
  return out.length < 2 ? out : [...new Set(out)]
}
