/**
 * `codewhale jobs list|show|history|cancel|pause|resume`: background jobs on the event log.
 * Reads open the database read-only, except `list`, which brings the `jobs` read model up to the
 * log's head before answering; `--json` prints the seed's shapes (`list --json` is the
 * `app/status` output: every job with its retry state and history, plus one `job_transition`
 * frame per history entry).
 */
import { Args, Command, Options } from "@effect/cli"
import {
  appStatus,
  historyEntryToJson,
  isJobStatus,
  type JobHistoryEntry,
  jobToJson,
  JobStore,
  type JobState
} from "@codewhale/jobs"
import { Console, Effect, Layer, Option, Schema } from "effect"
import { databaseLayer, dbOption } from "../Database.ts"

/** A bad `jobs` argument (e.g. an unknown status). */
export class JobsCliError extends Schema.TaggedError<JobsCliError>()("JobsCliError", { message: Schema.String }) {}

const json = Options.boolean("json").pipe(Options.withDescription("print JSON (the seed's job shapes)"))
const jobId = Args.text({ name: "job-id" }).pipe(Args.withDescription("the job id (job-…)"))
const actor = Options.text("actor").pipe(Options.withDescription("who does this (recorded; default cli:$USER)"), Options.optional)

/**
 * The job store on the database; `list` answers from the `jobs` read model, which it brings up to
 * date (so it opens read-write). No jobs command creates a database that is not there.
 */
const storeLayer = (db: Option.Option<string>, readonly: boolean) =>
  Layer.provide(JobStore.layerSql, databaseLayer(db, { readonly, mustExist: true }))

const iso = (ms: number | null): string => (ms === null ? "-" : new Date(ms).toISOString())

const retryText = (job: JobState): string => {
  const r = job.retry
  const next = r.nextRetryAt === null ? "" : `, next retry ${iso(r.nextRetryAt)} (+${r.nextBackoffMs} ms)`
  return `attempt ${r.attempt}/${r.maxAttempts}, backoff base ${r.backoffBaseMs} ms${next}`
}

const historyLine = (h: JobHistoryEntry): string =>
  `${iso(h.at)}  ${h.phase.padEnd(19)} ${h.status.padEnd(9)} ${String(h.progress).padStart(3)}%  attempt ${h.retry.attempt}/${h.retry.maxAttempts}${
    h.detail === null ? "" : `  ${h.detail}`
  }`

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))

const list = Command.make(
  "list",
  {
    db: dbOption,
    json,
    status: Options.text("status").pipe(
      Options.withDescription("only jobs in this status (repeatable): queued, running, paused, completed, failed, cancelled"),
      Options.repeated
    ),
    name: Options.text("name").pipe(Options.withDescription("only jobs with this name"), Options.optional),
    limit: Options.integer("limit").pipe(Options.withDescription("at most this many jobs, newest first"), Options.optional)
  },
  (o) =>
    Effect.gen(function*() {
      const bad = o.status.filter((s) => !isJobStatus(s))
      if (bad.length > 0) {
        return yield* new JobsCliError({
          message: `unknown status ${bad.join(", ")}: expected queued, running, paused, completed, failed or cancelled`
        })
      }
      const jobs = yield* (yield* JobStore).list({
        status: o.status.length === 0 ? undefined : o.status.filter(isJobStatus),
        name: Option.getOrUndefined(o.name),
        limit: Option.getOrUndefined(o.limit)
      })
      if (o.json) return yield* Console.log(JSON.stringify(appStatus(jobs)))
      if (jobs.length > 0) {
        const width = Math.max(...jobs.map((j) => j.id.length)) + 2
        const nameWidth = Math.max(6, ...jobs.map((j) => j.name.length)) + 2
        yield* Console.log(`${pad("ID", width)}${pad("NAME", nameWidth)}${pad("STATUS", 11)}${pad("PROGRESS", 10)}${pad("ATTEMPT", 9)}UPDATED`)
        for (const j of jobs) {
          yield* Console.log(
            `${pad(j.id, width)}${pad(j.name, nameWidth)}${pad(j.status, 11)}${pad(`${j.progress}%`, 10)}${
              pad(`${j.retry.attempt}/${j.retry.maxAttempts}`, 9)
            }${iso(j.updatedAt)}${j.detail === null ? "" : `  ${j.detail}`}`
          )
        }
      }
      yield* Console.log(`${jobs.length} job(s)`)
    }).pipe(Effect.provide(storeLayer(o.db, false)))
).pipe(Command.withDescription("list jobs, newest update first (--json: the app/status output)"))

const show = Command.make("show", { db: dbOption, json, jobId }, (o) =>
  Effect.gen(function*() {
    const job = yield* (yield* JobStore).get(o.jobId)
    if (o.json) return yield* Console.log(JSON.stringify(jobToJson(job)))
    yield* Console.log(`${job.id}  ${job.name}`)
    yield* Console.log(`  status    ${job.status}${job.lease === null ? "" : ` (run ${job.lease.run} on ${job.lease.runnerId} since ${iso(job.lease.startedAt)})`}`)
    yield* Console.log(`  progress  ${job.progress}%`)
    yield* Console.log(`  detail    ${job.detail ?? "-"}`)
    yield* Console.log(`  retry     ${retryText(job)}`)
    yield* Console.log(`  runs      ${job.runs}`)
    yield* Console.log(`  created   ${iso(job.createdAt)}`)
    yield* Console.log(`  updated   ${iso(job.updatedAt)}`)
    if (job.input !== undefined) yield* Console.log(`  input     ${JSON.stringify(job.input)}`)
    const hidden = job.historyLength - job.history.length
    yield* Console.log(`  history   (${job.historyLength} entries${hidden > 0 ? `, last ${job.history.length} shown; see \`jobs history\`` : ""})`)
    for (const h of job.history) yield* Console.log(`    ${historyLine(h)}`)
  }).pipe(Effect.provide(storeLayer(o.db, true)))
).pipe(Command.withDescription("one job: status, progress, retry state and its last 64 history entries"))

const history = Command.make("history", { db: dbOption, json, jobId }, (o) =>
  Effect.gen(function*() {
    const entries = yield* (yield* JobStore).history(o.jobId)
    if (o.json) return yield* Console.log(JSON.stringify(entries.map(historyEntryToJson)))
    for (const h of entries) yield* Console.log(historyLine(h))
    yield* Console.log(`${entries.length} entries`)
  }).pipe(Effect.provide(storeLayer(o.db, true)))
).pipe(Command.withDescription("every history entry of a job, from created on (the log keeps them all)"))

const printChange = (job: JobState, asJson: boolean) =>
  asJson ? Console.log(JSON.stringify(jobToJson(job))) : Console.log(`${job.id}  ${job.status}${job.detail === null ? "" : `  ${job.detail}`}`)

const actorOf = (a: Option.Option<string>) => Option.getOrElse(a, () => `cli:${process.env["USER"] ?? "user"}`)

const cancel = Command.make(
  "cancel",
  { db: dbOption, json, actor, jobId, reason: Options.text("reason").pipe(Options.withDescription("why (becomes the detail)"), Options.optional) },
  (o) =>
    Effect.gen(function*() {
      const job = yield* (yield* JobStore).cancel(o.jobId, { reason: Option.getOrUndefined(o.reason), actor: actorOf(o.actor) })
      yield* printChange(job, o.json)
    }).pipe(Effect.provide(storeLayer(o.db, false)))
).pipe(Command.withDescription("cancel a job; a running attempt is interrupted by its runner"))

const detailOption = Options.text("detail").pipe(Options.withDescription("replaces the job's detail"), Options.optional)

const pause = Command.make("pause", { db: dbOption, json, actor, jobId, detail: detailOption }, (o) =>
  Effect.gen(function*() {
    const job = yield* (yield* JobStore).pause(o.jobId, { detail: Option.getOrUndefined(o.detail), actor: actorOf(o.actor) })
    yield* printChange(job, o.json)
  }).pipe(Effect.provide(storeLayer(o.db, false)))
).pipe(Command.withDescription("pause a queued, running or retrying job; a running attempt is interrupted"))

const resume = Command.make("resume", { db: dbOption, json, actor, jobId, detail: detailOption }, (o) =>
  Effect.gen(function*() {
    const job = yield* (yield* JobStore).resume(o.jobId, { detail: Option.getOrUndefined(o.detail), actor: actorOf(o.actor) })
    yield* printChange(job, o.json)
  }).pipe(Effect.provide(storeLayer(o.db, false)))
).pipe(Command.withDescription("queue a paused or failed job again"))

/** `codewhale jobs ...`. */
export const jobsCommand = Command.make("jobs").pipe(
  Command.withDescription("background jobs: list, show, history, cancel, pause, resume"),
  Command.withSubcommands([list, show, history, cancel, pause, resume])
)
