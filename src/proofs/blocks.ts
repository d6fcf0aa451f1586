/**
 * Full blocks and transactions proven whole: the header by its hash, each transaction by its
 * envelope hash, the transaction list against `transactionsRoot` and withdrawals against
 * `withdrawalsRoot`; each `from` is the sender its signature recovers, each typed transaction's
 * `gasPrice` the effective price the header's base fee gives. A block asked for by hash needs
 * nothing else (the hash is the anchor); one asked for by number must be trusted; a transaction
 * asked for by hash must be the entry at its `transactionIndex` in a trusted block.
 */
import { canonical } from '../core/canonical.ts'
import type { ProverContext } from '../core/prover.ts'
import type { Hex } from '../shared/types.ts'
import { mismatch, UnsupportedTypeError } from '../verify/errors.ts'
import { sameHex } from '../verify/fields.ts'
import { verifyFullBlock } from '../verify/fullBlock.ts'
import {
  CHECKED_IN_BLOCK,
  computeTransactionHash,
  hashedFields,
  ITEM_FIELDS,
  type RpcTransaction,
} from '../verify/transaction.ts'
import type { RpcBlockWithBody } from '../verify/trie.ts'
import { blockNumberOf, isHash, toQuantity } from './blockTag.ts'

type FullBlock = RpcBlockWithBody & { hash: `0x${string}`; transactions: RpcTransaction[] }
type Tx = RpcTransaction & { transactionIndex?: unknown; from?: unknown }

/** `eth_getBlockByHash(hash, true)`. Header-only blocks (`false`) are left to the engine. */
export async function proveBlockByHash(params: readonly unknown[], ctx: ProverContext) {
  const [hash, full] = params
  if (full !== true || !isHash(hash)) return undefined
  return withSenders(await fullBlockByHash(hash, ctx))
}

/** `eth_getBlockByNumber(n | 'latest', true)`: `latest` is the agreed head; a number must be trusted. */
export async function proveBlockByNumber(params: readonly unknown[], ctx: ProverContext) {
  const [tag, full] = params
  if (full !== true) return undefined
  return withSenders(await trustedFullBlock(tag, ctx))
}

/**
 * `eth_getTransactionByBlockHashAndIndex` and `…ByBlockNumberAndIndex`: the entry of the proven
 * block, or a proven `null` past its last transaction.
 */
export async function proveTransactionAt(params: readonly unknown[], ctx: ProverContext) {
  const [block, index] = params
  const i = indexOf(index)
  if (i === undefined) return undefined
  const proven = isHash(block)
    ? await fullBlockByHash(block, ctx)
    : await trustedFullBlock(block, ctx)
  if (!proven) return undefined
  const entry = proven.transactions[i]
  if (!entry) return null
  await provenSenders([entry], () => 'from')
  return provenOnly(entry)
}

/**
 * `eth_getTransactionByHash`: the transaction hashes to the hash asked for, its block is trusted
 * and proven whole, and the transaction is that block's entry at its `transactionIndex`, field
 * for field. A pending or unknown transaction (`null`, no block) cannot be proven: quorum.
 */
export async function proveTransaction(params: readonly unknown[], ctx: ProverContext) {
  const [hash] = params
  if (!isHash(hash)) return undefined
  const tx = (await ctx.call('eth_getTransactionByHash', [hash])) as Tx | null
  if (tx === null) return undefined
  const computed = computeTransactionHash(tx)
  if (computed === undefined) return undefined // a type this version cannot rebuild
  if (!sameHex(hash, computed))
    mismatch('hash', 'is not the hash of the transaction', hash, computed)
  if (!isHash(tx.blockHash)) return undefined // pending: no block to prove it in
  const header = await ctx.trusted(tx.blockHash)
  if (!header) return undefined
  const block = await fullBlockByHash(header.hash, ctx)
  if (!block) return undefined
  const i = indexOf(tx.transactionIndex) ?? -1
  const entry = block.transactions[i]
  if (!entry) mismatch('transactionIndex', 'is not a position in its block', tx.transactionIndex)
  const field = firstDifference(tx, entry)
  if (field !== undefined)
    mismatch(
      field,
      `differs from the proven block's transaction ${i}`,
      at(tx, field),
      at(entry, field),
    )
  await provenSenders([tx], () => 'from')
  return provenOnly(tx)
}

/** A block with full transactions by hash, proven whole against its hash and roots (`null`: undefined). */
export async function fullBlockByHash(
  hash: string,
  ctx: ProverContext,
): Promise<FullBlock | undefined> {
  const block = (await ctx.call('eth_getBlockByHash', [hash, true])) as FullBlock | null
  if (block === null) return undefined // "not found" needs agreement
  await verifyFullBlock(block, hash as `0x${string}`)
  return block
}

/**
 * Recovers each transaction's sender from its signature and checks its `from` against it (a
 * lie if they differ); returns the senders. The sender code loads with the first recovery. A
 * signature that recovers no key (no valid chain holds one) cannot be checked: not a lie.
 */
export async function provenSenders(
  transactions: readonly Tx[],
  field: (i: number) => string,
): Promise<Hex[]> {
  const { recoverSenders } = await import('../verify/sender.ts')
  const senders = await recoverSenders(transactions)
  return senders.map((sender, i) => {
    const tx = transactions[i]!
    if (sender === undefined)
      throw new UnsupportedTypeError(field(i), `${tx.type ?? '0x0'} signed by no recoverable key`)
    if (tx.from != null && !sameHex(tx.from, sender))
      mismatch(field(i), 'is not the sender its signature recovers', tx.from, sender)
    return sender
  })
}

/** A proven block once every transaction's `from` is its recovered sender. */
async function withSenders(block: FullBlock | undefined) {
  if (!block) return block
  const senders = await provenSenders(block.transactions, (i) => `transactions[${i}].from`)
  // A proven transaction has its sender: the source's `from` (checked), or the recovered one.
  const txs = block.transactions as Tx[]
  return {
    ...block,
    transactions: txs.map((tx, i) => ({ ...provenOnly(tx), from: tx.from ?? senders[i]! })),
  }
}

/**
 * A transaction of a block proven whole, with only what the proof checked: the fields its hash
 * covers (verify/transaction.ts `hashedFields`), what the block's checks cover
 * (`CHECKED_IN_BLOCK`: its place, price and time) and its recovered sender. Whatever
 * else a source added (`data` beside `input`, `gasLimit` beside `gas`, another type's fields)
 * nothing checked, so it is not returned as proven.
 */
function provenOnly<T extends Tx>(tx: T): T {
  const hashed = hashedFields(tx)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(tx))
    if (hashed?.has(k) || CHECKED_IN_BLOCK.has(k) || k === 'from') out[k] = itemsRead(k, v)
  return out as T
}

/** A hashed list's items with only the fields their hash reads (an L2's `l1Fee` is not proven). */
function itemsRead(k: string, v: unknown): unknown {
  const read = ITEM_FIELDS.get(k)
  if (!read || !Array.isArray(v)) return v
  return v.map((item: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(item).filter(([f]) => read.has(f))),
  )
}

async function trustedFullBlock(tag: unknown, ctx: ProverContext) {
  const n = blockNumberOf(tag)
  if (n === undefined) return undefined
  if (n === 'latest') {
    const head = await ctx.head?.()
    return head && fullBlockByHash(head.hash, ctx)
  }
  const block = (await ctx.call('eth_getBlockByNumber', [toQuantity(n), true])) as FullBlock | null
  if (block === null) return undefined
  await verifyFullBlock(block)
  if (Number.parseInt(block.number, 16) !== n)
    mismatch('number', 'is not the block asked for', block.number, n)
  return (await ctx.trusted(block.hash)) ? block : undefined
}

function indexOf(index: unknown): number | undefined {
  if (typeof index !== 'string' || !/^0x[0-9a-fA-F]{1,8}$/.test(index)) return undefined
  return Number.parseInt(index, 16)
}

const at = (o: object, key: string) => canonical((o as Record<string, unknown>)[key] ?? null)

/** The first field in which two JSON-RPC objects differ (hex case-blind, absent as null). */
const firstDifference = (a: object, b: object) =>
  [...Object.keys(a), ...Object.keys(b)].find((k) => at(a, k) !== at(b, k))
