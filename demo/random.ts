/** Reproducible randomness for the workload: the same seed makes the same choices. */

/** mulberry32: a small, fast generator of numbers in [0, 1), good enough to vary a workload. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The item whose share of the total weight `r` (in [0, 1)) falls into. */
export function weighted<T>(items: readonly (readonly [T, number])[], r: number): T {
  const total = items.reduce((n, [, w]) => n + w, 0)
  let x = r * total
  for (const [item, weight] of items) {
    x -= weight
    if (x < 0) return item
  }
  return items[items.length - 1]![0]
}
