/**
 * JSON-RPC 2.0 framing of `codewhale serve`: one JSON object per line in, one per line out. The
 * seed's error codes (-32700 parse, -32600 invalid request, -32601 unsupported method, -32602
 * invalid params, -32603 internal) plus -32000 for the runtime's typed errors (`data.tag` names
 * the error, e.g. `ThreadNotFound`, and the other `data` fields are the error's own).
 */
import { Schema } from "effect"

/** The error codes of the server. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** A typed error of the runtime (not found, invalid transition, conflict, ...): `data.tag` names it. */
  DomainError: -32000
} as const

/** A JSON-RPC error answer, as a typed failure of a method. */
export class RpcError extends Schema.TaggedError<RpcError>()("RpcError", {
  code: Schema.Int,
  message: Schema.String,
  data: Schema.Unknown
}) {}

/** A request id: a string, a number, or null. */
export const RequestId = Schema.Union(Schema.String, Schema.Number, Schema.Null)
/** A request id. */
export type RequestId = typeof RequestId.Type

/**
 * A request as read from a line. `jsonrpc` may be omitted (seed clients do); `id` absent makes it
 * a notification, which is executed but not answered (JSON-RPC 2.0; the seed answered with `id: null`).
 */
export const RequestEnvelope = Schema.Struct({
  jsonrpc: Schema.optional(Schema.Unknown),
  id: Schema.optional(Schema.Unknown),
  method: Schema.optional(Schema.Unknown),
  params: Schema.optional(Schema.Unknown)
})

/** A success line. */
export const resultLine = (id: RequestId, result: unknown): string => JSON.stringify({ jsonrpc: "2.0", id, result })

/** An error line (`data` is always present, null when there is nothing more to say). */
export const errorLine = (id: RequestId, error: { readonly code: number; readonly message: string; readonly data?: unknown }): string =>
  JSON.stringify({ jsonrpc: "2.0", id, error: { code: error.code, message: error.message, data: error.data ?? null } })

/** A notification line (no id). */
export const notificationLine = (method: string, params: unknown): string => JSON.stringify({ jsonrpc: "2.0", method, params })

/** Builds an `RpcError`. */
export const rpcError = (code: number, message: string, data: unknown = null): RpcError => new RpcError({ code, message, data })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Maps a failure of the runtime to an error answer: tagged errors become -32000 with their tag and
 * fields (storage and encoding problems become -32603), anything else -32603.
 */
export const fromFailure = (error: unknown): RpcError => {
  if (error instanceof RpcError) return error
  if (isRecord(error) && typeof error["_tag"] === "string") {
    const tag = error["_tag"]
    const message = typeof error["message"] === "string" && error["message"] !== "" ? error["message"] : tag
    const fields: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(error)) if (k !== "_tag" && k !== "message" && k !== "stack" && k !== "cause") fields[k] = v
    const internal = /Storage|StoreError|EventStoreError|Encode|Decode|SqlError|RuntimeError/.test(tag)
    return rpcError(internal ? ErrorCode.InternalError : ErrorCode.DomainError, message, { tag, ...fields })
  }
  return rpcError(ErrorCode.InternalError, error instanceof Error ? error.message : String(error))
}
