/**
 * Heap samples taken after a full garbage collection, and their trend. `gc` is exposed at run
 * time (`--expose-gc` through `v8.setFlagsFromString`, then taken from a fresh context), so
 * `node soak/run.ts` needs no extra flag.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export type HeapSample = { t: number; mb: number }

export type HeapTrend = {
  samples: number
  gcForced: boolean
  /** Median of the first three samples after warm-up, MB. */
  baseline: number
  /** Median of the last three samples, MB. */
  end: number
  max: number
  /** Least-squares slope after warm-up, MB per minute. */
  slopePerMinute: number
  growth: number
  threshold: number
  flagged: boolean
}

function findGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc
  if (existing) return existing
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return undefined
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)]! : 0
}

export function createHeapMonitor() {
  const gc = findGc()
  const samples: HeapSample[] = []
  return {
    samples,
    /** Collects garbage (if it can) and records the heap in use. */
    sample(t: number): HeapSample {
      gc?.()
      const s = { t, mb: process.memoryUsage().heapUsed / 2 ** 20 }
      samples.push(s)
      return s
    },
    /** The trend after `warmupMs`; flagged when the heap grew more than `thresholdMb`. */
    trend(warmupMs: number, thresholdMb: number): HeapTrend {
      const after = samples.filter((s) => s.t >= warmupMs)
      const use = after.length >= 3 ? after : samples
      const n = use.length
      const mt = use.reduce((a, s) => a + s.t, 0) / Math.max(1, n)
      const mm = use.reduce((a, s) => a + s.mb, 0) / Math.max(1, n)
      let num = 0
      let den = 0
      for (const s of use) {
        num += (s.t - mt) * (s.mb - mm)
        den += (s.t - mt) ** 2
      }
      const baseline = median(use.slice(0, 3).map((s) => s.mb))
      const end = median(use.slice(-3).map((s) => s.mb))
      const growth = end - baseline
      return {
        samples: samples.length,
        gcForced: gc !== undefined,
        baseline,
        end,
        max: Math.max(0, ...samples.map((s) => s.mb)),
        slopePerMinute: den > 0 ? (num / den) * 60_000 : 0,
        growth,
        threshold: thresholdMb,
        flagged: growth > thresholdMb,
      }
    },
  }
}
