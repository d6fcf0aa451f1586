/** Receipts proven by rebuilding a trusted block's receipts trie against its `receiptsRoot`. */
import { canonical } from '../core/canonical.ts'
import type { ProverContext } from '../core/prover.ts'
import type { TrustedHeader } from '../core/trust.ts'
import type { Hex } from '../shared/types.ts'
import { mismatch } from '../verify/errors.ts'
import { type ReceiptsHeader, type RpcReceipt, verifyReceipts } from '../verify/receipts.ts'
import type { RpcTransaction } from '../verify/transaction.ts'
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
  checkDerivedFields(proven, header, tx, signer!, '')
  return proven
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

/**
 * Fields of a receipt that no trie covers, checked against what is proven: `to` against its
 * proven transaction, `from` against the sender its signature recovers, `contractAddress`
 * against the address that sender's nonce creates (none when the transaction has a `to`),
 * `effectiveGasPrice` computed from the transaction and the header's base fee, `blockTimestamp`
 * against the header. `at` prefixes the field names (`receipts[3].`).
 */
function checkDerivedFields(
  receipt: RpcReceipt & Record<string, unknown>,
  header: TrustedHeader,
  tx: RpcTransaction,
  { sender, created }: { sender: Hex; created: Hex | null },
  at: string,
) {
  const to = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : null)
  if (to(receipt.to) !== to(tx.to))
    mismatch(`${at}to`, 'is not its transaction’s', receipt.to, tx.to)
  if (receipt.from != null && to(receipt.from) !== sender)
    mismatch(
      `${at}from`,
      'is not the sender its transaction’s signature recovers',
      receipt.from,
      sender,
    )
  if (receipt.contractAddress !== undefined && to(receipt.contractAddress) !== created)
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
  if (receipt.effectiveGasPrice != null) {
    const price = effectiveGasPrice(tx, raw.baseFeePerGas)
    if (price !== undefined && BigInt(String(receipt.effectiveGasPrice)) !== price)
      mismatch(
        `${at}effectiveGasPrice`,
        'is not what its transaction paid',
        receipt.effectiveGasPrice,
        price,
      )
  }
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
  both.receipts.forEach((r, i) => {
    checkDerivedFields(r, header, txs[i]!, all[i]!, `receipts[${i}].`)
  })
  return both.receipts
}
