/**
 * A bound on tasks in flight that queues: at most `limit` holders at once, the rest let in first
 * come first served as places free up, each waiting only until its signal aborts. p2p's
 * streams.ts keeps a peer's open streams under the relay's limit with one; ipfs's
 * contentStore.ts a call's block fetches.
 */
export function turnstile(limit: number) {
  let inside = 0
  const waiting: (() => void)[] = []
  return {
    enter(signal: AbortSignal): Promise<void> {
      if (signal.aborted) return Promise.reject(signal.reason)
      if (inside < limit) {
        inside++
        return Promise.resolve()
      }
      return new Promise((resolve, reject) => {
        // Let in by `leave`, which hands over its place (`inside` does not change).
        const go = () => {
          signal.removeEventListener('abort', quit)
          resolve()
        }
        const quit = () => {
          waiting.splice(waiting.indexOf(go), 1)
          reject(signal.reason)
        }
        waiting.push(go)
        signal.addEventListener('abort', quit, { once: true })
      })
    },
    leave() {
      const next = waiting.shift()
      if (next) next()
      else inside--
    },
  }
}
