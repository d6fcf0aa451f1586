/**
 * Groups JSON-RPC calls made within one tick (or `wait` ms) into one batch, as viem's
 * `createBatchScheduler` does, and hands each caller its own answer back by id (`splitBatch`).
 * Batching is opt-in: http.ts loads this module with the first batched call.
 */
import type { Call, Envelope, JsonRpc } from './jsonRpc.ts'

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

/**
 * A batch's answer split by call: for each of `calls`, in order, its response (for `resultOf`)
 * or the `SourceError` that stands for it. A node may refuse a whole batch with one error
 * object (each call gets it); more answers than calls fail them all; an id answered twice counts
 * for neither; an `id: null` error is
 * for a call the node could not read: with one such and one call unanswered it is that call's,
 * else each unanswered call's failure quotes it.
 */
export function splitBatch(
  { fail, nodeError, showId }: JsonRpc,
  answer: unknown,
  calls: readonly { id: number }[],
): unknown[] {
  if (!Array.isArray(answer)) {
    const error = (answer as Envelope | null)?.error
    return calls.map(() =>
      error !== undefined ? nodeError(error) : fail('body', 'batch answered with a non-array'),
    )
  }
  // More answers than calls: not an honest node's; all of them fail (each extra one would cost
  // the host a look, and a source could send a million).
  if (answer.length > calls.length)
    return calls.map(() =>
      fail('body', `batch answered ${answer.length} times to ${calls.length} calls`),
    )
  const byId = new Map<unknown, unknown>()
  /** Errors for calls the node could not read (`id: null`): it does not say which. */
  const unread: unknown[] = []
  for (const item of answer) {
    const { id, error } = (item ?? {}) as Envelope
    if (id === null && error !== undefined) unread.push(error)
    // Two answers for one call: neither can be trusted.
    else byId.set(id, byId.has(id) ? fail('body', `batch answers id ${showId(id)} twice`) : item)
  }
  const missing = calls.filter((c) => !byId.has(c.id))
  if (missing.length === 1 && unread.length === 1) byId.set(missing[0]!.id, nodeError(unread[0]))
  const said = unread.length ? `; a call it could not read got ${nodeError(unread[0]).reason}` : ''
  return calls.map((c) => byId.get(c.id) ?? fail('body', `batch answer lacks id ${c.id}${said}`))
}
