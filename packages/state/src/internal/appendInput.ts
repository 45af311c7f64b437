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

const toJson = (value: unknown): string | undefined => {
  try {
    const text = JSON.stringify(value)
    return typeof text === "string" ? text : undefined
  } catch {
    return undefined
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Why one envelope is invalid, or undefined when it is valid. */
const envelopeProblem = (e: unknown): string | undefined => {
  if (!isRecord(e)) return "an event is an object with eventId, eventType, schemaVersion, payload and metadata"
  if (typeof e["eventId"] !== "string" || !UuidV7Pattern.test(e["eventId"])) return "eventId must be a lowercase UUIDv7"
  const type = e["eventType"]
  if (typeof type !== "string" || type.length === 0 || type.length > 200) return "eventType must be a string of 1 to 200 characters"
  const version = e["schemaVersion"]
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) return "schemaVersion must be a positive integer"
  if (!("payload" in e) || e["payload"] === undefined) return "payload is required"
  if (!isRecord(e["metadata"])) return "metadata must be an object"
  for (const key of ["correlationId", "causationId", "actor", "producer"]) {
    const v = e["metadata"][key]
    if (v !== undefined && typeof v !== "string") return `metadata.${key} must be a string`
  }
  return undefined
}

/** Checks a batch: stream id shape, non-empty, valid envelopes, JSON payloads, distinct ids. */
export const prepareAppend = (
  streamId: string,
  events: ReadonlyArray<unknown>
): Effect.Effect<{ readonly category: string; readonly events: ReadonlyArray<PreparedEvent> }, InvalidAppend> =>
  Effect.suspend(() => {
    const fail = (detail: string) => Effect.fail(new InvalidAppend({ streamId, detail }))
    if (typeof streamId !== "string" || streamId.length > 512 || !StreamIdPattern.test(streamId)) {
      return fail("a stream id is `<category>-<id>` with a lowercase category (at most 512 characters)")
    }
    if (!Array.isArray(events) || events.length === 0) return fail("a batch holds at least one event")
    const prepared: Array<PreparedEvent> = new Array(events.length)
    const seen = events.length > 1 ? new Set<string>() : undefined
    for (let i = 0; i < events.length; i++) {
      const raw = events[i]
      const problem = envelopeProblem(raw)
      if (problem !== undefined) return fail(`event ${i}: ${problem}`)
      const e = raw as { eventId: string; eventType: string; schemaVersion: number; payload: unknown; metadata: unknown }
      if (seen !== undefined) {
        if (seen.has(e.eventId)) return fail(`event id ${e.eventId} appears twice in the batch`)
        seen.add(e.eventId)
      }
      const payloadJson = toJson(e.payload)
      if (payloadJson === undefined) return fail(`event ${i} (${e.eventType}): payload is not JSON-serialisable`)
      const metadataJson = toJson(e.metadata)
      if (metadataJson === undefined) return fail(`event ${i} (${e.eventType}): metadata is not JSON-serialisable`)
      prepared[i] = { eventId: e.eventId, eventType: e.eventType, schemaVersion: e.schemaVersion, payloadJson, metadataJson }
    }
    return Effect.succeed({ category: categoryOf(streamId), events: prepared })
  })
