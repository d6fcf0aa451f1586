/**
 * `outlast/proofs`: answers from Merkle proofs instead of agreement, so one honest source is
 * enough. Account and storage reads are checked with `eth_getProof` against a trusted header's
 * `stateRoot`; receipts and logs by rebuilding blocks' receipts tries against `receiptsRoot`;
 * full blocks and transactions against `transactionsRoot` and `withdrawalsRoot`.
 * It lives behind its own subpath because the Merkle-Patricia code (`@ethereumjs/mpt`) is
 * larger than the rest of outlast.
 *
 *   import { proofs } from 'outlast/proofs'
 *   createOutlast({ chainId: 1, sources, prover: proofs() })
 */
import { checkNumber, checkObject, whole } from '../core/options.ts'
import type { Prover, ProverContext } from '../core/prover.ts'
import { UnsupportedTypeError } from '../verify/errors.ts'
import { type ProvableMethod, provableMethods } from '../verify/proof.ts'
import {
  proveBlockByHash,
  proveBlockByNumber,
  proveTransaction,
  proveTransactionAt,
} from './blocks.ts'
import { type LogRangeOptions, proveLogs } from './logs.ts'
import { proveBlockReceipts, proveReceipt } from './receipts.ts'
import { proveProof, proveState } from './state.ts'

export type ProofsOptions = {
  /** Longest `eth_getLogs` block range proven, in blocks (0 to 100_000; 0 proves `blockHash` filters only); longer ranges are left to quorum. @default 1_000 */
  maxLogRange?: number
  /** Requests in flight at once to the source while proving a log range (headers, receipts), 1 to 1_024. @default 8 */
  concurrency?: number
}

const keys: readonly (keyof ProofsOptions)[] = ['maxLogRange', 'concurrency']
/** A range's headers are all held at once: this many is well over 100 MB. */
const MAX_LOG_RANGE = 100_000
/** Requests in flight at once to one source. */
const MAX_CONCURRENCY = 1_024

type Answer = (
  params: readonly unknown[],
  ctx: ProverContext,
  o: LogRangeOptions,
) => Promise<unknown>

const answers: Readonly<Record<string, Answer>> = {
  eth_getTransactionReceipt: proveReceipt,
  eth_getBlockReceipts: proveBlockReceipts,
  eth_getLogs: proveLogs,
  eth_getBlockByHash: proveBlockByHash,
  eth_getBlockByNumber: proveBlockByNumber,
  eth_getTransactionByHash: proveTransaction,
  eth_getTransactionByBlockHashAndIndex: proveTransactionAt,
  eth_getTransactionByBlockNumberAndIndex: proveTransactionAt,
}

/** Reads of a pinned block's state: those a proof answers, and `eth_getProof` itself. */
const STATE_METHODS: ReadonlySet<string> = new Set([...provableMethods, 'eth_getProof'])

/** Sequential requests to the source one answer takes (one round trip when not listed). */
const ROUND_TRIPS: Readonly<Record<string, number>> = {
  eth_getTransactionReceipt: 2, // the receipt, then its block and its receipts (at once)
  eth_getTransactionByHash: 2, // the transaction, then its block
  eth_getLogs: 3, // headers, receipts of bloom hits, the logs
}

/**
 * A prover for `eth_getBalance`, `eth_getTransactionCount`, `eth_getCode`, `eth_getStorageAt`, `eth_getProof` itself,
 * receipts, `eth_getLogs` (one block, or a range of up to `maxLogRange` blocks), blocks with
 * full transactions, and transactions. What it cannot prove (a `null`, a pending block, a
 * transaction type it cannot rebuild) it leaves to quorum.
 */
export function proofs(options: ProofsOptions = {}): Prover {
  const given = checkObject('proofs()', '', options, keys)
  const o: LogRangeOptions = {
    maxLogRange:
      checkNumber('proofs()', 'maxLogRange', given?.maxLogRange, whole(0, MAX_LOG_RANGE)) ?? 1_000,
    concurrency:
      checkNumber('proofs()', 'concurrency', given?.concurrency, whole(1, MAX_CONCURRENCY)) ?? 8,
  }
  return {
    methods: new Set([...STATE_METHODS, ...Object.keys(answers)]),
    stateMethods: STATE_METHODS,
    roundTrips: (method) => ROUND_TRIPS[method] ?? 1,
    // Senders are recovered with code loaded on first use (blocks, receipts).
    preload: () => import('../verify/sender.ts'),
    async answer(method, params, ctx) {
      try {
        if (method === 'eth_getProof') return await proveProof(params, ctx)
        if (provableMethods.has(method))
          return await proveState(method as ProvableMethod, params, ctx)
        return await answers[method]?.(params, ctx, o)
      } catch (error) {
        // Neither proven nor disproven (an L2 deposit, a future type): not the source's fault.
        if (error instanceof UnsupportedTypeError) return undefined
        throw error
      }
    },
  }
}
