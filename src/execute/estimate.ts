/**
 * `eth_estimateGas` as geth's `gasestimator` does it: the least gas limit with which the call
 * neither runs out of gas nor reverts, by binary search between the gas the unconstrained run
 * used and the most it may have (the gas asked for, or the block's gas limit, capped by what
 * the sender can pay), trying a transfer at 21000 and an optimistic guess first.
 */
import type { CallRequest } from './callRequest.ts'
import type { Executor, Outcome } from './executor.ts'

const TX_GAS = 21_000n
const CALL_STIPEND = 2_300n

export type Estimate =
  | { kind: 'gas'; gas: bigint }
  /** The run at the highest allowed gas limit failed: a revert, or the reason. */
  | { kind: 'failed'; outcome: Exclude<Outcome, { kind: 'success' }> }

export type EstimateOptions = {
  /** The block's gas limit: the most a call may have when it sets none. */
  blockGasLimit: bigint
  /** The most gas a transaction may carry (EIP-7825, from Osaka), if capped. */
  txGasCap?: bigint | undefined
  /** Whether `to` holds no code (a plain transfer is tried at 21000 first). */
  toIsCodeless: boolean
  /** The sender's balance, which caps the gas when a fee is set. */
  balance: bigint
  /** Stop when (hi - lo) / hi falls below this; 0 finds the exact least gas. @default 0 */
  errorRatio?: number
}

export async function estimateGas(
  executor: Executor,
  tx: CallRequest,
  o: EstimateOptions,
): Promise<Estimate> {
  const failed = (r: Outcome) => r.kind !== 'success'
  let hi = tx.gas !== undefined && tx.gas >= TX_GAS ? tx.gas : o.blockGasLimit
  if (o.txGasCap !== undefined && hi > o.txGasCap) hi = o.txGasCap
  if (tx.feeCap > 0n) {
    const available = o.balance - tx.value
    if (available < 0n)
      return {
        kind: 'failed',
        outcome: { kind: 'invalid', reason: 'insufficient funds for transfer' },
      }
    const allowance = available / tx.feeCap
    if (hi > allowance) hi = allowance
  }
  if (tx.data.length === 0 && tx.to !== undefined && o.toIsCodeless) {
    const plain = await executor.run(tx, TX_GAS)
    if (!failed(plain)) return { kind: 'gas', gas: TX_GAS }
  }
  const first = await executor.run(tx, hi)
  if (first.kind !== 'success') return { kind: 'failed', outcome: first }

  let lo = first.gasUsed - 1n
  const optimistic = ((first.gasUsed + first.refund + CALL_STIPEND) * 64n) / 63n
  if (optimistic < hi) {
    if (failed(await executor.run(tx, optimistic))) lo = optimistic
    else hi = optimistic
  }
  const ratio = o.errorRatio ?? 0
  while (lo + 1n < hi) {
    if (ratio > 0 && Number(hi - lo) / Number(hi) < ratio) break
    let mid = (hi + lo) / 2n
    // Most calls need little more than they used: search the low side first.
    if (mid > lo * 2n) mid = lo * 2n
    if (failed(await executor.run(tx, mid))) lo = mid
    else hi = mid
  }
  return { kind: 'gas', gas: hi }
}
