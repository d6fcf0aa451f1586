/** Reproducible randomness: the same seed makes the same schedule and the same workload choices. */

export type Rng = {
  /** A number in [0, 1). */
  next(): number
  /** An integer in [min, max]. */
  int(min: number, max: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  pick<T>(items: readonly T[]): T
  /** `k` distinct items, in random order. */
  sample<T>(items: readonly T[], k: number): T[]
  /** The item whose share of the total weight the next number falls into. */
  weighted<T>(items: readonly (readonly [T, number])[]): T
  /** An independent generator derived from this one (for a separate stream of choices). */
  fork(): Rng
}

/** mulberry32: small, fast and good enough to vary a schedule and a workload. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const rng: Rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    sample(items, k) {
      const pool = [...items]
      const out = []
      while (out.length < k && pool.length > 0)
        out.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]!)
      return out
    },
    weighted(items) {
      const total = items.reduce((n, [, w]) => n + w, 0)
      let x = next() * total
      for (const [item, weight] of items) {
        x -= weight
        if (x < 0) return item
      }
      return items[items.length - 1]![0]
    },
    fork: () => createRng(Math.floor(next() * 2 ** 32)),
  }
  return rng
}

/** A seed from the command line: a number as given, any other string hashed (FNV-1a). */
export function parseSeed(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) >>> 0
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}
