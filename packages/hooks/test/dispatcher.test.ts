import { assert, describe, it } from "@effect/vitest"
import { IdGenerator, makeEnvelope, ToolCallCompleted, ToolCallRequested, ToolCallStarted, ToolPolicyEvaluated } from "@codewhale/protocol"
import { EventStore, layerMemory } from "@codewhale/state"
import { HookDispatcher, memorySink } from "@codewhale/hooks"
import { Effect, Layer } from "effect"

describe("HookDispatcher", () => {
  it.scopedLive("feeds in-process sinks from the log with the seed's lifecycle phases and frames", () =>
    Effect.gen(function*() {
      const { sink, events } = yield* memorySink()
      const dispatcher = yield* HookDispatcher
      yield* dispatcher.addSink(sink)
      yield* Effect.forkScoped(dispatcher.follow(0))
      const store = yield* EventStore
      const stream = "toolcall-1"
      const envs = [
        yield* makeEnvelope(ToolCallRequested, {
          call_id: "call-1", response_id: "tool-1", approval_id: "approval-1", thread_id: null, turn_id: null,
          call: { name: "exec_shell", payload: { type: "local_shell", params: { command: "ls" } }, source: "direct", raw_tool_call_id: null },
          cwd: "/w", approval_mode: "on_request", execution_kind: "shell", command: "ls", policy_tool: "exec_shell",
          policy_path: null, redacted: [], at: 1
        }),
        yield* makeEnvelope(ToolPolicyEvaluated, {
          precheck: {
            execution_kind: "shell", command: "ls", cwd: "/w", allow: true, requires_approval: false, matched_rule: null,
            matched_action: null, phase: "allowed", reason: "Execution allowed by policy.",
            requirement: { type: "skip", bypass_sandbox: false, reason: "Execution allowed by policy.", proposed_execpolicy_amendment: [] }
          },
          amendments: [],
          touched_paths: [],
          at: 2
        }),
        yield* makeEnvelope(ToolCallStarted, { tool_name: "exec_shell", arguments: { type: "local_shell", params: { command: "ls" } }, at: 3 }),
        yield* makeEnvelope(ToolCallCompleted, { output: { type: "function", body: {}, success: true }, success: true, exit_code: 0, duration_ms: 1, at: 4 })
      ]
      yield* store.append(stream, envs)
      let seen: ReadonlyArray<unknown> = []
      for (let i = 0; i < 100 && seen.length < 7; i++) {
        seen = yield* events
        if (seen.length < 7) yield* Effect.sleep("20 millis")
      }
      const summary = (yield* events).map((e) => e.type === "tool_lifecycle" ? `tool:${e.phase}` : e.type === "generic_event_frame" ? `frame:${e.frame.event}` : e.type)
      assert.deepStrictEqual(summary, [
        "tool:precheck",
        "frame:tool_call_start",
        "frame:exec_command_begin",
        "tool:dispatching",
        "frame:exec_command_end",
        "frame:tool_call_result",
        "tool:completed"
      ])
    }).pipe(Effect.provide(Layer.mergeAll(HookDispatcher.layer(), layerMemory, IdGenerator.layer))))

  it.effect("a failing sink is skipped, later sinks still receive the event", () =>
    Effect.gen(function*() {
      const { sink, events } = yield* memorySink()
      const dispatcher = yield* HookDispatcher
      yield* dispatcher.addSink({ name: "broken", emit: () => Effect.die("boom") })
      yield* dispatcher.addSink(sink)
      yield* dispatcher.emit({ type: "response_start", response_id: "r" })
      assert.deepStrictEqual(yield* events, [{ type: "response_start", response_id: "r" }])
      assert.strictEqual(yield* dispatcher.sinkCount, 2)
    }).pipe(Effect.provide(HookDispatcher.layer())))
})
