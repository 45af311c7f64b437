/**
 * Event-log benchmarks: the `EventStore` public API on SQLite against raw better-sqlite3 on the
 * same schema, in the same run. WAL with the log's default durability, `synchronous=FULL` (every
 * commit synced before the append returns), unless a case states `NORMAL`; stated in the output.
 */
import { defineEvent, IdGenerator, makeEnvelope, makeEventRegistry } from "@codewhale/protocol"
import { EventStore, foldRecords, layerSqlite, type Projection, replay } from "@codewhale/state"
import Database from "better-sqlite3"
import { Effect, Either, Layer, ManagedRuntime, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { type BenchCase, type BenchResult, samplePayload, time } from "./harness.ts"

const ToolCallRecorded = defineEvent(
  "bench.tool_call_recorded",
  Schema.Struct({
    call_id: Schema.String,
    tool: Schema.String,
    command: Schema.Array(Schema.String),
    cwd: Schema.String,
    approval: Schema.Struct({ mode: Schema.String, decision: Schema.String, scope: Schema.String, decided_by: Schema.String }),
    output_preview: Schema.String,
    exit_code: Schema.Number,
    duration_ms: Schema.Number,
    tags: Schema.Array(Schema.String)
  })
)
const registry = Either.getOrThrow(makeEventRegistry([ToolCallRecorded]))
const counter: Projection<{ count: number; failures: number; duration: number }, typeof ToolCallRecorded> = {
  name: "bench-counter",
  version: 1,
  registry,
  initial: { count: 0, failures: 0, duration: 0 },
  evolve: (s, e) => ({ count: s.count + 1, failures: s.failures + (e.payload.exit_code === 0 ? 0 : 1), duration: s.duration + e.payload.duration_ms })
}

const tempFile = (name: string) => NodePath.join(NodeOs.tmpdir(), `codewhale-bench-${process.pid}-${name}-${Date.now()}.db`)
const removeDb = (file: string) => {
  for (const suffix of ["", "-wal", "-shm"]) NodeFs.rmSync(file + suffix, { force: true })
}

/** The durability of a case: SQLite's `synchronous` setting (WAL either way). */
type Durability = "normal" | "full"

/** The event log's default durability, which every case uses unless it states otherwise. */
const DefaultDurability: Durability = "full"

/** A runtime holding an EventStore on a fresh file (schema created by our migrations). */
const openStore = async (file: string, synchronous: Durability = DefaultDurability) => {
  const runtime = ManagedRuntime.make(Layer.merge(layerSqlite({ filename: file, synchronous }), IdGenerator.layer))
  await runtime.runPromise(Effect.void)
  return runtime
}

/** A raw connection on the same schema, pragmas as ours. */
const openRaw = (file: string, synchronous: Durability = DefaultDurability) => {
  const db = new Database(file)
  db.pragma("journal_mode = WAL")
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`)
  db.pragma("busy_timeout = 5000")
  return db
}

const rawInsert = (db: Database.Database) =>
  db.prepare(
    `INSERT INTO events (stream_id, category, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
     VALUES (?, ?, ?, ?, ?, 1, ?, '{}', ?)`
  )

const envelopes = (count: number) =>
  Effect.runSync(
    Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => makeEnvelope(ToolCallRecorded, samplePayload(i))).pipe(
      Effect.provide(IdGenerator.layer)
    )
  )

const result = (
  name: string,
  rate: number,
  baselineRate: number,
  target: string,
  extra?: Record<string, number | string>,
  synchronous: Durability = DefaultDurability
): BenchResult => ({
  name,
  rate: Math.round(rate),
  baselineRate: Math.round(baselineRate),
  ratio: Math.round((rate / baselineRate) * 100) / 100,
  unit: "events/s",
  target,
  extra: { durability: `WAL, synchronous=${synchronous.toUpperCase()}`, ...extra }
})

/** What `alternate` measured: each side's overall rate and its rate in every round. */
interface Alternated {
  readonly rates: ReadonlyArray<number>
  readonly byRound: ReadonlyArray<ReadonlyArray<number>>
}

/**
 * Runs `measure(0)`, `measure(1)`, ... for `rounds` rounds, alternating them, and returns each
 * one's overall rate (events over total seconds) and its rate per round: with `FULL` the disk's
 * sync latency drifts over seconds, and alternating spreads the drift over every side instead of one.
 */
const alternate = async (rounds: number, measures: ReadonlyArray<() => Promise<{ events: number; secs: number }>>): Promise<Alternated> => {
  const totals = measures.map(() => ({ events: 0, secs: 0 }))
  const byRound: Array<Array<number>> = []
  for (let r = 0; r < rounds; r++) {
    const round: Array<number> = []
    for (let m = 0; m < measures.length; m++) {
      const { events, secs } = await measures[m]!()
      totals[m]!.events += events
      totals[m]!.secs += secs
      round.push(events / secs)
    }
    byRound.push(round)
  }
  return { rates: totals.map((t) => t.events / t.secs), byRound }
}

/** The lowest and highest ratio of side `side` to side 0 over the rounds, as "min–max". */
const roundSpread = ({ byRound }: Alternated, side: number) => {
  const ratios = byRound.map((round) => round[side]! / round[0]!)
  return `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`
}

/**
 * Raw: `count` events over `streams` streams, `group` inserts per transaction; with `group` 1 each
 * insert is its own autocommit (the baseline), with 8 the perfect groups of 8 appenders: the most
 * group commit can gain on this machine with this schema.
 */
const rawWrites = (count: number, streams: number, group: number, synchronous: Durability = DefaultDurability) =>
  rawWritesTimed(count, streams, group, synchronous).then(({ events, secs }) => events / secs)

/** `rawWrites`, returning the events written and the seconds they took. */
const rawWritesTimed = (count: number, streams: number, group: number, synchronous: Durability) => {
  const file = tempFile("raw")
  return openStore(file, synchronous).then(async (rt) => {
    await rt.dispose()
    const db = openRaw(file, synchronous)
    const insert = rawInsert(db)
    const evs = envelopes(count)
    const versions = new Array<number>(streams).fill(0)
    const write = (i: number) => {
      const e = evs[i]!
      const s = i % streams
      insert.run(`bench-${s}`, "bench", ++versions[s]!, e.eventId, e.eventType, JSON.stringify(e.payload), Date.now())
    }
    const writeGroup = db.transaction((from: number) => {
      for (let i = from; i < Math.min(from + group, count); i++) write(i)
    })
    const secs = await time(() => {
      if (group === 1) for (let i = 0; i < count; i++) write(i)
      else for (let from = 0; from < count; from += group) writeGroup(from)
    })
    db.close()
    removeDb(file)
    return { events: count, secs }
  })
}

/** Raw: one autocommit insert per event over `streams` streams. */
const rawSingles = (count: number, streams: number, synchronous: Durability = DefaultDurability) => rawWrites(count, streams, 1, synchronous)

/** Our appends of one event each, awaited one after another over 100 streams: events and seconds. */
const singlesTimed = async (count: number) => {
  const file = tempFile("single")
  const rt = await openStore(file)
  const evs = envelopes(count)
  const secs = await time(() =>
    rt.runPromise(
      Effect.flatMap(EventStore, (store) => Effect.forEach(evs, (e, i) => store.append(`bench-${i % 100}`, [e]), { discard: true }))
    )
  )
  await rt.dispose()
  removeDb(file)
  return { events: count, secs }
}

const appendSingle: BenchCase = {
  name: "append-single",
  run: async () => {
    const measured = await alternate(3, [() => rawWritesTimed(2_000, 100, 1, DefaultDurability), () => singlesTimed(2_000)])
    const [baseline, rate] = measured.rates
    return result("append-single", rate!, baseline!, ">= 0.7", { ratio_by_round: roundSpread(measured, 1) })
  }
}

const appendBatch: BenchCase = {
  name: "append-batch-100",
  run: async () => {
    const count = 50_000
    const file = tempFile("rawbatch")
    await (await openStore(file)).dispose()
    const db = openRaw(file)
    const insert = rawInsert(db)
    const evs = envelopes(count)
    const batches = count / 100
    const rawSecs = await time(() => {
      for (let b = 0; b < batches; b++) {
        db.transaction(() => {
          for (let i = 0; i < 100; i++) {
            const e = evs[b * 100 + i]!
            insert.run(`bench-${b}`, "bench", i + 1, e.eventId, e.eventType, JSON.stringify(e.payload), Date.now())
          }
        })()
      }
    })
    db.close()
    removeDb(file)
    const file2 = tempFile("batch")
    const rt = await openStore(file2)
    const secs = await time(() =>
      rt.runPromise(
        Effect.flatMap(EventStore, (store) =>
          Effect.forEach(Array.from({ length: batches }, (_, b) => b), (b) => store.append(`bench-${b}`, evs.slice(b * 100, b * 100 + 100)), { discard: true }))
      )
    )
    await rt.dispose()
    removeDb(file2)
    return result("append-batch-100", count / secs, count / rawSecs, ">= 0.5")
  }
}

/** Our 8 fibers appending `count` single events to their own streams: events and seconds. */
const concurrentTimed = async (count: number, synchronous: Durability) => {
  const file = tempFile("concurrent")
  const rt = await openStore(file, synchronous)
  const evs = envelopes(count)
  // Fiber f appends events f, f + 8, f + 16, ... (as the baseline assigns them to streams): events
  // appended at the same moment were made at about the same moment, as in a real process.
  const byFiber = Array.from({ length: 8 }, (_, f) => evs.filter((_, i) => i % 8 === f))
  const secs = await time(() =>
    rt.runPromise(
      Effect.flatMap(EventStore, (store) =>
        Effect.forEach(
          Array.from({ length: 8 }, (_, f) => f),
          (f) => Effect.forEach(byFiber[f]!, (e) => store.append(`bench-${f}`, [e]), { discard: true }),
          { concurrency: 8, discard: true }
        ))
    )
  )
  await rt.dispose()
  removeDb(file)
  return { events: count, secs }
}

/**
 * 8 fibers appending single events to their own streams against one commit per event. With
 * `FULL` (the default) every commit waits for the disk and a group of 8 shares one sync; with
 * `NORMAL` a WAL commit writes its pages without syncing, so grouping saves much less (reported
 * alongside, no target). Baseline, ours and the ceiling alternate over `rounds` rounds.
 */
const appendConcurrentCase = (name: string, count: number, rounds: number, synchronous: Durability, target: string): BenchCase => ({
  name,
  run: async () => {
    // Both paths warm up (JIT) on a scratch run first, so the result does not depend on which
    // cases ran before this one.
    await rawSingles(1_000, 8, "normal")
    await concurrentTimed(1_000, "normal")
    // The ceiling: raw better-sqlite3 writing the same events in perfect groups of 8 (what 8
    // appenders that each wait for their commit can at best be grouped into).
    const measured = await alternate(rounds, [
      () => rawWritesTimed(count, 8, 1, synchronous),
      () => concurrentTimed(count, synchronous),
      () => rawWritesTimed(count, 8, 8, synchronous)
    ])
    const [baseline, rate, ceiling] = measured.rates
    return result(name, rate!, baseline!, target, {
      ratio_by_round: roundSpread(measured, 1),
      raw_groups_of_8: Math.round(ceiling!),
      raw_groups_of_8_ratio: Math.round((ceiling! / baseline!) * 100) / 100
    }, synchronous)
  }
})

const appendConcurrent = appendConcurrentCase("append-concurrent-8", 2_000, 12, "full", ">= 3.0 (group commit)")
const appendConcurrentNormal = appendConcurrentCase("append-concurrent-8-normal", 8_000, 1, "normal", "none (informative: no sync to share)")

/** Fills a fresh file with `count` events in `streams` streams (raw, fast) and returns it. */
const filledDb = async (count: number, streamSize: number) => {
  const file = tempFile("filled")
  await (await openStore(file)).dispose()
  const db = openRaw(file)
  const insert = rawInsert(db)
  const evs = envelopes(Math.min(count, 10_000))
  const now = Date.now()
  let i = 0
  while (i < count) {
    db.transaction(() => {
      for (let k = 0; k < 10_000 && i < count; k++, i++) {
        const e = evs[i % evs.length]!
        const stream = Math.floor(i / streamSize)
        insert.run(`bench-${stream}`, "bench", (i % streamSize) + 1, `${e.eventId.slice(0, 24)}${i.toString(16).padStart(12, "0")}`, e.eventType, JSON.stringify(e.payload), now)
      }
    })()
  }
  db.close()
  return file
}

const replayAll: BenchCase = {
  name: "replay-all",
  run: async () => {
    const count = 100_000
    const file = await filledDb(count, 1_000)
    const db = openRaw(file)
    const page = db.prepare("SELECT position, stream_id, payload FROM events WHERE position > ? ORDER BY position LIMIT 5000")
    let rawState = { count: 0, duration: 0 }
    const rawSecs = await time(() => {
      let after = 0
      while (true) {
        const rows = page.all(after) as Array<{ position: number; payload: string }>
        for (const r of rows) {
          const p = JSON.parse(r.payload) as { duration_ms: number }
          rawState = { count: rawState.count + 1, duration: rawState.duration + p.duration_ms }
        }
        if (rows.length < 5000) break
        after = rows[rows.length - 1]!.position
      }
    })
    db.close()
    const rt = await openStore(file)
    let state = counter.initial
    const secs = await time(async () => {
      state = await rt.runPromise(replay(counter))
    })
    await rt.dispose()
    removeDb(file)
    if (state.count !== count || rawState.count !== count) throw new Error(`replay-all folded ${state.count}/${rawState.count} of ${count}`)
    return result("replay-all", count / secs, count / rawSecs, ">= 0.4", { events: count })
  }
}

const readStream: BenchCase = {
  name: "read-stream-1000",
  run: async () => {
    const file = await filledDb(100_000, 1_000)
    const rounds = 100
    const db = openRaw(file)
    const q = db.prepare("SELECT position, stream_version, payload, metadata FROM events WHERE stream_id = ? ORDER BY stream_version")
    const rawSecs = await time(() => {
      for (let r = 0; r < rounds; r++) {
        const rows = q.all(`bench-${r}`) as Array<{ payload: string; metadata: string }>
        for (const row of rows) {
          JSON.parse(row.payload)
          JSON.parse(row.metadata)
        }
      }
    })
    db.close()
    const rt = await openStore(file)
    const secs = await time(() =>
      rt.runPromise(
        Effect.flatMap(EventStore, (store) =>
          Effect.forEach(Array.from({ length: rounds }, (_, r) => r), (r) =>
            Effect.flatMap(store.readStream(`bench-${r}`), (events) => foldRecords(counter, events)), { discard: true }))
      )
    )
    await rt.dispose()
    removeDb(file)
    return result("read-stream-1000", (rounds * 1000) / secs, (rounds * 1000) / rawSecs, ">= 0.4", {
      msPerStream: Math.round((secs / rounds) * 1000 * 100) / 100
    })
  }
}

/** Peak heap while replaying logs of 100k and 1M events: bounded means about equal. */
const replayMemory: BenchCase = {
  name: "replay-memory-1m",
  run: async () => {
    const measure = async (count: number) => {
      const file = await filledDb(count, 1_000)
      const rt = await openStore(file)
      global.gc?.()
      const before = process.memoryUsage().heapUsed
      // The heap in use peaks wherever the collector happens to run; what the replay keeps alive
      // (the whole process's live heap) is measured by collecting first, every 100 ms (with
      // --expose-gc, as `pnpm bench` runs).
      let peak = before
      let livePeak = 0
      const timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().heapUsed)
        global.gc?.()
        livePeak = Math.max(livePeak, process.memoryUsage().heapUsed)
      }, 100)
      const secs = await time(() => rt.runPromise(replay(counter)))
      clearInterval(timer)
      peak = Math.max(peak, process.memoryUsage().heapUsed)
      await rt.dispose()
      removeDb(file)
      return { rate: count / secs, peakMb: (peak - before) / 1024 / 1024, liveMb: livePeak / 1024 / 1024 }
    }
    const small = await measure(100_000)
    const large = await measure(1_000_000)
    return {
      name: "replay-memory-1m",
      rate: Math.round(large.rate),
      baselineRate: Math.round(small.rate),
      ratio: Math.round((large.rate / small.rate) * 100) / 100,
      unit: "events/s (1M vs 100k)",
      target: "memory bounded (1M ≈ 100k)",
      extra: {
        liveHeapMb_100k: Math.round(small.liveMb * 10) / 10,
        liveHeapMb_1m: Math.round(large.liveMb * 10) / 10,
        peakHeapGrowthMb_100k: Math.round(small.peakMb * 10) / 10,
        peakHeapGrowthMb_1m: Math.round(large.peakMb * 10) / 10
      }
    }
  }
}

/** The event-log cases, in the order they run. */
export const cases: ReadonlyArray<BenchCase> = [
  appendSingle,
  appendBatch,
  appendConcurrent,
  appendConcurrentNormal,
  replayAll,
  readStream,
  replayMemory
]

