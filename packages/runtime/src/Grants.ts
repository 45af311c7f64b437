/**
 * Session grants and user-policy amendments, as events. A grant (from `approved_for_session`)
 * lets the exact (tool, command, path) run again in its thread without asking; it never overrides
 * a forbidden decision (an explicit deny rule), because grants are only consulted when the policy
 * asks. An amendment (from `approved_execpolicy_amendment`) adds allow rules to the user policy
 * layer; both can be listed and revoked, and both survive restarts because they live in the log.
 */
import {
  GrantCategory,
  GrantCreated,
  GrantRevoked,
  IdGenerator,
  makeEnvelope,
  makeEventRegistry,
  PolicyAmendmentAdded,
  PolicyAmendmentCategory,
  PolicyAmendmentRevoked,
  type EventEncodeError
} from "@codewhale/protocol"
import { catchUp, EventStore, ExpectedVersion, type AppendError, type EventStoreError, type ReadModel } from "@codewhale/state"
import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Context, Effect, Either, Layer, Option, Stream } from "effect"
import { grantsReadModel, policyAmendmentsReadModel, selectAmendments, selectGrant, selectGrants } from "./GrantsReadModel.ts"
import { AmendmentNotFound, type CorruptReadModelRow, GrantAlreadyRevoked, GrantNotFound, ReadModelUnavailable } from "./ToolErrors.ts"

/** A grant as listed. */
export interface Grant {
  readonly grantId: string
  readonly threadId: string
  readonly scope: "thread"
  readonly tool: string
  readonly command: string
  readonly path: string | null
  readonly approvalId: string
  readonly callId: string
  readonly actor: string | null
  readonly createdAt: number
  readonly revokedAt: number | null
  readonly revokeReason: string | null
}

/** A user-policy amendment as listed. */
export interface PolicyAmendment {
  readonly amendmentId: string
  readonly prefixes: ReadonlyArray<string>
  readonly approvalId: string | null
  readonly callId: string | null
  readonly actor: string | null
  readonly createdAt: number
  readonly revokedAt: number | null
}

/** What a grant is keyed by: the exact policy tool, command (whitespace-collapsed) and path. */
export interface GrantKey {
  readonly threadId: string
  readonly tool: string
  readonly command: string
  readonly path: string | null
}

/** The thread id grants use for calls made outside a thread. */
export const NoThread = "(none)"

/** Collapses whitespace so `ls  -la` and `ls -la` share a grant (nothing else is normalised). */
export const normaliseGrantCommand = (command: string): string => command.trim().replace(/\s+/g, " ")

const grantRegistry = Either.getOrThrow(makeEventRegistry([GrantCreated, GrantRevoked]))
const amendmentRegistry = Either.getOrThrow(makeEventRegistry([PolicyAmendmentAdded, PolicyAmendmentRevoked]))

/** What reading or writing grants can fail with (storage). */
export type GrantsStoreError = EventStoreError | AppendError | EventEncodeError

/** What listing grants and amendments can fail with (the last two only with the read models of `Grants.layerSql`). */
export type GrantsQueryError = GrantsStoreError | ReadModelUnavailable | CorruptReadModelRow

/** The grants and amendments service. */
export interface GrantsShape {
  /** Grants (active and revoked unless `activeOnly`), optionally for one thread, oldest first. */
  readonly listGrants: (options?: { readonly threadId?: string | undefined; readonly activeOnly?: boolean | undefined }) => Effect.Effect<ReadonlyArray<Grant>, GrantsQueryError>
  /** The active grant matching this key exactly (the oldest, if several), if any. */
  readonly findGrant: (key: GrantKey) => Effect.Effect<Grant | undefined, GrantsQueryError>
  /** Records a grant. */
  readonly createGrant: (key: GrantKey, origin: { readonly approvalId: string; readonly callId: string; readonly actor: string | null }) => Effect.Effect<Grant, GrantsStoreError>
  /** Revokes a grant (typed errors for unknown or already revoked grants). */
  readonly revokeGrant: (grantId: string, options?: { readonly reason?: string | undefined; readonly actor?: string | undefined }) => Effect.Effect<void, GrantNotFound | GrantAlreadyRevoked | GrantsStoreError>
  /** User-policy amendments (active only unless `includeRevoked`), oldest first. */
  readonly listAmendments: (options?: { readonly includeRevoked?: boolean | undefined }) => Effect.Effect<ReadonlyArray<PolicyAmendment>, GrantsQueryError>
  /** Records an amendment. */
  readonly addAmendment: (prefixes: ReadonlyArray<string>, origin: { readonly approvalId: string | null; readonly callId: string | null; readonly actor: string | null }) => Effect.Effect<PolicyAmendment, GrantsStoreError>
  /** Revokes an amendment (the rule leaves the user policy from the next check on). */
  readonly revokeAmendment: (amendmentId: string, options?: { readonly reason?: string | undefined; readonly actor?: string | undefined }) => Effect.Effect<void, AmendmentNotFound | GrantsStoreError>
}

/** The service on the event store; the queries answer from the read models when `sql` is given. */
const make = (sql: Option.Option<SqlClient.SqlClient>): Effect.Effect<GrantsShape, never, EventStore | IdGenerator> => Effect.gen(function*() {
  const store = yield* EventStore
  const ids = yield* IdGenerator
  const provide = <A, E>(effect: Effect.Effect<A, E, IdGenerator>) => Effect.provideService(effect, IdGenerator, ids)

  const foldGrants: GrantsShape["listGrants"] = (options) =>
    store.streamAll({ category: GrantCategory }).pipe(
      Stream.runFold(new Map<string, Grant>(), (map, record) => {
        const event = grantRegistry.decodeKnown(record)
        if (event === undefined) return map
        if (event.type === "grant.created") {
          const p = event.payload
          map.set(p.grant_id, {
            grantId: p.grant_id, threadId: p.thread_id, scope: p.scope, tool: p.tool, command: p.command, path: p.path,
            approvalId: p.approval_id, callId: p.call_id, actor: p.actor, createdAt: p.at, revokedAt: null, revokeReason: null
          })
        } else {
          const g = map.get(event.payload.grant_id)
          if (g !== undefined) map.set(g.grantId, { ...g, revokedAt: event.payload.at, revokeReason: event.payload.reason })
        }
        return map
      }),
      Effect.map((map) =>
        [...map.values()].filter((g) =>
          (options?.threadId === undefined || g.threadId === options.threadId) && (options?.activeOnly !== true || g.revokedAt === null)
        ))
    )

  const foldAmendments: GrantsShape["listAmendments"] = (options) =>
    store.streamAll({ category: PolicyAmendmentCategory }).pipe(
      Stream.runFold(new Map<string, PolicyAmendment>(), (map, record) => {
        const event = amendmentRegistry.decodeKnown(record)
        if (event === undefined) return map
        if (event.type === "policy_amendment.added") {
          const p = event.payload
          map.set(p.amendment_id, { amendmentId: p.amendment_id, prefixes: p.prefixes, approvalId: p.approval_id, callId: p.call_id, actor: p.actor, createdAt: p.at, revokedAt: null })
        } else {
          const a = map.get(event.payload.amendment_id)
          if (a !== undefined) map.set(a.amendmentId, { ...a, revokedAt: event.payload.at })
        }
        return map
      }),
      Effect.map((map) => [...map.values()].filter((a) => options?.includeRevoked === true || a.revokedAt === null))
    )

  const foldFind: GrantsShape["findGrant"] = (key) =>
    Effect.map(foldGrants({ threadId: key.threadId, activeOnly: true }), (grants) =>
      grants.find((g) => g.tool === key.tool && g.command === normaliseGrantCommand(key.command) && g.path === key.path))

  /** Catches the model up to the log's head first: read-your-writes, also across processes. */
  const fromModel = <A>(
    client: SqlClient.SqlClient,
    model: ReadModel,
    select: Effect.Effect<A, SqlError.SqlError | CorruptReadModelRow, SqlClient.SqlClient>
  ): Effect.Effect<A, GrantsQueryError> =>
    catchUp(model).pipe(
      Effect.zipRight(select),
      Effect.catchTags({
        SqlError: (e) => Effect.fail(new ReadModelUnavailable({ model: model.name, detail: e.message })),
        EventDecodeError: (e) => Effect.fail(new ReadModelUnavailable({ model: model.name, detail: e.message }))
      }),
      Effect.provideService(SqlClient.SqlClient, client),
      Effect.provideService(EventStore, store)
    )

  const queries: Pick<GrantsShape, "listGrants" | "findGrant" | "listAmendments"> = Option.match(sql, {
    onNone: () => ({ listGrants: foldGrants, findGrant: foldFind, listAmendments: foldAmendments }),
    onSome: (client) => ({
      listGrants: (options) => fromModel(client, grantsReadModel, selectGrants(options)),
      findGrant: (key) => fromModel(client, grantsReadModel, selectGrant({ ...key, command: normaliseGrantCommand(key.command) })),
      listAmendments: (options) => fromModel(client, policyAmendmentsReadModel, selectAmendments(options))
    })
  })

  return {
    ...queries,
    createGrant: (key, origin) =>
      Effect.gen(function*() {
        const grantId = yield* ids.domainId("grant")
        const at = yield* Clock.currentTimeMillis
        const payload = {
          grant_id: grantId, thread_id: key.threadId, scope: "thread" as const, tool: key.tool, command: normaliseGrantCommand(key.command),
          path: key.path, approval_id: origin.approvalId, call_id: origin.callId, actor: origin.actor, at
        }
        yield* store.append(grantId, [yield* provide(makeEnvelope(GrantCreated, payload))], { expected: ExpectedVersion.NoStream() })
        return {
          grantId, threadId: key.threadId, scope: "thread" as const, tool: key.tool, command: payload.command, path: key.path,
          approvalId: origin.approvalId, callId: origin.callId, actor: origin.actor, createdAt: at, revokedAt: null, revokeReason: null
        }
      }),
    revokeGrant: (grantId, options) =>
      Effect.gen(function*() {
        const version = yield* store.streamVersion(grantId)
        if (version === 0) return yield* new GrantNotFound({ grantId })
        if (version > 1) return yield* new GrantAlreadyRevoked({ grantId })
        const at = yield* Clock.currentTimeMillis
        const envelope = yield* provide(makeEnvelope(GrantRevoked, { grant_id: grantId, reason: options?.reason ?? null, actor: options?.actor ?? null, at }))
        yield* store.append(grantId, [envelope], { expected: ExpectedVersion.Exact({ version: 1 }) }).pipe(
          Effect.catchTag("WrongExpectedVersion", () => new GrantAlreadyRevoked({ grantId }))
        )
      }),
    addAmendment: (prefixes, origin) =>
      Effect.gen(function*() {
        const amendmentId = yield* ids.domainId(PolicyAmendmentCategory)
        const at = yield* Clock.currentTimeMillis
        const envelope = yield* provide(makeEnvelope(PolicyAmendmentAdded, {
          amendment_id: amendmentId, layer: "user", prefixes: [...prefixes], approval_id: origin.approvalId, call_id: origin.callId, actor: origin.actor, at
        }))
        yield* store.append(amendmentId, [envelope], { expected: ExpectedVersion.NoStream() })
        return { amendmentId, prefixes, approvalId: origin.approvalId, callId: origin.callId, actor: origin.actor, createdAt: at, revokedAt: null }
      }),
    revokeAmendment: (amendmentId, options) =>
      Effect.gen(function*() {
        const version = yield* store.streamVersion(amendmentId)
        if (version !== 1) return yield* new AmendmentNotFound({ amendmentId })
        const at = yield* Clock.currentTimeMillis
        const envelope = yield* provide(makeEnvelope(PolicyAmendmentRevoked, { amendment_id: amendmentId, reason: options?.reason ?? null, actor: options?.actor ?? null, at }))
        yield* store.append(amendmentId, [envelope], { expected: ExpectedVersion.Exact({ version: 1 }) }).pipe(
          Effect.catchTag("WrongExpectedVersion", () => new AmendmentNotFound({ amendmentId }))
        )
      })
  }
})

/** The service on the event store: the queries fold the `grant` / `policy_amendment` categories on every call (any backend). */
export const makeGrants: Effect.Effect<GrantsShape, never, EventStore | IdGenerator> = make(Option.none())

/** The service whose queries answer from the `grants` / `policy_amendments` read models (caught up before each answer). */
export const makeGrantsSql: Effect.Effect<GrantsShape, never, EventStore | IdGenerator | SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (client) => make(Option.some(client))
)

/** Grants and user-policy amendments. */
export class Grants extends Context.Tag("@codewhale/runtime/Grants")<Grants, GrantsShape>() {
  /** On the event store: the lists are folds of the log (the memory store, and the reference for the read models). */
  static readonly layer: Layer.Layer<Grants, never, EventStore | IdGenerator> = Layer.effect(Grants, makeGrants)
  /** On SQLite (`layerSqlite`): `listGrants`, `findGrant` and `listAmendments` come from the `grants` / `policy_amendments` read models. */
  static readonly layerSql: Layer.Layer<Grants, never, EventStore | IdGenerator | SqlClient.SqlClient> = Layer.effect(Grants, makeGrantsSql)
}
