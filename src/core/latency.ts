/** Latency of one source: an EWMA for ranking and a window of recent samples for percentiles. */
export type LatencyStats = {
  add(ms: number): void
  /** Exponentially weighted moving average, or undefined before the first sample. */
  readonly ewma: number | undefined
  percentile(p: number): number | undefined
  readonly count: number
}

export function createLatencyStats(window = 256, alpha = 0.2): LatencyStats {
  const samples = new Float64Array(window)
  let count = 0
  let ewma: number | undefined
  let sorted = new Float64Array(0)
  let sortedAt = -1
  return {
    add(ms) {
      samples[count % window] = ms
      count++
      ewma = ewma === undefined ? ms : ewma + alpha * (ms - ewma)
    },
    get ewma() {
      return ewma
    },
    get count() {
      return count
    },
    percentile(p) {
      const n = Math.min(count, window)
      if (n === 0) return undefined
      // Sorted once per new sample, not once per question (the hedge asks on every launch).
      if (sortedAt !== count) {
        sorted = samples.slice(0, n).sort()
        sortedAt = count
      }
      return sorted[Math.min(n - 1, Math.floor((p / 100) * n))]
    },
  }
}
