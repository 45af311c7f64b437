/**
 * `exec_shell`: runs a command with `bash -c` in a given cwd and env, as the leader of its own
 * process group. Its timeout kills the whole group; stdout and stderr are captured up to a cap with
 * a visible truncation marker; output is streamed as deltas while it runs.
 */
import { OutputCapture, runProcess, utf8Decoder } from "@codewhale/protocol"
import { Effect, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import { ToolFailed } from "../Errors.ts"
import { defineTool, type ToolDefinition } from "../ToolDefinition.ts"
import { resolveInWorkspace } from "../Workspace.ts"

/** The input of `exec_shell` (also what a `local_shell` payload's params decode to). */
export const ExecShellInput = Schema.Struct({
  command: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The shell command line to run (bash -c)." }),
  cwd: Schema.optional(Schema.String).annotations({ description: "Working directory, relative to the workspace." }),
  timeout_ms: Schema.optional(Schema.Int.pipe(Schema.positive())).annotations({
    description: "Kill the command (and everything it started) after this many milliseconds."
  }),
  env: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })).annotations({
    description: "Extra environment variables. Their values are never recorded."
  })
})

/** Options of `exec_shell`. */
export interface ExecShellOptions {
  /** Bytes kept per stream (half from the start, half from the end). Default 64 KiB. */
  readonly maxOutputBytes?: number | undefined
  /** Command timeout when the call gives none. Default 120 s. */
  readonly defaultTimeoutMs?: number | undefined
  /** Bytes streamed as deltas per stream before deltas stop (the capture continues). Default 256 KiB. */
  readonly maxDeltaBytes?: number | undefined
  /** The shell binary; default `bash` (falls back to `/bin/sh` when bash is missing). */
  readonly shell?: string | undefined
}

/** The body of an `exec_shell` output. */
export interface ExecShellResult {
  readonly exit_code: number | null
  readonly signal: string | null
  readonly timed_out: boolean
  readonly stdout: string
  readonly stderr: string
  readonly stdout_truncated: boolean
  readonly stderr_truncated: boolean
  readonly duration_ms: number
}

const defaultShell = (): string => (NodeFs.existsSync("/bin/bash") || NodeFs.existsSync("/usr/bin/bash") ? "bash" : "/bin/sh")

/** Hides the values of `env` (names are kept, values become `[redacted]`). */
export const redactExecShellInput = (input: unknown): { readonly value: unknown; readonly redacted: ReadonlyArray<string> } => {
  if (typeof input !== "object" || input === null || !("env" in input)) return { value: input, redacted: [] }
  const env = (input as { readonly env?: unknown }).env
  if (typeof env !== "object" || env === null) return { value: input, redacted: [] }
  const names = Object.keys(env)
  return {
    value: { ...(input as object), env: Object.fromEntries(names.map((n) => [n, "[redacted]"])) },
    redacted: names.map((n) => `env.${n}`)
  }
}

/** Builds the `exec_shell` tool. */
export const execShellTool = (options: ExecShellOptions = {}): ToolDefinition => {
  const maxOutput = options.maxOutputBytes ?? 64 * 1024
  const maxDelta = options.maxDeltaBytes ?? 256 * 1024
  const shell = options.shell ?? defaultShell()
  return defineTool({
    name: "exec_shell",
    description: "Run a shell command in the workspace and return its exit code, stdout and stderr.",
    input: ExecShellInput,
    mutating: true,
    redact: redactExecShellInput,
    handler: (input, context) =>
      Effect.gen(function*() {
        const cwd = yield* resolveInWorkspace("exec_shell", context.cwd, input.cwd ?? ".")
        if (!NodeFs.existsSync(cwd)) return yield* new ToolFailed({ tool: "exec_shell", detail: `working directory '${input.cwd ?? "."}' does not exist` })
        const captures = { stdout: new OutputCapture(maxOutput), stderr: new OutputCapture(maxOutput) }
        const decoders = { stdout: utf8Decoder(), stderr: utf8Decoder() }
        const streamed = { stdout: 0, stderr: 0 }
        const started = Date.now()
        let exit: { code: number | null; signal: string | null; timedOut: boolean } = { code: null, signal: null, timedOut: false }
        yield* runProcess({
          file: shell,
          args: ["-c", input.command],
          cwd,
          env: { ...process.env, ...input.env },
          timeoutMs: input.timeout_ms ?? options.defaultTimeoutMs ?? 120_000
        }).pipe(
          Stream.mapError((e) => new ToolFailed({ tool: "exec_shell", detail: e.message })),
          Stream.runForEach((event) => {
            if (event._tag === "Exit") {
              exit = { code: event.code, signal: event.signal, timedOut: event.timedOut }
              return Effect.void
            }
            captures[event.stream].push(event.chunk)
            const before = streamed[event.stream]
            if (before >= maxDelta) return Effect.void
            streamed[event.stream] += event.chunk.length
            const text = decoders[event.stream].write(event.chunk)
            const marker = streamed[event.stream] >= maxDelta ? "\n[... further output is not streamed ...]\n" : ""
            return text === "" && marker === "" ? Effect.void : context.emit({ stream: event.stream, chunk: text + marker })
          })
        )
        const result: ExecShellResult = {
          exit_code: exit.code,
          signal: exit.signal,
          timed_out: exit.timedOut,
          stdout: captures.stdout.text(),
          stderr: captures.stderr.text(),
          stdout_truncated: captures.stdout.truncated,
          stderr_truncated: captures.stderr.truncated,
          duration_ms: Date.now() - started
        }
        return { type: "function" as const, body: result, success: exit.code === 0 && !exit.timedOut }
      })
  })
}
