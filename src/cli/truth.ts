/**
 * The truth every answer is checked against: the same request sent straight to the anvil node
 * behind the proxies. Each check returns why an answer is wrong, or `undefined` when it is right.
 */
import type { Anvil } from '../../test/lab/index.ts'
import type { Answer } from './demoClients.ts'

type Block = Record<string, unknown> & { number?: string; hash?: string }

/** The node's head just before a request was sent and just after its answer came. */
export type Window = { from: number; to: number }

/** Fields of a block header (and its transaction list) that must match the node's. */
const BLOCK_FIELDS = [
  'number',
  'hash',
  'parentHash',
  'stateRoot',
  'transactionsRoot',
  'receiptsRoot',
  'timestamp',
  'miner',
  'gasUsed',
  'baseFeePerGas',
  'transactions',
]

const RECEIPT_FIELDS = [
  'transactionHash',
  'blockHash',
  'blockNumber',
  'from',
  'to',
  'status',
  'gasUsed',
  'cumulativeGasUsed',
  'effectiveGasPrice',
  'logs',
]

const hex = (n: number) => `0x${n.toString(16)}`
const same = (a: unknown, b: unknown) =>
  JSON.stringify(a)?.toLowerCase() === JSON.stringify(b)?.toLowerCase()
const short = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return s && s.length > 24 ? `${s.slice(0, 12)}…${s.slice(-8)}` : String(s)
}

export type Truth = {
  /** The node's current block number. */
  head(): Promise<number>
  /**
   * A read of state at `latest` (`eth_getBalance`, `eth_call`) whose block parameter is at
   * `blockParam`. An answer that names its block must match the node at that block (which must
   * be on the node's chain); one that does not must match the node at some block in `window`.
   */
  checkState(
    method: string,
    params: unknown[],
    blockParam: number,
    answer: Answer,
    window: Window,
  ): Promise<string | undefined>
  /** The hash of the node's block `back` blocks below its head. */
  recentBlockHash(back: number): Promise<string>
  /** `eth_blockNumber`: the block must exist. */
  checkBlockNumber(n: number, window: Window): string | undefined
  /** A block (by number or hash): it must be the node's block, field for field. */
  checkBlock(block: unknown, window: Window, hash?: string): Promise<string | undefined>
  /** A transaction receipt: it must be the node's receipt, field for field. */
  checkReceipt(receipt: unknown, hash: string): Promise<string | undefined>
}

/** Truth read from `anvil` directly, past every proxy. */
export function createTruth(anvil: Anvil): Truth {
  const blockAt = (n: number) => anvil.rpc<Block | null>('eth_getBlockByNumber', [hex(n), false])

  return {
    head: async () => Number(await anvil.rpc<string>('eth_blockNumber')),

    async checkState(method, params, blockParam, answer, window) {
      const at = (n: number) => {
        const p = [...params]
        p[blockParam] = hex(n)
        return anvil.rpc(method, p)
      }
      if (answer.block) {
        const { number, hash } = answer.block
        const canonical = await blockAt(number)
        if (!canonical || !same(canonical.hash, hash))
          return `answered for block #${number} ${short(hash)}, which is not on the node's chain`
        const truth = await at(number)
        if (!same(truth, answer.result))
          return `${short(answer.result)} at #${number}; the node says ${short(truth)}`
        return undefined
      }
      let latest: unknown
      for (let n = window.to; n >= window.from; n--) {
        const truth = await at(n)
        latest ??= truth
        if (same(truth, answer.result)) return undefined
      }
      return `${short(answer.result)}; the node says ${short(latest)} (blocks #${window.from}–#${window.to})`
    },

    async recentBlockHash(back) {
      const head = Number(await anvil.rpc<string>('eth_blockNumber'))
      const block = await blockAt(Math.max(0, head - back))
      if (!block?.hash) throw new Error(`the node has no block #${head - back}`)
      return block.hash
    },

    checkBlockNumber(n, window) {
      if (!Number.isSafeInteger(n) || n < 0) return `block number ${n} is not a block number`
      if (n > window.to) return `block #${n} does not exist yet (the node is at #${window.to})`
      return undefined
    },

    async checkBlock(block, window, hash) {
      if (!block || typeof block !== 'object') return `expected a block, got ${short(block)}`
      const b = block as Block
      const n = Number(b.number)
      if (hash === undefined && n > window.to)
        return `block #${n} does not exist yet (the node is at #${window.to})`
      const truth = hash
        ? await anvil.rpc<Block | null>('eth_getBlockByHash', [hash, false])
        : await blockAt(n)
      if (!truth) return `block ${short(hash ?? b.number)} is not on the node's chain`
      for (const field of BLOCK_FIELDS)
        if (!same(b[field], truth[field]))
          return `block #${n} ${field} ${short(b[field])}; the node says ${short(truth[field])}`
      return undefined
    },

    async checkReceipt(receipt, hash) {
      const truth = await anvil.rpc<Record<string, unknown> | null>('eth_getTransactionReceipt', [
        hash,
      ])
      if (!truth) return `a receipt for ${short(hash)}, which the node has not mined`
      const r = receipt as Record<string, unknown>
      for (const field of RECEIPT_FIELDS)
        if (!same(r[field], truth[field]))
          return `receipt ${field} ${short(r[field])}; the node says ${short(truth[field])}`
      return undefined
    },
  }
}
