import type { ToolCall } from "@codewhale/protocol"
import { Effect, Ref } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { ToolContext, ToolDelta } from "@codewhale/tools"

/** A fresh temp directory, removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => NodeFs.realpathSync(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cw-tools-")))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

/** A function call with JSON arguments. */
export const fn = (name: string, args: unknown): ToolCall => ({
  name,
  payload: { type: "function", arguments: JSON.stringify(args) },
  source: "direct",
  raw_tool_call_id: null
})

/** A context that collects deltas. */
export const collectingContext = (cwd: string) =>
  Effect.map(Ref.make<ReadonlyArray<ToolDelta>>([]), (deltas) => ({
    deltas,
    context: { callId: "call-1", cwd, emit: (d: ToolDelta) => Ref.update(deltas, (all) => [...all, d]) } satisfies ToolContext
  }))

/** Whether a pid is a live (non-zombie) process, from /proc. */
export const isAlive = (pid: number): boolean => {
  try {
    const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

/** Polls until `check` holds (or gives up after `tries`); returns whether it held. */
export const eventually = (check: () => boolean, tries = 100) =>
  Effect.gen(function*() {
    for (let i = 0; i < tries; i++) {
      if (check()) return true
      yield* Effect.sleep("50 millis")
    }
    return check()
  })
