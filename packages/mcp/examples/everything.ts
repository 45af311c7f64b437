/** The README's example: server-everything over stdio, started, listed and called through McpManager. */
import { IdGenerator } from "@codewhale/protocol"
import { layerMemory } from "@codewhale/state"
import { McpManager, parseMcpConfigToml } from "@codewhale/mcp"
import { Console, Effect, Either, Layer, Stream } from "effect"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const everything = require.resolve("@modelcontextprotocol/server-everything/package.json").replace("package.json", "dist/index.js")
const servers = Either.getOrThrow(parseMcpConfigToml(`
[mcp_servers.everything]
command = ${JSON.stringify(process.execPath)}
args = [${JSON.stringify(everything)}, "stdio"]
`))

const program = Effect.gen(function*() {
  const mcp = yield* McpManager
  // The client app's view: the seed's frames, as they happen.
  yield* mcp.frames.pipe(Stream.runForEach((f) => Console.log(JSON.stringify(f))), Effect.forkScoped)
  yield* Effect.yieldNow()
  yield* mcp.startAll // {"event":"mcp_startup_update",...} ... {"event":"mcp_startup_complete",...}
  const tools = yield* mcp.tools // mcp__everything__echo, mcp__everything__get-sum, ...
  yield* Console.log(tools.map((t) => t.qualifiedName).join(", "))
  const sum = yield* mcp.callQualifiedTool("mcp__everything__get-sum", { arguments: { a: 2, b: 40 } })
  yield* Console.log(JSON.stringify(sum.content))
  const resources = yield* mcp.listResources("everything")
  yield* Console.log(`${resources.length} resources`)
})

Effect.runPromise(
  program.pipe(Effect.scoped, Effect.provide(McpManager.layer(servers).pipe(Layer.provide(Layer.merge(layerMemory, IdGenerator.layer)))))
)
