/**
 * Typed errors of the job domain. Each names the job and what was attempted; none of them leaves
 * anything written.
 */
import { Schema } from "effect"

/** A command the job's current status does not allow (e.g. completing a cancelled job). */
export class InvalidJobTransition extends Schema.TaggedError<InvalidJobTransition>()("InvalidJobTransition", {
  jobId: Schema.String,
  status: Schema.String,
  transition: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot ${this.transition} job ${this.jobId}: it is ${this.status} (${this.detail})`
  }
}

/** No job with this id exists in the log. */
export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  jobId: Schema.String
}) {
  override get message(): string {
    return `job ${this.jobId} does not exist`
  }
}

/** A job with this id was already enqueued. */
export class JobAlreadyExists extends Schema.TaggedError<JobAlreadyExists>()("JobAlreadyExists", {
  jobId: Schema.String
}) {
  override get message(): string {
    return `job ${this.jobId} already exists`
  }
}

/** A command argument that is not acceptable (empty name, progress that is not a number, ...). */
export class InvalidJobInput extends Schema.TaggedError<InvalidJobInput>()("InvalidJobInput", {
  jobId: Schema.String,
  field: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.field} for job ${this.jobId}: ${this.detail}`
  }
}

/** Any refusal of the job decider. */
export type JobCommandError = InvalidJobTransition | JobNotFound | JobAlreadyExists | InvalidJobInput

/** The SQL job list (`jobs_list` read model) could not be read or brought up to date. */
export class JobListUnavailable extends Schema.TaggedError<JobListUnavailable>()("JobListUnavailable", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `the job list read model could not ${this.operation}: ${this.detail}`
  }
}

/** A `jobs_list` row whose stored state is not a valid job (run `codewhale log rebuild jobs`). */
export class CorruptJobRow extends Schema.TaggedError<CorruptJobRow>()("CorruptJobRow", {
  jobId: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `the jobs_list row of job ${this.jobId} is corrupt (rebuild the read model with \`codewhale log rebuild jobs\`): ${this.detail}`
  }
}
