/**
 * MCP server configuration: the `[mcp_servers.<name>]` tables of `config.toml`.
 *
 * ```toml
 * [mcp_servers.fs]                       # stdio
 * command = "npx"
 * args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp/work"]
 * env = { LOG_LEVEL = "warn" }
 * cwd = "/tmp"
 * startup_timeout_ms = 10000
 * tool_timeout_ms = 60000
 *
 * [mcp_servers.docs]                     # Streamable HTTP
 * url = "http://127.0.0.1:3001/mcp"
 * headers = { Authorization = "Bearer …" }
 * required = true
 * enabled = true
 * ```
 *
 * Exactly one of `command` / `url` per server. Unknown fields are errors. Invalid configuration is a
 * typed `McpConfigError` naming the server and the field.
 */
import { FileSystem } from "@effect/platform"
import { Effect, Either, ParseResult, Schema } from "effect"
import * as NodePath from "node:path"
import { parse as parseToml } from "smol-toml"
import { McpConfigError, McpConfigFileError } from "./Errors.ts"

/** The startup timeout when none is configured. */
export const DefaultStartupTimeoutMs = 10_000
/** The per-request timeout of tool calls (and other requests) when none is configured. */
export const DefaultToolTimeoutMs = 60_000

const PositiveMs = Schema.Int.pipe(Schema.positive({ message: () => "must be a positive integer (milliseconds)" }))
const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "must not be empty" }))
const StringMap = Schema.Record({ key: Schema.String, value: Schema.String })

/** One `[mcp_servers.<name>]` table as written in TOML. */
export const McpServerConfigInput = Schema.Struct({
  command: Schema.optional(NonEmpty),
  args: Schema.optional(Schema.Array(Schema.String)),
  env: Schema.optional(StringMap),
  cwd: Schema.optional(NonEmpty),
  url: Schema.optional(NonEmpty),
  headers: Schema.optional(StringMap),
  enabled: Schema.optional(Schema.Boolean),
  required: Schema.optional(Schema.Boolean),
  startup_timeout_ms: Schema.optional(PositiveMs),
  tool_timeout_ms: Schema.optional(PositiveMs)
})
/** One `[mcp_servers.<name>]` table as written in TOML. */
export type McpServerConfigInput = typeof McpServerConfigInput.Encoded

/** How to start a stdio server. */
export interface StdioTransportConfig {
  readonly _tag: "stdio"
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string | undefined
}

/** How to reach a Streamable HTTP server. */
export interface HttpTransportConfig {
  readonly _tag: "streamable_http"
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** A validated server configuration with defaults applied. */
export interface McpServerConfig {
  readonly name: string
  readonly transport: StdioTransportConfig | HttpTransportConfig
  readonly enabled: boolean
  readonly required: boolean
  readonly startupTimeoutMs: number
  readonly toolTimeoutMs: number
}

/** Every configured server, sorted by name. */
export type McpServersConfig = ReadonlyArray<McpServerConfig>

const decodeServer = Schema.decodeUnknownEither(McpServerConfigInput, { onExcessProperty: "error", errors: "first" })

const firstIssue = (error: ParseResult.ParseError): { readonly field: string; readonly detail: string } => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const issue = issues[0]
  if (issue === undefined) return { field: "", detail: "invalid value" }
  const field = issue.path.map(String).join(".")
  const detail = issue._tag === "Unexpected" ? "is not a known field" : issue.message
  return { field, detail }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Validates one server table. `baseDir` resolves a relative `cwd` (the directory of the config
 * file it came from).
 */
export const decodeServerConfig = (
  name: string,
  raw: unknown,
  options: { readonly source?: string | undefined; readonly baseDir?: string | undefined } = {}
): Either.Either<McpServerConfig, McpConfigError> => {
  const fail = (field: string, detail: string) =>
    Either.left(new McpConfigError({ server: name, field, detail, ...(options.source === undefined ? {} : { source: options.source }) }))
  if (name.trim() === "") return fail("", "a server name must not be empty")
  if (!isRecord(raw)) return fail("", "must be a table")
  const decoded = decodeServer(raw)
  if (Either.isLeft(decoded)) {
    const { detail, field } = firstIssue(decoded.left)
    return fail(field, detail)
  }
  const c = decoded.right
  const common = {
    name,
    enabled: c.enabled ?? true,
    required: c.required ?? false,
    startupTimeoutMs: c.startup_timeout_ms ?? DefaultStartupTimeoutMs,
    toolTimeoutMs: c.tool_timeout_ms ?? DefaultToolTimeoutMs
  }
  if (c.command !== undefined && c.url !== undefined) return fail("url", "set either `command` (stdio) or `url` (Streamable HTTP), not both")
  if (c.command !== undefined) {
    if (c.headers !== undefined) return fail("headers", "`headers` only applies to `url` servers")
    const cwd = c.cwd === undefined ? undefined : options.baseDir === undefined ? c.cwd : NodePath.resolve(options.baseDir, c.cwd)
    return Either.right({
      ...common,
      transport: { _tag: "stdio", command: c.command, args: c.args ?? [], env: c.env ?? {}, cwd }
    })
  }
  if (c.url !== undefined) {
    for (const field of ["args", "env", "cwd"] as const) {
      if (c[field] !== undefined) return fail(field, `\`${field}\` only applies to \`command\` (stdio) servers`)
    }
    let url: URL
    try {
      url = new URL(c.url)
    } catch {
      return fail("url", `'${c.url}' is not a valid URL`)
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return fail("url", `must be an http:// or https:// URL, got ${url.protocol}`)
    return Either.right({ ...common, transport: { _tag: "streamable_http", url: c.url, headers: c.headers ?? {} } })
  }
  return fail("command", "set `command` (stdio) or `url` (Streamable HTTP)")
}

/** Validates a whole `mcp_servers` table (name -> server table). Servers come back sorted by name. */
export const decodeMcpServers = (
  raw: unknown,
  options: { readonly source?: string | undefined; readonly baseDir?: string | undefined } = {}
): Either.Either<McpServersConfig, McpConfigError> => {
  if (raw === undefined) return Either.right([])
  if (!isRecord(raw)) {
    return Either.left(
      new McpConfigError({ server: "", field: "", detail: "`mcp_servers` must be a table", ...(options.source === undefined ? {} : { source: options.source }) })
    )
  }
  const out: Array<McpServerConfig> = []
  for (const name of Object.keys(raw).sort()) {
    const decoded = decodeServerConfig(name, raw[name], options)
    if (Either.isLeft(decoded)) return Either.left(decoded.left)
    out.push(decoded.right)
  }
  return Either.right(out)
}

/** Parses TOML text and validates its `[mcp_servers]` table (other tables are ignored). */
export const parseMcpConfigToml = (
  text: string,
  options: { readonly source?: string | undefined; readonly baseDir?: string | undefined } = {}
): Either.Either<McpServersConfig, McpConfigError | McpConfigFileError> => {
  let doc: unknown
  try {
    doc = parseToml(text)
  } catch (e) {
    return Either.left(new McpConfigFileError({ path: options.source ?? "<toml>", detail: e instanceof Error ? e.message : String(e) }))
  }
  return decodeMcpServers(isRecord(doc) ? doc["mcp_servers"] : undefined, options)
}

/**
 * Merges server lists: a later list's server replaces an earlier one of the same name (project
 * config over user config). The result is sorted by name.
 */
export const mergeMcpServers = (...lists: ReadonlyArray<McpServersConfig>): McpServersConfig => {
  const byName = new Map<string, McpServerConfig>()
  for (const list of lists) for (const s of list) byName.set(s.name, s)
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** The usual config files, lowest precedence first: `<home>/config.toml`, then `<cwd>/.codewhale/config.toml`. */
export const defaultConfigFiles = (home: string, cwd: string): ReadonlyArray<string> => [
  NodePath.join(home, "config.toml"),
  NodePath.join(cwd, ".codewhale", "config.toml")
]

/**
 * Reads and merges `[mcp_servers]` from config files, in precedence order (later wins). Missing
 * files are skipped unless `requireAll` is set (for a file named explicitly with `--config`).
 */
export const loadMcpConfig = (
  files: ReadonlyArray<string>,
  options: { readonly requireAll?: boolean } = {}
): Effect.Effect<McpServersConfig, McpConfigError | McpConfigFileError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const lists: Array<McpServersConfig> = []
    for (const file of files) {
      const path = NodePath.resolve(file)
      const exists = yield* fs.exists(path).pipe(Effect.orElseSucceed(() => false))
      if (!exists) {
        if (options.requireAll === true) return yield* new McpConfigFileError({ path, detail: "no such file" })
        continue
      }
      const text = yield* fs.readFileString(path).pipe(
        Effect.mapError((e) => new McpConfigFileError({ path, detail: e.message }))
      )
      lists.push(yield* parseMcpConfigToml(text, { source: path, baseDir: NodePath.dirname(path) }))
    }
    return mergeMcpServers(...lists)
  })
