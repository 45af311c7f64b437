import { Schema } from "effect"

/** The shell grammar (web-tree-sitter + tree-sitter-bash wasm) could not be loaded. */
export class ShellParserInitError extends Schema.TaggedError<ShellParserInitError>()("ShellParserInitError", {
  wasmPath: Schema.String,
  cause: Schema.String
}) {
  override get message(): string {
    return `Could not load the bash grammar from ${this.wasmPath}: ${this.cause}`
  }
}

/**
 * A policy could not be loaded: unreadable file, invalid TOML/JSON, a structure the schema rejects,
 * or a rule whose `match` / `not_match` examples disagree with it. Names the file, the line (1-based,
 * when known) and the rule (`<layer>.rules[<n>]`, `<layer>.trusted_prefixes[<n>]`, ... when known).
 */
export class PolicyLoadError extends Schema.TaggedError<PolicyLoadError>()("PolicyLoadError", {
  file: Schema.String,
  line: Schema.NullOr(Schema.Number),
  rule: Schema.NullOr(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    const where = this.line === null ? this.file : `${this.file}:${this.line}`
    const rule = this.rule === null ? "" : ` (rule ${this.rule})`
    return `Invalid policy ${where}${rule}: ${this.detail}`
  }
}
