/** Latency of one source: an EWMA for ranking and a window of recent samples for percentiles. */
export type LatencyStats = {
  add(ms: number): void
  /** Exponentially weighted moving average, or undefined before the first sample. */
  readonly ewma: number | undefined
  percentile(p: number): number | undefined
  readonly count: number
}

export function createLatencyStats(window = 256, alpha = 0.2): LatencyStats {
  /** The last `window` samples, in arrival order (a ring). */
  const samples = new Float64Array(window)
  /**
   * The same samples, kept sorted as they come and go: the hedge asks for the p95 on every
   * launch and a sample comes with every answer, so re-sorting the window per answer would be
   * most of a request's CPU. A sample in (and the oldest out) moves only the samples between
   * their places, as one step of an insertion sort.
   */
  const sorted = new Float64Array(window)
  let count = 0
  let ewma: number | undefined
  return {
    add(ms) {
      const n = Math.min(count, window)
      // The hole the new sample fills: the oldest sample's place once the window is full.
      let i = n === window ? sorted.indexOf(samples[count % window]!) : n
      while (i > 0 && sorted[i - 1]! > ms) {
        sorted[i] = sorted[i - 1]!
        i--
      }
      while (i + 1 < n && sorted[i + 1]! < ms) {
        sorted[i] = sorted[i + 1]!
        i++
      }
      sorted[i] = ms
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
      return sorted[Math.min(n - 1, Math.floor((p / 100) * n))]
    },
  }
}
