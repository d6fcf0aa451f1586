/**
 * Runs a call as a transaction at the trusted block, in `@ethereumjs/evm` over proven state:
 * intrinsic gas first, the EIP-2929 warm set (sender, recipient, precompiles, coinbase, access
 * list), the message, then refunds (EIP-3529) and the calldata floor (EIP-7623), as geth's
 * state transition does for `eth_call`: no nonce check, no EOA check, gas bought at `gasPrice`.
 */
import { EVM, EVMError, NobleBN254 } from '@ethereumjs/evm'
import { Account, type Address, bytesToHex, createAddressFromString } from '@ethereumjs/util'
import type { TrustedHeader } from '../core/trust.ts'
import { ancestorHashes, commonFor, evmBlock } from './blockContext.ts'
import type { CallRequest } from './callRequest.ts'
import { feelessBaseFee } from './feelessBaseFee.ts'
import { intrinsicGas } from './intrinsic.ts'
import { type Pace, pace } from './pace.ts'
import type { ProvenReads } from './provenReads.ts'
import { provenState } from './provenState.ts'
import { UnprovableError } from './unprovable.ts'

export type Outcome =
  /** Ran to the end: the return data, gas used after refunds and the floor, and the refund. */
  | { kind: 'success'; returnValue: Uint8Array; gasUsed: bigint; refund: bigint }
  /** REVERT: the revert data. */
  | { kind: 'revert'; returnValue: Uint8Array; gasUsed: bigint }
  /** An exceptional halt: out of gas, invalid opcode, stack underflow... */
  | { kind: 'halt'; error: string; gasUsed: bigint }
  /** Not even started: gas below the intrinsic cost, or funds below gas * price + value. */
  | { kind: 'invalid'; reason: string }

export type Executor = {
  /** Runs `tx` with `gasLimit` from the state of the block (each run starts afresh). */
  run(tx: CallRequest, gasLimit: bigint): Promise<Outcome>
}

export type ExecutorOptions = {
  header: TrustedHeader
  reads: ProvenReads
  trusted: (hash: string) => Promise<TrustedHeader | undefined>
  chainId: number
  /** The forks the block may be under (blockContext.ts `hardforksOf`): the call runs under each. */
  hardforks: readonly string[]
  /** BLOBBASEFEE (blockContext.ts `blobFeeOf`). */
  blobBaseFee: () => bigint | undefined
  /** Wall time the executions of one answer may take in all before it is left to quorum. */
  maxExecutionMs: number
  /** Stops the execution when the engine no longer needs the answer. */
  signal?: AbortSignal | undefined
}

/** EIP-3529: at most a fifth of the gas used comes back. */
const MAX_REFUND_QUOTIENT = 5n

/**
 * One executor over the forks the block may be under: a run's outcome stands only when every
 * fork gives the same, else the call is left to the quorum. The forks share the proven state
 * and the time budget.
 */
export function createExecutor(o: ExecutorOptions): Executor {
  const clock = pace(o.maxExecutionMs, o.signal)
  const state = provenState(o.reads, clock.waiting)
  const block = evmBlock(o.header, o.blobBaseFee)
  const forks = o.hardforks.map((hardfork) => forkExecutor(o, hardfork, state, clock, block))
  return {
    async run(tx, gasLimit) {
      const first = await forks[0]!.run(tx, gasLimit)
      for (const fork of forks.slice(1))
        if (!sameOutcome(first, await fork.run(tx, gasLimit)))
          throw new UnprovableError(
            `The header does not tell ${o.hardforks.join(' from ')}, and the call's outcome differs between them: left to the quorum (execute({ hardfork }) names the fork).`,
          )
      return first
    },
  }
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  const bytes = (o: Outcome) => ('returnValue' in o ? bytesToHex(o.returnValue) : undefined)
  return (
    a.kind === b.kind &&
    bytes(a) === bytes(b) &&
    ('gasUsed' in a ? a.gasUsed : undefined) === ('gasUsed' in b ? b.gasUsed : undefined) &&
    ('refund' in a ? a.refund : undefined) === ('refund' in b ? b.refund : undefined) &&
    ('error' in a ? a.error : undefined) === ('error' in b ? b.error : undefined) &&
    ('reason' in a ? a.reason : undefined) === ('reason' in b ? b.reason : undefined)
  )
}

/** Runs a call under one fork's rules. */
function forkExecutor(
  o: ExecutorOptions,
  hardfork: string,
  state: ReturnType<typeof provenState>,
  clock: Pace,
  block: ReturnType<typeof evmBlock>,
): Executor {
  const common = commonFor(o.chainId, hardfork)
  const evm = new EVM({
    common,
    stateManager: state,
    blockchain: ancestorHashes(o.header, o.trusted, o.signal),
    bn254: new NobleBN254(),
    customOpcodes: [...clock.opcodes(common), feelessBaseFee],
    customPrecompiles: clock.precompiles(common),
  })

  const warm = (from: Address, to: Address | undefined, tx: CallRequest) => {
    const journal = evm.journal
    for (const address of evm.precompiles.keys()) journal.addAlwaysWarmAddress(address)
    journal.addAlwaysWarmAddress(from.toString())
    if (to) journal.addAlwaysWarmAddress(to.toString())
    if (common.isActivatedEIP(3651)) journal.addAlwaysWarmAddress(block.header.coinbase.toString())
    for (const { address, storageKeys } of tx.accessList) {
      journal.addAlwaysWarmAddress(address)
      for (const slot of storageKeys) journal.addAlwaysWarmSlot(address, slot)
    }
  }

  return {
    async run(tx, gasLimit) {
      const { gas: intrinsic, floor } = intrinsicGas(tx, common)
      if (gasLimit < intrinsic || gasLimit < floor)
        return { kind: 'invalid', reason: `intrinsic gas too low: ${gasLimit}` }
      state.reset()
      evm.journal.cleanJournal()
      evm.transientStorage.clear()
      const from = createAddressFromString(tx.from)
      const to = tx.to === undefined ? undefined : createAddressFromString(tx.to)

      // Gas is bought up front at gasPrice (free when no fee was given), as geth does.
      const sender = (await state.getAccount(from)) ?? new Account()
      if (sender.balance < gasLimit * tx.feeCap + tx.value)
        return { kind: 'invalid', reason: 'insufficient funds for gas * price + value' }
      if (tx.gasPrice > 0n) {
        sender.balance -= gasLimit * tx.gasPrice
        await state.putAccount(from, sender)
      }
      warm(from, to, tx)

      clock.start()
      const { execResult } = await evm
        .runCall({
          block,
          gasPrice: tx.gasPrice,
          caller: from,
          origin: from,
          gasLimit: gasLimit - intrinsic,
          ...(to ? { to } : {}),
          value: tx.value,
          data: tx.data,
        })
        .finally(clock.stop)
      // A read that failed its proof may have been taken for an EVM error inside the EVM.
      if (o.reads.failure !== undefined) throw o.reads.failure

      const used = intrinsic + execResult.executionGasUsed
      const error = execResult.exceptionError
      if (error?.error === EVMError.errorMessages.REVERT)
        return { kind: 'revert', returnValue: execResult.returnValue, gasUsed: used }
      if (error) return { kind: 'halt', error: error.error, gasUsed: used }
      const cap = used / MAX_REFUND_QUOTIENT
      const refund = (execResult.gasRefund ?? 0n) < cap ? (execResult.gasRefund ?? 0n) : cap
      const gasUsed = used - refund < floor ? floor : used - refund
      return { kind: 'success', returnValue: execResult.returnValue, gasUsed, refund }
    },
  }
}
