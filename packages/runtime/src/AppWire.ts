/**
 * The seed's prompt and app wire shapes (reference §1.6–1.7), kept as a client sees them:
 * `PromptRequest { thread_id?, prompt, model? }` → `PromptResponse { output, model, events }`, and
 * `AppRequest` (tagged by `kind`) → `AppResponse { ok, data, events }`.
 */
import { EventFrame } from "@codewhale/protocol"
import { Schema } from "effect"

const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { nullable: true })

/** `PromptRequest { thread_id?, prompt, model? }`. */
export const PromptRequest = Schema.Struct({
  thread_id: opt(Schema.String),
  prompt: Schema.String,
  model: opt(Schema.String)
})
/** A prompt. */
export type PromptRequest = typeof PromptRequest.Type

/**
 * `PromptResponse { output, model, events }`: `output` is the seed's JSON text (no model is called).
 * Codewhale TS additions, omitted otherwise: `status: "blocked"` with `blocked_by` when a
 * `UserPromptSubmit` hook stopped the prompt (then `output` says why and an `error` frame carries
 * the same message), and `additional_context` when the hooks added context.
 */
export const PromptResponse = Schema.Struct({
  output: Schema.String,
  model: Schema.String,
  events: Schema.Array(EventFrame),
  status: opt(Schema.Literal("blocked")),
  blocked_by: opt(Schema.Struct({ hook_name: Schema.String, reason: Schema.String })),
  additional_context: opt(Schema.String)
})
/** The answer to a prompt. */
export type PromptResponse = typeof PromptResponse.Type

const app = <const K extends string, F extends Schema.Struct.Fields>(kind: K, fields: F) =>
  Schema.Struct({ kind: Schema.Literal(kind), ...fields })

/** `AppRequest` (tagged by `kind`): capabilities, config get/set/unset/list, models, loaded threads. */
export const AppRequest = Schema.Union(
  app("capabilities", {}),
  app("config_get", { key: Schema.String }),
  app("config_set", { key: Schema.String, value: Schema.String }),
  app("config_unset", { key: Schema.String }),
  app("config_list", {}),
  app("models", {}),
  app("thread_loaded_list", {})
)
/** An app request. */
export type AppRequest = typeof AppRequest.Type

/** `AppResponse { ok, data, events }`. */
export const AppResponse = Schema.Struct({
  ok: Schema.Boolean,
  data: Schema.Unknown,
  events: Schema.Array(EventFrame)
})
/** The answer to an app request. */
export type AppResponse = typeof AppResponse.Type
