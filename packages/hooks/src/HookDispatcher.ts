/**
 * `HookDispatcher`: the seed's in-process sinks, fed from the log. It follows the event log
 * (`EventStore.subscribe`), maps tool-call and approval events to the seed's `HookEvent`s and
 * hands each to every sink in registration order. A sink that fails or takes longer than its
 * timeout is logged and skipped; it never stalls the tool path, which only writes to the log.
 */
import { makeEventRegistry, ToolCallCategory } from "@codewhale/protocol"
import { EventStore } from "@codewhale/state"
import { Context, Duration, Effect, Either, Layer, Ref, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { callContextOf, hookEventsOf, toolCallEventDefinitions, type CallContext, type HookEvent } from "./SinkEvents.ts"

/** A sink could not take an event. */
export class HookSinkError extends Schema.TaggedError<HookSinkError>()("HookSinkError", {
  sink: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `hook sink ${this.sink} failed: ${this.detail}`
  }
}

/** Where hook events go. */
export interface HookSink {
  readonly name: string
  readonly emit: (event: HookEvent) => Effect.Effect<void, HookSinkError>
}

/** A sink that appends `{"at": "<RFC 3339>", "event": {...}}` lines to a file (one writer at a time). */
export const jsonlSink = (path: string): Effect.Effect<HookSink> =>
  Effect.map(Effect.makeSemaphore(1), (lock) => ({
    name: `jsonl:${path}`,
    emit: (event) =>
      lock.withPermits(1)(
        Effect.try({
          try: () => {
            NodeFs.mkdirSync(NodePath.dirname(path), { recursive: true })
            NodeFs.appendFileSync(path, JSON.stringify({ at: new Date().toISOString(), event }) + "\n")
          },
          catch: (e) => new HookSinkError({ sink: `jsonl:${path}`, detail: String(e) })
        })
      )
  }))

/** A sink that keeps events in memory (tests, embedding). */
export const memorySink = (name = "memory"): Effect.Effect<{ readonly sink: HookSink; readonly events: Effect.Effect<ReadonlyArray<HookEvent>> }> =>
  Effect.map(Ref.make<ReadonlyArray<HookEvent>>([]), (ref) => ({
    sink: { name, emit: (event) => Ref.update(ref, (all) => [...all, event]) },
    events: Ref.get(ref)
  }))

/** A sink that calls a function. */
export const callbackSink = (name: string, f: (event: HookEvent) => Effect.Effect<void>): HookSink => ({ name, emit: f })

/** Options of the dispatcher. */
export interface HookDispatcherOptions {
  /** Sink timeout per event; default 5 s. */
  readonly sinkTimeout?: Duration.DurationInput | undefined
}

/** The hook dispatcher. */
export interface HookDispatcherShape {
  /** Adds a sink (events are delivered to sinks in registration order). */
  readonly addSink: (sink: HookSink) => Effect.Effect<void>
  /** The number of sinks. */
  readonly sinkCount: Effect.Effect<number>
  /** Delivers one event to every sink (errors and timeouts are logged, never raised). */
  readonly emit: (event: HookEvent) => Effect.Effect<void>
  /**
   * Follows the log after `after` (exclusive) and emits the hook events of every tool-call event.
   * Runs until interrupted.
   */
  readonly follow: (after: number) => Effect.Effect<void, unknown, EventStore>
}

const registry = Either.getOrThrow(makeEventRegistry(toolCallEventDefinitions))

/** Builds a dispatcher. */
export const makeHookDispatcher = (options: HookDispatcherOptions = {}): Effect.Effect<HookDispatcherShape> =>
  Effect.gen(function*() {
    const sinks = yield* Ref.make<ReadonlyArray<HookSink>>([])
    const timeout = options.sinkTimeout ?? Duration.seconds(5)
    const emit = (event: HookEvent) =>
      Effect.flatMap(Ref.get(sinks), (all) =>
        Effect.forEach(all, (sink) =>
          sink.emit(event).pipe(
            Effect.timeoutFail({ duration: timeout, onTimeout: () => new HookSinkError({ sink: sink.name, detail: `timed out after ${Duration.format(timeout)}` }) }),
            Effect.catchAllCause((cause) => Effect.logWarning(`hook sink ${sink.name} dropped a ${event.type} event`, cause))
          ), { discard: true }))
    const follow = (after: number) =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const contexts = new Map<string, CallContext>()
        const contextOf = (streamId: string) =>
          Effect.gen(function*() {
            const known = contexts.get(streamId)
            if (known !== undefined) return known
            const first = yield* store.readStream(streamId, { toVersion: 1 })
            const event = first[0] === undefined ? undefined : registry.decodeKnown(first[0])
            if (event?.type !== "tool.call_requested") return undefined
            const ctx = callContextOf(event.payload)
            contexts.set(streamId, ctx)
            return ctx
          })
        yield* store.subscribe({ after, category: ToolCallCategory }).pipe(
          Stream.runForEach((record) =>
            Effect.gen(function*() {
              const event = registry.decodeKnown(record)
              if (event === undefined) return
              if (event.type === "tool.call_requested") contexts.set(record.streamId, callContextOf(event.payload))
              const ctx = yield* contextOf(record.streamId)
              if (ctx === undefined) return
              for (const hookEvent of hookEventsOf(ctx, event)) yield* emit(hookEvent)
              if (event.type === "tool.call_completed" || event.type === "tool.call_failed" || event.type === "tool.call_denied" ||
                event.type === "tool.call_aborted" || event.type === "tool.call_cancelled") {
                contexts.delete(record.streamId)
              }
            })
          )
        )
      })
    return {
      addSink: (sink) => Ref.update(sinks, (all) => [...all, sink]),
      sinkCount: Effect.map(Ref.get(sinks), (all) => all.length),
      emit,
      follow
    }
  })

/** The hook dispatcher service. */
export class HookDispatcher extends Context.Tag("@codewhale/hooks/HookDispatcher")<HookDispatcher, HookDispatcherShape>() {
  /** A dispatcher with these sinks that does not follow the log (call `follow` yourself). */
  static readonly layer = (sinks: ReadonlyArray<HookSink> = [], options?: HookDispatcherOptions): Layer.Layer<HookDispatcher> =>
    Layer.effect(
      HookDispatcher,
      Effect.tap(makeHookDispatcher(options), (d) => Effect.forEach(sinks, d.addSink, { discard: true }))
    )

  /**
   * A dispatcher with these sinks that follows the log from its current head for the lifetime of
   * the layer (a background fiber; a failure of the subscription is logged).
   */
  static readonly layerFollowing = (
    sinks: ReadonlyArray<HookSink> = [],
    options?: HookDispatcherOptions
  ): Layer.Layer<HookDispatcher, never, EventStore> =>
    Layer.scoped(
      HookDispatcher,
      Effect.gen(function*() {
        const dispatcher = yield* makeHookDispatcher(options)
        yield* Effect.forEach(sinks, dispatcher.addSink, { discard: true })
        const store = yield* EventStore
        const head = yield* Effect.orElseSucceed(store.headPosition, () => 0)
        yield* Effect.forkScoped(
          dispatcher.follow(head).pipe(
            Effect.provideService(EventStore, store),
            Effect.catchAllCause((cause) => Effect.logError("hook dispatcher stopped following the log", cause))
          )
        )
        return dispatcher
      })
    )
}
