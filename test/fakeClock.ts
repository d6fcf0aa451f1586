/**
 * A clock whose time moves only when the test says so (the engine's `Clock`, and `createIpfs`'s):
 * timers fire in order, each at its time, with promise reactions run between them.
 */
import type { Clock } from '../src/core/clock.ts'

export function fakeClock(start = 1_000_000) {
  let t = start
  let seq = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  const clock: Clock = {
    now: () => t,
    setTimeout(fn, ms) {
      timers.set(++seq, { at: t + Math.max(0, ms), fn })
      return seq
    },
    clearTimeout(handle) {
      timers.delete(handle as number)
    },
  }
  /** Lets every promise reaction run (the fan-out's answers arrive through promises). */
  const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0))
  const due = (to: number) => {
    let next: [number, { at: number; fn: () => void }] | undefined
    for (const entry of timers)
      if (entry[1].at <= to && (!next || entry[1].at < next[1].at)) next = entry
    return next
  }
  return {
    clock,
    start,
    /** Milliseconds since the start. */
    elapsed: () => t - start,
    armed: () => timers.size,
    /** Moves time to `ms` after the start, firing each timer due on the way at its time. */
    async to(ms: number) {
      const end = start + ms
      await flush()
      for (let next = due(end); next; next = due(end)) {
        timers.delete(next[0])
        t = next[1].at
        next[1].fn()
        await flush()
      }
      t = Math.max(t, end)
      await flush()
    },
  }
}
