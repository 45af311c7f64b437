/**
 * `codewhale mcp list|start|tools|call`: the configured MCP servers (`[mcp_servers.<name>]` in
 * `$CODEWHALE_HOME/config.toml`, then `.codewhale/config.toml`, or `--config FILE`).
 *
 * - `list`: the configuration, without starting anything.
 * - `start`: starts every enabled server and prints the seed's `mcp_startup_update` frames and the
 *   `mcp_startup_complete` summary (one JSON frame per line); exit 1 when a `required` server failed.
 * - `tools [server]`: starts the servers and lists their tools by registry name.
 * - `call <server> <tool> --args JSON`: starts that server and calls the tool once (directly, not
 *   through the policy pipeline: this is the operator's own call). Exit 1 on an `isError` result.
 *
 * Every command that starts servers records its session (`mcp-<uuid>` stream) in the log and shuts
 * the servers down before it exits. Elicitations cannot be answered here and are cancelled.
 */
import { Args, Command, Options } from "@effect/cli"
import {
  defaultConfigFiles,
  loadMcpConfig,
  McpManager,
  type McpServerConfig,
  type McpServersConfig,
  type McpToolResult
} from "@codewhale/mcp"
import { Console, Effect, Layer, Option, Schema, Stream } from "effect"
import { codewhaleHome, databaseLayer, dbOption } from "../Database.ts"

/** `--config FILE`: read `[mcp_servers]` from this file only. */
const configOption = Options.file("config").pipe(
  Options.withDescription("read [mcp_servers] from this TOML file (default: $CODEWHALE_HOME/config.toml, then .codewhale/config.toml)"),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))

/** `--args` is not a JSON object. */
export class InvalidToolArgumentsJson extends Schema.TaggedError<InvalidToolArgumentsJson>()("InvalidToolArgumentsJson", {
  detail: Schema.String
}) {
  override get message(): string {
    return `--args must be a JSON object: ${this.detail}`
  }
}

/** The servers of the config files (or of `--config`). */
export const configuredServers = (config: Option.Option<string>) =>
  Option.match(config, {
    onNone: () => loadMcpConfig(defaultConfigFiles(codewhaleHome(), process.cwd())),
    onSome: (file) => loadMcpConfig([file], { requireAll: true })
  })

const describeServer = (s: McpServerConfig): string => {
  const target = s.transport._tag === "stdio" ? [s.transport.command, ...s.transport.args].join(" ") : s.transport.url
  const flags = [s.enabled ? "enabled" : "disabled", ...(s.required ? ["required"] : [])].join(", ")
  return `${s.name}  ${s.transport._tag}  ${target}  (${flags}; startup ${s.startupTimeoutMs} ms, tools ${s.toolTimeoutMs} ms)`
}

const redactedServer = (s: McpServerConfig) => ({
  name: s.name,
  transport: s.transport._tag,
  ...(s.transport._tag === "stdio"
    ? { command: s.transport.command, args: s.transport.args, env: Object.keys(s.transport.env), cwd: s.transport.cwd ?? null }
    : { url: s.transport.url, headers: Object.keys(s.transport.headers) }),
  enabled: s.enabled,
  required: s.required,
  startup_timeout_ms: s.startupTimeoutMs,
  tool_timeout_ms: s.toolTimeoutMs
})

/** A manager for these servers on the `--db` log; elicitations are cancelled (no one to ask). */
const withManager = <A, E, R>(servers: McpServersConfig, db: Option.Option<string>, body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const manager = yield* McpManager
    yield* manager.frames.pipe(
      Stream.runForEach((frame) =>
        frame.event === "elicitation_request"
          ? Effect.zipRight(
            Console.error(`elicitation from ${frame.server_name} cancelled (not interactive): ${frame.prompt}`),
            manager.answerElicitation(frame.request_id, { action: "cancel" }).pipe(Effect.ignore)
          )
          : Effect.void
      ),
      Effect.forkScoped
    )
    return yield* body
  }).pipe(
    Effect.scoped,
    Effect.provide(McpManager.layer(servers).pipe(Layer.provide(databaseLayer(db, { readonly: false }))))
  )

const list = Command.make("list", { config: configOption, json }, ({ config, json }) =>
  Effect.gen(function*() {
    const servers = yield* configuredServers(config)
    if (json) return yield* Console.log(JSON.stringify(servers.map(redactedServer)))
    for (const s of servers) yield* Console.log(describeServer(s))
    yield* Console.log(`${servers.length} MCP server(s)`)
  })
).pipe(Command.withDescription("list the configured MCP servers"))

const start = Command.make("start", { config: configOption, db: dbOption }, ({ config, db }) =>
  Effect.gen(function*() {
    const servers = yield* configuredServers(config)
    yield* withManager(
      servers,
      db,
      Effect.gen(function*() {
        const manager = yield* McpManager
        const printer = yield* manager.frames.pipe(
          Stream.takeUntil((f) => f.event === "mcp_startup_complete"),
          Stream.runForEach((f) => f.event.startsWith("mcp_startup") ? Console.log(JSON.stringify(f)) : Effect.void),
          Effect.fork
        )
        yield* Effect.yieldNow()
        const outcome = yield* Effect.either(manager.startAll)
        yield* printer.await
        if (outcome._tag === "Left") {
          yield* Console.error(outcome.left.message)
          process.exitCode = 1
        }
      })
    )
  })
).pipe(Command.withDescription("start every enabled MCP server and print the startup frames"))

const serverArg = Args.text({ name: "server" })

const tools = Command.make(
  "tools",
  { config: configOption, db: dbOption, json, server: serverArg.pipe(Args.optional) },
  ({ config, db, json, server }) =>
    Effect.gen(function*() {
      const servers = yield* configuredServers(config)
      yield* withManager(
        servers,
        db,
        Effect.gen(function*() {
          const manager = yield* McpManager
          if (Option.isSome(server)) {
            const state = yield* manager.startServer(server.value)
            if (state.status !== "ready") {
              yield* Console.error(`MCP server '${state.name}' is ${state.status}${state.error === undefined ? "" : `: ${state.error}`}`)
              process.exitCode = 1
              return
            }
          } else {
            const summary = yield* Effect.either(manager.startAll)
            if (summary._tag === "Left") yield* Console.error(summary.left.message)
            else for (const f of summary.right.failed) yield* Console.error(`MCP server '${f.serverName}' failed: ${f.error}`)
          }
          const all = yield* manager.tools
          const shown = Option.isSome(server) ? all.filter((t) => t.serverName === server.value) : all
          if (json) {
            return yield* Console.log(JSON.stringify(shown.map((t) => ({
              name: t.qualifiedName,
              server: t.serverName,
              tool: t.toolName,
              description: t.description ?? null,
              input_schema: t.inputSchema
            }))))
          }
          for (const t of shown) yield* Console.log(`${t.qualifiedName}  ${(t.description ?? "").split("\n")[0]}`)
          yield* Console.log(`${shown.length} tool(s)`)
        })
      )
    })
).pipe(Command.withDescription("start the MCP servers and list their tools (mcp__<server>__<tool>)"))

const textOf = (result: McpToolResult): string =>
  result.content
    .map((c) => (c.type === "text" ? c.text : `[${c.type} content]`))
    .join("\n")

const parseArgs = (text: string) =>
  Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => new InvalidToolArgumentsJson({ detail: (e as Error).message }) }).pipe(
    Effect.filterOrFail(
      (v): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v),
      () => new InvalidToolArgumentsJson({ detail: `got ${text}` })
    )
  )

const call = Command.make(
  "call",
  {
    config: configOption,
    db: dbOption,
    json,
    args: Options.text("args").pipe(Options.withDescription("the tool's arguments as a JSON object"), Options.withDefault("{}")),
    server: serverArg,
    tool: Args.text({ name: "tool" })
  },
  ({ args, config, db, json, server, tool }) =>
    Effect.gen(function*() {
      const input = yield* parseArgs(args)
      const servers = yield* configuredServers(config)
      yield* withManager(
        servers,
        db,
        Effect.gen(function*() {
          const manager = yield* McpManager
          const state = yield* manager.startServer(server)
          if (state.status !== "ready") {
            yield* Console.error(`MCP server '${state.name}' is ${state.status}${state.error === undefined ? "" : `: ${state.error}`}`)
            process.exitCode = 1
            return
          }
          const result = yield* manager.callTool({ server, tool, arguments: input })
          yield* Console.log(json ? JSON.stringify(result) : textOf(result))
          if (result.isError === true) process.exitCode = 1
        })
      )
    })
).pipe(Command.withDescription("call one tool of one MCP server: codewhale mcp call <server> <tool> --args JSON"))

/** `codewhale mcp ...`. */
export const mcpCommand = Command.make("mcp").pipe(
  Command.withDescription("the configured MCP servers: list, start, tools, call"),
  Command.withSubcommands([list, start, tools, call])
)
