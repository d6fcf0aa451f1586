/**
 * Helpers the send reviews share (reviewOfSyncSends2, reviewOfSession37*): a sync send timed
 * and capped, a client warmed up, sends counted per source, a node's "insufficient funds".
 */
import { type createOutlast, RpcResponseError, type Source } from '../../src/index.ts'
import { hostile } from './hostile.ts'

export type Err = { code?: number; data?: unknown; message: string }
export type Rpc = ReturnType<typeof createOutlast>

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A sync send, its outcome and how long it took; `cap` ms at most (then `hung`). */
export async function sendSync(rpc: Rpc, params: unknown[], cap = 25_000) {
  const started = Date.now()
  const out = await Promise.race([
    rpc.request({ method: 'eth_sendRawTransactionSync', params }).then(
      (r) => ({ result: r as Record<string, unknown>, error: undefined, hung: false }),
      (e: Err) => ({ result: undefined, error: e, hung: false }),
    ),
    sleep(cap).then(() => ({ result: undefined, error: undefined, hung: true })),
  ])
  return { ...out, took: Date.now() - started }
}

/** Three reads first: the sources' latencies are known, the head agreed. */
export async function warm(rpc: Rpc) {
  for (let i = 0; i < 3; i++)
    await rpc
      .request({ method: 'eth_getBalance', params: [`0x${'11'.repeat(20)}`, 'latest'] })
      .catch(() => {})
}

/** Counts every send a source is asked (by source name and method) in `sends`. */
export const counted = (sends: string[]) => (src: Source) =>
  hostile(src, async (method, _p, answer) => {
    if (method.startsWith('eth_sendRawTransaction')) sends.push(`${src.config.name} ${method}`)
    return answer()
  })

/** A node's refusal of a transfer its sender cannot pay for. */
export const insufficient = (source = 'liar') =>
  new RpcResponseError(source, {
    code: -32000,
    message: 'insufficient funds for gas * price + value',
  })
