import assert from 'node:assert/strict'
import { test } from 'vitest'
import { createLatencyStats } from './latency.ts'

/** The percentile as a fresh sort of the last `window` samples gives it. */
function naive(all: number[], window: number, p: number): number | undefined {
  const last = all.slice(-window).sort((a, b) => a - b)
  if (last.length === 0) return undefined
  return last[Math.min(last.length - 1, Math.floor((p / 100) * last.length))]
}

test('percentiles over the window match a fresh sort, as samples come and go', () => {
  let seed = 7
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  for (const window of [1, 2, 5, 256]) {
    const stats = createLatencyStats(window)
    const all: number[] = []
    assert.equal(stats.percentile(95), undefined)
    for (let i = 0; i < 3 * window + 50; i++) {
      // Many ties (whole milliseconds), some spread, some fractions.
      const ms = i % 7 === 0 ? random() * 1_000 : Math.floor(random() * 5)
      stats.add(ms)
      all.push(ms)
      for (const p of [0, 50, 95, 100]) assert.equal(stats.percentile(p), naive(all, window, p))
    }
    assert.equal(stats.count, all.length)
  }
})
