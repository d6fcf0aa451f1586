/**
 * A small LRU map for immutable results (blocks and transactions by hash), bounded by entries
 * and by bytes: a source padding its answers cannot make it hold more than `maxBytes`.
 */
export type Lru<V> = {
  get(key: string): V | undefined
  set(key: string, value: V): void
  size(): number
  /** Estimated bytes held. */
  bytes(): number
}

export function createLru<V>(
  capacity: number,
  maxBytes = Number.POSITIVE_INFINITY,
  sizeOf: (value: V) => number = () => 0,
): Lru<V> {
  const map = new Map<string, { value: V; bytes: number }>()
  let held = 0
  const drop = (key: string) => {
    const entry = map.get(key)
    if (!entry) return
    held -= entry.bytes
    map.delete(key)
  }
  return {
    get(key) {
      const entry = map.get(key)
      if (entry === undefined) return undefined
      map.delete(key)
      map.set(key, entry)
      return entry.value
    },
    set(key, value) {
      if (capacity <= 0) return
      const bytes = sizeOf(value)
      drop(key)
      if (bytes > maxBytes) return // larger than the whole budget: not kept
      map.set(key, { value, bytes })
      held += bytes
      while (map.size > capacity || held > maxBytes) drop(map.keys().next().value as string)
    },
    size: () => map.size,
    bytes: () => held,
  }
}
