/** Shared test helpers: server configs for the real servers and the fixtures, and a manager layer. */
import { IdGenerator, makeEventRegistry, mcpEventDefinitions } from "@codewhale/protocol"
import { EventStore, layerMemory } from "@codewhale/state"
import { Effect, Either, Layer } from "effect"
import { createRequire } from "node:module"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import type { McpServerConfig } from "../src/Config.ts"
import { McpManager, type McpManagerOptions } from "../src/McpManager.ts"

const require = createRequire(import.meta.url)
const here = NodePath.dirname(fileURLToPath(import.meta.url))

/** The entry point of `@modelcontextprotocol/server-everything`. */
export const everythingEntry = NodePath.join(
  NodePath.dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist",
  "index.js"
)

/** The entry point of `@modelcontextprotocol/server-filesystem`. */
export const filesystemEntry = NodePath.join(
  NodePath.dirname(require.resolve("@modelcontextprotocol/server-filesystem/package.json")),
  "dist",
  "index.js"
)

/** The path of a fixture server. */
export const fixture = (name: string): string => NodePath.join(here, "fixtures", name)

/** A stdio server running `node <script> ...args`. */
export const nodeServer = (
  name: string,
  script: string,
  args: ReadonlyArray<string> = [],
  overrides: Partial<Omit<McpServerConfig, "name" | "transport">> & { readonly env?: Record<string, string> } = {}
): McpServerConfig => {
  const { env, ...rest } = overrides
  return {
    name,
    transport: { _tag: "stdio", command: process.execPath, args: [script, ...args], env: env ?? {}, cwd: undefined },
    enabled: true,
    required: false,
    startupTimeoutMs: 20_000,
    toolTimeoutMs: 20_000,
    ...rest
  }
}

/** A Streamable HTTP server config. */
export const httpServer = (name: string, url: string, overrides: Partial<Omit<McpServerConfig, "name" | "transport">> = {}): McpServerConfig => ({
  name,
  transport: { _tag: "streamable_http", url, headers: {} },
  enabled: true,
  required: false,
  startupTimeoutMs: 20_000,
  toolTimeoutMs: 20_000,
  ...overrides
})

/** A manager over an in-memory log with deterministic ids. */
export const managerLayer = (servers: ReadonlyArray<McpServerConfig>, options: McpManagerOptions = {}) =>
  McpManager.layer(servers, { shutdownGraceMs: 500, ...options }).pipe(
    Layer.provideMerge(Layer.merge(layerMemory, IdGenerator.layer))
  )

const registry = Either.getOrThrow(makeEventRegistry(mcpEventDefinitions))

/** The decoded events of the manager's session stream, as `[type, payload]`. */
export const sessionEvents = Effect.gen(function*() {
  const manager = yield* McpManager
  const store = yield* EventStore
  const records = yield* store.readStream(manager.sessionId)
  return records.map((r) => {
    const decoded = Either.getOrThrow(registry.decode(r))
    return { type: r.eventType, payload: decoded._tag === "Known" ? (decoded.payload as Record<string, unknown>) : {} }
  })
})

/** The text of the first text content item of a tool result. */
export const firstText = (result: { readonly content: ReadonlyArray<unknown> }): string => {
  const item = result.content.find((c): c is { type: "text"; text: string } =>
    typeof c === "object" && c !== null && (c as { type?: unknown }).type === "text"
  )
  return item?.text ?? ""
}
