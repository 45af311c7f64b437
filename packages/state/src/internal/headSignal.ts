/**
 * The committed head position of a log and the fibers waiting for it to move. Publishing costs a
 * comparison when nobody waits, which keeps it off the append hot path.
 */
import { Effect } from "effect"

/** A monotonic head position with waiters. */
export interface HeadSignal {
  /** The highest committed position known. */
  readonly current: () => number
  /** Raises the head (never lowers it) and wakes the waiters it satisfies. */
  readonly publish: (position: number) => void
  /** Completes once the head is at least `position`. */
  readonly atLeast: (position: number) => Effect.Effect<void>
}

/** Makes a head signal starting at `initial`. */
export const makeHeadSignal = (initial: number): HeadSignal => {
  let head = initial
  let waiters: Array<{ readonly min: number; readonly wake: () => void }> = []
  return {
    current: () => head,
    publish: (position) => {
      if (position <= head) return
      head = position
      if (waiters.length === 0) return
      const ready = waiters.filter((w) => w.min <= head)
      waiters = waiters.filter((w) => w.min > head)
      for (const w of ready) w.wake()
    },
    atLeast: (position) =>
      Effect.async<void>((resume) => {
        if (head >= position) return resume(Effect.void)
        const waiter = { min: position, wake: () => resume(Effect.void) }
        waiters.push(waiter)
        return Effect.sync(() => {
          waiters = waiters.filter((w) => w !== waiter)
        })
      })
  }
}
