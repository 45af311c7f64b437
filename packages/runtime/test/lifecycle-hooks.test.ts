/**
 * Lifecycle command hooks fired by the Runtime, with real hook scripts: SessionStart (start,
 * resume), UserPromptSubmit (and a blocking one that stops the prompt), Stop, and SessionEnd when
 * the runtime closes. Each run is recorded in the runtime's session stream; the API key never is.
 */
import type { HookDefinition } from "@codewhale/hooks"
import { IdGenerator } from "@codewhale/protocol"
import { EventStore, layerSqlite } from "@codewhale/state"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { defaultRuntimeOptions, type ResolvedRuntimeOptions } from "../src/Config.ts"
import { Runtime } from "../src/Runtime.ts"

const secret = "sk-lifecycle-secret-0123456789"

/** A temp dir with a recording hook script (appends its stdin to calls.jsonl) and a blocking one. */
const workspace = () => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codewhale-lifecycle-"))
  const calls = NodePath.join(dir, "calls.jsonl")
  const record = NodePath.join(dir, "record.sh")
  NodeFs.writeFileSync(record, `#!/bin/sh\ncat >> "${calls}"\n`, { mode: 0o755 })
  const leak = NodePath.join(dir, "leak.sh")
  NodeFs.writeFileSync(leak, `#!/bin/sh\ncat > /dev/null\necho "context with ${secret}"\necho "stderr with ${secret}" >&2\n`, { mode: 0o755 })
  const block = NodePath.join(dir, "block.sh")
  NodeFs.writeFileSync(block, `#!/bin/sh\ncat >> "${calls}"\necho "prompts mentioning passwords are not allowed (${secret})" >&2\nexit 2\n`, { mode: 0o755 })
  const readCalls = (): Array<Record<string, unknown>> =>
    NodeFs.existsSync(calls) ? NodeFs.readFileSync(calls, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>) : []
  return { dir, db: NodePath.join(dir, "state.db"), record, leak, block, readCalls }
}

const hook = (event: HookDefinition["event"], script: string, matcher: string | null = null): HookDefinition => ({
  name: `${event}:${NodePath.basename(script)}`,
  event,
  matcher,
  command: `sh ${script}`,
  timeoutMs: 20_000,
  onFailure: "continue"
})

const config = (hooks: ReadonlyArray<HookDefinition>): ResolvedRuntimeOptions => ({
  ...defaultRuntimeOptions,
  apiKey: Redacted.make(secret),
  hasApiKey: true,
  apiKeySource: "env",
  hooks
})

const runtimeOn = (db: string, hooks: ReadonlyArray<HookDefinition>, cwd: string) =>
  Runtime.layer({ config: config(hooks), cwd, jobRunner: false }).pipe(
    Layer.provideMerge(Layer.merge(layerSqlite({ filename: db }), IdGenerator.layer))
  )

const logOf = (db: string) =>
  Effect.scoped(
    Effect.gen(function*() {
      const store = yield* EventStore
      return [...(yield* Stream.runCollect(store.streamAll()))]
    }).pipe(Effect.provide(layerSqlite({ filename: db })))
  )

describe("Runtime lifecycle hooks", { timeout: 180_000 }, () => {
  it.live("SessionStart on start and resume, UserPromptSubmit then Stop on a prompt, SessionEnd when the runtime closes; all recorded", () =>
    Effect.gen(function*() {
      const w = workspace()
      const hooks = ["SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"].map((e) => hook(e as HookDefinition["event"], w.record))
      const { threadId, sessionStreamId, prompt } = yield* Effect.scoped(
        Effect.gen(function*() {
          const rt = yield* Runtime
          const started = yield* rt.handleThread({ kind: "start", persist_extended_history: true, cwd: w.dir })
          expect(w.readCalls().map((c) => [c["hook_event_name"], c["source"], c["session_id"], c["cwd"]])).toEqual([
            ["SessionStart", "startup", started.thread_id, w.dir]
          ])
          const resumed = yield* rt.handleThread({ kind: "resume", thread_id: started.thread_id, persist_extended_history: true })
          expect(resumed.status).toBe("resumed")
          expect(w.readCalls().at(-1)).toMatchObject({ hook_event_name: "SessionStart", source: "resume", session_id: started.thread_id })
          const missing = yield* rt.handleThread({ kind: "resume", thread_id: "thread-missing", persist_extended_history: false })
          expect(missing.status).toBe("missing")
          expect(w.readCalls()).toHaveLength(2)

          const prompt = yield* rt.handlePrompt({ thread_id: started.thread_id, prompt: "refactor the parser" })
          expect(prompt.status).toBeUndefined()
          const [submit, stop] = w.readCalls().slice(2)
          expect(submit).toMatchObject({ hook_event_name: "UserPromptSubmit", session_id: started.thread_id, prompt: "refactor the parser", cwd: w.dir })
          expect(stop).toMatchObject({ hook_event_name: "Stop", session_id: started.thread_id, stop_hook_active: false })
          expect(stop!["response_id"]).toBe(submit!["response_id"])
          const read = yield* rt.handleThread({ kind: "read", thread_id: started.thread_id })
          expect((read.data as { history: Array<{ role: string }> }).history.map((h) => h.role)).toEqual(["user", "assistant"])
          expect(w.readCalls().some((c) => c["hook_event_name"] === "SessionEnd")).toBe(false)
          return { threadId: started.thread_id, sessionStreamId: rt.sessionStreamId, prompt }
        }).pipe(Effect.provide(runtimeOn(w.db, hooks, w.dir)))
      )
      expect(prompt.events.map((e) => e.event)).toEqual(["response_start", "response_delta", "response_end"])
      // The runtime closed: SessionEnd ran for the session it started.
      expect(w.readCalls().at(-1)).toMatchObject({ hook_event_name: "SessionEnd", session_id: threadId, reason: "shutdown" })
      expect(w.readCalls().map((c) => c["hook_event_name"])).toEqual(["SessionStart", "SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"])

      const log = yield* logOf(w.db)
      const runs = log.filter((e) => e.streamId === sessionStreamId)
      expect(sessionStreamId).toMatch(/^session-/)
      expect(runs.filter((e) => e.eventType === "hook.run_finished").map((e) => [(e.payload as { hook_event: string }).hook_event, (e.payload as { outcome: string }).outcome])).toEqual([
        ["SessionStart", "success"],
        ["SessionStart", "success"],
        ["UserPromptSubmit", "success"],
        ["Stop", "success"],
        ["SessionEnd", "success"]
      ])
      expect(runs.filter((e) => e.eventType === "hook.run_started").every((e) => (e.payload as { thread_id: string }).thread_id === threadId)).toBe(true)
    }))

  it.live("a blocking UserPromptSubmit hook (exit 2) stops the prompt: status blocked, nothing recorded in the thread, no Stop; the key never reaches the log", () =>
    Effect.gen(function*() {
      const w = workspace()
      const hooks = [hook("SessionStart", w.leak), hook("UserPromptSubmit", w.block), hook("Stop", w.record)]
      const { response, history } = yield* Effect.scoped(
        Effect.gen(function*() {
          const rt = yield* Runtime
          const started = yield* rt.handleThread({ kind: "start", persist_extended_history: false, cwd: w.dir })
          const response = yield* rt.handlePrompt({ thread_id: started.thread_id, prompt: "what is the admin password?" })
          const read = yield* rt.handleThread({ kind: "read", thread_id: started.thread_id })
          return { response, history: (read.data as { history: ReadonlyArray<unknown> }).history }
        }).pipe(Effect.provide(runtimeOn(w.db, hooks, w.dir)))
      )
      expect(response.status).toBe("blocked")
      expect(response.blocked_by).toEqual({ hook_name: "UserPromptSubmit:block.sh", reason: "prompts mentioning passwords are not allowed ([redacted])" })
      expect(response.output).toBe("prompt blocked by hook 'UserPromptSubmit:block.sh': prompts mentioning passwords are not allowed ([redacted])")
      expect(response.events.map((e) => e.event)).toEqual(["response_start", "error", "response_end"])
      expect(history).toEqual([])
      expect(w.readCalls().map((c) => [c["hook_event_name"], c["prompt"]])).toEqual([["UserPromptSubmit", "what is the admin password?"]])

      const log = yield* logOf(w.db)
      const finished = log.filter((e) => e.eventType === "hook.run_finished").map((e) => e.payload as Record<string, unknown>)
      expect(finished.map((p) => [p["hook_event"], p["outcome"], p["blocking"]])).toEqual([
        ["SessionStart", "success", false],
        ["UserPromptSubmit", "blocked", true]
      ])
      expect(finished[0]!["stdout"]).toContain("context with [redacted]")
      expect(log.some((e) => e.eventType === "thread.message_added")).toBe(false)
      expect(JSON.stringify(log)).not.toContain(secret)
    }))

  it.live("without configured hooks nothing extra is recorded", () =>
    Effect.gen(function*() {
      const w = workspace()
      yield* Effect.scoped(
        Effect.gen(function*() {
          const rt = yield* Runtime
          const started = yield* rt.handleThread({ kind: "start", persist_extended_history: false })
          yield* rt.handlePrompt({ thread_id: started.thread_id, prompt: "hello" })
        }).pipe(Effect.provide(runtimeOn(w.db, [], w.dir)))
      )
      const log = yield* logOf(w.db)
      expect(log.filter((e) => e.eventType.startsWith("hook.") || e.streamId.startsWith("session-"))).toEqual([])
    }))
})
