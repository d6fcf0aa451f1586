/**
 * `items.map(fn)` with at most `limit` calls in flight, results in order. The first rejection
 * rejects the whole; it and the first `undefined` (nothing to prove with) start nothing more.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const stop = () => {
    next = items.length
  }
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      const result = await fn(items[i] as T).catch((error: unknown) => {
        stop()
        throw error
      })
      if (result === undefined) stop()
      results[i] = result
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
