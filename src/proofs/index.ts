/**
 * `outlast/proofs`: answers from Merkle proofs instead of agreement, so one honest source is
 * enough. Account and storage reads are checked with `eth_getProof` against a trusted header's
 * `stateRoot`; receipts by rebuilding the block's receipts trie against `receiptsRoot`.
 * It lives behind its own subpath because the Merkle-Patricia code (`@ethereumjs/mpt`) is
 * larger than the rest of outlast.
 *
 *   import { proofs } from 'outlast/proofs'
 *   createOutlast({ chainId: 1, sources, prover: proofs() })
 */
import { canonical } from '../core/canonical.ts'
import type { Prover, ProverContext } from '../core/prover.ts'
import type { TrustedHeader } from '../core/trust.ts'
import { mismatch } from '../verify/errors.ts'
import {
  type ProvableMethod,
  proofParams,
  provableMethods,
  provenAnswer,
  type RpcProof,
} from '../verify/proof.ts'
import {
  type LogFilter,
  type RpcLog,
  type RpcReceipt,
  verifyLogsAgainstReceipts,
  verifyReceipts,
} from '../verify/receipts.ts'

const RECEIPT_METHODS = ['eth_getTransactionReceipt', 'eth_getBlockReceipts', 'eth_getLogs']

/**
 * A prover for `eth_getBalance`, `eth_getTransactionCount`, `eth_getCode`, `eth_getStorageAt`,
 * receipts, and `eth_getLogs` for one block (`{ blockHash }` filters, as subscriptions use).
 */
export function proofs(): Prover {
  return {
    methods: new Set([...provableMethods, ...RECEIPT_METHODS]),
    stateMethods: provableMethods,
    answer(method, params, ctx) {
      if (provableMethods.has(method)) return proveState(method as ProvableMethod, params, ctx)
      if (method === 'eth_getTransactionReceipt') return proveReceipt(params, ctx)
      if (method === 'eth_getBlockReceipts') return proveBlockReceipts(params, ctx)
      if (method === 'eth_getLogs') return proveBlockLogs(params, ctx)
      return Promise.resolve(undefined)
    },
  }
}

async function proveState(method: ProvableMethod, params: readonly unknown[], ctx: ProverContext) {
  const header = ctx.header
  if (!header) return undefined
  const at = { blockHash: header.hash }
  const proof = (await ctx.call('eth_getProof', proofParams(method, params, at))) as RpcProof
  const code =
    method === 'eth_getCode'
      ? ((await ctx.call('eth_getCode', [params[0], at])) as `0x${string}`)
      : undefined
  return provenAnswer(method, params, proof, header.stateRoot, code)
}

async function proveReceipt(params: readonly unknown[], ctx: ProverContext) {
  const receipt = (await ctx.call('eth_getTransactionReceipt', [params[0]])) as RpcReceipt | null
  if (receipt === null) return undefined // "not found" cannot be proven: it needs agreement
  const header = await ctx.trusted(receipt.blockHash)
  if (!header) return undefined
  const all = (await ctx.call('eth_getBlockReceipts', [receipt.blockHash])) as RpcReceipt[]
  await verifyReceipts(all, receiptsHeader(header))
  const proven = all.find(
    (r) => r.transactionHash?.toLowerCase() === String(params[0]).toLowerCase(),
  )
  if (!proven) mismatch('receipt', `is not among the block's receipts`)
  if (canonical(proven) !== canonical(receipt))
    mismatch('receipt', 'differs from the same receipt in the proven block receipts')
  return proven
}

async function proveBlockReceipts(params: readonly unknown[], ctx: ProverContext) {
  const tag = params[0]
  const hash =
    typeof tag === 'string' && tag.length === 66
      ? tag
      : tag && typeof tag === 'object' && 'blockHash' in tag
        ? String(tag.blockHash)
        : undefined
  if (!hash) return undefined
  const header = await ctx.trusted(hash)
  if (!header) return undefined
  const all = (await ctx.call('eth_getBlockReceipts', [hash])) as RpcReceipt[]
  await verifyReceipts(all, receiptsHeader(header))
  return all
}

const receiptsHeader = (h: TrustedHeader) => ({
  receiptsRoot: h.receiptsRoot,
  logsBloom: h.logsBloom,
  hash: h.hash,
  number: `0x${h.number.toString(16)}` as const,
})

/**
 * `eth_getLogs` with a `blockHash` filter: the answer must be exactly the matching logs of the
 * block's receipts, which are proven against its receiptsRoot (none dropped, added or altered).
 * Ranges fall back to quorum.
 */
async function proveBlockLogs(params: readonly unknown[], ctx: ProverContext) {
  const filter = params[0] as
    | { blockHash?: unknown; address?: unknown; topics?: unknown }
    | undefined
  if (!filter || typeof filter.blockHash !== 'string') return undefined
  const header = await ctx.trusted(filter.blockHash)
  if (!header) return undefined
  const logs = (await ctx.call('eth_getLogs', [filter])) as RpcLog[]
  const receipts = (await ctx.call('eth_getBlockReceipts', [header.hash])) as RpcReceipt[]
  await verifyReceipts(receipts, receiptsHeader(header))
  verifyLogsAgainstReceipts(logs, [receipts], filter as LogFilter)
  return logs
}
