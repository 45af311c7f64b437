/**
 * Typed errors of tool dispatch. Each names the tool and says what was wrong; `message` reads
 * like the seed's `ToolError` display strings where one exists.
 */
import { Schema } from "effect"

/** No tool of that name is registered. */
export class ToolNotFound extends Schema.TaggedError<ToolNotFound>()("ToolNotFound", {
  name: Schema.String
}) {
  override get message(): string {
    return `Failed to locate tool: no tool named '${this.name}' is registered`
  }
}

/** A tool of that name is already registered (pass `replace: true` to overwrite on purpose). */
export class ToolAlreadyRegistered extends Schema.TaggedError<ToolAlreadyRegistered>()("ToolAlreadyRegistered", {
  name: Schema.String
}) {
  override get message(): string {
    return `a tool named '${this.name}' is already registered`
  }
}

/** The call's arguments do not match the tool's input schema (the schema's message is kept). */
export class InvalidToolArguments extends Schema.TaggedError<InvalidToolArguments>()("InvalidToolArguments", {
  tool: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `Failed to validate input of '${this.tool}': ${this.detail}`
  }
}

/** The tool did not finish within its timeout; whatever it started was stopped. */
export class ToolTimedOut extends Schema.TaggedError<ToolTimedOut>()("ToolTimedOut", {
  tool: Schema.String,
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `Failed to execute tool '${this.tool}': operation timed out after ${this.timeoutMs} ms`
  }
}

/** The tool ran and failed (I/O error, path outside the workspace, patch that does not apply, ...). */
export class ToolFailed extends Schema.TaggedError<ToolFailed>()("ToolFailed", {
  tool: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `Failed to execute tool '${this.tool}': ${this.detail}`
  }
}

/**
 * A tool's own declaration about a call (`redact`, `touchedPaths`) threw or returned something
 * malformed: what is secret in the call, or which files it touches, is unknown, so the call cannot
 * be recorded or checked safely. `detail` never quotes the thrown message (it may hold secrets).
 */
export class ToolDeclarationFailed extends Schema.TaggedError<ToolDeclarationFailed>()("ToolDeclarationFailed", {
  tool: Schema.String,
  declaration: Schema.Literal("redact", "touchedPaths"),
  detail: Schema.String
}) {
  override get message(): string {
    return `tool '${this.tool}': its ${this.declaration} failed (${this.detail}), so ${
      this.declaration === "redact" ? "which of the call's values are secret" : "which files the call touches"
    } is unknown`
  }
}

/** Any error `ToolRegistry.dispatch` can fail with. */
export type DispatchError = ToolNotFound | InvalidToolArguments | ToolTimedOut | ToolFailed
