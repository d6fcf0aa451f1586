/** A small LRU map for immutable results (blocks and transactions by hash). */
export type Lru<V> = {
  get(key: string): V | undefined
  set(key: string, value: V): void
  size(): number
}

export function createLru<V>(capacity: number): Lru<V> {
  const map = new Map<string, V>()
  return {
    get(key) {
      const value = map.get(key)
      if (value !== undefined) {
        map.delete(key)
        map.set(key, value)
      }
      return value
    },
    set(key, value) {
      if (capacity <= 0) return
      map.delete(key)
      map.set(key, value)
      if (map.size > capacity) map.delete(map.keys().next().value as string)
    },
    size: () => map.size,
  }
}
