/**
 * The `ToolRegistry` service: register / unregister tools, list them in a stable order (by name),
 * export their specs for models, and dispatch a `ToolCall` with a per-tool timeout and typed errors.
 */
import type { ToolCall, ToolOutput } from "@codewhale/protocol"
import { Context, Duration, Effect, Either, Layer, Option, Ref, type Scope } from "effect"
import { InvalidToolArguments, ToolAlreadyRegistered, ToolDeclarationFailed, ToolNotFound, ToolTimedOut, type DispatchError } from "./Errors.ts"
import type { JsonSchemaObject, Redacted, ToolContext, ToolDefinition } from "./ToolDefinition.ts"

/** What a model is told about a tool. */
export interface ToolSpec {
  readonly name: string
  readonly description: string
  readonly input_schema: JsonSchemaObject
  readonly timeout_ms: number
  readonly kind: "function" | "mcp"
  readonly mutating: boolean
}

/** Options of a registration. */
export interface RegisterOptions {
  /** Overwrite a tool of the same name instead of failing with `ToolAlreadyRegistered`. */
  readonly replace?: boolean | undefined
}

/** Options of one dispatch. */
export interface DispatchOptions {
  /** Overrides the tool's timeout for this call. */
  readonly timeoutMs?: number | undefined
}

/** The default timeout of a tool that declares none: 300 s (the seed's HEAD runtime timeout). */
export const DefaultToolTimeoutMs = 300_000

/** The tool registry. */
export interface ToolRegistryShape {
  /** Adds a tool; a name already taken fails unless `replace` is set. */
  readonly register: (tool: ToolDefinition, options?: RegisterOptions) => Effect.Effect<void, ToolAlreadyRegistered>
  /** Adds a tool for the lifetime of the scope (removed when it closes). */
  readonly registerScoped: (tool: ToolDefinition) => Effect.Effect<void, ToolAlreadyRegistered, Scope.Scope>
  /** Removes a tool; true when one was removed. */
  readonly unregister: (name: string) => Effect.Effect<boolean>
  /** The tool of that name, if any. */
  readonly get: (name: string) => Effect.Effect<Option.Option<ToolDefinition>>
  /** Every tool's spec, sorted by name (stable, so prompts stay cache-friendly). */
  readonly list: Effect.Effect<ReadonlyArray<ToolSpec>>
  /** The raw input a call carries, before validation (parsed function arguments, mcp raw arguments, ...). */
  readonly callInput: (call: ToolCall) => Effect.Effect<unknown, ToolNotFound | InvalidToolArguments>
  /**
   * The call's input with secret parts hidden, for recording (tools without `redact` are returned
   * as is); a `redact` that throws fails with `ToolDeclarationFailed`.
   */
  readonly redactCall: (call: ToolCall) => Effect.Effect<Redacted, ToolDeclarationFailed>
  /**
   * Every file the call would touch, as its tool declares (`touchedPaths`), for the policy's path
   * rules; none for an unknown tool, a tool that declares nothing, or unreadable input. A
   * `touchedPaths` that throws, or returns anything but strings, fails with `ToolDeclarationFailed`.
   */
  readonly touchedPaths: (call: ToolCall) => Effect.Effect<ReadonlyArray<string>, ToolDeclarationFailed>
  /** Validates the input and runs the tool with its timeout; interruption stops whatever it started. */
  readonly dispatch: (
    call: ToolCall,
    context: ToolContext,
    options?: DispatchOptions
  ) => Effect.Effect<ToolOutput, DispatchError>
}

/** Runs one of a tool's declarations (user code) on a call's input; a throw becomes `ToolDeclarationFailed`. */
const declared = <A>(
  tool: ToolDefinition,
  declaration: ToolDeclarationFailed["declaration"],
  f: (input: unknown) => A,
  input: unknown
): Effect.Effect<A, ToolDeclarationFailed> =>
  Effect.try({
    try: () => f(input),
    // Only the kind of error is kept: its message may quote the input, secret values included.
    catch: (cause) =>
      new ToolDeclarationFailed({ tool: tool.name, declaration, detail: `it threw ${cause instanceof Error ? `a ${cause.name}` : "a non-Error value"}` })
  })

/** Extracts a call's raw input: function arguments (JSON text), custom input (text), local_shell params, mcp arguments. */
export const rawCallInput = (tool: ToolDefinition, call: ToolCall): Either.Either<unknown, InvalidToolArguments> => {
  const payload = call.payload
  switch (payload.type) {
    case "function": {
      if (payload.arguments.trim() === "") return Either.right({})
      try {
        return Either.right(JSON.parse(payload.arguments) as unknown)
      } catch (e) {
        return Either.left(new InvalidToolArguments({ tool: tool.name, detail: `arguments are not valid JSON: ${(e as Error).message}` }))
      }
    }
    case "custom":
      return Either.right(payload.input)
    case "local_shell":
      return Either.right(payload.params)
    case "mcp":
      return tool.kind === "mcp"
        ? Either.right(payload.raw_arguments ?? {})
        : Either.left(new InvalidToolArguments({ tool: tool.name, detail: "an mcp payload was sent to a function tool" }))
  }
}

const specOf = (tool: ToolDefinition): ToolSpec => ({
  name: tool.name,
  description: tool.description,
  input_schema: tool.inputJsonSchema,
  timeout_ms: tool.timeoutMs ?? DefaultToolTimeoutMs,
  kind: tool.kind,
  mutating: tool.mutating
})

/** Builds a registry backed by a `Ref`. */
export const makeToolRegistry: Effect.Effect<ToolRegistryShape> = Effect.gen(function*() {
  const tools = yield* Ref.make(new Map<string, ToolDefinition>())
  const register = (tool: ToolDefinition, options?: RegisterOptions) =>
    Ref.modify(tools, (map): [Either.Either<void, ToolAlreadyRegistered>, Map<string, ToolDefinition>] => {
      if (map.has(tool.name) && options?.replace !== true) {
        return [Either.left(new ToolAlreadyRegistered({ name: tool.name })), map]
      }
      const next = new Map(map)
      next.set(tool.name, tool)
      return [Either.right(undefined), next]
    }).pipe(Effect.flatMap((r) => r))
  const unregister = (name: string) =>
    Ref.modify(tools, (map): [boolean, Map<string, ToolDefinition>] => {
      if (!map.has(name)) return [false, map]
      const next = new Map(map)
      next.delete(name)
      return [true, next]
    })
  const get = (name: string) => Effect.map(Ref.get(tools), (map) => Option.fromNullable(map.get(name)))
  const lookup = (name: string) =>
    Effect.flatMap(get(name), Option.match({ onNone: () => Effect.fail(new ToolNotFound({ name })), onSome: Effect.succeed }))
  const callInput = (call: ToolCall) => Effect.flatMap(lookup(call.name), (tool) => rawCallInput(tool, call))
  return {
    register,
    registerScoped: (tool) => Effect.acquireRelease(register(tool), () => unregister(tool.name)),
    unregister,
    get,
    list: Effect.map(Ref.get(tools), (map) => [...map.values()].map(specOf).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))),
    callInput,
    redactCall: (call) =>
      Effect.gen(function*() {
        const tool = yield* Effect.option(lookup(call.name))
        if (Option.isNone(tool) || tool.value.redact === undefined) return { value: undefined, redacted: [] }
        const input = rawCallInput(tool.value, call)
        if (Either.isLeft(input)) return { value: undefined, redacted: [] }
        const redacted = yield* declared(tool.value, "redact", tool.value.redact, input.right)
        if (
          typeof redacted !== "object" || redacted === null || !Array.isArray(redacted.redacted) ||
          redacted.redacted.some((name) => typeof name !== "string")
        ) {
          return yield* new ToolDeclarationFailed({ tool: tool.value.name, declaration: "redact", detail: "it returned something other than { value, redacted }" })
        }
        return redacted
      }),
    touchedPaths: (call) =>
      Effect.gen(function*() {
        const tool = yield* Effect.option(lookup(call.name))
        if (Option.isNone(tool) || tool.value.touchedPaths === undefined) return []
        const input = rawCallInput(tool.value, call)
        if (Either.isLeft(input)) return []
        const paths = yield* declared(tool.value, "touchedPaths", tool.value.touchedPaths, input.right)
        if (!Array.isArray(paths) || paths.some((p) => typeof p !== "string")) {
          return yield* new ToolDeclarationFailed({ tool: tool.value.name, declaration: "touchedPaths", detail: "it returned something other than a list of paths" })
        }
        return paths
      }),
    dispatch: (call, context, options) =>
      Effect.gen(function*() {
        const tool = yield* lookup(call.name)
        const raw = yield* rawCallInput(tool, call)
        const input = yield* Either.mapLeft(tool.decode(raw), (detail) => new InvalidToolArguments({ tool: tool.name, detail }))
        const timeoutMs = options?.timeoutMs ?? tool.timeoutMs ?? DefaultToolTimeoutMs
        return yield* tool.handler(input, context).pipe(
          Effect.timeoutFail({
            duration: Duration.millis(timeoutMs),
            onTimeout: () => new ToolTimedOut({ tool: tool.name, timeoutMs })
          })
        )
      })
  }
})

/** The tool registry service. */
export class ToolRegistry extends Context.Tag("@codewhale/tools/ToolRegistry")<ToolRegistry, ToolRegistryShape>() {
  /** An empty registry. */
  static readonly layer: Layer.Layer<ToolRegistry> = Layer.effect(ToolRegistry, makeToolRegistry)
}
