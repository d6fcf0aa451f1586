/**
 * The rollback lab the read-your-writes reviews share (reviewOfSession40b, 40e, 40g): an anvil
 * that mines only when told, with a contract that logs pings; honest sources held a block behind
 * (`held`), a liar saying its `latest` is an older block (`roller`), a liar standing on a block
 * the chain dropped (`stayer`); a client over quorum 2 polling the head, waited on until it
 * reaches a block; a request's outcome in short, a log in short.
 */
import { http, RpcResponseError, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { sleep } from '../helpers.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'
import { deployAnswer, PING_INIT } from '../workload.ts'
import { quorumOfTwo } from './behind.ts'
import { hex, settle } from './fleet.ts'
import { hostile } from './hostile.ts'

/** The dev account that sends the pings. */
export const PINGER = devAccounts[1]!.address

export type Block = { number: string; hash: string }

/** An anvil that mines only when told, a ping emitter deployed and mined in. */
export async function pingLab(): Promise<{ anvil: Anvil; emitter: string }> {
  const anvil = await startAnvil({ noMining: true })
  const emitter = await deployAnswer(anvil, PING_INIT)
  await anvil.rpc('evm_mine')
  return { anvil, emitter }
}

/** The chain's block number. */
export const top = async (anvil: Anvil) => Number(await anvil.rpc<string>('eth_blockNumber'))

/** A client whose answers need two domains (behind.ts `quorumOfTwo`), `prove`: with proofs. */
export const fleet = (sources: Source[], prove = false) =>
  quorumOfTwo(sources, prove ? { prover: proofs() } : {})
export type Fleet = ReturnType<typeof fleet>

/** Until `rpc`'s eth_blockNumber is `n` or more (5 s at most). */
export async function headAt(rpc: Pick<Fleet, 'request'>, n: number) {
  for (let t = 0; t < 200 && Number(await rpc.request({ method: 'eth_blockNumber' })) < n; t++)
    await sleep(25)
}

/**
 * A request's outcome in short: the error's name and code, or the result (40 characters), its
 * label and (`at`) its block.
 */
export const said = async (
  p: Promise<{ result: unknown; meta: { consistency: string; block?: { number: number } } }>,
  at = true,
) => {
  const r = await settle(p)
  if (r.error) return `${r.error.name} ${String(r.error.code)}`
  const shown = `${JSON.stringify(r.value!.result).slice(0, 40)} ${r.value!.meta.consistency}`
  return at ? `${shown} at #${r.value!.meta.block?.number}` : shown
}

export type Log = { blockNumber: string; transactionHash: string; removed?: boolean }
export const logShown = (l: Log) => `#${Number(l.blockNumber)}${l.removed ? ' removed' : ''}`

/**
 * An honest node in its own domain whose head is held at `view.frozen` while it is set (a node
 * importing late, or a load-balanced endpoint's lagging backend): `latest` is that block, a block
 * above it by hash is none (39l's `lagging`). With `view.lagFrom` set, a load-balanced endpoint
 * whose head is current but whose reads by hash of blocks from `lagFrom` on reach a backend that
 * has not imported them yet (`null`, "header for hash not found").
 */
export function held(anvil: Anvil, name: string) {
  const view = { frozen: undefined as number | undefined, lagFrom: undefined as number | undefined }
  const notFound = () =>
    new RpcResponseError(name, { code: -32000, message: 'header for hash not found' })
  const source = hostile(
    http(anvil.url, { name, domain: name, timeout: 2_000 }),
    async (method, params, answer) => {
      const f = view.frozen
      const l = view.lagFrom
      if (l !== undefined) {
        const hashes = JSON.stringify(params).match(/0x[0-9a-f]{64}/g) ?? []
        for (const h of hashes) {
          const b = await anvil.rpc<Block | null>('eth_getBlockByHash', [h, false])
          if (b && Number(b.number) >= l) {
            if (method === 'eth_getBlockByHash') return null
            if (method !== 'eth_getTransactionReceipt' && method !== 'eth_getTransactionByHash')
              throw notFound()
          }
        }
      }
      if (f === undefined) return answer()
      if (method === 'eth_blockNumber') return hex(f)
      if (method === 'eth_getBlockByNumber') {
        const at = params[0] === 'latest' || params[0] === 'pending' ? f : Number(params[0])
        return at > f ? null : anvil.rpc('eth_getBlockByNumber', [hex(at), params[1]])
      }
      if (method === 'eth_getBlockByHash') {
        const b = await anvil.rpc<Block | null>('eth_getBlockByHash', [params[0], false])
        return b && Number(b.number) > f ? null : answer()
      }
      return answer()
    },
    { name, domain: name },
  )
  return { source, view }
}

/**
 * The liar: honest, but once `view.rollTo` is set it says its `latest` is that (real, older)
 * block, as a node that rolled back would. Everything else it answers is the chain's; with
 * `forgets`, every block above `rollTo` is none to it (`null` by hash, "header for hash not found"
 * for reads).
 */
export function roller(anvil: Anvil, name = 'liar', { forgets = false } = {}) {
  const view = { rollTo: undefined as number | undefined }
  const source = hostile(
    http(anvil.url, { name, domain: name, timeout: 2_000 }),
    async (method, params, answer) => {
      const r = view.rollTo
      if (r === undefined) return answer()
      if (method === 'eth_blockNumber') return hex(r)
      if (method === 'eth_getBlockByNumber' && params[0] === 'latest')
        return anvil.rpc('eth_getBlockByNumber', [hex(r), params[1]])
      if (!forgets) return answer()
      for (const h of JSON.stringify(params).match(/0x[0-9a-f]{64}/g) ?? []) {
        const b = await anvil.rpc<Block | null>('eth_getBlockByHash', [h, false])
        if (b && Number(b.number) > r) {
          if (method === 'eth_getBlockByHash') return null
          throw new RpcResponseError(name, { code: -32000, message: 'header for hash not found' })
        }
      }
      return answer()
    },
    { name, domain: name },
  )
  return { source, view }
}

/**
 * The liar: honest until `stay()`; from then on it stands on the block that was the head then
 * (B), whatever the chain does: its `latest` is B, and B's state (the pinger's nonce and proof)
 * and logs are kept (fetched before), as a node that missed a reorg (or pretends to) would
 * answer. `short`: only B's header, nonce and proof are kept (a full block asked for is the
 * header, logs are the chain's).
 */
export function stayer(anvil: Anvil, name = 'liar', { short = false } = {}) {
  let kept: Record<string, unknown> | undefined
  const stay = async () => {
    const b = await anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
    const n = b.number
    if (short) {
      const nonce = await anvil.rpc('eth_getTransactionCount', [PINGER, n])
      const proof = await anvil.rpc('eth_getProof', [PINGER, [], n])
      kept = { n, hash: b.hash, block: b, full: b, nonce, proof }
      return
    }
    kept = {
      n,
      hash: b.hash,
      block: b,
      full: await anvil.rpc('eth_getBlockByNumber', [n, true]),
      nonce: await anvil.rpc('eth_getTransactionCount', [PINGER, n]),
      proof: await anvil.rpc('eth_getProof', [PINGER, [], n]),
      logs: await anvil.rpc('eth_getLogs', [{ fromBlock: n, toBlock: n }]),
    }
  }
  const source = hostile(
    http(anvil.url, { name, domain: name, timeout: 2_000 }),
    async (method, params, answer) => {
      const k = kept
      if (!k) return answer()
      const p = params as unknown[]
      const full = () => (p[1] ? k.full : k.block)
      if (method === 'eth_blockNumber') return k.n
      if (method === 'eth_getBlockByNumber' && (p[0] === 'latest' || p[0] === k.n)) return full()
      if (method === 'eth_getBlockByHash' && p[0] === k.hash) return full()
      const at = JSON.stringify(p)
      const here = at.includes(k.hash as string) || at.includes(`"${k.n}"`) || at.includes('latest')
      if (here && method === 'eth_getTransactionCount') return k.nonce
      if (here && method === 'eth_getProof' && p[0] === PINGER) return k.proof
      if (here && method === 'eth_getLogs' && !short) return k.logs
      return answer()
    },
    { name, domain: name },
  )
  return { source, stay }
}
