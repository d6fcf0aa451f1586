/** Receipts proven by rebuilding a trusted block's receipts trie against its `receiptsRoot`. */
import { canonical } from '../core/canonical.ts'
import type { ProverContext } from '../core/prover.ts'
import type { TrustedHeader } from '../core/trust.ts'
import type { Hex } from '../shared/types.ts'
import { blobBaseFee, blobGasUsed } from '../verify/blobFee.ts'
import { mismatch } from '../verify/errors.ts'
import { malformed, quantity } from '../verify/fields.ts'
import {
  outcomeField,
  type ReceiptsHeader,
  type RpcLog,
  type RpcReceipt,
  verifyReceipts,
} from '../verify/receipts.ts'
import { type RpcTransaction, toBigInt } from '../verify/transaction.ts'
import { checkBlockTimestamp, effectiveGasPrice } from '../verify/trie.ts'
import { fullBlockByHash, provenSenders } from './blocks.ts'
import { isHash } from './blockTag.ts'

/** A header record (trusted, or chained to a trusted one) as `verifyReceipts` wants it. */
export const receiptsHeader = (h: TrustedHeader | Record<string, unknown>): ReceiptsHeader => ({
  receiptsRoot: String(h.receiptsRoot) as Hex,
  logsBloom: String(h.logsBloom) as Hex,
  hash: String(h.hash) as Hex,
  number: (typeof h.number === 'number' ? `0x${h.number.toString(16)}` : String(h.number)) as Hex,
})

/**
 * A block's receipts (`eth_getBlockReceipts`) from the source, checked against the header;
 * undefined when the source has none for it (a pruned node: nothing to prove with).
 */
export async function provenReceipts(
  ctx: ProverContext,
  header: TrustedHeader | Record<string, unknown>,
): Promise<RpcReceipt[] | undefined> {
  return (await provenBlockReceipts(ctx, header))?.receipts
}

/**
 * The receipts trie commits to each receipt's place, not to its transaction: the block's
 * transaction list, proven against `transactionsRoot`, binds receipt i to transaction i.
 */
async function provenBlockReceipts(
  ctx: ProverContext,
  header: TrustedHeader | Record<string, unknown>,
) {
  const [receipts, block] = await Promise.all([
    ctx.call('eth_getBlockReceipts', [header.hash]) as Promise<RpcReceipt[] | null>,
    fullBlockByHash(String(header.hash), ctx),
  ])
  if (receipts === null || !block) return undefined
  await verifyReceipts(receipts, { ...receiptsHeader(header), transactions: block.transactions })
  return { receipts, block }
}

/** `eth_getTransactionReceipt`: the receipt must be the same one in its block's proven receipts. */
export async function proveReceipt(params: readonly unknown[], ctx: ProverContext) {
  const receipt = (await ctx.call('eth_getTransactionReceipt', [params[0]])) as RpcReceipt | null
  if (receipt === null) return undefined // "not found" cannot be proven: it needs agreement
  const header = await ctx.trusted(receipt.blockHash)
  if (!header) return undefined
  const both = await provenBlockReceipts(ctx, header)
  if (!both) return undefined
  const proven = both.receipts.find(
    (r) => r.transactionHash?.toLowerCase() === String(params[0]).toLowerCase(),
  )
  if (!proven) mismatch('receipt', `is not among the block's receipts`)
  if (canonical(proven) !== canonical(receipt))
    mismatch('receipt', 'differs from the same receipt in the proven block receipts')
  const tx = transactionOf(proven, both.block.transactions, '')
  const [signer] = await signers([tx], () => 'transaction.from')
  return checkedReceipt(proven, { header, tx, signer: signer!, chainId: ctx.chainId }, '')
}

/**
 * Each proven transaction's sender, recovered (its `from` checked), and the address a creation
 * (no `to`) deploys to. The sender code is loaded on demand, outside the `outlast/proofs` entry.
 */
async function signers(txs: readonly RpcTransaction[], field: (i: number) => string) {
  const senders = await provenSenders(txs, field)
  const { createAddress } = await import('../verify/sender.ts') // loaded by provenSenders
  return senders.map((sender, i) => ({
    sender,
    created: txs[i]!.to == null ? createAddress(sender, txs[i]!.nonce) : null,
  }))
}

/** The proven transaction a receipt stands for: the block's entry at its `transactionIndex`. */
function transactionOf(receipt: RpcReceipt, transactions: readonly RpcTransaction[], at: string) {
  const tx = transactions[Number(receipt.transactionIndex)]
  if (!tx)
    mismatch(`${at}transactionIndex`, 'is not a position in its block', receipt.transactionIndex)
  return tx
}

/** What a receipt's fields outside its trie are checked against. */
type Proven = {
  header: TrustedHeader
  /** Its transaction, proven against the header's `transactionsRoot`. */
  tx: RpcTransaction
  /** Its recovered sender, and the address a creation deploys to. */
  signer: { sender: Hex; created: Hex | null }
  chainId: number | undefined
}

/** A receipt in proven block receipts, its other fields checked, with only what was checked. */
function checkedReceipt(receipt: RpcReceipt, proven: Proven, at: string) {
  checkDerivedFields(receipt, proven, at)
  return provenOnly(receipt, checkedFees(receipt, proven, at))
}

/**
 * Fields of a receipt that no trie covers, checked against what is proven: `to` against its
 * proven transaction, `from` against the sender its signature recovers, `contractAddress`
 * against the address that sender's nonce creates (none when the transaction has a `to`),
 * `blockTimestamp` against the header. `at` prefixes the field names (`receipts[3].`).
 */
function checkDerivedFields(
  receipt: RpcReceipt & Record<string, unknown>,
  { header, tx, signer: { sender, created } }: Proven,
  at: string,
) {
  const to = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : null)
  // Every client sends `from` and `contractAddress` (null when nothing was created): one left
  // out would be returned proven without it.
  if (receipt.from == null) malformed(`${at}from`, 'the sender, an address', receipt.from)
  if (receipt.contractAddress === undefined)
    malformed(`${at}contractAddress`, 'an address or null', receipt.contractAddress)
  if (to(receipt.to) !== to(tx.to))
    mismatch(`${at}to`, 'is not its transaction’s', receipt.to, tx.to)
  if (to(receipt.from) !== sender)
    mismatch(
      `${at}from`,
      'is not the sender its transaction’s signature recovers',
      receipt.from,
      sender,
    )
  if (to(receipt.contractAddress) !== created)
    mismatch(
      `${at}contractAddress`,
      'is not the address its transaction creates',
      receipt.contractAddress,
      created,
    )
  const raw = header.raw as Record<string, unknown>
  checkBlockTimestamp(receipt, raw.timestamp, `${at}blockTimestamp`)
  const logs = Array.isArray(receipt.logs) ? receipt.logs : []
  for (const [i, log] of logs.entries())
    checkBlockTimestamp(log, raw.timestamp, `${at}logs[${i}].blockTimestamp`)
}

/**
 * A receipt's fee fields as its proven transaction and header give them: `effectiveGasPrice`
 * (with the base fee), `blobGasUsed` (its blobs), `blobGasPrice` (the header's blob base fee).
 * One the source sent that differs is a lie; one that cannot be derived is dropped; none is
 * added, as nodes differ: anvil sends `blobGasPrice` on every receipt once blobs exist, geth and
 * reth on blob transactions only.
 */
function checkedFees(receipt: RpcReceipt, { header, tx, chainId }: Proven, at: string) {
  const derived = {
    effectiveGasPrice: effectiveGasPrice(tx, header.raw.baseFeePerGas),
    blobGasUsed: blobGasUsed(tx),
    blobGasPrice: blobBaseFee(header.raw, chainId),
  }
  const fees: Record<string, Hex> = {}
  for (const [field, value] of Object.entries(derived)) {
    const claimed = (receipt as Record<string, unknown>)[field]
    if (value === undefined) continue
    // Every client sends `effectiveGasPrice`: one left out is given as derived.
    if (claimed == null && field !== 'effectiveGasPrice') continue
    if (claimed == null) {
      fees[field] = `0x${value.toString(16)}`
      continue
    }
    if (toBigInt(quantity(claimed, `${at}${field}`)) !== value)
      mismatch(`${at}${field}`, 'is not what its transaction and block give', claimed, value)
    fees[field] = `0x${value.toString(16)}`
  }
  return fees
}

/** Receipt fields checked by the trie, by `verifyReceipts` (place, gas) or `checkDerivedFields`. */
const CHECKED = [
  'type',
  'cumulativeGasUsed',
  'gasUsed',
  'logsBloom',
  'transactionHash',
  'transactionIndex',
  'blockHash',
  'blockNumber',
  'from',
  'to',
  'contractAddress',
  'blockTimestamp',
] as const
/** A log's fields: its trie's (address, topics, data) and its place, checked against the block. */
const CHECKED_LOG = [
  'address',
  'topics',
  'data',
  'blockHash',
  'blockNumber',
  'transactionHash',
  'transactionIndex',
  'logIndex',
  'blockTimestamp',
] as const

/** Where a receipt's `null` was checked as such: `to` (a creation), `contractAddress` (none). */
const NULL_CHECKED = new Set(['to', 'contractAddress'])

/**
 * `o`'s `keys` that it has. A `null` only where `NULL_CHECKED`: elsewhere the checks skip a
 * `null` (a field a node may leave out), so a source could blank a field and have it proven.
 */
const pick = (o: object, keys: readonly string[]) =>
  Object.fromEntries(
    keys
      .map((k) => [k, (o as Record<string, unknown>)[k]] as const)
      .filter(([k, v]) => v !== undefined && (v !== null || NULL_CHECKED.has(k))),
  )

/**
 * A proven receipt with only what a check covers: `CHECKED`, its outcome (the `root` its trie
 * holds before Byzantium, else `status`), its logs' `CHECKED_LOG` (and `removed`, false) and its
 * fees as derived. Whatever else a source adds (fields of one client or chain, invented ones)
 * nothing checked, so it is not returned as proven. A `status` beside a `root` is dropped, not
 * blamed: geth sends `root` alone, but Nethermind's receipt object always carries a `status`.
 */
/** A proven log with only what a check covers (`CHECKED_LOG`), and `removed: false`: it is in a proven block. */
export const provenLog = (log: RpcLog) => ({ ...pick(log, CHECKED_LOG), removed: false })

function provenOnly(receipt: RpcReceipt, fees: Record<string, Hex>): Record<string, unknown> {
  const outcome = outcomeField(receipt)
  const logs = receipt.logs.map(provenLog)
  return { ...pick(receipt, CHECKED), [outcome]: receipt[outcome], logs, ...fees }
}

/** `eth_getBlockReceipts` by block hash (or `{ blockHash }`) of a trusted block. */
export async function proveBlockReceipts(params: readonly unknown[], ctx: ProverContext) {
  const tag = params[0]
  const hash = isHash(tag)
    ? tag
    : tag && typeof tag === 'object' && 'blockHash' in tag
      ? String(tag.blockHash)
      : undefined
  if (!hash) return undefined
  const header = await ctx.trusted(hash)
  if (!header) return undefined
  const both = await provenBlockReceipts(ctx, header)
  if (!both) return undefined
  const txs = both.receipts.map((r, i) =>
    transactionOf(r, both.block.transactions, `receipts[${i}].`),
  )
  const all = await signers(txs, (i) => `transactions[${i}].from`)
  return both.receipts.map((r, i) =>
    checkedReceipt(
      r,
      { header, tx: txs[i]!, signer: all[i]!, chainId: ctx.chainId },
      `receipts[${i}].`,
    ),
  )
}
