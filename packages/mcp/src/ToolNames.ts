/**
 * Registry names of MCP tools: `mcp__<server>__<tool>`, at most 64 characters of `[A-Za-z0-9_-]`
 * (what model APIs accept).
 *
 * - Deterministic: a name depends only on the server and tool names (never on the order servers
 *   connect in or on the other tools), so the same config yields the same names on every run.
 * - Collision-safe: a component that had to be changed (characters outside `[A-Za-z0-9_-]`, `__`
 *   inside a server name, a leading or trailing `_`) gets `_<8 hex of sha256(original)>`, so
 *   `my.server` and `my_server` never meet; names cut to 64 characters get a hash of the full pair.
 *   A collision that still happens is resolved by suffixing the pair's hash to each colliding name.
 * - Reversible: the manager keeps the table `qualified name -> (server, tool)`; `splitQualifiedName`
 *   recovers the (sanitised) components of any name because a server component never contains `__`.
 */
import * as NodeCrypto from "node:crypto"

/** The prefix of every MCP tool name. */
export const McpToolPrefix = "mcp__"
/** The longest registry name. */
export const MaxToolNameLength = 64

const hash8 = (text: string): string => NodeCrypto.createHash("sha256").update(text, "utf8").digest("hex").slice(0, 8)

/** The server component: `[A-Za-z0-9_-]`, no `__`, no leading or trailing `_`; changed ones get a hash. */
export const serverComponent = (server: string): string => {
  const clean = server.replace(/[^A-Za-z0-9_-]/g, "_").replace(/_{2,}/g, "_").replace(/^_+|_+$/g, "")
  if (clean === server) return clean
  return clean === "" ? `h${hash8(server)}` : `${clean}_${hash8(server)}`
}

/** The tool component: `[A-Za-z0-9_-]`; changed ones get a hash. */
export const toolComponent = (tool: string): string => {
  const clean = tool.replace(/[^A-Za-z0-9_-]/g, "_")
  if (clean === tool && clean !== "") return clean
  return clean === "" ? `h${hash8(tool)}` : `${clean}_${hash8(tool)}`
}

/** The registry name of one tool, before collision resolution. */
export const qualifyToolName = (server: string, tool: string): string => {
  const s = serverComponent(server)
  const t = toolComponent(tool)
  const full = `${McpToolPrefix}${s}__${t}`
  if (full.length <= MaxToolNameLength) return full
  const suffix = `_${hash8(`${server}\u0000${tool}`)}`
  const shortServer = s.slice(0, 20).replace(/_+$/g, "") || "s"
  const room = MaxToolNameLength - McpToolPrefix.length - shortServer.length - 2 - suffix.length
  return `${McpToolPrefix}${shortServer}__${t.slice(0, room)}${suffix}`
}

/** One (server, tool) pair with its registry name. */
export interface QualifiedTool {
  readonly server: string
  readonly tool: string
  readonly qualifiedName: string
}

/**
 * Names every pair; any two pairs that still end up with the same name both get the pair hash, so
 * each name maps back to exactly one pair.
 */
export const qualifyAll = (pairs: ReadonlyArray<{ readonly server: string; readonly tool: string }>): ReadonlyArray<QualifiedTool> => {
  const named = pairs.map((p) => ({ ...p, qualifiedName: qualifyToolName(p.server, p.tool) }))
  const counts = new Map<string, number>()
  for (const n of named) counts.set(n.qualifiedName, (counts.get(n.qualifiedName) ?? 0) + 1)
  return named.map((n) => {
    if ((counts.get(n.qualifiedName) ?? 0) <= 1) return n
    const suffix = `_${hash8(`${n.server}\u0000${n.tool}`)}`
    return { ...n, qualifiedName: `${n.qualifiedName.slice(0, MaxToolNameLength - suffix.length)}${suffix}` }
  })
}

/** The sanitised server and tool components of a registry name, or `undefined` when it is not one. */
export const splitQualifiedName = (name: string): { readonly server: string; readonly tool: string } | undefined => {
  if (!name.startsWith(McpToolPrefix)) return undefined
  const rest = name.slice(McpToolPrefix.length)
  const i = rest.indexOf("__")
  if (i <= 0 || i + 2 >= rest.length) return undefined
  return { server: rest.slice(0, i), tool: rest.slice(i + 2) }
}
