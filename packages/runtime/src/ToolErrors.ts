/** Typed errors of the tool-call pipeline, approvals and grants. Each names the thing that was wrong. */
import { Schema } from "effect"

/** No tool call with that id (stream, approval or response id) is in the log. */
export class ToolCallNotFound extends Schema.TaggedError<ToolCallNotFound>()("ToolCallNotFound", { id: Schema.String }) {
  override get message(): string {
    return `no tool call '${this.id}' in the log`
  }
}

/** No pending or past approval request with that id. */
export class ApprovalNotFound extends Schema.TaggedError<ApprovalNotFound>()("ApprovalNotFound", { approvalId: Schema.String }) {
  override get message(): string {
    return `no approval request '${this.approvalId}'`
  }
}

/** The approval was already answered (by a user or a hook). */
export class ApprovalAlreadyResolved extends Schema.TaggedError<ApprovalAlreadyResolved>()("ApprovalAlreadyResolved", {
  approvalId: Schema.String,
  decision: Schema.String,
  decidedBy: Schema.String
}) {
  override get message(): string {
    return `approval '${this.approvalId}' was already answered (${this.decision} by ${this.decidedBy})`
  }
}

/** The call behind the approval was cancelled; it can no longer be answered. */
export class ApprovalCallCancelled extends Schema.TaggedError<ApprovalCallCancelled>()("ApprovalCallCancelled", {
  approvalId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `approval '${this.approvalId}' cannot be answered: its call was cancelled (${this.reason})`
  }
}

/** The decision is not one the request offered (or lacks what it needs). */
export class InvalidReviewDecision extends Schema.TaggedError<InvalidReviewDecision>()("InvalidReviewDecision", {
  approvalId: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid decision for approval '${this.approvalId}': ${this.detail}`
  }
}

/** The call's stream changed under us (answered or cancelled concurrently); nothing was written. */
export class ToolCallConflict extends Schema.TaggedError<ToolCallConflict>()("ToolCallConflict", {
  streamId: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `tool call ${this.streamId} changed concurrently: ${this.detail}`
  }
}

/** The call is not in a state that allows this (e.g. cancelling a finished call). */
export class ToolCallStateError extends Schema.TaggedError<ToolCallStateError>()("ToolCallStateError", {
  streamId: Schema.String,
  status: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `tool call ${this.streamId} is ${this.status}: ${this.detail}`
  }
}

/** No grant with that id. */
export class GrantNotFound extends Schema.TaggedError<GrantNotFound>()("GrantNotFound", { grantId: Schema.String }) {
  override get message(): string {
    return `no grant '${this.grantId}'`
  }
}

/** The grant was already revoked. */
export class GrantAlreadyRevoked extends Schema.TaggedError<GrantAlreadyRevoked>()("GrantAlreadyRevoked", { grantId: Schema.String }) {
  override get message(): string {
    return `grant '${this.grantId}' was already revoked`
  }
}

/** No active policy amendment with that id. */
export class AmendmentNotFound extends Schema.TaggedError<AmendmentNotFound>()("AmendmentNotFound", { amendmentId: Schema.String }) {
  override get message(): string {
    return `no active policy amendment '${this.amendmentId}'`
  }
}

/** The execution policy could not be built or evaluated. */
export class ToolPolicyError extends Schema.TaggedError<ToolPolicyError>()("ToolPolicyError", { detail: Schema.String }) {
  override get message(): string {
    return `execution policy error: ${this.detail}`
  }
}

/** A row of a runtime read model (`grants_list`, `policy_amendments_list`, `pending_approvals`) that does not decode. */
export class CorruptReadModelRow extends Schema.TaggedError<CorruptReadModelRow>()("CorruptReadModelRow", {
  table: Schema.String,
  rowId: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `row '${this.rowId}' of ${this.table} is corrupt (rebuild it with \`codewhale log rebuild\`): ${this.detail}`
  }
}

/** A runtime read model could not be caught up to the log's head or read (SQL or decode failure). */
export class ReadModelUnavailable extends Schema.TaggedError<ReadModelUnavailable>()("ReadModelUnavailable", {
  model: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `read model ${this.model} is unavailable: ${this.detail}`
  }
}
