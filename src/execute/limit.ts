/** At most `n` of the calls made through the returned function are in flight at once. */
export function limit<A extends unknown[], R>(
  n: number,
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  let active = 0
  const waiting: (() => void)[] = []
  return async (...args) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve))
    active++
    try {
      return await fn(...args)
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}
