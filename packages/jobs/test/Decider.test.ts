import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import {
  backoffMs,
  decide,
  evolveJob,
  JobCommand,
  type JobEvent,
  type JobState,
  MaxHistoryEntries,
  retryToJson
} from "../src/index.ts"
import { ev, foldEvents, given, jobId, situations } from "./given.ts"

const fence = { runnerId: "runner-a", run: 1 }

describe("enqueue", () => {
  it("creates a queued job with progress 0, no detail and a history of exactly [created]", () => {
    const state = given().when(JobCommand.Enqueue({ name: "index", maxAttempts: 3, backoffBaseMs: 500, at: 1_000 })).then([
      ev.created(1_000)
    ])
    expect(state).toMatchObject({ id: jobId, name: "index", status: "queued", progress: 0, detail: null, runs: 0, lease: null })
    expect(state.retry).toEqual({ attempt: 0, maxAttempts: 3, backoffBaseMs: 500, nextBackoffMs: 0, nextRetryAt: null })
    expect(state.history.map((h) => h.phase)).toEqual(["created"])
    expect(state.id.startsWith("job-")).toBe(true)
  })

  it("records the input for the handler", () => {
    const state = given().when(JobCommand.Enqueue({ name: "index", input: { path: "/src" }, maxAttempts: 3, backoffBaseMs: 500, at: 0 }))
      .thenState()
    expect(state.input).toEqual({ path: "/src" })
  })

  it("refuses a second enqueue of the same id, an empty name and bad retry settings", () => {
    given(ev.created()).when(JobCommand.Enqueue({ name: "x", maxAttempts: 3, backoffBaseMs: 500, at: 0 })).thenRefused("JobAlreadyExists")
    given().when(JobCommand.Enqueue({ name: "  ", maxAttempts: 3, backoffBaseMs: 500, at: 0 })).thenRefused("InvalidJobInput")
    given().when(JobCommand.Enqueue({ name: "x", maxAttempts: -1, backoffBaseMs: 500, at: 0 })).thenRefused("InvalidJobInput")
    given().when(JobCommand.Enqueue({ name: "x", maxAttempts: 3, backoffBaseMs: 0.5, at: 0 })).thenRefused("InvalidJobInput")
  })

  it("every other command on an unknown job is JobNotFound", () => {
    for (
      const command of [
        JobCommand.Start({ runnerId: "r", at: 0 }),
        JobCommand.UpdateProgress({ progress: 1, detail: null, at: 0 }),
        JobCommand.Complete({ at: 0 }),
        JobCommand.Fail({ error: "e", jitterMs: 0, at: 0 }),
        JobCommand.Cancel({ at: 0 }),
        JobCommand.Pause({ at: 0 }),
        JobCommand.Resume({ at: 0 }),
        JobCommand.Interrupt({ reason: "runner_lost", recordedBy: "r", at: 0 })
      ]
    ) {
      given().when(command).thenRefused("JobNotFound")
    }
  })
})

describe("start", () => {
  it("starts a queued job: running, run 1, attempt 0, lease held by the runner", () => {
    const state = given(...situations.queued).when(JobCommand.Start({ runnerId: "runner-a", at: 10 })).then([ev.started(1, 0, 10)])
    expect(state.status).toBe("running")
    expect(state.lease).toEqual({ runnerId: "runner-a", run: 1, startedAt: 10 })
    expect(state.history.map((h) => h.phase)).toEqual(["created", "running"])
  })

  it("a second claim of a running job is refused and names the holder", () => {
    const error = given(...situations.running).when(JobCommand.Start({ runnerId: "runner-b", at: 0 })).thenRefused("InvalidJobTransition")
    expect(error.message).toContain(jobId)
    expect(error.message).toContain("running")
    expect(error.message).toContain("runner-a")
  })

  it("a pending retry starts only once due, and the start clears the schedule but keeps attempt", () => {
    given(...situations.retryPending).when(JobCommand.Start({ runnerId: "r", at: 499 })).thenRefused("InvalidJobTransition")
    const state = given(...situations.retryPending).when(JobCommand.Start({ runnerId: "r", at: 500 })).then([ev.started(2, 1, 500, "r")])
    expect(state.retry).toEqual({ attempt: 1, maxAttempts: 3, backoffBaseMs: 500, nextBackoffMs: 0, nextRetryAt: null })
  })

  it("paused, completed, cancelled and finally failed jobs cannot start", () => {
    for (const s of [situations.paused, situations.completed, situations.cancelled, situations.failedFinal]) {
      given(...s).when(JobCommand.Start({ runnerId: "r", at: 10_000 })).thenRefused("InvalidJobTransition")
    }
  })
})

describe("progress", () => {
  it("is clamped to 0–100 and replaces the detail (null clears it)", () => {
    const s1 = given(...situations.running).when(JobCommand.UpdateProgress({ progress: 150, detail: "d", at: 5 })).then([
      ev.progress(1, 100, "d", 5)
    ])
    expect(s1).toMatchObject({ progress: 100, detail: "d", status: "running" })
    given(...situations.running).when(JobCommand.UpdateProgress({ progress: -3, detail: null, at: 5 })).then([ev.progress(1, 0, null, 5)])
    const s2 = given(...situations.running, ev.progress(1, 40, "d")).when(JobCommand.UpdateProgress({ progress: 5, detail: null, at: 6 }))
      .thenState()
    expect(s2.detail).toBeNull()
    expect(s2.history.at(-1)?.phase).toBe("progress_updated")
  })

  it("refuses NaN, a stale fence, and any job that is not running", () => {
    given(...situations.running).when(JobCommand.UpdateProgress({ progress: Number.NaN, detail: null, at: 0 })).thenRefused("InvalidJobInput")
    given(...situations.running).when(JobCommand.UpdateProgress({ progress: 1, detail: null, fence: { runnerId: "runner-b", run: 1 }, at: 0 }))
      .thenRefused("InvalidJobTransition")
    for (const s of [situations.queued, situations.paused, situations.completed, situations.cancelled, situations.retryPending]) {
      const error = given(...s).when(JobCommand.UpdateProgress({ progress: 1, detail: null, at: 0 })).thenRefused("InvalidJobTransition")
      expect(error.message).toContain("update progress of")
    }
  })
})

describe("complete", () => {
  it("completes a running job: progress 100, schedule cleared, lease released", () => {
    const state = given(...situations.running).when(JobCommand.Complete({ fence, at: 9 })).then([ev.completed(1, 9)])
    expect(state).toMatchObject({ status: "completed", progress: 100, lease: null })
    expect(state.retry.nextRetryAt).toBeNull()
  })

  it("refuses completing a cancelled, paused, queued or completed job, and a stale fence", () => {
    const error = given(...situations.cancelled).when(JobCommand.Complete({ at: 0 })).thenRefused("InvalidJobTransition")
    expect(error.message).toBe(`cannot complete job ${jobId}: it is cancelled (only a running job can do this)`)
    for (const s of [situations.paused, situations.queued, situations.completed]) {
      given(...s).when(JobCommand.Complete({ at: 0 })).thenRefused("InvalidJobTransition")
    }
    given(...situations.running).when(JobCommand.Complete({ fence: { runnerId: "runner-a", run: 2 }, at: 0 })).thenRefused(
      "InvalidJobTransition"
    )
  })
})

describe("fail and the backoff table", () => {
  it("the seed's table: attempts 1, 2, 3 back off 500, 1000, 2000 ms; a 4th failure schedules nothing", () => {
    let events: Array<JobEvent> = [ev.created()]
    const rows: Array<unknown> = []
    for (let run = 1; run <= 4; run++) {
      const state = foldEvents(events)!
      const at = state.retry.nextRetryAt ?? 0
      events = [...events, ...Either.getOrThrow(decide(jobId, state, JobCommand.Start({ runnerId: "r", at })))]
      const failed = Either.getOrThrow(decide(jobId, foldEvents(events), JobCommand.Fail({ error: `e${run}`, jitterMs: 0, at })))
      events = [...events, ...failed]
      const after = foldEvents(events)!
      rows.push({ at, status: after.status, ...retryToJson(after.retry) })
    }
    expect(rows).toEqual([
      { at: 0, status: "failed", attempt: 1, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 500, next_retry_at: 1 },
      { at: 500, status: "failed", attempt: 2, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 1000, next_retry_at: 2 },
      { at: 1500, status: "failed", attempt: 3, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 2000, next_retry_at: 4 },
      { at: 3500, status: "failed", attempt: 3, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 0, next_retry_at: null }
    ])
  })

  it("three failures in a row at one instant give the seed's now+1, now+1, now+2", () => {
    const table = [1, 2, 3].map((attempt) => {
      const backoff = backoffMs(500, attempt)
      return { backoff, nextRetryAt: retryToJson({ attempt, maxAttempts: 3, backoffBaseMs: 500, nextBackoffMs: backoff, nextRetryAt: backoff }).next_retry_at }
    })
    expect(table).toEqual([{ backoff: 500, nextRetryAt: 1 }, { backoff: 1000, nextRetryAt: 1 }, { backoff: 2000, nextRetryAt: 2 }])
  })

  it("backoff is zero on attempt 0, exponential, capped at 2^20 and saturating", () => {
    expect([0, 1, 2, 3, 4].map((a) => backoffMs(500, a))).toEqual([0, 500, 1000, 2000, 4000])
    expect(backoffMs(500, 21)).toBe(500 * 2 ** 20)
    expect(backoffMs(500, 1_000)).toBe(500 * 2 ** 20)
    expect(backoffMs(Number.MAX_SAFE_INTEGER, 5)).toBe(Number.MAX_SAFE_INTEGER)
  })

  it("records the caller's jitter in the event and in the due time", () => {
    const [event] = Either.getOrThrow(decide(jobId, foldEvents(situations.running), JobCommand.Fail({ error: "x", jitterMs: 123.9, at: 1_000 })))
    expect(event).toEqual({
      type: "job.failed",
      payload: { jobId, run: 1, error: "x", attempt: 1, nextBackoffMs: 500, jitterMs: 123, nextRetryAt: 1_623, at: 1_000 }
    })
  })

  it("the error becomes the detail; failing a job that is not running is refused", () => {
    const state = given(...situations.running).when(JobCommand.Fail({ error: "disk full", jitterMs: 0, at: 0 })).thenState()
    expect(state.detail).toBe("disk full")
    for (const s of [situations.queued, situations.completed, situations.cancelled, situations.paused, situations.retryPending]) {
      given(...s).when(JobCommand.Fail({ error: "e", jitterMs: 0, at: 0 })).thenRefused("InvalidJobTransition")
    }
  })
})

describe("cancel, pause, resume", () => {
  it("cancel is allowed while unfinished and names the interrupted run", () => {
    given(...situations.running).when(JobCommand.Cancel({ reason: "user", at: 3 })).then([
      { type: "job.cancelled", payload: { jobId, run: 1, reason: "user", at: 3 } }
    ])
    for (const s of [situations.queued, situations.paused, situations.retryPending]) {
      const state = given(...s).when(JobCommand.Cancel({ at: 0 })).thenState()
      expect(state.status).toBe("cancelled")
      expect(state.retry.nextRetryAt).toBeNull()
    }
    for (const s of [situations.completed, situations.cancelled, situations.failedFinal]) {
      given(...s).when(JobCommand.Cancel({ at: 0 })).thenRefused("InvalidJobTransition")
    }
  })

  it("pause is stored as paused, keeps the detail when none is given, and keeps the retry schedule", () => {
    const state = given(...situations.running, ev.progress(1, 10, "step 1")).when(JobCommand.Pause({ at: 4 })).then([
      ev.paused(4, 1)
    ])
    expect(state).toMatchObject({ status: "paused", detail: "step 1", lease: null })
    const retrying = given(...situations.retryPending).when(JobCommand.Pause({ detail: "later", at: 4 })).thenState()
    expect(retrying).toMatchObject({ status: "paused", detail: "later" })
    expect(retrying.retry.nextRetryAt).toBe(500)
    given(...situations.queued).when(JobCommand.Pause({ at: 0 })).thenState()
    for (const s of [situations.paused, situations.completed, situations.cancelled, situations.failedFinal]) {
      given(...s).when(JobCommand.Pause({ at: 0 })).thenRefused("InvalidJobTransition")
    }
  })

  it("resume puts a paused or failed job back in the queue with its schedule cleared", () => {
    const state = given(...situations.paused).when(JobCommand.Resume({ detail: "go", at: 7 })).then([
      { type: "job.resumed", payload: { jobId, detail: "go", at: 7 } }
    ])
    expect(state).toMatchObject({ status: "queued", detail: "go" })
    expect(state.history.at(-1)?.phase).toBe("resumed")
    for (const s of [situations.retryPending, situations.failedFinal]) {
      const resumed = given(...s).when(JobCommand.Resume({ at: 0 })).thenState()
      expect(resumed.status).toBe("queued")
      expect(resumed.retry.nextRetryAt).toBeNull()
    }
  })

  it("resuming a completed, cancelled, queued or running job is refused", () => {
    const error = given(...situations.completed).when(JobCommand.Resume({ at: 0 })).thenRefused("InvalidJobTransition")
    expect(error).toMatchObject({ jobId, status: "completed", transition: "resume" })
    for (const s of [situations.cancelled, situations.queued, situations.running]) {
      given(...s).when(JobCommand.Resume({ at: 0 })).thenRefused("InvalidJobTransition")
    }
  })
})

describe("interrupt (crash recovery)", () => {
  it("a lost runner's attempt is requeued and uses one attempt (phase queued_after_resume)", () => {
    const state = given(...situations.running).when(JobCommand.Interrupt({ reason: "runner_lost", recordedBy: "runner-b", fence, at: 9 }))
      .thenState()
    expect(state).toMatchObject({ status: "queued", lease: null })
    expect(state.retry.attempt).toBe(1)
    expect(state.history.at(-1)?.phase).toBe("queued_after_resume")
    expect(state.detail).toContain("runner-a")
  })

  it("out of attempts, a lost attempt fails the job for good", () => {
    const state = given(...situations.failedFinal.slice(0, 2)).when(
      JobCommand.Interrupt({ reason: "runner_lost", recordedBy: "runner-b", at: 9 })
    ).thenState()
    expect(state.status).toBe("failed")
    expect(state.retry.nextRetryAt).toBeNull()
    expect(state.history.at(-1)?.phase).toBe("failed")
  })

  it("a clean shutdown keeps the attempt", () => {
    const state = given(...situations.running).when(JobCommand.Interrupt({ reason: "runner_stopped", recordedBy: "runner-a", at: 9 }))
      .thenState()
    expect(state).toMatchObject({ status: "queued" })
    expect(state.retry.attempt).toBe(0)
  })

  it("only a running job held by the fenced attempt can be interrupted", () => {
    given(...situations.queued).when(JobCommand.Interrupt({ reason: "runner_lost", recordedBy: "r", at: 0 })).thenRefused(
      "InvalidJobTransition"
    )
    given(...situations.running).when(
      JobCommand.Interrupt({ reason: "runner_lost", recordedBy: "r", fence: { runnerId: "runner-x", run: 1 }, at: 0 })
    ).thenRefused("InvalidJobTransition")
  })
})

describe("the whole transition table", () => {
  const commands: Record<string, JobCommand> = {
    start: JobCommand.Start({ runnerId: "runner-z", at: 1_000_000 }),
    progress: JobCommand.UpdateProgress({ progress: 50, detail: null, at: 0 }),
    complete: JobCommand.Complete({ at: 0 }),
    fail: JobCommand.Fail({ error: "e", jitterMs: 0, at: 0 }),
    cancel: JobCommand.Cancel({ at: 0 }),
    pause: JobCommand.Pause({ at: 0 }),
    resume: JobCommand.Resume({ at: 0 }),
    interrupt: JobCommand.Interrupt({ reason: "runner_lost", recordedBy: "r", at: 0 })
  }
  const allowed: Record<keyof typeof situations, ReadonlyArray<string>> = {
    queued: ["start", "cancel", "pause"],
    running: ["progress", "complete", "fail", "cancel", "pause", "interrupt"],
    paused: ["cancel", "resume"],
    completed: [],
    retryPending: ["start", "cancel", "pause", "resume"],
    failedFinal: ["resume"],
    cancelled: []
  }
  for (const [situation, history] of Object.entries(situations)) {
    it(`from ${situation}: only ${allowed[situation as keyof typeof situations].join(", ") || "nothing"} is allowed`, () => {
      const state = foldEvents(history)
      for (const [name, command] of Object.entries(commands)) {
        const decision = decide(jobId, state, command)
        const expected = allowed[situation as keyof typeof situations].includes(name)
        expect(Either.isRight(decision), `${situation} + ${name}`).toBe(expected)
        if (Either.isLeft(decision)) expect(decision.left._tag).toBe("InvalidJobTransition")
      }
    })
  }
})

describe("history", () => {
  it("the projection keeps the last 64 entries; the count and the uncapped fold keep everything", () => {
    const events: Array<JobEvent> = [...situations.running]
    for (let i = 0; i < 84; i++) events.push(ev.progress(1, i, `step ${i}`))
    const capped = foldEvents(events)!
    expect(capped.history).toHaveLength(MaxHistoryEntries)
    expect(capped.history[0]?.phase).not.toBe("created")
    expect(capped.history.at(-1)?.detail).toBe("step 83")
    expect(capped.historyLength).toBe(86)
    const full = foldEvents(events, Number.POSITIVE_INFINITY)!
    expect(full.history).toHaveLength(86)
    expect(full.history[0]?.phase).toBe("created")
  })

  it("every entry snapshots status, progress, detail and retry after its transition", () => {
    const state = foldEvents([...situations.running, ev.progress(1, 30, "a", 5), ev.failed(1, 1, 500, 505, 5, "bad")])!
    expect(state.history.at(-1)).toEqual({
      at: 5,
      phase: "failed",
      status: "failed",
      progress: 30,
      detail: "bad",
      retry: { attempt: 1, maxAttempts: 3, backoffBaseMs: 500, nextBackoffMs: 500, nextRetryAt: 505 }
    })
  })
})

describe("properties", () => {
  const commandArb: FastCheck.Arbitrary<(at: number) => JobCommand> = FastCheck.oneof(
    FastCheck.constant((at: number) => JobCommand.Start({ runnerId: "r", at })),
    FastCheck.integer({ min: -50, max: 250 }).map((p) => (at: number) => JobCommand.UpdateProgress({ progress: p, detail: null, at })),
    FastCheck.constant((at: number) => JobCommand.Complete({ at })),
    FastCheck.nat(1_000).map((j) => (at: number) => JobCommand.Fail({ error: "e", jitterMs: j, at })),
    FastCheck.constant((at: number) => JobCommand.Cancel({ at })),
    FastCheck.constant((at: number) => JobCommand.Pause({ at })),
    FastCheck.constant((at: number) => JobCommand.Resume({ at })),
    FastCheck.constantFrom("runner_lost" as const, "runner_stopped" as const).map((reason) => (at: number) =>
      JobCommand.Interrupt({ reason, recordedBy: "r", at })
    )
  )

  it("any command sequence keeps the invariants; a refusal changes nothing", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(commandArb, { maxLength: 60 }), FastCheck.nat(5), (commands, maxAttempts) => {
        let events: Array<JobEvent> = [ev.created(0, { maxAttempts })]
        let state = foldEvents(events) as JobState
        let at = 0
        for (const make of commands) {
          at += 1_000_000
          const decision = decide(jobId, state, make(at))
          if (Either.isLeft(decision)) continue
          events = [...events, ...decision.right]
          state = decision.right.reduce<JobState>((s, e) => evolveJob(s, e, { version: s.version + 1, position: s.position + 1 })!, state)
          expect(state.progress).toBeGreaterThanOrEqual(0)
          expect(state.progress).toBeLessThanOrEqual(100)
          expect(state.retry.attempt).toBeLessThanOrEqual(maxAttempts)
          expect(state.lease !== null).toBe(state.status === "running")
          if (state.status === "completed") expect(state.progress).toBe(100)
          if (state.retry.nextRetryAt !== null) expect(state.status === "failed" || state.status === "paused").toBe(true)
        }
        expect(foldEvents(events)).toEqual(state)
        expect(state.historyLength).toBe(events.length)
      }),
      { numRuns: 300 }
    )
  })
})
