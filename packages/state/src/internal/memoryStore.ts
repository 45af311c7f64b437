/** The in-memory event log: the reference semantics every other backend must match. */
import { categoryOf, type RecordedEvent } from "@codewhale/protocol"
import { Effect } from "effect"
import { type AppendError, EventIdConflict, type EventStoreError, WrongExpectedVersion } from "../Errors.ts"
import {
  type AppendResult,
  DefaultPageSize,
  type EventStoreShape,
  ExpectedVersion,
  formatExpected,
  MaxPageSize,
  type ReadAllOptions,
  type StreamInfo
} from "../EventStore.ts"
import { prepareAppend } from "./appendInput.ts"
import { makeHeadSignal } from "./headSignal.ts"
import { pagedStream, subscribeStream } from "./subscription.ts"

const matches = (expected: ExpectedVersion, actual: number): boolean =>
  ExpectedVersion.$match(expected, {
    Any: () => true,
    NoStream: () => actual === 0,
    StreamExists: () => actual > 0,
    Exact: ({ version }) => actual === version
  })

/** Makes an empty in-memory event log. */
export const makeMemoryStore: Effect.Effect<EventStoreShape> = Effect.sync(() => {
  const log: Array<RecordedEvent> = []
  const streams = new Map<string, Array<RecordedEvent>>()
  const byEventId = new Map<string, RecordedEvent>()
  const head = makeHeadSignal(0)

  const existing = (streamId: string, ids: ReadonlyArray<string>) => {
    const found = ids.map((id) => byEventId.get(id))
    return { found, all: found.every((e) => e !== undefined && e.streamId === streamId), any: found.some((e) => e !== undefined) }
  }

  const append: EventStoreShape["append"] = (streamId, events, options) =>
    Effect.flatMap(prepareAppend(streamId, events), ({ events: prepared }) =>
      Effect.suspend((): Effect.Effect<AppendResult, AppendError> => {
        const ids = prepared.map((e) => e.eventId)
        const dup = existing(streamId, ids)
        if (dup.all) {
          let firstPosition = Number.MAX_SAFE_INTEGER, lastPosition = 0
          for (const e of dup.found) {
            if (e!.position < firstPosition) firstPosition = e!.position
            if (e!.position > lastPosition) lastPosition = e!.position
          }
          const stream = streams.get(streamId) ?? []
          return Effect.succeed<AppendResult>({
            streamId,
            firstPosition,
            lastPosition,
            nextExpectedVersion: stream.length,
            duplicate: true
          })
        }
        if (dup.any) {
          return Effect.fail(new EventIdConflict({ streamId, eventIds: ids.filter((id) => byEventId.has(id)), detail: "part of the batch was already stored" }))
        }
        const stream = streams.get(streamId) ?? []
        const expected = options?.expected ?? ExpectedVersion.Any()
        if (!matches(expected, stream.length)) {
          return Effect.fail(new WrongExpectedVersion({ streamId, expected: formatExpected(expected), actual: stream.length }))
        }
        const recordedAt = options?.recordedAt ?? Date.now()
        const first = log.length + 1
        prepared.forEach((e, i) => {
          const record: RecordedEvent = {
            position: first + i,
            streamId,
            streamVersion: stream.length + 1,
            eventId: e.eventId as RecordedEvent["eventId"],
            eventType: e.eventType,
            schemaVersion: e.schemaVersion,
            payload: JSON.parse(e.payloadJson) as unknown,
            metadata: JSON.parse(e.metadataJson) as Record<string, unknown>,
            recordedAt
          }
          stream.push(record)
          log.push(record)
          byEventId.set(e.eventId, record)
        })
        streams.set(streamId, stream)
        const result: AppendResult = {
          streamId,
          firstPosition: first,
          lastPosition: log.length,
          nextExpectedVersion: stream.length,
          duplicate: false
        }
        head.publish(log.length)
        return Effect.succeed(result)
      }))

  const readAll = (options?: ReadAllOptions): Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError> =>
    Effect.sync(() => {
      const limit = Math.min(Math.max(1, options?.limit ?? DefaultPageSize), MaxPageSize)
      const until = options?.until ?? Number.MAX_SAFE_INTEGER
      const out: Array<RecordedEvent> = []
      for (let i = Math.max(0, Math.floor(options?.after ?? 0)); i < log.length && out.length < limit; i++) {
        const e = log[i]!
        if (e.position > until) break
        if (options?.category === undefined || categoryOf(e.streamId) === options.category) out.push(e)
      }
      return out
    })

  const readStream: EventStoreShape["readStream"] = (streamId, options) =>
    Effect.sync(() => {
      const stream = streams.get(streamId) ?? []
      const from = options?.fromVersion ?? 1
      const to = options?.toVersion ?? Number.MAX_SAFE_INTEGER
      let selected = stream.filter((e) => e.streamVersion >= from && e.streamVersion <= to)
      if (options?.backwards === true) selected = selected.reverse()
      // Like SQL's LIMIT: a negative limit is no limit.
      return options?.limit !== undefined && options.limit >= 0 ? selected.slice(0, options.limit) : selected
    })

  const listStreams: EventStoreShape["listStreams"] = (options) =>
    Effect.sync(() => {
      const infos: Array<StreamInfo> = []
      for (const id of [...streams.keys()].sort()) {
        if (options?.limit !== undefined && options.limit >= 0 && infos.length >= options.limit) break
        if (options?.after !== undefined && id <= options.after) continue
        const s = streams.get(id)!
        const category = categoryOf(id)
        if (options?.category !== undefined && category !== options.category) continue
        infos.push({ streamId: id, category, version: s.length, firstPosition: s[0]!.position, lastPosition: s[s.length - 1]!.position })
      }
      return infos
    })

  return {
    append,
    readStream,
    streamVersion: (streamId) => Effect.sync(() => streams.get(streamId)?.length ?? 0),
    readAll,
    streamAll: (options) => pagedStream(readAll, options ?? {}),
    headPosition: Effect.sync(() => head.current()),
    listStreams,
    subscribe: (options) => subscribeStream(readAll, head, options ?? {}),
    awaitPosition: (position) => head.atLeast(position),
    describe: "memory (volatile)"
  }
})
