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

/** The built-in error classes, whose names are safe to repeat (a thrown object's own `name` is not). */
const StandardErrors = [TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError] as const

/** What kind of value was thrown, without reading anything the thrower controls (it may quote secrets). */
const thrownKind = (cause: unknown): string => {
  try {
    for (const E of StandardErrors) if (cause instanceof E) return `a ${E.name}`
    return cause instanceof Error ? "an Error" : "a non-Error value"
  } catch {
    return "a value that cannot be inspected"
  }
}

/**
 * Runs one of a tool's declarations (user code) and accepts its answer, both inside one guard:
 * a throw, or an answer `accept` refuses (`undefined`), becomes `ToolDeclarationFailed`. `accept`
 * returns a plain copy, so nothing read later runs the tool's code again (getters, proxies).
 */
const declared = <A>(
  tool: ToolDefinition,
  declaration: ToolDeclarationFailed["declaration"],
  run: () => unknown,
  accept: (answer: unknown) => A | undefined,
  malformed: string
): Effect.Effect<A, ToolDeclarationFailed> =>
  Effect.suspend(() => {
    let accepted: A | undefined
    try {
      accepted = accept(run())
    } catch (cause) {
      return Effect.fail(new ToolDeclarationFailed({ tool: tool.name, declaration, detail: `it threw ${thrownKind(cause)}` }))
    }
    return accepted === undefined
      ? Effect.fail(new ToolDeclarationFailed({ tool: tool.name, declaration, detail: malformed }))
      : Effect.succeed(accepted)
  })

const isStringArray = (u: unknown): u is ReadonlyArray<string> => Array.isArray(u) && u.every((x) => typeof x === "string")

/** A `redact` answer as a plain copy: names of the hidden parts, and (when any) the object to record instead. */
const acceptRedacted = (answer: unknown): Redacted | undefined => {
  if (typeof answer !== "object" || answer === null) return undefined
  const names: unknown = (answer as { redacted?: unknown }).redacted
  if (!isStringArray(names)) return undefined
  if (names.length === 0) return { value: undefined, redacted: [] }
  const value: unknown = (answer as { value?: unknown }).value
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  return { value: JSON.parse(JSON.stringify(value)) as unknown, redacted: [...names] }
}

/** A `touchedPaths` answer as a plain copy. */
const acceptPaths = (answer: unknown): ReadonlyArray<string> | undefined => (isStringArray(answer) ? [...answer] : undefined)

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
        const redact = tool.value.redact
        return yield* declared(tool.value, "redact", () => redact(input.right), acceptRedacted, "it returned something other than { value: <object>, redacted: <names> }")
      }),
    touchedPaths: (call) =>
      Effect.gen(function*() {
        const tool = yield* Effect.option(lookup(call.name))
        if (Option.isNone(tool) || tool.value.touchedPaths === undefined) return []
        const input = rawCallInput(tool.value, call)
        if (Either.isLeft(input)) return []
        const touchedPaths = tool.value.touchedPaths
        return yield* declared(tool.value, "touchedPaths", () => touchedPaths(input.right), acceptPaths, "it returned something other than a list of paths")
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
