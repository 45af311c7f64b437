/**
 * Typed errors of the MCP package. Each names the server (and the tool, field or request) it is
 * about, and says what was wrong.
 */
import { Schema } from "effect"

/** Invalid MCP configuration: names the server (empty for the table itself) and the field. */
export class McpConfigError extends Schema.TaggedError<McpConfigError>()("McpConfigError", {
  server: Schema.String,
  field: Schema.String,
  detail: Schema.String,
  source: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const where = this.source === undefined ? "" : ` (in ${this.source})`
    const target = this.server === "" ? "[mcp_servers]" : `[mcp_servers.${this.server}]`
    return this.field === ""
      ? `invalid MCP configuration ${target}${where}: ${this.detail}`
      : `invalid MCP configuration ${target} field \`${this.field}\`${where}: ${this.detail}`
  }
}

/** A configuration file that could not be read or is not valid TOML. */
export class McpConfigFileError extends Schema.TaggedError<McpConfigFileError>()("McpConfigFileError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot read MCP configuration from ${this.path}: ${this.detail}`
  }
}

/** One `required` server that did not become ready. */
export const RequiredServerFailure = Schema.Struct({ server: Schema.String, error: Schema.String })

/** Startup finished, but at least one `required` server failed: startup as a whole fails. */
export class McpRequiredServerFailed extends Schema.TaggedError<McpRequiredServerFailed>()("McpRequiredServerFailed", {
  failures: Schema.Array(RequiredServerFailure)
}) {
  override get message(): string {
    return `required MCP server${this.failures.length === 1 ? "" : "s"} failed to start: ${
      this.failures.map((f) => `${f.server} (${f.error})`).join("; ")
    }`
  }
}

/** No server of that name is configured. */
export class McpServerNotFound extends Schema.TaggedError<McpServerNotFound>()("McpServerNotFound", {
  server: Schema.String
}) {
  override get message(): string {
    return `MCP server '${this.server}' is not configured`
  }
}

/** The server exists but is not ready (starting, failed, reconnecting, stopped, disabled). */
export class McpServerUnavailable extends Schema.TaggedError<McpServerUnavailable>()("McpServerUnavailable", {
  server: Schema.String,
  status: Schema.String
}) {
  override get message(): string {
    return `MCP server '${this.server}' is not available (status: ${this.status})`
  }
}

/** No ready server lists a tool under this qualified name. */
export class McpToolNotFound extends Schema.TaggedError<McpToolNotFound>()("McpToolNotFound", {
  name: Schema.String
}) {
  override get message(): string {
    return `no MCP tool is registered as '${this.name}'`
  }
}

/** The request did not finish within its timeout (the server was sent a cancellation). */
export class McpRequestTimeout extends Schema.TaggedError<McpRequestTimeout>()("McpRequestTimeout", {
  server: Schema.String,
  method: Schema.String,
  target: Schema.String,
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `MCP server '${this.server}': ${this.method} ${this.target} timed out after ${this.timeoutMs} ms`
  }
}

/** The connection dropped while the request was in flight. The request is not retried. */
export class McpConnectionLost extends Schema.TaggedError<McpConnectionLost>()("McpConnectionLost", {
  server: Schema.String,
  method: Schema.String,
  target: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `MCP server '${this.server}' lost its connection during ${this.method} ${this.target}: ${this.detail}`
  }
}

/** The server answered with a JSON-RPC error (or an invalid result). */
export class McpRequestFailed extends Schema.TaggedError<McpRequestFailed>()("McpRequestFailed", {
  server: Schema.String,
  method: Schema.String,
  target: Schema.String,
  code: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  override get message(): string {
    const code = this.code === undefined ? "" : ` (code ${this.code})`
    return `MCP server '${this.server}': ${this.method} ${this.target} failed${code}: ${this.detail}`
  }
}

/** No pending elicitation has this id (already answered, timed out, or never asked). */
export class McpElicitationNotFound extends Schema.TaggedError<McpElicitationNotFound>()("McpElicitationNotFound", {
  requestId: Schema.String
}) {
  override get message(): string {
    return `no pending MCP elicitation with id '${this.requestId}'`
  }
}

/** Any error of a request to a server. */
export type McpCallError =
  | McpServerNotFound
  | McpServerUnavailable
  | McpToolNotFound
  | McpRequestTimeout
  | McpConnectionLost
  | McpRequestFailed
