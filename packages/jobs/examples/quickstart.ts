/**
 * Run with: node --conditions=@codewhale/source --import tsx packages/jobs/examples/quickstart.ts
 * Enqueues two jobs, runs them with a runner (one fails once and is retried after 500 ms), and
 * prints the seed's `app/status` JSON.
 */
import { IdGenerator } from "@codewhale/protocol"
import { layerSqlite } from "@codewhale/state"
import { Console, Effect, Layer } from "effect"
import * as NodePath from "node:path"
import * as NodeOs from "node:os"
import * as NodeFs from "node:fs"
import * as NodeUrl from "node:url"
import { JobStore, makeJobRunner } from "@codewhale/jobs"

/** The example: returns the app/status output once both jobs completed. */
export const quickstart = Effect.gen(function*() {
  const jobs = yield* JobStore
  const report = yield* jobs.enqueue("report", { input: { pages: 3 } })
  const flaky = yield* jobs.enqueue("flaky")

  yield* makeJobRunner({
    concurrency: 2,
    handlers: {
      report: (ctx) =>
        Effect.gen(function*() {
          const { pages } = ctx.input as { pages: number }
          for (let page = 1; page <= pages; page++) yield* ctx.progress((100 * page) / pages, `page ${page}/${pages}`)
        }),
      // Fails on its first run; the runner retries it when next_retry_at is due.
      flaky: (ctx) => (ctx.run === 1 ? Effect.fail("temporary outage") : Effect.void)
    }
  })

  yield* jobs.awaitJob(report.id, (j) => j.status === "completed")
  const done = yield* jobs.awaitJob(flaky.id, (j) => j.status === "completed")
  yield* Console.log(done.history.map((h) => h.phase).join(" -> "))
  return yield* jobs.appStatus
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && import.meta.url === NodeUrl.pathToFileURL(process.argv[1]).href) {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "jobs-quickstart-"))
  // The SQLite event log in a temp file, UUIDv7 ids, the job store.
  const layer = Layer.provideMerge(
    JobStore.layer,
    Layer.mergeAll(layerSqlite({ filename: NodePath.join(dir, "state.db") }), IdGenerator.layer)
  )
  quickstart.pipe(
    Effect.flatMap((status) => Console.log(JSON.stringify(status, null, 2))),
    Effect.provide(layer),
    Effect.runPromise
  )
}
