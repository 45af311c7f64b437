/**
 * Export and import of the log as NDJSON, one `RecordedEvent` per line. An exported log imported
 * into an empty database replays to the same state: event ids, streams, versions, payloads,
 * metadata and recording times are kept; positions are reassigned in the same order.
 */
import { RecordedEvent } from "@codewhale/protocol"
import { Effect, ParseResult, Schema, Stream } from "effect"
import type { AppendError, EventStoreError } from "./Errors.ts"
import { EventStore, ExpectedVersion, type ReadAllOptions } from "./EventStore.ts"

/** A line of an NDJSON import that is not a recorded event. Nothing was imported. */
export class ImportError extends Schema.TaggedError<ImportError>()("ImportError", {
  line: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `import line ${this.line}: ${this.detail}`
  }
}

/** What to export: one stream, one category, and/or everything after a position. */
export interface ExportOptions {
  readonly stream?: string | undefined
  readonly category?: string | undefined
  readonly after?: number | undefined
}

/** The selected events as NDJSON lines (each with a trailing newline), paged from the log. */
export const exportNdjson = (options: ExportOptions): Stream.Stream<string, EventStoreError, EventStore> =>
  Stream.unwrap(
    Effect.map(EventStore, (store) => {
      const all: ReadAllOptions = { after: options.after, category: options.category }
      const source = options.stream === undefined
        ? store.streamAll(all)
        : Stream.flatMap(store.readStream(options.stream), (events) =>
          Stream.fromIterable(events.filter((e) => e.position > (options.after ?? 0))))
      return Stream.map(source, (e) => `${JSON.stringify(e)}\n`)
    })
  )

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(RecordedEvent))

/** Parses NDJSON text into recorded events; the first bad line fails the whole import. */
export const parseNdjson = (text: string): Effect.Effect<ReadonlyArray<RecordedEvent>, ImportError> =>
  Effect.suspend(() => {
    const out: Array<RecordedEvent> = []
    const lines = text.split("\n")
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim()
      if (line === "") continue
      const decoded = decodeLine(line)
      if (decoded._tag === "Left") {
        return Effect.fail(new ImportError({ line: i + 1, detail: ParseResult.TreeFormatter.formatErrorSync(decoded.left) }))
      }
      out.push(decoded.right)
    }
    return Effect.succeed(out)
  })

/** Appends imported events in order, each stream at its recorded versions. Re-importing is idempotent. */
export const importEvents = (
  events: ReadonlyArray<RecordedEvent>
): Effect.Effect<{ readonly imported: number; readonly duplicates: number }, AppendError, EventStore> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    let imported = 0
    let duplicates = 0
    let i = 0
    while (i < events.length) {
      const first = events[i]!
      let j = i + 1
      while (
        j < events.length && j - i < 500 && events[j]!.streamId === first.streamId &&
        events[j]!.streamVersion === events[j - 1]!.streamVersion + 1 && events[j]!.recordedAt === first.recordedAt
      ) j++
      const batch = events.slice(i, j)
      const result = yield* store.append(
        first.streamId,
        batch.map((e) => ({ eventId: e.eventId, eventType: e.eventType, schemaVersion: e.schemaVersion, payload: e.payload, metadata: e.metadata })),
        { expected: ExpectedVersion.Exact({ version: first.streamVersion - 1 }), recordedAt: first.recordedAt }
      )
      if (result.duplicate) duplicates += batch.length
      else imported += batch.length
      i = j
    }
    return { imported, duplicates }
  })
