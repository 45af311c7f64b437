/**
 * `codewhale log ...`: inspect, replay, verify, rebuild, export and import the event log.
 * Read commands open the database read-only.
 */
import { Args, Command, Options } from "@effect/cli"
import type { RecordedEvent } from "@codewhale/protocol"
import {
  catchUp,
  EventStore,
  exportNdjson,
  importEvents,
  parseNdjson,
  ReadModelError,
  verifyLog
} from "@codewhale/state"
import { SqlClient } from "@effect/sql"
import { Console, Effect, Option, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import { projections, readModels, registry } from "../catalog.ts"
import { databaseLayer, dbOption } from "../Database.ts"

const json = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))
const category = Options.text("category").pipe(Options.withDescription("only this stream category (e.g. thread, job)"), Options.optional)

/** A name the catalogue does not know. */
export class UnknownProjection extends Schema.TaggedError<UnknownProjection>()("UnknownProjection", {
  name: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `unknown projection "${this.name}" (known: ${this.known.join(", ")})`
  }
}

const formatEvent = (e: RecordedEvent): string =>
  `#${e.position}  ${e.streamId}@${e.streamVersion}  ${e.eventType} v${e.schemaVersion}  ${new Date(e.recordedAt).toISOString()}  ${JSON.stringify(e.payload)}`

const printEvent = (asJson: boolean) => (e: RecordedEvent) => Console.log(asJson ? JSON.stringify(e) : formatEvent(e))

const streams = Command.make("streams", { db: dbOption, category, json }, ({ db, category, json }) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    let after: string | undefined
    let count = 0
    while (true) {
      const page = yield* store.listStreams({ category: Option.getOrUndefined(category), after, limit: 1_000 })
      for (const s of page) {
        count++
        yield* Console.log(json ? JSON.stringify(s) : `${s.streamId}  version ${s.version}  positions ${s.firstPosition}..${s.lastPosition}`)
      }
      if (page.length < 1_000) break
      after = page[page.length - 1]!.streamId
    }
    if (!json) yield* Console.log(`${count} stream(s)`)
  }).pipe(Effect.provide(databaseLayer(db, { readonly: true })))
).pipe(Command.withDescription("list the streams of the log"))

const show = Command.make(
  "show",
  {
    db: dbOption,
    streamId: Args.text({ name: "streamId" }),
    from: Options.integer("from").pipe(Options.withDescription("first stream version"), Options.optional),
    to: Options.integer("to").pipe(Options.withDescription("last stream version"), Options.optional),
    json
  },
  ({ db, streamId, from, to, json }) =>
    Effect.gen(function*() {
      const store = yield* EventStore
      let next = Option.getOrElse(from, () => 1)
      const last = Option.getOrUndefined(to)
      while (true) {
        const page = yield* store.readStream(streamId, { fromVersion: next, toVersion: last, limit: 1_000 })
        yield* Effect.forEach(page, printEvent(json), { discard: true })
        if (page.length < 1_000) break
        next = page[page.length - 1]!.streamVersion + 1
      }
    }).pipe(Effect.provide(databaseLayer(db, { readonly: true })))
).pipe(Command.withDescription("print the events of one stream"))

const tail = Command.make(
  "tail",
  {
    db: dbOption,
    category,
    follow: Options.boolean("follow").pipe(Options.withAlias("f"), Options.withDescription("keep printing new events")),
    lines: Options.integer("lines").pipe(Options.withAlias("n"), Options.withDefault(20), Options.withDescription("how many recent events")),
    json
  },
  ({ db, category, follow, lines, json }) =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const head = yield* store.headPosition
      const cat = Option.getOrUndefined(category)
      // Walk back from the head in pages until enough events of the category are found.
      let after = Math.max(0, head - lines)
      let recent = yield* store.readAll({ after, category: cat, limit: lines })
      while (cat !== undefined && recent.length < lines && after > 0) {
        after = Math.max(0, after - lines * 10)
        const page = yield* Stream.runCollect(store.streamAll({ after, until: head, category: cat }))
        recent = [...page].slice(-lines)
      }
      const shown = recent.slice(-lines)
      yield* Effect.forEach(shown, printEvent(json), { discard: true })
      if (follow) {
        yield* store.subscribe({ after: head, category: cat }).pipe(Stream.runForEach(printEvent(json)))
      }
    }).pipe(Effect.provide(databaseLayer(db, { readonly: true })))
).pipe(Command.withDescription("print the most recent events, and with --follow new ones as they are committed"))

const replayCommand = Command.make(
  "replay",
  {
    db: dbOption,
    projection: Args.text({ name: "projection" }),
    until: Options.integer("until").pipe(Options.withDescription("replay up to this position (inclusive)"), Options.optional)
  },
  ({ db, projection, until }) =>
    Effect.gen(function*() {
      const p = projections.find((x) => x.name === projection)
      if (p === undefined) return yield* new UnknownProjection({ name: projection, known: projections.map((x) => x.name) })
      const state = yield* p.replay(Option.getOrUndefined(until))
      yield* Console.log(JSON.stringify(state, null, 2))
    }).pipe(Effect.provide(databaseLayer(db, { readonly: true })))
).pipe(Command.withDescription(`print a projection's state as of a position (${projections.map((p) => p.name).join(", ")})`))

const verify = Command.make("verify", { db: dbOption, json }, ({ db, json }) =>
  Effect.gen(function*() {
    const report = yield* verifyLog({ registry, readModels })
    if (json) {
      yield* Console.log(JSON.stringify(report))
    } else {
      yield* Console.log(`${report.events} events in ${report.streams} streams, head position ${report.headPosition}`)
      if (report.unknownEvents > 0) yield* Console.log(`${report.unknownEvents} event(s) of types or versions this build does not know (skipped)`)
      for (const m of report.readModels) yield* Console.log(`read model ${m.name}: ${m.ok ? "ok" : "MISMATCH"} (${m.detail})`)
      for (const p of report.problems) yield* Console.log(`problem: ${p}`)
      yield* Console.log(report.ok ? "verify: ok" : "verify: FAILED")
    }
    if (!report.ok) return yield* Effect.fail(new VerifyFailed({ problems: report.problems.length }))
  }).pipe(Effect.provide(databaseLayer(db, { readonly: true })))
).pipe(Command.withDescription("decode every event, check versions and positions, compare read models with a fresh rebuild"))

/** `verify` found problems (they were printed). */
export class VerifyFailed extends Schema.TaggedError<VerifyFailed>()("VerifyFailed", { problems: Schema.Number }) {
  override get message(): string {
    return `verify found ${this.problems} problem(s)`
  }
}

const rebuild = Command.make("rebuild", { db: dbOption, projection: Args.text({ name: "projection" }) }, ({ db, projection }) =>
  Effect.gen(function*() {
    const model = readModels.find((m) => m.name === projection)
    if (model === undefined) return yield* new UnknownProjection({ name: projection, known: readModels.map((m) => m.name) })
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(
      Effect.gen(function*() {
        // Write first: the transaction takes the write lock before it reads anything.
        yield* sql.unsafe("DELETE FROM projection_checkpoints WHERE name = ?", [model.name])
        yield* model.setup
      })
    )
    const reached = yield* catchUp(model)
    yield* Console.log(`rebuilt ${model.name} up to position ${reached}`)
  }).pipe(
    Effect.catchTags({
      SqlError: (e) => Effect.fail(new ReadModelError({ name: projection, detail: e.message })),
      EventDecodeError: (e) => Effect.fail(new ReadModelError({ name: projection, detail: e.message }))
    }),
    Effect.provide(databaseLayer(db, { readonly: false, mustExist: true }))
  )
).pipe(Command.withDescription("drop a read model and rebuild it from the log"))

const exportCommand = Command.make(
  "export",
  {
    db: dbOption,
    stream: Options.text("stream").pipe(Options.withDescription("only this stream"), Options.optional),
    category,
    after: Options.integer("after").pipe(Options.withDescription("only events after this position"), Options.optional)
  },
  ({ db, stream, category, after }) =>
    exportNdjson({ stream: Option.getOrUndefined(stream), category: Option.getOrUndefined(category), after: Option.getOrUndefined(after) }).pipe(
      Stream.runForEach((line) => Effect.sync(() => process.stdout.write(line))),
      Effect.provide(databaseLayer(db, { readonly: true }))
    )
).pipe(Command.withDescription("write events as NDJSON to stdout"))

const importCommand = Command.make(
  "import",
  { db: dbOption, file: Args.file({ name: "file", exists: "yes" }).pipe(Args.withDescription("NDJSON file (default: stdin)"), Args.optional) },
  ({ db, file }) =>
    Effect.gen(function*() {
      const text = yield* Effect.promise(() =>
        Option.match(file, {
          onSome: (f) => NodeFs.promises.readFile(f, "utf8"),
          onNone: async () => {
            const chunks: Array<Buffer> = []
            for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
            return Buffer.concat(chunks).toString("utf8")
          }
        })
      )
      const events = yield* parseNdjson(text)
      const result = yield* importEvents(events)
      yield* Console.log(`imported ${result.imported} event(s), ${result.duplicates} already present`)
    }).pipe(Effect.provide(databaseLayer(db, { readonly: false })))
).pipe(Command.withDescription("append the events of an NDJSON export, keeping ids, versions and times"))

/** `codewhale log ...`: event-log tooling. */
export const logCommand = Command.make("log").pipe(
  Command.withDescription("inspect, replay, verify, rebuild, export and import the event log"),
  Command.withSubcommands([streams, show, tail, replayCommand, verify, rebuild, exportCommand, importCommand])
)
