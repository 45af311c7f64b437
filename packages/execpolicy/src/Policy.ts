/**
 * The policy file structure (TOML on disk, the same structure as JSON in `--batch`):
 *
 * ```toml
 * [user]
 * trusted_prefixes = ["git status", "cargo test"]
 * denied_prefixes = ["rm -rf /"]
 *
 * [[user.rules]]
 * action = "deny"            # allow | ask | deny (default ask)
 * tool = "exec_shell"
 * command = "git push"
 * match = ["git -c x=y push origin main"]
 * not_match = ["git pull"]
 * ```
 */
import { Schema } from "effect"
import { PermissionAction } from "./Decision.ts"

/** One typed rule as written. Unknown fields are rejected (the seed's `deny_unknown_fields`). */
export const RuleInput = Schema.Struct({
  action: Schema.optional(PermissionAction),
  tool: Schema.String,
  command: Schema.optional(Schema.String),
  command_exact: Schema.optional(Schema.Boolean),
  path: Schema.optional(Schema.String),
  workspace: Schema.optional(Schema.String),
  justification: Schema.optional(Schema.String),
  match: Schema.optional(Schema.Array(Schema.String)),
  not_match: Schema.optional(Schema.Array(Schema.String))
})
/** One typed rule as written. */
export type RuleInput = typeof RuleInput.Type

/** One layer as written. */
export const LayerInput = Schema.Struct({
  trusted_prefixes: Schema.optional(Schema.Array(Schema.String)),
  denied_prefixes: Schema.optional(Schema.Array(Schema.String)),
  rules: Schema.optional(Schema.Array(RuleInput))
})
/** One layer as written. */
export type LayerInput = typeof LayerInput.Type

/** A whole policy as written: up to three layers. */
export const PolicyInput = Schema.Struct({
  builtin: Schema.optional(LayerInput),
  agent: Schema.optional(LayerInput),
  user: Schema.optional(LayerInput)
})
/** A whole policy as written. */
export type PolicyInput = typeof PolicyInput.Type

/** The empty policy. */
export const emptyPolicy: PolicyInput = {}

/** The seed's label of a typed rule: `tool=<t>[ command=<c>][ command_exact=true][ path=<p>][ workspace=<w>]`. */
export const ruleLabel = (rule: RuleInput): string => {
  let label = `tool=${rule.tool}`
  if (rule.command !== undefined) label += ` command=${rule.command}`
  if (rule.command_exact === true) label += " command_exact=true"
  if (rule.path !== undefined) label += ` path=${rule.path}`
  if (rule.workspace !== undefined) label += ` workspace=${rule.workspace}`
  return label
}
