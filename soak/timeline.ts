/**
 * When each step was in effect. A step starts when the soak begins switching proxies to it and
 * ends when the next one starts; times are ms since the workload started.
 */
import type { Step } from './schedule.ts'

export type Segment = { step: Step; from: number }

export type Timeline = {
  push(step: Step, from: number): void
  /** The step in effect at `t`. */
  at(t: number): Step
  /** Every step in effect at some time in [a, b], oldest first. */
  during(a: number, b: number): Step[]
  readonly segments: readonly Segment[]
}

export function createTimeline(): Timeline {
  const segments: Segment[] = []
  const indexAt = (t: number) => {
    let lo = 0
    let hi = segments.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (segments[mid]!.from <= t) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  return {
    segments,
    push(step, from) {
      segments.push({ step, from })
    },
    at(t) {
      if (segments.length === 0) throw new Error('timeline: no step applied yet')
      return segments[indexAt(t)]!.step
    },
    during(a, b) {
      if (segments.length === 0) return []
      const out: Step[] = []
      for (let i = indexAt(a); i < segments.length && segments[i]!.from <= b; i++)
        out.push(segments[i]!.step)
      return out
    },
  }
}
