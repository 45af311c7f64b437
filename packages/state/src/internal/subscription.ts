/**
 * Gap-free subscriptions shared by every backend: a cursor over `readAll` that waits on the
 * committed head position (published only after commit) when it runs out of history.
 */
import type { RecordedEvent } from "@codewhale/protocol"
import { Chunk, Effect, Option, Stream } from "effect"
import type { EventStoreError } from "../Errors.ts"
import { DefaultPageSize, MaxPageSize, type ReadAllOptions } from "../EventStore.ts"
import type { HeadSignal } from "./headSignal.ts"

type ReadPage = (options: ReadAllOptions) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>

/**
 * Lets the event loop run timers and I/O before the next page: reads are synchronous, so a long
 * replay would otherwise keep a process (say, an app-server) from answering until it ends.
 */
const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** Pages through the log from `after` to `until`, never holding more than a page. */
export const pagedStream = (readAll: ReadPage, options: ReadAllOptions): Stream.Stream<RecordedEvent, EventStoreError> => {
  // The page size `readAll` really uses: a short page means the end only when compared with it.
  const limit = Math.min(Math.max(1, options.limit ?? DefaultPageSize), MaxPageSize)
  const first = options.after ?? 0
  return Stream.paginateChunkEffect(first, (after) => {
    const read = readAll({ ...options, after, limit })
    return Effect.map(after === first ? read : Effect.zipRight(yieldToEventLoop, read), (page) => {
      const last = page[page.length - 1]
      return [
        Chunk.unsafeFromArray(page as Array<RecordedEvent>),
        page.length < limit || last === undefined ? Option.none() : Option.some(last.position)
      ] as const
    })
  })
}

/** History then live: waits for the committed head to pass the cursor, then reads on. */
export const subscribeStream = (
  readAll: ReadPage,
  head: HeadSignal,
  options: { readonly after?: number | undefined; readonly category?: string | undefined }
): Stream.Stream<RecordedEvent, EventStoreError> =>
  Stream.paginateChunkEffect(options.after ?? 0, (cursor) =>
    Effect.gen(function*() {
      if (cursor !== (options.after ?? 0)) yield* yieldToEventLoop
      yield* head.atLeast(cursor + 1)
      const seenHead = head.current()
      const page = yield* readAll({ after: cursor, until: seenHead, category: options.category, limit: DefaultPageSize })
      const last = page[page.length - 1]
      // Everything up to the head we saw is committed: a short page moves the cursor there.
      const next = page.length === DefaultPageSize && last !== undefined ? last.position : seenHead
      return [Chunk.unsafeFromArray(page as Array<RecordedEvent>), Option.some(Math.max(next, cursor))] as const
    }))
