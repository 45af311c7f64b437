/**
 * `codewhale serve`: the app-server. JSON-RPC 2.0 over stdio, one JSON object per line, on the
 * event log `--db` (default `$CODEWHALE_HOME/state.db`). Logs go to stderr so stdout carries only
 * protocol lines. Several servers may serve one database at once; each sees the others' events.
 */
import { Command, Options } from "@effect/cli"
import { loadRuntimeConfig, Runtime } from "@codewhale/runtime"
import { Effect, Layer, Logger, Option, Stream } from "effect"
import * as NodeReadline from "node:readline"
import { codewhaleHome, databaseLayer, dbOption } from "../Database.ts"
import { runServer } from "../serve/Server.ts"

const configOption = Options.file("config").pipe(
  Options.withDescription("an extra config file, read after ~/.codewhale/config.toml and .codewhale/config.toml"),
  Options.optional
)
const cwdOption = Options.directory("cwd").pipe(Options.withDescription("the working directory of tool calls and new threads"), Options.optional)
const noJobs = Options.boolean("no-job-runner").pipe(Options.withDescription("record jobs but run none in this process"))

/** Lines of stdin as a stream (the reader is created when the stream starts, so no line is lost). */
const stdinLines = Stream.suspend(() =>
  Stream.fromAsyncIterable(NodeReadline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false }), (e) => e)
)

/** Writes one line to stdout, waiting for it to be flushed (backpressure). */
const writeStdout = (line: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    process.stdout.write(line + "\n", () => resume(Effect.void))
  })

/** The `serve` command. */
export const serveCommand = Command.make(
  "serve",
  { db: dbOption, config: configOption, cwd: cwdOption, noJobs },
  ({ db, config, cwd, noJobs }) =>
    Effect.gen(function*() {
      const dir = Option.getOrElse(cwd, () => process.cwd())
      const sources = { home: codewhaleHome(), cwd: dir, extraFiles: Option.toArray(config) }
      const options = yield* loadRuntimeConfig(sources)
      const runtime = Runtime.layer({ config: options, configSources: sources, cwd: dir, jobRunner: noJobs ? false : undefined })
      yield* Effect.scoped(runServer({ lines: stdinLines, write: writeStdout })).pipe(
        Effect.provide(runtime.pipe(Layer.provideMerge(databaseLayer(db, { readonly: false })))),
        // After `shutdown` stdin may still be open: stop reading it so the process can exit.
        Effect.ensuring(Effect.sync(() => process.stdin.destroy()))
      )
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))))
).pipe(Command.withDescription("serve the runtime as JSON-RPC 2.0 over stdio (one JSON object per line)"))
