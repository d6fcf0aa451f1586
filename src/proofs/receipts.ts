/** Receipts proven by rebuilding a trusted block's receipts trie against its `receiptsRoot`. */
import { canonical } from '../core/canonical.ts'
import type { ProverContext } from '../core/prover.ts'
import type { TrustedHeader } from '../core/trust.ts'
import type { Hex } from '../core/types.ts'
import { mismatch } from '../verify/errors.ts'
import { type ReceiptsHeader, type RpcReceipt, verifyReceipts } from '../verify/receipts.ts'
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
  const all = (await ctx.call('eth_getBlockReceipts', [header.hash])) as RpcReceipt[] | null
  if (all === null) return undefined
  await verifyReceipts(all, receiptsHeader(header))
  return all
}

/** `eth_getTransactionReceipt`: the receipt must be the same one in its block's proven receipts. */
export async function proveReceipt(params: readonly unknown[], ctx: ProverContext) {
  const receipt = (await ctx.call('eth_getTransactionReceipt', [params[0]])) as RpcReceipt | null
  if (receipt === null) return undefined // "not found" cannot be proven: it needs agreement
  const header = await ctx.trusted(receipt.blockHash)
  if (!header) return undefined
  const all = await provenReceipts(ctx, header)
  if (!all) return undefined
  const proven = all.find(
    (r) => r.transactionHash?.toLowerCase() === String(params[0]).toLowerCase(),
  )
  if (!proven) mismatch('receipt', `is not among the block's receipts`)
  if (canonical(proven) !== canonical(receipt))
    mismatch('receipt', 'differs from the same receipt in the proven block receipts')
  return proven
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
  return provenReceipts(ctx, header)
}
