/**
 * Validation and serialisation of append input, shared by every backend. Hand-written checks
 * (equivalent to the `EventEnvelope` schema) keep this off the hot path's cost.
 */
import { categoryOf } from "@codewhale/protocol"
import { Effect } from "effect"
import { InvalidAppend } from "../Errors.ts"

/** An envelope checked and serialised for storage. */
export interface PreparedEvent {
  readonly eventId: string
  readonly eventType: string
  readonly schemaVersion: number
  readonly payloadJson: string
  readonly metadataJson: string
}

const StreamIdPattern = /^[a-z][a-z0-9_]*-.+$/
const UuidV7Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/**
 * Why `value` is not plain JSON (`undefined` when it is). JSON.stringify silently drops or
 * rewrites functions, symbols, NaN, Infinity, undefined array items, holes, Dates, Maps and class
 * instances, and throws on bigints and cycles: what is read back would not be what was appended.
 * Undefined object properties are allowed: they mean "absent" and read back the same way.
 */
const jsonProblem = (value: unknown, path: string, seen: Set<object>): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot hold`
    case "object": {
      if (value === null) return undefined
      if (seen.has(value)) return `${path} refers back to itself`
      seen.add(value)
      try {
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            if (!(i in value)) return `${path}[${i}] is a hole`
            const problem = jsonProblem(value[i], `${path}[${i}]`, seen)
            if (problem !== undefined) return problem
          }
          return undefined
        }
        const proto = Object.getPrototypeOf(value)
        if (proto !== Object.prototype && proto !== null) {
          return `${path} is a ${(value as { constructor?: { name?: string } }).constructor?.name ?? "non-plain object"}, not a plain object`
        }
        for (const key of Object.keys(value)) {
          const v = (value as Record<string, unknown>)[key]
          // An undefined property is an absent one (as with optional fields): JSON omits it and it
          // reads back as undefined, so nothing is lost.
          if (v === undefined) continue
          const problem = jsonProblem(v, `${path}.${key}`, seen)
          if (problem !== undefined) return problem
        }
        return undefined
      } finally {
        seen.delete(value)
      }
    }
    default:
      return `${path} is ${typeof value === "bigint" ? "a bigint" : typeof value}, which JSON cannot hold`
  }
}

/**
 * Whether `value` is plain JSON, without building paths: the common case costs one walk with no
 * allocation. `depth` stands in for cycle detection (a cycle exceeds any depth); past it the
 * precise check decides.
 */
const isPlainJson = (value: unknown, depth: number): boolean => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true
    case "number":
      return Number.isFinite(value)
    case "object": {
      if (value === null) return true
      if (depth > 64) return false
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isPlainJson(value[i], depth + 1)) return false
        }
        return true
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return false
      for (const key in value) {
        const v = (value as Record<string, unknown>)[key]
        if (v !== undefined && !isPlainJson(v, depth + 1)) return false
      }
      return true
    }
    default:
      return false
  }
}

/** The JSON text of a plain JSON value, or why it is not one. */
const toJson = (value: unknown, path: string): { readonly json: string } | { readonly problem: string } => {
  const problem = isPlainJson(value, 0) ? undefined : jsonProblem(value, path, new Set())
  return problem === undefined ? { json: JSON.stringify(value) } : { problem }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const isStringOrAbsent = (u: unknown): boolean => u === undefined || typeof u === "string"

/** Why one envelope is invalid, or undefined when it is valid. */
const envelopeProblem = (e: unknown): string | undefined => {
  if (!isRecord(e)) return "an event is an object with eventId, eventType, schemaVersion, payload and metadata"
  if (typeof e["eventId"] !== "string" || !UuidV7Pattern.test(e["eventId"])) return "eventId must be a lowercase UUIDv7"
  const type = e["eventType"]
  if (typeof type !== "string" || type.length === 0 || type.length > 200) return "eventType must be a string of 1 to 200 characters"
  const version = e["schemaVersion"]
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) return "schemaVersion must be a positive integer"
  if (!("payload" in e) || e["payload"] === undefined) return "payload is required"
  const metadata = e["metadata"]
  if (!isRecord(metadata)) return "metadata must be an object"
  // Named reads, not a loop over the keys: a keyed read with changing keys takes V8's slow path.
  if (!isStringOrAbsent(metadata["correlationId"])) return "metadata.correlationId must be a string"
  if (!isStringOrAbsent(metadata["causationId"])) return "metadata.causationId must be a string"
  if (!isStringOrAbsent(metadata["actor"])) return "metadata.actor must be a string"
  if (!isStringOrAbsent(metadata["producer"])) return "metadata.producer must be a string"
  return undefined
}

/** A batch checked and serialised for storage. */
export interface PreparedAppend {
  readonly category: string
  readonly events: ReadonlyArray<PreparedEvent>
}

/** The error of an invalid batch (a plain function: a closure per append would cost more). */
const invalid = (streamId: string, detail: string) => new InvalidAppend({ streamId, detail })

/** Checks a batch: stream id shape, non-empty, valid envelopes, JSON payloads, distinct ids. */
export const prepareAppendSync = (streamId: string, events: ReadonlyArray<unknown>): PreparedAppend | InvalidAppend => {
  if (typeof streamId !== "string" || streamId.length > 512 || !StreamIdPattern.test(streamId)) {
    return invalid(streamId, "a stream id is `<category>-<id>` with a lowercase category (at most 512 characters)")
  }
  if (!Array.isArray(events) || events.length === 0) return invalid(streamId, "a batch holds at least one event")
  const prepared: Array<PreparedEvent> = new Array(events.length)
  const seen = events.length > 1 ? new Set<string>() : undefined
  for (let i = 0; i < events.length; i++) {
    const raw = events[i]
    const problem = envelopeProblem(raw)
    if (problem !== undefined) return invalid(streamId, `event ${i}: ${problem}`)
    const e = raw as { eventId: string; eventType: string; schemaVersion: number; payload: unknown; metadata: unknown }
    if (seen !== undefined) {
      if (seen.has(e.eventId)) return invalid(streamId, `event id ${e.eventId} appears twice in the batch`)
      seen.add(e.eventId)
    }
    const payload = toJson(e.payload, "payload")
    if ("problem" in payload) return invalid(streamId, `event ${i} (${e.eventType}): payload is not JSON: ${payload.problem}`)
    const metadata = toJson(e.metadata, "metadata")
    if ("problem" in metadata) return invalid(streamId, `event ${i} (${e.eventType}): metadata is not JSON: ${metadata.problem}`)
    prepared[i] = { eventId: e.eventId, eventType: e.eventType, schemaVersion: e.schemaVersion, payloadJson: payload.json, metadataJson: metadata.json }
  }
  return { category: categoryOf(streamId), events: prepared }
}

/** `prepareAppendSync` as an effect. */
export const prepareAppend = (streamId: string, events: ReadonlyArray<unknown>): Effect.Effect<PreparedAppend, InvalidAppend> =>
  Effect.suspend(() => {
    const prepared = prepareAppendSync(streamId, events)
    return prepared instanceof InvalidAppend ? Effect.fail(prepared) : Effect.succeed(prepared)
  })
