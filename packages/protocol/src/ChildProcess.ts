/**
 * Running a child process as a stream of output chunks and one exit, in its own process group so
 * that a timeout or an interruption kills the whole tree. Shared by the tools and hooks packages.
 */
import * as NodeChildProcess from "node:child_process"
import { Effect, Schema, Stream } from "effect"

/** A process could not be started. */
export class SpawnError extends Schema.TaggedError<SpawnError>()("SpawnError", { file: Schema.String, detail: Schema.String }) {
  override get message(): string {
    return `cannot start ${this.file}: ${this.detail}`
  }
}

/** What a running process reports. */
export type ProcessEvent =
  | { readonly _tag: "Output"; readonly stream: "stdout" | "stderr"; readonly chunk: Buffer }
  | { readonly _tag: "Exit"; readonly code: number | null; readonly signal: string | null; readonly timedOut: boolean; readonly pid: number }

/** Options of a process run. */
export interface ProcessOptions {
  readonly file: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  readonly timeoutMs?: number | undefined
  readonly stdin?: string | undefined
}

/** Kills a whole process group (the child was started as its leader); a group already gone is fine. */
export const killGroup = (pid: number | undefined, signal: NodeJS.Signals = "SIGKILL"): void => {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {
    try {
      process.kill(pid, signal)
    } catch {
      // Already exited.
    }
  }
}

/**
 * Runs a process as the leader of a new process group (`detached: true`), streaming its output.
 * On timeout, and whenever the stream is interrupted before the process exited, the whole group is
 * killed, so grandchildren do not outlive the call. The stream ends with one `Exit` event.
 */
export const runProcess = (options: ProcessOptions): Stream.Stream<ProcessEvent, SpawnError> =>
  Stream.asyncScoped<ProcessEvent, SpawnError>((emit) =>
    Effect.gen(function*() {
      const child = yield* Effect.try({
        try: () =>
          NodeChildProcess.spawn(options.file, [...options.args], {
            cwd: options.cwd,
            env: options.env,
            detached: true,
            stdio: ["pipe", "pipe", "pipe"]
          }),
        catch: (e) => new SpawnError({ file: options.file, detail: String(e) })
      })
      let closed = false
      let timedOut = false
      let timer: NodeJS.Timeout | undefined
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (timer !== undefined) clearTimeout(timer)
          if (!closed) killGroup(child.pid)
        })
      )
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true
          killGroup(child.pid)
        }, options.timeoutMs)
      }
      child.stdout.on("data", (chunk: Buffer) => void emit.single({ _tag: "Output", stream: "stdout", chunk }))
      child.stderr.on("data", (chunk: Buffer) => void emit.single({ _tag: "Output", stream: "stderr", chunk }))
      child.stdin.on("error", () => undefined)
      child.on("error", (e) => {
        closed = true
        void emit.fail(new SpawnError({ file: options.file, detail: e.message }))
      })
      child.on("exit", () => {
        // A timeout kills the whole group; once the leader is gone, stop any member that still
        // holds the pipes open so `close` can arrive.
        if (timedOut) killGroup(child.pid)
      })
      child.on("close", (code, signal) => {
        closed = true
        if (timer !== undefined) clearTimeout(timer)
        void emit.single({ _tag: "Exit", code, signal, timedOut, pid: child.pid ?? -1 })
        void emit.end()
      })
      child.stdin.end(options.stdin ?? "")
    })
  )
