/**
 * Helpers the send reviews share (reviewOfSyncSends2, reviewOfSession37*, 38a, 38d): a request
 * or sync send timed and capped, a client warmed up, sends counted per source, calls carrying a
 * transaction seen, a source over the liar's proxy, a node's "insufficient funds".
 */
import { type createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import type { Lab } from '../lab/index.ts'
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

/** A request with its meta, its outcome and how long it took; `cap` ms at most (then `hung`). */
export async function timed(rpc: Rpc, method: string, params: unknown[], cap = 25_000) {
  const started = Date.now()
  const out = await Promise.race([
    rpc.requestWithMeta({ method, params }).then(
      (r) => ({ result: r.result, meta: r.meta, error: undefined as Err | undefined, hung: false }),
      (e: Err) => ({ result: undefined as unknown, meta: undefined, error: e, hung: false }),
    ),
    sleep(cap).then(() => ({
      result: undefined as unknown,
      meta: undefined,
      error: undefined,
      hung: true,
    })),
  ])
  return { ...out, took: Date.now() - started }
}

/** A source over the liar's lab proxy (anvil behind it), in its own domain, `rewrite` on top. */
export const overLiar = (
  lab: Lab,
  name: string,
  domain: string,
  rewrite: Parameters<typeof hostile>[1] = (_m, _p, answer) => answer(),
  extra: Record<string, unknown> = {},
): Source => hostile(http(lab.proxy('liar').url, { name, domain, ...extra }), rewrite)

/** Every call a source is asked that carries `raw` (with or without `0x`), as `name method`. */
export const carrying = (seen: string[], raw: () => string | undefined) => (src: Source) =>
  hostile(src, async (method, params, answer) => {
    const r = raw()
    if (r && JSON.stringify(params).toLowerCase().includes(r.slice(2).toLowerCase()))
      seen.push(`${src.config.name} ${method}`)
    return answer()
  })

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
