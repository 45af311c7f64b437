/** Shared fixtures of the thread tests: a fresh in-memory SQLite log with a `ThreadStore`. */
import { IdGenerator, type RecordedEvent, type ThreadRequestJson } from "@codewhale/protocol"
import { Effect, Either, Layer, Schema } from "effect"
import { ThreadRequest } from "@codewhale/protocol"
import { layerSqlite } from "../../src/layers.ts"
import { SnapshotStore, foldRecords } from "../../src/Projection.ts"
import { type ThreadEventDraft, ThreadStore, type ThreadState, threadStateProjection } from "../../src/index.ts"

/** The settings every test store uses. */
export const testConfig = { cliVersion: "9.9.9-test", defaultCwd: Effect.succeed("/work/project") }

/** A fresh `:memory:` log, its SqlClient, deterministic ids, snapshots and a ThreadStore. */
export const makeTestLayer = (options: { readonly maxAttempts?: number; readonly filename?: string } = {}) => {
  const base = Layer.mergeAll(layerSqlite({ filename: options.filename ?? ":memory:" }), IdGenerator.layerTest(1))
  const withSnapshots = Layer.provideMerge(SnapshotStore.layerMemory, base)
  return Layer.provideMerge(
    ThreadStore.layerWith({ ...testConfig, ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }) }),
    withSnapshots
  )
}

/** Decodes a JSON thread request (as a client would send it). */
export const request = (json: ThreadRequestJson) => Schema.decodeUnknownSync(ThreadRequest)(json)

/** Recorded events for drafts, as if appended to `streamId` starting at `version + 1`. */
export const recordsOf = (
  streamId: string,
  drafts: ReadonlyArray<ThreadEventDraft>,
  start: { readonly version: number; readonly position: number }
): ReadonlyArray<RecordedEvent> =>
  drafts.map((d, i) => ({
    position: start.position + i + 1,
    streamId,
    streamVersion: start.version + i + 1,
    eventId: `0190a000-0000-7000-8000-${String(start.position + i + 1).padStart(12, "0")}` as RecordedEvent["eventId"],
    eventType: d.definition.type,
    schemaVersion: d.definition.version,
    payload: Schema.encodeSync(d.definition.schema as Schema.Schema<unknown, unknown>)(d.payload),
    metadata: {},
    recordedAt: 0
  }))

/** Folds drafts into a decider state. */
export const stateOf = (streamId: string, drafts: ReadonlyArray<ThreadEventDraft>): ThreadState =>
  Either.getOrThrow(foldRecords(threadStateProjection, recordsOf(streamId, drafts, { version: 0, position: 0 })))
