/**
 * Helpers the halt reviews share (reviewOfSession40c, 40f): views that burn gas, honest nodes
 * with a lower RPC gas cap, a liar refusing chosen methods with chosen errors, each source's
 * standing and a request repeated in short.
 */
import type { RpcResponseError, Source } from '../../src/index.ts'
import type { Lab } from '../lab/index.ts'
import { hex, labNode, type Polled, settle } from './fleet.ts'
import { liarOf } from './proxiedLiar.ts'

/** Counts 0x2000 down (about 215k gas), then returns the word 42: a heavy but finite view. */
export const BURNS = '0x612000' + '5b6001900380600357' + '602a60005260206000f3'
export const WORD42 = `0x${'2a'.padStart(64, '0')}`
/** The methods that run code. */
export const EXECUTES = /^eth_(?:call|estimateGas|createAccessList)$/
/** The lower RPC gas cap (providers cap eth_call differently: geth's 50M default, others less). */
export const CAP = 100_000

/**
 * An honest node with an RPC gas cap of 100k: a call that names no gas is run with that cap;
 * `named`, a named gas above it is lowered to it too (geth's rule) and `gas: null` is none;
 * `viaLiar`, over the liar's proxy (named `name`).
 */
export function lowCap(lab: Lab, name: string, { named = false, viaLiar = false } = {}): Source {
  const inner = viaLiar ? liarOf(lab, (_m, _p, real) => real()) : labNode(lab, name, name)
  return {
    config: viaLiar ? { ...inner.config, name, domain: name } : inner.config,
    request: (body, options) => {
      const [tx, ...rest] = (body.params ?? []) as [Record<string, unknown>, ...unknown[]]
      if (!EXECUTES.test(body.method) || (!named && tx.gas !== undefined))
        return inner.request(body, options)
      const gas = tx.gas == null ? CAP : Math.min(Number(tx.gas), CAP)
      return inner.request({ ...body, params: [{ ...tx, gas: hex(gas) }, ...rest] }, options)
    },
  }
}

/** Source `name`'s breaker is closed and it is healthy. */
export const clean = (rpc: Polled, name: string) =>
  rpc
    .status()
    .sources.some((s) => s.name === name && s.breaker === 'closed' && s.condition === 'healthy')

/**
 * `run(rpc, method, params, times = 6)`: `times` requests of `method` (params from the head):
 * each outcome in short, the error's name, code and first line or the result as `shown`.
 */
export const runShowing =
  (shown: (value: unknown) => string) =>
  async (rpc: Polled, method: string, params: (head: number) => unknown[], times = 6) => {
    await rpc.connect()
    const head = Number(await rpc.request({ method: 'eth_blockNumber' }))
    const out: string[] = []
    for (let i = 0; i < times; i++) {
      const r = await settle(rpc.request({ method, params: params(head) }))
      out.push(
        r.error
          ? `${r.error.name} ${r.error.code} ${r.error.message.split('\n')[0]}`
          : shown(r.value),
      )
    }
    return out
  }

/** The liar: every request of a method `which` matches refused with `error`. */
export const refusing = (lab: Lab, which: RegExp, error: () => RpcResponseError) =>
  liarOf(lab, async (method, _params, real) => {
    if (!which.test(method)) return real()
    throw error()
  })
