/**
 * Groups JSON-RPC calls made within one tick (or `wait` ms) into one batch, as viem's
 * `createBatchScheduler` does, and hands each caller its own answer back by id (`splitBatch`).
 */
import { type Call, type JsonRpc, splitBatch } from './jsonRpc.ts'

export type BatchOptions = {
  /** Largest number of calls in one batch. @default 100 */
  batchSize?: number
  /** Milliseconds to wait for more calls before sending. @default 0 (same tick) */
  wait?: number
}

/**
 * `send` posts a batch and resolves with its parsed answer. Each caller's promise resolves with
 * its own response, to read with `resultOf`, or with the error that stands for it (`splitBatch`), or
 * what `send` threw, for every call. It never rejects: a caller that stopped waiting (cancelled
 * before the batch went out) leaves no rejection unhandled.
 */
export function createBatcher(
  send: (calls: Call[]) => Promise<unknown>,
  rpc: JsonRpc,
  { batchSize = 100, wait = 0 }: BatchOptions = {},
) {
  let queue: [Call, (answer: unknown) => void][] = []
  let scheduled = false

  const flush = () => {
    scheduled = false
    const batch = queue
    queue = []
    const calls = batch.map(([call]) => call)
    send(calls)
      .then((answer) => splitBatch(rpc, answer, calls))
      .catch((error: unknown) => calls.map(() => error))
      .then((answers) => {
        batch.forEach(([, settle], i) => {
          settle(answers[i])
        })
      })
  }

  return (call: Call): Promise<unknown> =>
    new Promise((resolve) => {
      queue.push([call, resolve])
      if (queue.length >= batchSize) return flush()
      if (scheduled) return
      scheduled = true
      if (wait > 0) setTimeout(flush, wait)
      else queueMicrotask(flush)
    })
}
