/**
 * A liar for quiet chains (quietFork.test.ts, reviewOfLogs.test.ts): it forges correctly hashed
 * fresh heads on top of the real one.
 */
import { keccak256, toHex } from 'viem'
import { http, type Source } from '../../src/index.ts'
import { computeBlockHash, type RpcBlockHeader } from '../../src/verify/block.ts'
import { sleep } from '../helpers.ts'
import type { Anvil } from '../lab/index.ts'
import { hostile } from './hostile.ts'

export type Header = Record<string, unknown> & { number: string; hash: string; parentHash: string }

/** A log as a node returns it (`removed` on a reorg's replay). */
export type Log = {
  address: string
  topics: string[]
  blockHash: string
  blockNumber: string
  logIndex: string
  transactionHash: string
  data: string
  removed?: boolean
}

const hex = (n: number) => `0x${n.toString(16)}`
const seconds = () => Math.floor(Date.now() / 1_000)

/** A token the wallet watches, and the Transfer topic: what the liar's forged logs claim. */
export const TOKEN = '0x00000000000000000000000000000000000070c3'
export const TRANSFER = keccak256(toHex('Transfer(address,address,uint256)'))
export const WALLET = `0x${'00'.repeat(12)}${'77'.repeat(20)}`

/** A 2048-bit logs bloom holding `values` (3 bits of keccak each, as the yellow paper sets them). */
function bloomOf(values: readonly string[]): string {
  const bloom = new Uint8Array(256)
  for (const v of values) {
    const h = Buffer.from(keccak256(v as `0x${string}`).slice(2), 'hex')
    for (const i of [0, 2, 4]) {
      const bit = ((h[i]! << 8) | h[i + 1]!) & 0x7ff
      const at = 255 - Math.floor(bit / 8)
      bloom[at] = (bloom[at] ?? 0) | (1 << (bit % 8))
    }
  }
  return `0x${Buffer.from(bloom).toString('hex')}`
}
/**
 * Honest until `start()`; then its `latest` is the tip of a chain it forges on `node`'s head:
 * correctly hashed empty blocks with fresh timestamps (`lead` at once, then `rate` more each
 * second), served by number and by hash as well; each answer `delay` ms late. With
 * `forgedLogs`, each forged block's bloom admits a Transfer of TOKEN to WALLET, and its
 * `eth_getLogs` answers hold one. What it does not forge it asks of `inner` (by default `node`
 * directly; a lab proxy's source to put it through faults).
 */
export function forger(
  node: Anvil,
  {
    delay = 0,
    forgedLogs = false,
    lead = 3,
    rate = 1,
    inner = http(node.url, { name: 'liar', domain: 'liar-host', timeout: 1_000 }),
  }: { delay?: number; forgedLogs?: boolean; lead?: number; rate?: number; inner?: Source } = {},
) {
  const byHash = new Map<string, Header>()
  const byNumber = new Map<string, Header>()
  let tip: Header | undefined
  let started = 0
  let on = false
  const extend = async () => {
    if (!tip) tip = await node.rpc<Header>('eth_getBlockByNumber', ['latest', false])
    const want = lead + Math.floor((rate * (Date.now() - started)) / 1_000)
    while (byNumber.size < want) {
      const parent = tip
      const forged: Record<string, unknown> = {
        ...parent,
        number: hex(Number(parent.number) + 1),
        parentHash: parent.hash,
        timestamp: hex(Math.max(seconds(), Number(parent.timestamp))),
        // With `forgedLogs`, its bloom admits the watched token's Transfer: the client will ask
        // for the logs.
        ...(forgedLogs ? { logsBloom: bloomOf([TOKEN, TRANSFER, WALLET]) } : {}),
      }
      forged.hash = computeBlockHash(forged as unknown as RpcBlockHeader)
      tip = forged as Header
      byHash.set(tip.hash.toLowerCase(), tip)
      byNumber.set(tip.number, tip)
    }
    return tip
  }
  const source: Source = hostile(inner, async (method, params, answer) => {
    if (!on) return answer()
    if (delay) await sleep(delay)
    if (method === 'eth_blockNumber') return (await extend()).number
    if (method === 'eth_getBlockByHash') {
      const f = byHash.get(String(params[0]).toLowerCase())
      if (f) return f
    }
    if (method === 'eth_getLogs' && forgedLogs) {
      // A made-up incoming Transfer in each forged block the filter covers.
      const f = params[0] as { blockHash?: string; fromBlock?: string; toBlock?: string }
      const blocks = f.blockHash
        ? [byHash.get(f.blockHash.toLowerCase())].filter((b) => b !== undefined)
        : [...byNumber.values()].filter(
            (b) =>
              f.fromBlock !== undefined &&
              f.toBlock !== undefined &&
              Number(b.number) >= Number(f.fromBlock) &&
              Number(b.number) <= Number(f.toBlock),
          )
      if (blocks.length > 0)
        return blocks.map((b) => ({
          address: TOKEN,
          topics: [TRANSFER, `0x${'00'.repeat(32)}`, WALLET],
          data: `0x${(10n ** 24n).toString(16).padStart(64, '0')}`,
          blockNumber: b.number,
          blockHash: b.hash,
          transactionHash: keccak256(b.hash as `0x${string}`),
          transactionIndex: '0x0',
          logIndex: '0x0',
          removed: false,
        }))
    }
    if (method === 'eth_getBlockByNumber') {
      if (params[0] === 'latest') return extend()
      const f = byNumber.get(String(params[0]))
      if (f) return f
    }
    return answer()
  })
  return {
    source,
    forged: byHash,
    tip: () => tip,
    start() {
      started = Date.now()
      on = true
    },
  }
}
