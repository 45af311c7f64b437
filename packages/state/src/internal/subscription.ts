/**
 * Gap-free subscriptions shared by every backend: a cursor over `readAll` that waits on the
 * committed head position (published only after commit) when it runs out of history.
 */
import type { RecordedEvent } from "@codewhale/protocol"
import { Chunk, Effect, Option, Stream, SubscriptionRef } from "effect"
import type { EventStoreError } from "../Errors.ts"
import { DefaultPageSize, type ReadAllOptions } from "../EventStore.ts"

type ReadPage = (options: ReadAllOptions) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>

/** Pages through the log from `after` to `until` (or the head at each step), never holding more than a page. */
export const pagedStream = (readAll: ReadPage, options: ReadAllOptions): Stream.Stream<RecordedEvent, EventStoreError> => {
  const limit = options.limit ?? DefaultPageSize
  return Stream.paginateChunkEffect(options.after ?? 0, (after) =>
    Effect.map(readAll({ ...options, after, limit }), (page) => {
      const last = page[page.length - 1]
      return [
        Chunk.unsafeFromArray(page as Array<RecordedEvent>),
        page.length < limit || last === undefined ? Option.none() : Option.some(last.position)
      ] as const
    }))
}

/** History then live: waits for the committed head to pass the cursor, then reads on. */
export const subscribeStream = (
  readAll: ReadPage,
  head: SubscriptionRef.SubscriptionRef<number>,
  options: { readonly after?: number | undefined; readonly category?: string | undefined }
): Stream.Stream<RecordedEvent, EventStoreError> => {
  const waitBeyond = (cursor: number) =>
    head.changes.pipe(Stream.filter((h) => h > cursor), Stream.take(1), Stream.runDrain)
  return Stream.paginateChunkEffect(options.after ?? 0, (cursor) =>
    Effect.gen(function*() {
      const knownHead = yield* SubscriptionRef.get(head)
      if (knownHead <= cursor) yield* waitBeyond(cursor)
      const seenHead = yield* SubscriptionRef.get(head)
      const page = yield* readAll({ after: cursor, until: seenHead, category: options.category, limit: DefaultPageSize })
      const last = page[page.length - 1]
      // Everything up to the head we saw is committed: an empty or short page moves the cursor there.
      const next = page.length === DefaultPageSize && last !== undefined ? last.position : seenHead
      return [Chunk.unsafeFromArray(page as Array<RecordedEvent>), Option.some(Math.max(next, cursor))] as const
    }))
}

/** Waits until the committed head reaches `position`. */
export const awaitHead = (head: SubscriptionRef.SubscriptionRef<number>, position: number): Effect.Effect<void> =>
  head.changes.pipe(Stream.filter((h) => h >= position), Stream.take(1), Stream.runDrain)
