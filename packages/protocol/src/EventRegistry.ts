/**
 * The event registry: `(eventType, schemaVersion) -> schema`, upcaster chains from old versions to
 * the latest, and decoding of recorded events into typed values. Types or versions the registry
 * does not know decode to an `UnknownEvent` passthrough that projections skip.
 */
import { Either, JSONSchema, ParseResult, Schema } from "effect"
import type { RecordedEvent } from "./Envelope.ts"
import { compileFastCheck, Fast } from "./internal/fastCheck.ts"

/** One version of an event type: its schema and how to lift the previous version into it. */
export interface EventVersion {
  readonly version: number
  readonly schema: Schema.Schema.AnyNoContext
  /** Turns the decoded payload of `version - 1` into this version's payload (absent on version 1). */
  readonly upcast?: ((previous: unknown) => unknown) | undefined
}

/** An event type with every version it has had; `schema` is the latest. */
export interface EventDefinition<T extends string = string, A = unknown, I = unknown> {
  readonly type: T
  readonly version: number
  readonly schema: Schema.Schema<A, I>
  readonly versions: ReadonlyArray<EventVersion>
}

/** Any event definition, whatever its payload type. */
export type AnyEventDefinition = EventDefinition<string, Schema.Schema.AnyNoContext["Type"], Schema.Schema.AnyNoContext["Encoded"]>

/** Declares version 1 of an event type. */
export const defineEvent = <const T extends string, A, I>(
  type: T,
  schema: Schema.Schema<A, I>
): EventDefinition<T, A, I> => ({ type, version: 1, schema, versions: [{ version: 1, schema }] })

/** Declares the next version of an event type, with the upcaster from the previous version. */
export const evolveEvent = <T extends string, A, I, B, J>(
  definition: EventDefinition<T, A, I>,
  schema: Schema.Schema<B, J>,
  upcast: (previous: A) => B
): EventDefinition<T, B, J> => ({
  type: definition.type,
  version: definition.version + 1,
  schema,
  versions: [
    ...definition.versions,
    { version: definition.version + 1, schema, upcast: upcast as (previous: unknown) => unknown }
  ]
})

/** A recorded event whose type and version the registry knows, upcast to the latest version. */
export interface KnownEvent<T extends string = string, A = unknown> {
  readonly _tag: "Known"
  readonly type: T
  readonly payload: A
  readonly record: RecordedEvent
}

/** A recorded event of a type or version this code does not know (e.g. from a newer producer). */
export interface UnknownEvent {
  readonly _tag: "Unknown"
  readonly reason: "unknown-type" | "unknown-version"
  readonly record: RecordedEvent
}

/** The typed event union of a list of definitions. */
export type EventOf<D> = D extends EventDefinition<infer T, infer A, infer _I> ? KnownEvent<T, A> : never

/** A decoded event: typed when known, a passthrough otherwise. */
export type DecodedEvent<D = AnyEventDefinition> = EventOf<D> | UnknownEvent

/** A recorded event of a known type whose payload does not match its schema. */
export class EventDecodeError extends Schema.TaggedError<EventDecodeError>()("EventDecodeError", {
  position: Schema.Number,
  streamId: Schema.String,
  eventType: Schema.String,
  schemaVersion: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `event at position ${this.position} (${this.streamId}, ${this.eventType}@${this.schemaVersion}) cannot be decoded: ${this.detail}`
  }
}

/** A payload that does not match the latest schema of its event type, refused before it reaches the log. */
export class EventEncodeError extends Schema.TaggedError<EventEncodeError>()("EventEncodeError", {
  eventType: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot encode ${this.eventType}: ${this.detail}`
  }
}

/** An event type registered twice, or with a gap in its versions. */
export class EventRegistryError extends Schema.TaggedError<EventRegistryError>()("EventRegistryError", {
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid event registry: ${this.detail}`
  }
}

interface CompiledType {
  readonly latest: number
  readonly decoders: ReadonlyMap<number, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>
  readonly upcasters: ReadonlyMap<number, (previous: unknown) => unknown>
}

/** The set of event types a process knows, with compiled decoders. */
export interface EventRegistry<D extends AnyEventDefinition = AnyEventDefinition> {
  readonly definitions: ReadonlyArray<D>
  /** Decodes a recorded event; unknown types and versions become `UnknownEvent`. */
  readonly decode: (record: RecordedEvent) => Either.Either<DecodedEvent<D>, EventDecodeError>
  /**
   * The record as one of this registry's events; `undefined` when its type or version is unknown
   * or its payload does not decode. For folds that skip what they cannot read (`verify` reports
   * undecodable events); use `decode` to tell the cases apart.
   */
  readonly decodeKnown: (record: RecordedEvent) => EventOf<D> | undefined
  /** Encodes a payload with the latest schema of its type, ready for an envelope. */
  readonly encode: <T extends string, A, I>(
    definition: EventDefinition<T, A, I>,
    payload: A
  ) => Either.Either<{ readonly eventType: T; readonly schemaVersion: number; readonly payload: I }, EventEncodeError>
  /** Whether the registry knows this type at any version. */
  readonly has: (eventType: string) => boolean
}

const compile = (definition: AnyEventDefinition): CompiledType => {
  const decoders = new Map<number, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>()
  const upcasters = new Map<number, (previous: unknown) => unknown>()
  for (const v of definition.versions) {
    const decode = Schema.decodeUnknownEither(v.schema, { errors: "first" })
    // Plain-data schemas skip the decoder when the payload already is exactly what it would return.
    const fast = compileFastCheck(v.schema.ast)
    decoders.set(v.version, fast === undefined ? decode : (u) => (fast(u) === Fast.Exact ? Either.right(u) : decode(u)))
    if (v.upcast) upcasters.set(v.version, v.upcast)
  }
  return { latest: definition.version, decoders, upcasters }
}

/** Builds a registry; duplicate types or version gaps are a typed error. */
export const makeEventRegistry = <const Ds extends ReadonlyArray<AnyEventDefinition>>(
  definitions: Ds
): Either.Either<EventRegistry<Ds[number]>, EventRegistryError> => {
  const compiled = new Map<string, CompiledType>()
  for (const d of definitions) {
    if (compiled.has(d.type)) return Either.left(new EventRegistryError({ detail: `event type ${d.type} is registered twice` }))
    const gap = d.versions.findIndex((v, i) => v.version !== i + 1 || (i > 0 && v.upcast === undefined))
    if (gap >= 0 || d.versions.length !== d.version) {
      return Either.left(
        new EventRegistryError({ detail: `event type ${d.type}: versions must run 1..${d.version} with an upcaster each` })
      )
    }
    compiled.set(d.type, compile(d))
  }
  const decode = (record: RecordedEvent): Either.Either<DecodedEvent<Ds[number]>, EventDecodeError> => {
    const entry = compiled.get(record.eventType)
    if (entry === undefined) return Either.right({ _tag: "Unknown", reason: "unknown-type", record })
    const decoder = entry.decoders.get(record.schemaVersion)
    if (decoder === undefined) return Either.right({ _tag: "Unknown", reason: "unknown-version", record })
    const result = decoder(record.payload)
    if (Either.isLeft(result)) {
      return Either.left(
        new EventDecodeError({
          position: record.position,
          streamId: record.streamId,
          eventType: record.eventType,
          schemaVersion: record.schemaVersion,
          detail: ParseResult.TreeFormatter.formatErrorSync(result.left)
        })
      )
    }
    let payload = result.right
    for (let v = record.schemaVersion + 1; v <= entry.latest; v++) {
      const up = entry.upcasters.get(v)
      if (up !== undefined) payload = up(payload)
    }
    return Either.right({ _tag: "Known", type: record.eventType, payload, record } as EventOf<Ds[number]>)
  }
  const encoders = new Map<string, (a: unknown) => Either.Either<unknown, ParseResult.ParseError>>()
  const encode = <T extends string, A, I>(definition: EventDefinition<T, A, I>, payload: A) => {
    let encoder = encoders.get(definition.type)
    if (encoder === undefined) {
      const made = Schema.encodeUnknownEither(definition.schema as Schema.Schema.AnyNoContext)
      encoder = made
      encoders.set(definition.type, encoder)
    }
    return Either.mapBoth(encoder(payload), {
      onLeft: (e) => new EventEncodeError({ eventType: definition.type, detail: ParseResult.TreeFormatter.formatErrorSync(e) }),
      onRight: (encoded) => ({ eventType: definition.type, schemaVersion: definition.version, payload: encoded as I })
    })
  }
  const decodeKnown = (record: RecordedEvent): EventOf<Ds[number]> | undefined => {
    const decoded = decode(record)
    return Either.isRight(decoded) && decoded.right._tag === "Known" ? decoded.right as EventOf<Ds[number]> : undefined
  }
  return Either.right({ definitions, decode, decodeKnown, encode, has: (t: string) => compiled.has(t) })
}

/** The JSON Schema of the stored (encoded) form of one version of an event type. */
export const eventJsonSchema = (version: EventVersion): JSONSchema.JsonSchema7Root =>
  JSONSchema.make(Schema.encodedSchema(version.schema))
