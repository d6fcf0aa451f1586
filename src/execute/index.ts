/**
 * `outlast/execute`: `eth_call` and `eth_estimateGas` answered by running the call locally, in
 * `@ethereumjs/evm`, over state proven against a trusted header's `stateRoot`. The source says
 * which accounts and slots the call touches (`eth_createAccessList`, a hint only), proves each
 * with `eth_getProof`, and anything else the execution touches is proven when it is touched, so
 * no answer is ever computed over unproven state. A source whose proofs fail is a liar.
 *
 *   import { proofs } from 'outlast/proofs'
 *   import { execute } from 'outlast/execute'
 *   createOutlast({ chainId: 1, sources, prover: [proofs(), execute()] })
 */
import { Hardfork } from '@ethereumjs/common'
import { bytesToHex } from '@ethereumjs/util'
import { checkNumber, checkObject, checkOneOf, ms, whole } from '../core/options.ts'
import type { Prover, ProverCall, ProverContext } from '../core/prover.ts'
import type { TrustedHeader } from '../core/trust.ts'
import { RpcResponseError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import { blobFeeOf, hardforksOf, txGasCap } from './blockContext.ts'
import { readCallRequest } from './callRequest.ts'
import { estimateGas } from './estimate.ts'
import { createExecutor, type Outcome } from './executor.ts'
import { limit } from './limit.ts'
import { provenReads, type ReadSet } from './provenReads.ts'
import { revertError } from './revert.ts'
import { UnprovableError } from './unprovable.ts'

export type ExecuteOptions = {
  /** Chain id for CHAINID and the fork schedule (a positive integer). @default the client's `chainId` (else the source's `eth_chainId`) */
  chainId?: number
  /** Hardfork whose rules calls run under (`'prague'`, `'osaka'`...: a name `@ethereumjs/common` knows). @default by timestamp on chains `@ethereumjs/common` knows, else every fork the header's fields allow (Prague and Osaka: the call runs under both and is proven only where they agree). Named, it also sets the blob fee schedule (BLOBBASEFEE) */
  hardfork?: string
  /** EVM time for one answer (all of an estimate's runs; proofs awaited from the source do not count) before the call is left to quorum, in whole ms (1 to 2^31 − 1). @default 1_000 */
  maxExecutionMs?: number
  /** Proof and code requests in flight at once to the source, 1 to 1_024. @default 16 */
  concurrency?: number
  /** `eth_estimateGas` stops when (hi - lo) / hi is below this (0 to 1); geth's RPC uses 0.015. @default 0 (the least gas, exactly) */
  estimateErrorRatio?: number
}

/** Accounts and slots taken from a hint at most; beyond, what is touched is proven on demand. */
const MAX_HINT = 1_024

const METHODS: ReadonlySet<string> = new Set(['eth_call', 'eth_estimateGas'])

const keys = Object.keys({
  chainId: true,
  hardfork: true,
  maxExecutionMs: true,
  concurrency: true,
  estimateErrorRatio: true,
} satisfies { [K in keyof Required<ExecuteOptions>]: true })

/** The options, checked: a `ConfigError` naming the option, at construction rather than per call. */
function checkOptions(options: unknown): ExecuteOptions {
  const where = 'execute()'
  const o = checkObject(where, '', options, keys) ?? {}
  checkNumber(where, 'chainId', o.chainId, whole(1))
  checkOneOf(where, 'hardfork', o.hardfork, Object.values(Hardfork))
  checkNumber(where, 'maxExecutionMs', o.maxExecutionMs, ms(1))
  checkNumber(where, 'concurrency', o.concurrency, whole(1, 1_024))
  checkNumber(where, 'estimateErrorRatio', o.estimateErrorRatio, { min: 0, max: 1 })
  return { ...o }
}

/** A prover for `eth_call` and `eth_estimateGas` by local execution over proven state. */
export function execute(options: ExecuteOptions = {}): Prover {
  const o = checkOptions(options)
  return {
    methods: METHODS,
    stateMethods: METHODS,
    // The access-list hint, then the proofs (and any proven on demand).
    roundTrips: () => 2,
    async answer(method, params, ctx) {
      if (!METHODS.has(method) || !ctx.header) return undefined
      try {
        return await answer(method, params, ctx.header, ctx, o)
      } catch (error) {
        if (error instanceof UnprovableError) return undefined
        throw error
      }
    },
  }
}

async function answer(
  method: string,
  params: readonly unknown[],
  header: TrustedHeader,
  ctx: ProverContext,
  options: ExecuteOptions,
): Promise<Hex> {
  const raw = header.raw
  const baseFee = raw.baseFeePerGas === undefined ? undefined : BigInt(String(raw.baseFeePerGas))
  const tx = readCallRequest(params, baseFee)
  const call = limit(options.concurrency ?? 16, provingCall(ctx.call))
  const reads = provenReads({ block: header, call })

  // Everything at once: the chain id, the source's hint, and the accounts any call touches
  // (the sender and coinbase are rarely contracts: their code, if any, is asked when needed).
  const touched: ReadSet = [
    ...(tx.to ? [{ address: tx.to, storageKeys: [] }] : []),
    ...tx.accessList,
  ]
  const payers: ReadSet = [tx.from, String(raw.miner) as Hex].map((address) => ({
    address,
    storageKeys: [],
  }))
  const [chainId, hint] = await Promise.all([
    options.chainId ??
      ctx.chainId ??
      call('eth_chainId', []).then((id) => Number(BigInt(String(id)))),
    accessHint(params[0], header, ctx.call),
    reads.prefetch(touched),
    reads.prefetch(payers, { code: false }),
  ])
  await reads.prefetch(hint)
  if (tx.chainId !== undefined && tx.chainId !== BigInt(chainId))
    throw new UnprovableError(`The call names chain ${tx.chainId}, not ${chainId}.`)

  const hardforks = options.hardfork ? [options.hardfork] : hardforksOf(raw, chainId)
  const executor = createExecutor({
    header,
    reads,
    trusted: ctx.trusted,
    chainId,
    hardforks,
    blobBaseFee: blobFeeOf(header, chainId, options.hardfork),
    maxExecutionMs: options.maxExecutionMs ?? 1_000,
    signal: ctx.signal,
  })
  const blockGasLimit = BigInt(String(raw.gasLimit))
  if (method === 'eth_call') {
    const outcome = await executor.run(tx, tx.gas ?? blockGasLimit)
    if (outcome.kind === 'success') return bytesToHex(outcome.returnValue)
    return failure(outcome)
  }
  const estimate = await estimateGas(executor, tx, {
    blockGasLimit,
    txGasCap: txGasCap(chainId, hardforks),
    balance: (await reads.account(tx.from))?.balance ?? 0n,
    toIsCodeless: tx.to !== undefined && (await reads.code(tx.to)) === '0x',
    ...(options.estimateErrorRatio ? { errorRatio: options.estimateErrorRatio } : {}),
  })
  if (estimate.kind === 'gas') return `0x${estimate.gas.toString(16)}`
  return failure(estimate.outcome)
}

/**
 * A revert is an answer (JSON-RPC error 3, as a node gives it). Other failures (out of gas,
 * insufficient funds...) are worded differently by each client: left to the quorum.
 */
function failure(outcome: Exclude<Outcome, { kind: 'success' }>): never {
  if (outcome.kind === 'revert') throw revertError(outcome.returnValue)
  const reason = outcome.kind === 'halt' ? outcome.error : outcome.reason
  throw new UnprovableError(`The call failed locally (${reason}); each client words that itself.`)
}

/** The source's calls for proofs: a JSON-RPC error (no eth_getProof, pruned state) means it cannot prove. */
function provingCall(call: ProverCall): ProverCall {
  return (method, params) =>
    call(method, params).catch((error: unknown) => {
      if (error instanceof RpcResponseError)
        throw new UnprovableError(`The source cannot prove state: ${error.shortMessage}`, {
          cause: error,
        })
      throw error
    })
}

/**
 * What the call will touch, as the source sees it (`eth_createAccessList`). Only a hint: a wrong
 * or missing one costs round trips, never correctness. By block hash, else by number.
 */
async function accessHint(call: unknown, header: TrustedHeader, ask: ProverCall): Promise<ReadSet> {
  const number = `0x${header.number.toString(16)}`
  const result = await ask('eth_createAccessList', [call, { blockHash: header.hash }])
    .catch(() => ask('eth_createAccessList', [call, number]))
    .catch(() => undefined)
  const list = (result as { accessList?: unknown } | undefined)?.accessList
  if (!Array.isArray(list)) return []
  const hint: { address: Hex; storageKeys: Hex[] }[] = []
  let room = MAX_HINT
  for (const item of list as { address?: unknown; storageKeys?: unknown }[]) {
    if (room <= 0) break
    if (typeof item?.address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(item.address)) continue
    const keys = Array.isArray(item.storageKeys) ? item.storageKeys : []
    const storageKeys = keys
      .filter((k): k is Hex => typeof k === 'string' && /^0x[0-9a-fA-F]{64}$/.test(k))
      .slice(0, room - 1)
    room -= 1 + storageKeys.length
    hint.push({ address: item.address as Hex, storageKeys })
  }
  return hint
}
