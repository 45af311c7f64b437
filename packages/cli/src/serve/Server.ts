/**
 * The JSON-RPC loop of `codewhale serve`: reads one JSON value per line, answers each request on
 * one line (requests run concurrently, so a long tool call never blocks `healthz` or an
 * `approval/respond`; clients match answers by `id`), and streams event subscriptions as
 * notifications. Malformed lines, unknown methods and invalid params get an error answer and the
 * loop keeps serving; nothing is written to the log for them. Batches (JSON arrays) are answered
 * with one array line.
 */
import { Runtime } from "@codewhale/runtime"
import { EventStore } from "@codewhale/state"
import { Deferred, Effect, FiberMap, FiberSet, Ref, type Scope, Stream } from "effect"
import { ErrorCode, errorLine, fromFailure, notificationLine, type RequestId, resultLine, rpcError } from "./JsonRpc.ts"
import { type MethodContext, methodIndex, methods } from "./Methods.ts"

/** Where the server reads lines from and writes lines to. */
export interface ServerIo {
  /** Incoming lines; the server stops reading when the stream ends. */
  readonly lines: Stream.Stream<string, unknown>
  /** Writes one line (without its newline); calls are serialised by the server. */
  readonly write: (line: string) => Effect.Effect<void>
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

interface Handled {
  /** The answer, as a JSON value (null: a notification, no answer). */
  readonly reply: Record<string, unknown> | null
  /** Runs once the answer is written (subscriptions start here, so the answer comes first). */
  readonly after: ReadonlyArray<Effect.Effect<void>>
}

const errorReply = (id: RequestId, code: number, message: string, data: unknown = null) =>
  JSON.parse(errorLine(id, { code, message, data })) as Record<string, unknown>

/**
 * Serves until the input ends or `shutdown` is answered. In-flight requests finish before it
 * returns; subscriptions are stopped.
 */
export const runServer = (io: ServerIo): Effect.Effect<void, never, Runtime | EventStore | Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Runtime
    const store = yield* EventStore
    const lock = yield* Effect.makeSemaphore(1)
    const write = (line: string) => lock.withPermits(1)(io.write(line))
    const stopped = yield* Deferred.make<void>()
    const requests = yield* FiberSet.make()
    const subscriptions = yield* FiberMap.make<string>()
    const counter = yield* Ref.make(0)

    const startSubscription = (id: string, after: number, category: string | undefined, resync: Record<string, unknown> | null) =>
      FiberMap.run(
        subscriptions,
        id,
        Effect.gen(function*() {
          if (resync !== null) yield* write(notificationLine("events/resync", { subscription_id: id, ...resync }))
          yield* store.subscribe({ after, category }).pipe(
            Stream.runForEach((event) => write(notificationLine("events/event", { subscription_id: id, event }))),
            Effect.catchAll((e) =>
              write(notificationLine("events/resync", { subscription_id: id, reason: `the subscription failed: ${e.message}`, after_position: null, head_position: null }))
            )
          )
        })
      ).pipe(Effect.asVoid)

    const handle = (message: unknown): Effect.Effect<Handled> =>
      Effect.gen(function*() {
        if (!isRecord(message)) return { reply: errorReply(null, ErrorCode.InvalidRequest, "a request must be a JSON object"), after: [] }
        const rawId = message["id"]
        const notification = !("id" in message)
        if (rawId !== undefined && rawId !== null && typeof rawId !== "string" && typeof rawId !== "number") {
          return { reply: errorReply(null, ErrorCode.InvalidRequest, "id must be a string, a number or null"), after: [] }
        }
        const id: RequestId = rawId ?? null
        if ("jsonrpc" in message && message["jsonrpc"] !== "2.0") {
          return { reply: errorReply(id, ErrorCode.InvalidRequest, "jsonrpc version must be 2.0"), after: [] }
        }
        const name = message["method"]
        if (typeof name !== "string" || name === "") {
          return { reply: errorReply(id, ErrorCode.InvalidRequest, "method must be a non-empty string"), after: [] }
        }
        const spec = methodIndex.get(name)
        if (spec === undefined) {
          return { reply: errorReply(id, ErrorCode.MethodNotFound, `unsupported method: ${name} (call \`capabilities\` for the list)`), after: [] }
        }
        let params = message["params"]
        if (params === undefined || params === null) {
          if (spec.nullParams === "reject") {
            return { reply: errorReply(id, ErrorCode.InvalidParams, `invalid params for ${spec.name}: params are required (an object)`), after: [] }
          }
          params = {}
        }
        if (!isRecord(params)) {
          return { reply: errorReply(id, ErrorCode.InvalidParams, `invalid params for ${spec.name}: params must be an object`), after: [] }
        }
        const after: Array<Effect.Effect<void>> = []
        const ctx: MethodContext = {
          runtime,
          store,
          methods: () => methods,
          shutdown: Effect.sync(() => after.push(Deferred.succeed(stopped, undefined).pipe(Effect.asVoid))),
          unsubscribe: (subscriptionId) =>
            Effect.gen(function*() {
              const has = yield* FiberMap.has(subscriptions, subscriptionId)
              if (has) yield* FiberMap.remove(subscriptions, subscriptionId)
              return has
            }),
          subscribe: (o) =>
            Effect.gen(function*() {
              const head = yield* store.headPosition.pipe(Effect.mapError(fromFailure))
              const n = yield* Ref.updateAndGet(counter, (c) => c + 1)
              const subscriptionId = `sub-${n}`
              const requested = o.afterPosition ?? 0
              const resync = requested > head
                ? {
                  reason: `after_position ${requested} is beyond the log's head ${head} (a cursor from another database?): events restart from position 1`,
                  after_position: requested,
                  head_position: head
                }
                : null
              const start = resync === null ? requested : 0
              after.push(startSubscription(subscriptionId, start, o.category, resync))
              return { subscription_id: subscriptionId, after_position: start, head_position: head, resync: resync !== null }
            })
        }
        const outcome = yield* Effect.either(spec.run(params, ctx)).pipe(
          Effect.catchAllDefect((defect) => Effect.succeed({ _tag: "Left" as const, left: rpcError(ErrorCode.InternalError, `internal error: ${String(defect)}`) }))
        )
        if (notification) return { reply: null, after }
        if (outcome._tag === "Left") {
          const e = outcome.left
          return { reply: errorReply(id, e.code, e.message, e.data), after: [] }
        }
        return { reply: JSON.parse(resultLine(id, outcome.right)) as Record<string, unknown>, after }
      })

    const handleLine = (line: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        const text = line.trim()
        if (text === "") return
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch (e) {
          return yield* write(errorLine(null, { code: ErrorCode.ParseError, message: `invalid json: ${(e as Error).message}` }))
        }
        if (Array.isArray(parsed)) {
          if (parsed.length === 0) return yield* write(errorLine(null, { code: ErrorCode.InvalidRequest, message: "an empty batch is not a request" }))
          const all = yield* Effect.forEach(parsed, handle, { concurrency: "unbounded" })
          const replies = all.flatMap((h) => (h.reply === null ? [] : [h.reply]))
          if (replies.length > 0) yield* write(JSON.stringify(replies))
          yield* Effect.forEach(all.flatMap((h) => h.after), (e) => e, { discard: true })
          return
        }
        const handled = yield* handle(parsed)
        if (handled.reply !== null) yield* write(JSON.stringify(handled.reply))
        yield* Effect.forEach(handled.after, (e) => e, { discard: true })
      })

    const reader = yield* io.lines.pipe(
      Stream.runForEach((line) => FiberSet.run(requests, handleLine(line))),
      Effect.catchAll(() => Effect.void),
      Effect.forkScoped
    )
    // Stop at `shutdown`, or when the input ends and every request has been answered.
    yield* Effect.raceFirst(
      Deferred.await(stopped),
      reader.await.pipe(Effect.zipRight(FiberSet.awaitEmpty(requests)))
    )
    yield* FiberMap.clear(subscriptions)
  })
