/**
 * How a tool is described: name, description, input (an Effect Schema, or a plain JSON Schema for
 * tools defined elsewhere such as MCP servers), timeout and a handler Effect.
 */
import type { ToolOutput } from "@codewhale/protocol"
import { Either, JSONSchema, ParseResult, Schema, type Effect } from "effect"
import type { InvalidToolArguments, ToolFailed, ToolTimedOut } from "./Errors.ts"

/** A chunk of output a running tool reports (streamed into the log as it arrives). */
export interface ToolDelta {
  readonly stream: "stdout" | "stderr"
  readonly chunk: string
}

/** What a handler gets besides its input. */
export interface ToolContext {
  /** The call id (the model's `raw_tool_call_id`, or a generated one). */
  readonly callId: string
  /** The workspace root: relative paths resolve against it and file tools stay inside it. */
  readonly cwd: string
  /** Reports output while the tool runs. */
  readonly emit: (delta: ToolDelta) => Effect.Effect<void>
}

/** Errors a handler may fail with. */
export type ToolHandlerError = ToolFailed | ToolTimedOut | InvalidToolArguments

/** A JSON Schema object (as MCP servers and model APIs exchange them). */
export type JsonSchemaObject = { readonly [key: string]: unknown }

/**
 * What `redact` returns: the names of the parts that were hidden, and the input to record instead
 * (an object of the call's arguments; required when anything was hidden, ignored otherwise).
 */
export interface Redacted {
  readonly value: unknown
  readonly redacted: ReadonlyArray<string>
}

/** A tool as registered: the decoder is compiled from the schema once. */
export interface ToolDefinition {
  readonly name: string
  readonly description: string
  /** The input's JSON Schema, as exported to models. */
  readonly inputJsonSchema: JsonSchemaObject
  /** Default timeout of one call, in milliseconds (none: the registry's default). */
  readonly timeoutMs?: number | undefined
  /** `mcp` tools also accept `mcp` payloads; `function` tools refuse them. */
  readonly kind: "function" | "mcp"
  /** Whether the tool changes files or runs code (informational, for policy and scheduling). */
  readonly mutating: boolean
  /** Validates raw input; `Left` carries the schema's message. */
  readonly decode: (input: unknown) => Either.Either<unknown, string>
  readonly handler: (input: unknown, context: ToolContext) => Effect.Effect<ToolOutput, ToolHandlerError>
  /** Hides secret parts of the raw input before it is recorded (e.g. exec_shell `env` values). */
  readonly redact?: ((input: unknown) => Redacted) | undefined
  /**
   * Every file a call with this raw input would touch, for the policy's path rules (e.g. each
   * file of a multi-file patch). Absent: the policy sees only the input's `path` argument. The
   * paths are recorded in the log as they are: never build them from values `redact` hides.
   */
  readonly touchedPaths?: ((input: unknown) => ReadonlyArray<string>) | undefined
}

/** Common options of both definition styles. */
export interface ToolOptions {
  readonly name: string
  readonly description: string
  readonly timeoutMs?: number | undefined
  readonly kind?: "function" | "mcp" | undefined
  readonly mutating?: boolean | undefined
  readonly redact?: ((input: unknown) => Redacted) | undefined
  readonly touchedPaths?: ((input: unknown) => ReadonlyArray<string>) | undefined
}

/** Defines a tool whose input is an Effect Schema; the JSON Schema for models is derived from it. */
export const defineTool = <A, I>(
  options: ToolOptions & {
    readonly input: Schema.Schema<A, I>
    readonly handler: (input: A, context: ToolContext) => Effect.Effect<ToolOutput, ToolHandlerError>
  }
): ToolDefinition => {
  const decode = Schema.decodeUnknownEither(options.input, { errors: "all", onExcessProperty: "error" })
  return {
    name: options.name,
    description: options.description,
    inputJsonSchema: JSONSchema.make(options.input) as unknown as JsonSchemaObject,
    timeoutMs: options.timeoutMs,
    kind: options.kind ?? "function",
    mutating: options.mutating ?? false,
    redact: options.redact,
    touchedPaths: options.touchedPaths,
    decode: (input) => Either.mapLeft(decode(input), (e) => ParseResult.TreeFormatter.formatErrorSync(e)),
    handler: options.handler as (input: unknown, context: ToolContext) => Effect.Effect<ToolOutput, ToolHandlerError>
  }
}

const typeOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value

const matchesType = (value: unknown, type: unknown): boolean => {
  if (typeof type !== "string") return true
  const actual = typeOf(value)
  if (type === "number") return actual === "number" || actual === "integer"
  return actual === type
}

/**
 * A shallow JSON Schema check (what a tool defined elsewhere, e.g. an MCP server, still validates
 * itself): the top-level `type`, `required` keys, and the `type` and `enum` of each listed property.
 */
export const checkJsonSchema = (schema: JsonSchemaObject, input: unknown): Either.Either<unknown, string> => {
  if (!matchesType(input, schema["type"])) return Either.left(`expected ${String(schema["type"])}, got ${typeOf(input)}`)
  if (typeof input !== "object" || input === null || Array.isArray(input)) return Either.right(input)
  const record = input as Record<string, unknown>
  const required = Array.isArray(schema["required"]) ? (schema["required"] as ReadonlyArray<unknown>) : []
  const missing = required.filter((k): k is string => typeof k === "string" && !(k in record))
  if (missing.length > 0) return Either.left(`missing required field${missing.length > 1 ? "s" : ""} ${missing.map((k) => `'${k}'`).join(", ")}`)
  const properties = typeof schema["properties"] === "object" && schema["properties"] !== null
    ? (schema["properties"] as Record<string, unknown>)
    : {}
  for (const [key, value] of Object.entries(record)) {
    const property = properties[key]
    if (typeof property !== "object" || property === null) continue
    const p = property as Record<string, unknown>
    if (!matchesType(value, p["type"])) return Either.left(`field '${key}' must be ${String(p["type"])}, got ${typeOf(value)}`)
    if (Array.isArray(p["enum"]) && !p["enum"].some((e) => e === value)) {
      return Either.left(`field '${key}' must be one of ${p["enum"].map((e) => JSON.stringify(e)).join(", ")}`)
    }
  }
  return Either.right(input)
}

/**
 * Defines a tool whose input is a plain JSON Schema (checked shallowly, see `checkJsonSchema`).
 * This is how tools defined outside TypeScript, such as MCP server tools, are registered.
 */
export const defineJsonSchemaTool = (
  options: ToolOptions & {
    readonly inputSchema: JsonSchemaObject
    readonly handler: (input: unknown, context: ToolContext) => Effect.Effect<ToolOutput, ToolHandlerError>
  }
): ToolDefinition => ({
  name: options.name,
  description: options.description,
  inputJsonSchema: options.inputSchema,
  timeoutMs: options.timeoutMs,
  kind: options.kind ?? "function",
  mutating: options.mutating ?? false,
  redact: options.redact,
  touchedPaths: options.touchedPaths,
  decode: (input) => checkJsonSchema(options.inputSchema, input),
  handler: options.handler
})

/** A `function` output: `{"type":"function","body":…,"success":…}`. */
export const functionOutput = (body: unknown, success = true): ToolOutput => ({ type: "function", body, success })
