/** Running fixture scripts as separate Node processes. */
import { makeEventRegistry } from "@codewhale/protocol"
import { SqlClient } from "@effect/sql"
import { Effect, Either } from "effect"
import * as NodeChild from "node:child_process"
import { EventStore } from "../../src/EventStore.ts"
import { verifyLog } from "../../src/Verify.ts"
import { fixture, repoRoot } from "../fixtures/helpers.ts"

/** A child process running a fixture with the workspace's TypeScript sources. */
export const spawnFixture = (script: string, args: ReadonlyArray<string>) =>
  NodeChild.spawn(process.execPath, ["--conditions=@codewhale/source", "--import", "tsx", fixture(script), ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"]
  })

/** What a finished child left behind. */
export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Waits for a child to exit, collecting its output. */
export const finished = (child: NodeChild.ChildProcess) =>
  Effect.async<Finished>((resume) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (d: Buffer) => { stdout += d.toString() })
    child.stderr?.on("data", (d: Buffer) => { stderr += d.toString() })
    child.on("close", (code, signal) => resume(Effect.succeed({ code, signal, stdout, stderr })))
    return Effect.sync(() => { child.kill("SIGKILL") })
  })

/** Runs a fixture to the end. */
export const runFixture = (script: string, args: ReadonlyArray<string>) => finished(spawnFixture(script, args))

/** The project's `verify` (gapless versions, increasing positions, every event decodes) over an open log. */
export const verifyWithProject = (opened: { readonly store: EventStore["Type"]; readonly sql: SqlClient.SqlClient }) =>
  verifyLog({ registry: Either.getOrThrow(makeEventRegistry([])) }).pipe(
    Effect.provideService(EventStore, opened.store),
    Effect.provideService(SqlClient.SqlClient, opened.sql)
  )
