/**
 * The projections and read models the log tooling knows by name (`log replay <name>`,
 * `log rebuild <name>`, `log verify`), and the registry of every event type.
 */
import { allEventDefinitions, categoryOf, makeEventRegistry, type EventRegistry } from "@codewhale/protocol"
import { EventStore, type EventStoreError, type ReadModel, replay, threadListOf, threadsProjection, threadsReadModel } from "@codewhale/state"
import type { EventDecodeError } from "@codewhale/protocol"
import { jobsReadModel } from "@codewhale/jobs"
import { grantsReadModel, pendingApprovalsReadModel, policyAmendmentsReadModel } from "@codewhale/runtime"
import { Effect, Either, Stream } from "effect"

/** A projection the CLI can replay to any position and print. */
export interface CatalogProjection {
  readonly name: string
  readonly description: string
  /** The projection's state as of `until` (inclusive), as plain JSON. */
  readonly replay: (until: number | undefined) => Effect.Effect<unknown, EventStoreError | EventDecodeError, EventStore>
}

/** The registry of every event type this build knows. */
export const registry: EventRegistry = Either.getOrThrowWith(makeEventRegistry(allEventDefinitions), (e) => e)

/** Counts of events by category and type, and the streams seen: works on any log. */
const summary: CatalogProjection = {
  name: "summary",
  description: "events per category and per type, and the number of streams",
  replay: (until) =>
    Effect.flatMap(EventStore, (store) =>
      store.streamAll({ until, limit: 5_000 }).pipe(
        Stream.runFold(
          { events: 0, lastPosition: 0, streams: new Set<string>(), byCategory: {} as Record<string, number>, byType: {} as Record<string, number> },
          (s, e) => {
            s.events++
            s.lastPosition = e.position
            s.streams.add(e.streamId)
            const c = categoryOf(e.streamId)
            s.byCategory[c] = (s.byCategory[c] ?? 0) + 1
            const t = `${e.eventType}@${e.schemaVersion}`
            s.byType[t] = (s.byType[t] ?? 0) + 1
            return s
          }
        ),
        Effect.map((s) => ({ events: s.events, lastPosition: s.lastPosition, streams: s.streams.size, byCategory: s.byCategory, byType: s.byType }))
      ))
}

/** The thread list (names, status, activity, checkpoints) as of a position. */
const threads: CatalogProjection = {
  name: "threads",
  description: "the thread list",
  replay: (until) => Effect.map(replay(threadsProjection, { until, category: "thread" }), threadListOf)
}

/** Every projection `log replay` knows. */
export const projections: ReadonlyArray<CatalogProjection> = [summary, threads]

/** Every read model `log rebuild` and `log verify` know. */
export const readModels: ReadonlyArray<ReadModel> = [
  threadsReadModel,
  jobsReadModel,
  grantsReadModel,
  policyAmendmentsReadModel,
  pendingApprovalsReadModel
]
