/**
 * WAL checkpoints off the writer's path, for logs opened with `synchronous=NORMAL`. By default
 * SQLite checkpoints inside the commit that pushes the WAL past 1,000 pages, so every few hundred
 * appends one of them also copies the WAL back into the database and syncs both files
 * (milliseconds). Here a worker thread with its own connection runs passive checkpoints shortly
 * after commits instead, while the writer keeps a much larger automatic threshold as a safety net
 * (the WAL stays bounded if the worker is slow or gone).
 *
 * With `synchronous=FULL` (the default) the writer keeps SQLite's own checkpoints and no worker
 * runs: every commit there waits for a sync of the WAL, and the worker's checkpoints (two more
 * syncs each, every few milliseconds under load) queue on the same disk, which made group commits
 * slower, not faster (measured with `pnpm bench`). A passive checkpoint racing steady commits
 * also never lets the WAL start over from its beginning, and syncing a WAL that keeps growing
 * costs a filesystem journal commit on top of every commit's sync.
 */
import { Effect, type Scope } from "effect"
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import { messageOf } from "./driverErrors.ts"

/** The writer connection's own automatic checkpoint threshold (pages) while the worker runs. */
export const SafetyNetPages = 16_384

/** SQLite's own automatic checkpoint threshold (pages): without the worker, or when it is gone. */
export const DefaultCheckpointPages = 1_000

/** What the writer tells the checkpointer: call after each commit. */
export interface Checkpointer {
  /** Marks the WAL as grown; the worker checkpoints on its next tick. Costs one atomic store. */
  readonly committed: () => void
}

/** No checkpoint worker (a read-only connection, or the worker could not start). */
export const noCheckpointer: Checkpointer = { committed: () => {} }

// Runs in the worker (CommonJS, eval'd): a tick every `intervalMs` checkpoints when the writer
// marked a commit since the last one. Errors (a lock held elsewhere) wait for the next tick.
const WorkerSource = `
const { workerData, parentPort } = require("node:worker_threads")
const Database = require(workerData.driver)
const flag = new Int32Array(workerData.flag)
const db = new Database(workerData.filename, { fileMustExist: true, timeout: 0 })
db.pragma("wal_autocheckpoint = 0")
const timer = setInterval(() => {
  if (Atomics.exchange(flag, 0, 0) === 0) return
  try { db.pragma("wal_checkpoint(PASSIVE)") } catch { Atomics.store(flag, 0, 1) }
}, workerData.intervalMs)
parentPort.on("message", () => { clearInterval(timer); db.close(); parentPort.close() })
`

/**
 * Starts the checkpoint worker for `filename`; `onUnavailable` runs if it cannot start or dies
 * (the writer then restores SQLite's default checkpoints). Stopped when the scope closes.
 */
export const startCheckpointer = (
  filename: string,
  onUnavailable: (reason: string) => void,
  intervalMs = 20
): Effect.Effect<Checkpointer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const flag = new Int32Array(new SharedArrayBuffer(4))
    const started = yield* Effect.acquireRelease(
      Effect.sync(() => {
        try {
          const driver = createRequire(import.meta.url).resolve("better-sqlite3")
          const worker = new Worker(WorkerSource, { eval: true, workerData: { driver, filename, flag: flag.buffer, intervalMs } })
          worker.unref()
          let stopping = false
          const exited = new Promise<void>((resolve) =>
            worker.once("exit", (code) => {
              if (!stopping) onUnavailable(`the checkpoint worker exited with code ${code}`)
              resolve()
            })
          )
          worker.on("error", (cause) => {
            if (!stopping) onUnavailable(messageOf(cause))
          })
          return { worker, exited, stop: () => (stopping = true) }
        } catch (cause) {
          onUnavailable(messageOf(cause))
          return undefined
        }
      }),
      (started) =>
        started === undefined
          ? Effect.void
          : Effect.promise(() => {
            started.stop()
            started.worker.postMessage("stop")
            // A worker stuck in a checkpoint is terminated rather than waited for.
            const timeout = setTimeout(() => void started.worker.terminate(), 2_000)
            return started.exited.finally(() => clearTimeout(timeout))
          })
    )
    if (started === undefined) return noCheckpointer
    return { committed: () => void Atomics.store(flag, 0, 1) }
  })
