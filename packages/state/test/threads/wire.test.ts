/** Wire shapes: the JSON of every ThreadRequest and ThreadResponse variant, as the seed writes and reads them. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { ThreadRequest, ThreadResponse, threadErrorResponse, type ThreadRequestJson } from "@codewhale/protocol"
import { decodeThreadRequest, ThreadStore } from "../../src/index.ts"
import { makeTestLayer, request } from "./helpers.ts"

const encodeRequest = Schema.encodeSync(ThreadRequest)
const encodeResponse = Schema.encodeSync(ThreadResponse)
const decodeResponse = Schema.decodeUnknownSync(ThreadResponse)

/** Sends a JSON request, returns the JSON response (and checks it decodes back). */
const send = (json: ThreadRequestJson) =>
  Effect.gen(function*() {
    const threads = yield* ThreadStore
    const response = encodeResponse(yield* threads.handle(request(json)))
    const roundTrip = JSON.parse(JSON.stringify(response)) as unknown
    expect(encodeResponse(decodeResponse(roundTrip))).toEqual(response)
    return roundTrip as Record<string, unknown>
  })

const test = <A, E>(title: string, body: () => Effect.Effect<A, E, ThreadStore>) =>
  it.effect(title, () => body().pipe(Effect.provide(makeTestLayer())))

const T = "thread-0190a000-0000-7000-8000-000000000001"

describe("ThreadRequest JSON", () => {
  const cases: ReadonlyArray<readonly [string, unknown, unknown]> = [
    ["create (metadata defaults to null)", { kind: "create" }, { kind: "create", metadata: null }],
    ["create with metadata", { kind: "create", metadata: { a: 1 } }, { kind: "create", metadata: { a: 1 } }],
    ["start (defaults)", { kind: "start" }, { kind: "start", persist_extended_history: false }],
    [
      "start (nulls are absent)",
      { kind: "start", model: null, model_provider: "openai", cwd: "/r", persist_extended_history: true },
      { kind: "start", model_provider: "openai", cwd: "/r", persist_extended_history: true }
    ],
    [
      "resume",
      { kind: "resume", thread_id: "thread-1", model: "deepseek-v4-pro", persist_extended_history: true },
      { kind: "resume", thread_id: "thread-1", model: "deepseek-v4-pro", persist_extended_history: true }
    ],
    [
      "resume with every seed field",
      {
        kind: "resume",
        thread_id: "thread-1",
        history: [{ a: 1 }],
        path: "/p",
        model: "m",
        model_provider: "p",
        cwd: "/c",
        approval_policy: "on-request",
        sandbox: "read-only",
        config: { x: true },
        base_instructions: "b",
        developer_instructions: "d",
        personality: "calm"
      },
      {
        kind: "resume",
        thread_id: "thread-1",
        history: [{ a: 1 }],
        path: "/p",
        model: "m",
        model_provider: "p",
        cwd: "/c",
        approval_policy: "on-request",
        sandbox: "read-only",
        config: { x: true },
        base_instructions: "b",
        developer_instructions: "d",
        personality: "calm",
        persist_extended_history: false
      }
    ],
    ["fork", { kind: "fork", thread_id: "thread-1", cwd: null }, { kind: "fork", thread_id: "thread-1", persist_extended_history: false }],
    ["list (defaults)", { kind: "list" }, { kind: "list", include_archived: false }],
    ["list", { kind: "list", include_archived: true, limit: 5 }, { kind: "list", include_archived: true, limit: 5 }],
    ["read", { kind: "read", thread_id: "thread-1" }, { kind: "read", thread_id: "thread-1" }],
    ["set_name", { kind: "set_name", thread_id: "thread-1", name: "n" }, { kind: "set_name", thread_id: "thread-1", name: "n" }],
    ["archive", { kind: "archive", thread_id: "thread-1" }, { kind: "archive", thread_id: "thread-1" }],
    ["unarchive", { kind: "unarchive", thread_id: "thread-1" }, { kind: "unarchive", thread_id: "thread-1" }],
    ["message", { kind: "message", thread_id: "thread-1", input: "hi" }, { kind: "message", thread_id: "thread-1", input: "hi" }]
  ]
  for (const [title, input, output] of cases) {
    it(title, () => expect(encodeRequest(Schema.decodeUnknownSync(ThreadRequest)(input))).toEqual(output))
  }
  it.effect("malformed requests are a typed error naming the problem", () =>
    Effect.gen(function*() {
      const e1 = yield* Effect.flip(decodeThreadRequest({ kind: "message", thread_id: "thread-1" }))
      expect(e1._tag).toBe("InvalidThreadInput")
      expect(e1.message).toMatch(/input/)
      const e2 = yield* Effect.flip(decodeThreadRequest({ kind: "teleport" }))
      expect(e2.message).toMatch(/kind/)
    }))
})

describe("ThreadResponse JSON", () => {
  test("created: thread, model auto, provider, cwd, data with empty history and null checkpoint", () =>
    Effect.gen(function*() {
      const r = yield* send({ kind: "create" })
      expect(Object.keys(r).sort()).toEqual(["cwd", "data", "events", "model", "model_provider", "status", "thread", "thread_id", "threads"])
      expect(r).toMatchObject({ status: "created", model: "auto", model_provider: "deepseek", cwd: "/work/project", threads: [], events: [] })
      const thread = r["thread"] as Record<string, unknown>
      expect(Object.keys(thread).sort()).toEqual(
        ["cli_version", "created_at", "cwd", "ephemeral", "id", "model_provider", "preview", "source", "status", "updated_at"]
      )
      expect(thread).toMatchObject({ id: r["thread_id"], preview: "New conversation", ephemeral: true, status: "running", source: "interactive" })
      expect(r["data"]).toEqual({ history: [], checkpoint: null, leaf_id: null, branches: [], goal: null })
    }))

  test("started: the requested model is kept (not forced to auto)", () =>
    Effect.gen(function*() {
      const r = yield* send({ kind: "start", model: "m", persist_extended_history: true })
      expect(r).toMatchObject({ status: "started", model: "m" })
      expect((r["thread"] as Record<string, unknown>)["ephemeral"]).toBe(false)
    }))

  test("resumed / missing", () =>
    Effect.gen(function*() {
      const started = yield* send({ kind: "start", approval_policy: "never" })
      const id = started["thread_id"] as string
      const resumed = yield* send({ kind: "resume", thread_id: id })
      expect(resumed).toMatchObject({ thread_id: id, status: "resumed", approval_policy: "never" })
      const missing = yield* send({ kind: "resume", thread_id: T, sandbox: "read-only" })
      expect(missing).toEqual({
        thread_id: T,
        status: "missing",
        sandbox: "read-only",
        threads: [],
        events: [],
        data: { error: "thread not found" }
      })
    }))

  test("forked: the new thread's id, with lineage and the inherited history; missing parent", () =>
    Effect.gen(function*() {
      const started = yield* send({ kind: "start" })
      const id = started["thread_id"] as string
      yield* send({ kind: "message", thread_id: id, input: "hello" })
      const forked = yield* send({ kind: "fork", thread_id: id })
      expect(forked["status"]).toBe("forked")
      expect(forked["thread_id"]).not.toBe(id)
      expect((forked["thread"] as Record<string, unknown>)["forked_from"]).toEqual({ thread_id: id, version: 2 })
      expect((forked["data"] as { history: Array<{ content: string }> }).history.map((h) => h.content)).toEqual(["hello"])
      expect((yield* send({ kind: "fork", thread_id: T }))["status"]).toBe("missing")
    }))

  test("list: thread_id list, status ok, threads, next_cursor only when more", () =>
    Effect.gen(function*() {
      yield* send({ kind: "start" })
      yield* send({ kind: "start" })
      const one = yield* send({ kind: "list", limit: 1 })
      expect(one).toMatchObject({ thread_id: "list", status: "ok", events: [] })
      expect((one["threads"] as Array<unknown>).length).toBe(1)
      expect(typeof (one["data"] as Record<string, unknown>)["next_cursor"]).toBe("string")
      const all = yield* send({ kind: "list" })
      expect(all["data"]).toEqual({})
      expect(all["thread"]).toBeUndefined()
    }))

  test("read: the thread and its data (history items with the seed's fields)", () =>
    Effect.gen(function*() {
      const id = (yield* send({ kind: "start" }))["thread_id"] as string
      yield* send({ kind: "message", thread_id: id, input: "hello" })
      const r = yield* send({ kind: "read", thread_id: id })
      expect(r).toMatchObject({ thread_id: id, status: "ok", threads: [], events: [] })
      expect(r["model"]).toBeUndefined()
      const data = r["data"] as { history: Array<Record<string, unknown>> }
      expect(Object.keys(data.history[0]!).sort()).toEqual(["content", "created_at", "id", "item", "parent_id", "role", "thread_id"])
      expect(data.history[0]).toMatchObject({ role: "user", content: "hello", item: null, parent_id: null, thread_id: id })
    }))

  test("set_name: ok with the renamed thread (name present only once set)", () =>
    Effect.gen(function*() {
      const id = (yield* send({ kind: "start" }))["thread_id"] as string
      const r = yield* send({ kind: "set_name", thread_id: id, name: "Named" })
      expect(r).toMatchObject({ status: "ok", data: {} })
      expect((r["thread"] as Record<string, unknown>)["name"]).toBe("Named")
    }))

  test("archived / unarchived", () =>
    Effect.gen(function*() {
      const id = (yield* send({ kind: "start" }))["thread_id"] as string
      expect(yield* send({ kind: "archive", thread_id: id })).toEqual({ thread_id: id, status: "archived", threads: [], events: [], data: {} })
      expect(yield* send({ kind: "unarchive", thread_id: id })).toEqual({
        thread_id: id,
        status: "unarchived",
        threads: [],
        events: [],
        data: {}
      })
    }))

  test("accepted: three response frames with a unique response id", () =>
    Effect.gen(function*() {
      const id = (yield* send({ kind: "start" }))["thread_id"] as string
      const r = yield* send({ kind: "message", thread_id: id, input: "hi" })
      const r2 = yield* send({ kind: "message", thread_id: id, input: "yo" })
      expect(r["status"]).toBe("accepted")
      const events = r["events"] as Array<Record<string, unknown>>
      const rid = events[0]!["response_id"] as string
      expect(rid).toMatch(/^resp-/)
      expect(events).toEqual([
        { event: "response_start", response_id: rid },
        { event: "response_delta", response_id: rid, delta: "queued" },
        { event: "response_end", response_id: rid }
      ])
      expect((r2["events"] as Array<Record<string, unknown>>)[0]!["response_id"]).not.toBe(rid)
    }))

  test("errors stay typed; a transport renders them in the seed's error shape", () =>
    Effect.gen(function*() {
      const threads = yield* ThreadStore
      const error = yield* Effect.flip(threads.handle(request({ kind: "message", thread_id: T, input: "x" })))
      expect(error._tag).toBe("ThreadNotFound")
      expect(encodeResponse(threadErrorResponse(error))).toEqual({
        thread_id: "error",
        status: `error:thread ${T} not found`,
        threads: [],
        events: [],
        data: { error: { tag: "ThreadNotFound", message: `thread ${T} not found` } }
      })
      expect((yield* Effect.flip(threads.handle(request({ kind: "read", thread_id: T }))))._tag).toBe("ThreadNotFound")
    }))
})
