/**
 * Helpers the lagging-domain reviews share (reviewOfSession39c, 39d, 39f, 39h, 39j): a source held
 * a block behind the chain (39c's load-balanced endpoint whose `latest` comes from a lagging
 * backend, or a liar saying so), a client over quorum 2 polling the head, the caller's payment
 * mined in a block of its own and its receipt agreed, a request's outcome in short, a contract
 * that logs.
 */
import assert from 'node:assert/strict'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import { type Anvil, devAccounts } from '../lab/index.ts'
import { ETHER, hex, type Polled } from './fleet.ts'
import { forgeHeader, hostile } from './hostile.ts'

export type Block = { number: string; hash: string }
export type Meta = { consistency: string; block?: { number: number; hash: string } }

/** What else of a source's chain lags besides its `latest` and state (see `behind`). */
export type Lag = {
  /** Each attempt's timeout, in ms (1 s by default). */
  timeout?: number
  /** A block above it by hash is null there too (the lagging backend's). */
  nullByHash?: boolean
  /**
   * Its `pending` is the lagging backend's: its head (eth_getBlockByNumber('pending') too) and a
   * mempool that never saw the caller's transaction, for every method. Else only the pending
   * nonce is the one at its block.
   */
  pending?: boolean
}

/**
 * A source in its own domain whose head is held at block `view.frozen` while it is set (a
 * load-balanced endpoint whose `latest` comes from a backend a block behind, or a liar saying
 * so): its `latest` and eth_blockNumber are that block, later blocks it has not (`null`, "header
 * for hash not found" for a read there), its pending nonce is the one at its block (the caller's
 * transaction never reached its pool); `lag` for more. Everything else is real: a receipt is the
 * chain's. `forge`: a forged empty block `ahead` past the chain's latest (empty itself: mined
 * here), served by its hash from then on (a liar's), and kept in `forged` by its hash.
 */
export function behind(anvil: Anvil, name: string, lag: Lag = {}) {
  const { timeout = 1_000 } = lag
  const view = { frozen: undefined as number | undefined }
  const forged = new Map<string, Record<string, unknown>>()
  const numberOf = async (hash: string) =>
    Number((await anvil.rpc<Block | null>('eth_getBlockByHash', [hash, false]))?.number ?? 1e9)
  const notFound = () =>
    new RpcResponseError(name, { code: -32000, message: 'header for hash not found' })
  const source = hostile(
    http(anvil.url, { name, domain: name, timeout }),
    async (method, params, answer) => {
      if (method === 'eth_getBlockByHash' && forged.has(String(params[0]).toLowerCase()))
        return forged.get(String(params[0]).toLowerCase())
      const f = view.frozen
      if (f === undefined) return answer()
      if (method === 'eth_blockNumber') return hex(f)
      if (method === 'eth_getBlockByNumber') {
        const at =
          params[0] === 'latest' || (lag.pending && params[0] === 'pending') ? f : Number(params[0])
        return at > f ? null : anvil.rpc('eth_getBlockByNumber', [hex(at), params[1]])
      }
      if (method === 'eth_getBlockByHash' && lag.nullByHash)
        return (await numberOf(String(params[0]))) > f ? null : answer()
      if (lag.pending && params.includes('pending'))
        return anvil.rpc(
          method,
          params.map((p) => (p === 'pending' ? hex(f) : p)),
        )
      if (method === 'eth_getTransactionCount' && params[1] === 'pending')
        return anvil.rpc('eth_getTransactionCount', [params[0], hex(f)])
      for (const p of params)
        if (p && typeof p === 'object' && 'blockHash' in p) {
          if ((await numberOf(String((p as { blockHash: string }).blockHash))) > f) throw notFound()
        } else if (typeof p === 'string' && /^0x[0-9a-f]{1,8}$/.test(p) && Number(p) > f)
          throw notFound()
      return answer()
    },
    { name, domain: name },
  )
  const forge = async (ahead: number) => {
    await anvil.rpc('evm_mine')
    const real = await anvil.rpc<Record<string, unknown>>('eth_getBlockByNumber', ['latest', false])
    // Without `size` (no hash covers it, and a body given as hashes is not measured).
    const { size: _size, ...block } = forgeHeader(real, Number(real.number) + ahead)
    forged.set(String(block.hash), block)
    return { hash: String(block.hash), number: Number(block.number) }
  }
  return { source, view, forge, forged }
}

/**
 * A client whose answers need two domains, the head polled every 100 ms, 5 s per attempt;
 * `extra`: its other options.
 */
export const quorumOfTwo = (sources: Source[], extra: Record<string, unknown> = {}) =>
  createOutlast({
    chainId: CHAIN_ID,
    quorum: { domains: 2 },
    sources,
    timeout: 5_000,
    pollingInterval: 100,
    ...extra,
  })

/** `rpc`'s head known, then each of `lagging` held at the chain's block from now on: that block. */
export async function holdBehind(
  anvil: Anvil,
  rpc: Pick<Polled, 'request'>,
  lagging: { view: { frozen: number | undefined } }[],
): Promise<number> {
  await rpc.request({ method: 'eth_blockNumber' })
  const f = Number(await anvil.rpc<string>('eth_blockNumber'))
  for (const b of lagging) b.view.frozen = f
  return f
}

/** Sends `tx` (from a dev account) and mines it in a block of its own. */
export async function minedAlone(
  anvil: Anvil,
  tx: Record<string, unknown>,
): Promise<{ hash: string; block: number }> {
  const hash = await anvil.rpc<string>('eth_sendTransaction', [tx])
  await anvil.rpc('evm_mine')
  const r = await anvil.rpc<{ blockNumber: string }>('eth_getTransactionReceipt', [hash])
  return { hash, block: Number(r.blockNumber) }
}

/** Pays `to` one ether from dev account `from`, mined in a block of its own. */
export const pay = (anvil: Anvil, from: number, to: string) =>
  minedAlone(anvil, { from: devAccounts[from]!.address, to, value: hex(ETHER) })

/** `rpc`'s `via` (the receipt by default) of transaction `hash`, checked `agreed` (`message`). */
export async function agreedOn(
  rpc: Pick<Polled, 'requestWithMeta'>,
  hash: string,
  message = 'the receipt, agreed',
  via = 'eth_getTransactionReceipt',
) {
  const seen = await rpc.requestWithMeta({ method: via, params: [hash] })
  assert.equal(seen.meta.consistency, 'agreed', message)
  return seen
}

/**
 * `rpc`'s head known and `lagging` held at the chain's block from now on, dev account `from` pays
 * `payee`: mined at #n, its receipt agreed there while the agreed head is #n-1.
 */
export async function paidBehind(
  anvil: Anvil,
  rpc: Pick<Polled, 'request' | 'requestWithMeta'>,
  lagging: { view: { frozen: number | undefined } }[],
  from: number,
  payee: string,
) {
  await holdBehind(anvil, rpc, lagging)
  const paid = await pay(anvil, from, payee)
  await agreedOn(rpc, paid.hash)
  return paid
}

/** A request's result and meta, or its error in short (`code` and first line). */
export const outcome = (p: Promise<{ result: unknown; meta: unknown }>) =>
  p.then(
    (r) => ({ result: r.result, meta: r.meta as Meta }),
    (e: Error & { code?: number }) => ({ error: `${e.code} ${e.message.split('\n')[0]}` }),
  )
export type Outcome = Awaited<ReturnType<typeof outcome>>

/** An outcome in words: the error, or the result (80 characters), its label and block. */
export const shown = (got: Outcome) =>
  'error' in got
    ? got.error
    : `${JSON.stringify(got.result)?.slice(0, 80)} ${got.meta.consistency} at #${got.meta.block?.number}`

/** Each source's breaker: `name breaker, …`. */
export const breakers = (rpc: Pick<Polled, 'status'>) =>
  rpc
    .status()
    .sources.map((s) => `${s.name} ${s.breaker}`)
    .join(', ')

/** Runtime code `LOG0(0, 0)`: each call logs once. Init code returning it. */
export const LOGGER_INIT = '0x6560006000a0006000526006601af3'

/** A contract that logs on every call, deployed in a block of its own. */
export async function deployLogger(anvil: Anvil): Promise<string> {
  const hash = await anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0]!.address, data: LOGGER_INIT },
  ])
  await anvil.rpc('evm_mine')
  const r = await anvil.rpc<{ contractAddress: string }>('eth_getTransactionReceipt', [hash])
  return r.contractAddress
}
