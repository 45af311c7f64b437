/**
 * `codewhale thread ...`: start, list, read, fork, rename, archive, unarchive, resume, message,
 * rewind and checkpoints on the default database (or `--db`). Human-readable by default; `--json`
 * prints the seed's `ThreadResponse` JSON (checkpoints and rewind print their own JSON objects).
 */
import { Args, Command, Options } from "@effect/cli"
import { ThreadRequest, ThreadResponse, type ThreadRequestJson } from "@codewhale/protocol"
import {
  type CheckpointRow,
  type EntryRow,
  InvalidThreadInput,
  ThreadStore,
  toWireHistoryItem,
  toWireThread,
  type ThreadRow
} from "@codewhale/state"
import { Console, Effect, Layer, Option, Schema } from "effect"
import { databaseLayer, dbOption } from "../Database.ts"

const json = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))
const threadId = Args.text({ name: "thread-id" })
const cwd = Options.text("cwd").pipe(Options.withDescription("working directory of the thread"), Options.optional)
const model = Options.text("model").pipe(Options.withDescription("model of the thread"), Options.optional)
const provider = Options.text("provider").pipe(Options.withDescription("model provider of the thread"), Options.optional)

/**
 * The ThreadStore on the database of `--db` (opened for writing: reads also bring the read model up
 * to date). Only `thread start` creates a database that is not there; every other command acts on
 * threads that must already exist, so a mistyped `--db` is reported instead of created.
 */
const threadLayer = (db: Option.Option<string>, options: { readonly create: boolean } = { create: false }) =>
  ThreadStore.layerWith({ cliVersion: "0.0.0" }).pipe(Layer.provide(databaseLayer(db, { readonly: false, mustExist: !options.create })))

const encodeResponse = Schema.encodeSync(ThreadResponse)
const decodeRequest = Schema.decodeUnknown(ThreadRequest)

/** Sends a wire request to the store (so `--json` prints exactly the seed's response shape). */
const send = (request: ThreadRequestJson) =>
  Effect.gen(function*() {
    const decoded = yield* decodeRequest(request).pipe(
      Effect.mapError((e) => new InvalidThreadInput({ field: "request", detail: e.message }))
    )
    const threads = yield* ThreadStore
    return yield* threads.handle(decoded)
  })

const printJson = (value: unknown) => Console.log(JSON.stringify(value))
const printResponse = (response: ThreadResponse) => printJson(encodeResponse(response))

const iso = (millis: number) => new Date(millis).toISOString().replace(/\.\d{3}Z$/, "Z")
const oneLine = (text: string, max = 100) => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

const describeThread = (row: ThreadRow): ReadonlyArray<string> => [
  `${row.threadId}  ${row.status}${row.name === null ? "" : `  "${row.name}"`}`,
  `  cwd ${row.cwd}  provider ${row.modelProvider}  model ${row.model ?? "auto"}${row.ephemeral ? "  (ephemeral)" : ""}`,
  `  created ${iso(row.createdAt)}  updated ${iso(row.updatedAt)}  messages ${row.messageCount}  version ${row.version}`,
  ...(row.forkedFromThreadId === null ? [] : [`  forked from ${row.forkedFromThreadId} at version ${row.forkedFromVersion}`])
]

const describeEntry = (e: EntryRow, ownThread: string) =>
  `  ${e.entryId}  ${e.role}${e.threadId === ownThread ? "" : ` (from ${e.threadId})`}: ${oneLine(e.content, 200)}`

const show = <E, R>(asJson: boolean, response: ThreadResponse, human: Effect.Effect<void, E, R>) =>
  asJson ? printResponse(response) : human

const rowOf = (threadIdValue: string) => Effect.flatMap(ThreadStore, (t) => t.get(threadIdValue))

const start = Command.make(
  "start",
  {
    db: dbOption,
    cwd,
    model,
    provider,
    name: Options.text("name").pipe(Options.withDescription("display name"), Options.optional),
    persist: Options.boolean("persist").pipe(Options.withDescription("persist extended history (not ephemeral)")),
    json
  },
  ({ db, cwd, model, provider, name, persist, json }) =>
    Effect.gen(function*() {
      const response = yield* send({
        kind: "start",
        ...Option.match(cwd, { onNone: () => ({}), onSome: (v) => ({ cwd: v }) }),
        ...Option.match(model, { onNone: () => ({}), onSome: (v) => ({ model: v }) }),
        ...Option.match(provider, { onNone: () => ({}), onSome: (v) => ({ model_provider: v }) }),
        ...Option.match(name, { onNone: () => ({}), onSome: (v) => ({ name: v }) }),
        persist_extended_history: persist
      })
      yield* show(json, response, Effect.flatMap(rowOf(response.thread_id), (row) => Console.log(["started", ...describeThread(row)].join("\n"))))
    }).pipe(Effect.provide(threadLayer(db, { create: true })))
).pipe(Command.withDescription("start a new thread"))

const list = Command.make(
  "list",
  {
    db: dbOption,
    all: Options.boolean("all").pipe(Options.withDescription("include archived threads")),
    archived: Options.boolean("archived").pipe(Options.withDescription("only archived threads")),
    cwd: Options.text("cwd").pipe(Options.withDescription("only threads in this working directory"), Options.optional),
    search: Options.text("search").pipe(Options.withDescription("only threads whose name or preview contains this text"), Options.optional),
    limit: Options.integer("limit").pipe(Options.withDescription("page size (1..200, default 50)"), Options.optional),
    cursor: Options.text("cursor").pipe(Options.withDescription("the next page after a previous list"), Options.optional),
    json
  },
  ({ db, all, archived, cwd, search, limit, cursor, json }) =>
    Effect.gen(function*() {
      const response = yield* send({
        kind: "list",
        include_archived: all,
        ...(archived ? { archived: true } : {}),
        ...Option.match(cwd, { onNone: () => ({}), onSome: (v) => ({ cwd: v }) }),
        ...Option.match(search, { onNone: () => ({}), onSome: (v) => ({ search: v }) }),
        ...Option.match(limit, { onNone: () => ({}), onSome: (v) => ({ limit: v }) }),
        ...Option.match(cursor, { onNone: () => ({}), onSome: (v) => ({ cursor: v }) })
      })
      const next = (response.data as { readonly next_cursor?: string }).next_cursor
      yield* show(
        json,
        response,
        Effect.gen(function*() {
          if (response.threads.length === 0) yield* Console.log("no threads")
          for (const t of response.threads) {
            yield* Console.log(
              `${t.id}  ${t.status.padEnd(9)}  ${iso(t.updated_at * 1000)}  ${t.name === undefined ? "" : `"${t.name}"  `}${oneLine(t.preview, 60)}`
            )
          }
          if (next !== undefined) yield* Console.log(`more: --cursor ${next}`)
        })
      )
    }).pipe(Effect.provide(threadLayer(db)))
).pipe(Command.withDescription("list threads, most recently active first"))

const read = Command.make(
  "read",
  {
    db: dbOption,
    threadId,
    limit: Options.integer("limit").pipe(Options.withDescription("history page size (1..1000, default 100)"), Options.optional),
    before: Options.text("before").pipe(Options.withDescription("the page of entries older than this entry"), Options.optional),
    branch: Options.text("branch").pipe(Options.withDescription("show the branch ending at this entry"), Options.optional),
    json
  },
  ({ db, threadId, limit, before, branch, json }) =>
    Effect.gen(function*() {
      const response = yield* send({
        kind: "read",
        thread_id: threadId,
        ...Option.match(limit, { onNone: () => ({}), onSome: (v) => ({ limit: v }) }),
        ...Option.match(before, { onNone: () => ({}), onSome: (v) => ({ before: v }) }),
        ...Option.match(branch, { onNone: () => ({}), onSome: (v) => ({ leaf_id: v }) })
      })
      yield* show(
        json,
        response,
        Effect.gen(function*() {
          const threads = yield* ThreadStore
          const row = yield* threads.get(threadId)
          const page = yield* threads.history(threadId, {
            limit: Option.getOrUndefined(limit),
            before: Option.getOrUndefined(before),
            leafId: Option.getOrUndefined(branch)
          })
          const branches = yield* threads.branches(threadId)
          const lines = [...describeThread(row)]
          if (page.before !== undefined) lines.push(`  older entries: --before ${page.before}`)
          lines.push(`history (${page.entries.length} shown, oldest first):`)
          for (const e of page.entries) lines.push(describeEntry(e, row.threadId))
          if (branches.length > 1) {
            lines.push("branches:")
            for (const b of branches) lines.push(`  ${b.active ? "*" : " "} ${b.entry.entryId}  ${oneLine(b.entry.content, 60)}`)
          }
          const checkpoint = (response.data as { readonly checkpoint?: { readonly checkpoint_id: string } | null }).checkpoint
          if (checkpoint !== undefined && checkpoint !== null) lines.push(`latest checkpoint: ${checkpoint.checkpoint_id}`)
          yield* Console.log(lines.join("\n"))
        })
      )
    }).pipe(Effect.provide(threadLayer(db)))
).pipe(Command.withDescription("show a thread and a page of its history"))

const fork = Command.make(
  "fork",
  {
    db: dbOption,
    threadId,
    atVersion: Options.integer("at-version").pipe(Options.withDescription("fork the thread as of this stream version (default: now)"), Options.optional),
    cwd,
    model,
    provider,
    json
  },
  ({ db, threadId, atVersion, cwd, model, provider, json }) =>
    Effect.gen(function*() {
      const response = yield* send({
        kind: "fork",
        thread_id: threadId,
        ...Option.match(atVersion, { onNone: () => ({}), onSome: (v) => ({ version: v }) }),
        ...Option.match(cwd, { onNone: () => ({}), onSome: (v) => ({ cwd: v }) }),
        ...Option.match(model, { onNone: () => ({}), onSome: (v) => ({ model: v }) }),
        ...Option.match(provider, { onNone: () => ({}), onSome: (v) => ({ model_provider: v }) })
      })
      if (response.status === "missing") {
        return yield* Effect.fail(new InvalidThreadInput({ field: "thread_id", detail: `thread ${threadId} not found` }))
      }
      yield* show(json, response, Effect.flatMap(rowOf(response.thread_id), (row) => Console.log(["forked", ...describeThread(row)].join("\n"))))
    }).pipe(Effect.provide(threadLayer(db)))
).pipe(Command.withDescription("fork a thread (at its head or an earlier version)"))

const resume = Command.make(
  "resume",
  {
    db: dbOption,
    threadId,
    cwd,
    model,
    provider,
    unarchive: Options.boolean("unarchive").pipe(Options.withDescription("reopen an archived thread")),
    json
  },
  ({ db, threadId, cwd, model, provider, unarchive, json }) =>
    Effect.gen(function*() {
      const response = yield* send({
        kind: "resume",
        thread_id: threadId,
        ...Option.match(cwd, { onNone: () => ({}), onSome: (v) => ({ cwd: v }) }),
        ...Option.match(model, { onNone: () => ({}), onSome: (v) => ({ model: v }) }),
        ...Option.match(provider, { onNone: () => ({}), onSome: (v) => ({ model_provider: v }) }),
        ...(unarchive ? { unarchive: true } : {})
      })
      if (response.status === "missing") {
        return yield* Effect.fail(new InvalidThreadInput({ field: "thread_id", detail: `thread ${threadId} not found` }))
      }
      yield* show(json, response, Effect.flatMap(rowOf(threadId), (row) => Console.log(["resumed", ...describeThread(row)].join("\n"))))
    }).pipe(Effect.provide(threadLayer(db)))
).pipe(Command.withDescription("resume a thread, keeping its settings unless overridden"))

const simple = (
  name: string,
  description: string,
  build: (id: string) => ThreadRequestJson,
  verb: string
) =>
  Command.make(name, { db: dbOption, threadId, json }, ({ db, threadId, json }) =>
    Effect.gen(function*() {
      const response = yield* send(build(threadId))
      yield* show(json, response, Effect.flatMap(rowOf(threadId), (row) => Console.log(`${verb} ${row.threadId} (status ${row.status})`)))
    }).pipe(Effect.provide(threadLayer(db)))).pipe(Command.withDescription(description))

const rename = Command.make("rename", { db: dbOption, threadId, name: Args.text({ name: "name" }), json }, ({ db, threadId, name, json }) =>
  Effect.gen(function*() {
    const response = yield* send({ kind: "set_name", thread_id: threadId, name })
    yield* show(json, response, Console.log(`renamed ${threadId} to "${response.thread?.name ?? ""}"`))
  }).pipe(Effect.provide(threadLayer(db)))).pipe(Command.withDescription("set a thread's display name"))

const message = Command.make(
  "message",
  {
    db: dbOption,
    threadId,
    text: Args.text({ name: "text" }),
    role: Options.text("role").pipe(Options.withDescription("role of the entry (default user)"), Options.optional),
    json
  },
  ({ db, threadId, text, role, json }) =>
    Effect.gen(function*() {
      if (Option.isSome(role) && role.value !== "user") {
        const threads = yield* ThreadStore
        const { entry } = yield* threads.addMessage(threadId, { role: role.value, content: text })
        return yield* json ? printJson(toWireHistoryItem(entry)) : Console.log(`added ${entry.entryId} to ${threadId}`)
      }
      const response = yield* send({ kind: "message", thread_id: threadId, input: text })
      const entryId = (response.data as { readonly entry_id?: string }).entry_id ?? ""
      yield* show(json, response, Console.log(`added ${entryId} to ${threadId}`))
    }).pipe(Effect.provide(threadLayer(db)))
).pipe(Command.withDescription("add a message to a thread (under its current leaf)"))

const rewind = Command.make(
  "rewind",
  {
    db: dbOption,
    threadId,
    entryId: Args.text({ name: "entry-id" }).pipe(Args.optional),
    root: Options.boolean("root").pipe(Options.withDescription("rewind to the start of the thread's own history")),
    json
  },
  ({ db, threadId, entryId, root, json }) =>
    Effect.gen(function*() {
      if (root === Option.isSome(entryId)) {
        return yield* Effect.fail(new InvalidThreadInput({ field: "entry-id", detail: "give an entry id or --root (one of them)" }))
      }
      const threads = yield* ThreadStore
      const row = yield* threads.rewind(threadId, Option.getOrNull(entryId))
      yield* json ? printJson({ thread: toWireThread(row), leaf_id: row.leafId }) : Console.log(
        `${threadId} now continues from ${row.leafId ?? "the start"}; the next message starts a new branch there`
      )
    }).pipe(Effect.provide(threadLayer(db)))
).pipe(Command.withDescription("move a thread's leaf back to an earlier entry (the abandoned branch is kept)"))

const checkpointJson = (c: CheckpointRow) => ({
  thread_id: c.threadId,
  checkpoint_id: c.checkpointId,
  state: JSON.parse(c.state) as unknown,
  created_at: Math.floor(c.createdAt / 1000),
  entry_id: c.entryId
})

const checkpointSave = Command.make(
  "save",
  {
    db: dbOption,
    threadId,
    name: Args.text({ name: "name" }),
    state: Options.text("state").pipe(Options.withDescription("the checkpoint's state as JSON (default {})"), Options.optional),
    json
  },
  ({ db, threadId, name, state, json }) =>
    Effect.gen(function*() {
      const parsed = yield* Effect.try({
        try: () => JSON.parse(Option.getOrElse(state, () => "{}")) as unknown,
        catch: (e) => new InvalidThreadInput({ field: "--state", detail: `not JSON: ${String((e as Error).message)}` })
      })
      const threads = yield* ThreadStore
      const saved = yield* threads.saveCheckpoint(threadId, name, parsed)
      yield* json ? printJson(checkpointJson(saved)) : Console.log(`saved checkpoint "${saved.checkpointId}" of ${threadId}`)
    }).pipe(Effect.provide(threadLayer(db)))
).pipe(Command.withDescription("save a named checkpoint"))

const checkpointShow = Command.make(
  "show",
  { db: dbOption, threadId, name: Args.text({ name: "name" }).pipe(Args.optional), json },
  ({ db, threadId, name, json }) =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const c = yield* threads.checkpoint(threadId, Option.getOrUndefined(name))
      yield* json
        ? printJson(checkpointJson(c))
        : Console.log(`${c.checkpointId}  saved ${iso(c.createdAt)}  at entry ${c.entryId ?? "-"}\n${JSON.stringify(JSON.parse(c.state), null, 2)}`)
    }).pipe(Effect.provide(threadLayer(db)))
).pipe(Command.withDescription("show a named checkpoint, or the most recently saved one"))

const checkpointList = Command.make("list", { db: dbOption, threadId, json }, ({ db, threadId, json }) =>
  Effect.gen(function*() {
    const threads = yield* ThreadStore
    const all = yield* threads.checkpoints(threadId)
    if (json) return yield* printJson(all.map(checkpointJson))
    if (all.length === 0) return yield* Console.log("no checkpoints")
    for (const c of all) yield* Console.log(`${c.checkpointId}  saved ${iso(c.createdAt)}  at entry ${c.entryId ?? "-"}`)
  }).pipe(Effect.provide(threadLayer(db)))).pipe(Command.withDescription("list a thread's checkpoints, most recently saved first"))

const checkpoint = Command.make("checkpoint").pipe(
  Command.withDescription("named checkpoints of a thread"),
  Command.withSubcommands([checkpointSave, checkpointShow, checkpointList])
)

/** `codewhale thread ...`. */
export const threadCommand = Command.make("thread").pipe(
  Command.withDescription("threads, their history, branches and checkpoints"),
  Command.withSubcommands([
    start,
    list,
    read,
    fork,
    rename,
    simple("archive", "archive a thread (hidden from the default list)", (id) => ({ kind: "archive", thread_id: id }), "archived"),
    simple("unarchive", "unarchive a thread (its previous status comes back)", (id) => ({ kind: "unarchive", thread_id: id }), "unarchived"),
    resume,
    message,
    rewind,
    checkpoint
  ])
)
