/**
 * Groups requests made within one tick (or `wait` ms) into one JSON-RPC batch, as viem's
 * `createBatchScheduler` does, and hands each caller its own answer back by id.
 */
export type BatchOptions = {
  /** Largest number of calls in one batch. @default 100 */
  batchSize?: number
  /** Milliseconds to wait for more calls before sending. @default 0 (same tick) */
  wait?: number
}

type Pending<T> = { body: T; resolve: (value: unknown) => void; reject: (error: unknown) => void }

export function createBatcher<T>(
  send: (bodies: T[]) => Promise<unknown[]>,
  { batchSize = 100, wait = 0 }: BatchOptions = {},
) {
  let queue: Pending<T>[] = []
  let scheduled = false

  const flush = () => {
    scheduled = false
    const batch = queue
    queue = []
    send(batch.map((p) => p.body)).then(
      (answers) => {
        batch.forEach((p, i) => {
          p.resolve(answers[i])
        })
      },
      (error) => {
        for (const p of batch) p.reject(error)
      },
    )
  }

  return (body: T): Promise<unknown> =>
    new Promise((resolve, reject) => {
      queue.push({ body, resolve, reject })
      if (queue.length >= batchSize) return flush()
      if (scheduled) return
      scheduled = true
      if (wait > 0) setTimeout(flush, wait)
      else queueMicrotask(flush)
    })
}
