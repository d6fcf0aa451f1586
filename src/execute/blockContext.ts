/**
 * What the EVM knows about the block it runs in, all of it from the trusted header: number,
 * timestamp, base fee, coinbase, prevRandao, gas limit, blob base fee, the rules (hardfork) in
 * force, and BLOCKHASH of ancestors through trusted headers.
 */
import { Common, createCustomCommon, Holesky, Hoodi, Mainnet, Sepolia } from '@ethereumjs/common'
import type { EVMMockBlockchainInterface, EVMRunCallOpts } from '@ethereumjs/evm'
import { Address, hexToBytes } from '@ethereumjs/util'
import type { TrustedHeader } from '../core/trust.ts'
import { BLOB_FRACTION, blobBaseFee, blobFee } from '../verify/blobFee.ts'
import { UnprovableError } from './unprovable.ts'

type Block = NonNullable<EVMRunCallOpts['block']>

const KNOWN_CHAINS = [Mainnet, Sepolia, Holesky, Hoodi]

/**
 * The rules the block may have been made under. On chains `@ethereumjs/common` knows (mainnet,
 * Sepolia, Holesky, Hoodi), one: by the header's timestamp. Elsewhere, the forks the header's
 * fields allow: forks that add no header field (Osaka after Prague) cannot be told apart, so
 * both are given (the executor answers only where they agree); `execute({ hardfork })` names one.
 */
export function hardforksOf(
  header: Readonly<Record<string, unknown>>,
  chainId: number,
): readonly string[] {
  const known = KNOWN_CHAINS.find((c) => c.chainId === chainId)
  if (known) {
    const common = new Common({ chain: known })
    return [
      common.getHardforkBy({
        blockNumber: BigInt(String(header.number)),
        timestamp: BigInt(String(header.timestamp)),
      }),
    ]
  }
  // `!= null`: a field a source sent as null is absent (the header's hash counts it so).
  if (header.requestsHash != null) return ['prague', 'osaka']
  if (header.parentBeaconBlockRoot != null) return ['cancun']
  if (header.withdrawalsRoot != null) return ['shanghai']
  if (header.baseFeePerGas != null)
    return [BigInt(String(header.difficulty ?? 0)) === 0n ? 'paris' : 'london']
  throw new UnprovableError('the block predates EIP-1559 (London): not executed locally')
}

/** `@ethereumjs/common` for `chainId` under `hardfork`. */
export function commonFor(chainId: number, hardfork: string): Common {
  const known = KNOWN_CHAINS.find((c) => c.chainId === chainId)
  return known
    ? new Common({ chain: known, hardfork })
    : createCustomCommon({ chainId }, Mainnet, { hardfork })
}

/**
 * EIP-7825 (Osaka): the most gas a transaction may carry, 2^24, when any of `hardforks` caps it
 * (the strictest rule: an estimate above it is then left to the quorum, not proven).
 */
export function txGasCap(chainId: number, hardforks: readonly string[]): bigint | undefined {
  return hardforks.some((h) => commonFor(chainId, h).isActivatedEIP(7825)) ? 2n ** 24n : undefined
}

/** The header as `@ethereumjs/evm` wants it; BLOBBASEFEE asks `blobBaseFee` (`blobFeeOf`). */
export function evmBlock(header: TrustedHeader, blobBaseFee: () => bigint | undefined): Block {
  const raw = header.raw
  const big = (field: string) => BigInt(String(raw[field]))
  return {
    header: {
      number: BigInt(header.number),
      coinbase: new Address(hexToBytes(String(raw.miner) as `0x${string}`)),
      timestamp: big('timestamp'),
      difficulty: big('difficulty'),
      prevRandao: hexToBytes(String(raw.mixHash) as `0x${string}`),
      gasLimit: big('gasLimit'),
      baseFeePerGas: raw.baseFeePerGas === undefined ? undefined : big('baseFeePerGas'),
      getBlobGasPrice: blobBaseFee,
    },
  }
}

/**
 * BLOBBASEFEE at the block: under the fork `execute({ hardfork })` names, else by the chain's
 * blob schedule (verify/blobFee.ts, as proven receipts' `blobGasPrice`). Where neither is known
 * (a chain outlast has no schedule for) a call that reads it is left to the quorum.
 */
export function blobFeeOf(
  header: TrustedHeader,
  chainId: number,
  hardfork: string | undefined,
): () => bigint | undefined {
  const raw = header.raw
  return () => {
    if (raw.excessBlobGas == null) return undefined
    const fraction = hardfork === undefined ? undefined : BLOB_FRACTION[hardfork]
    const fee =
      hardfork === undefined
        ? blobBaseFee(raw, chainId)
        : fraction && blobFee(BigInt(String(raw.excessBlobGas)), fraction)
    if (fee === undefined)
      throw new UnprovableError(
        `BLOBBASEFEE: no blob fee schedule for chain ${chainId}${hardfork ? ` under ${hardfork}` : ''}; execute({ hardfork }) names the fork`,
      )
    return fee
  }
}

/**
 * BLOCKHASH for the 256 ancestors: the parent hash is in the trusted header; older ones come
 * from trusted ancestors (`trusted(parentHash)` walks down by parent hashes). An ancestor that
 * cannot be trusted stops the execution: the call is not proven.
 */
export function ancestorHashes(
  header: TrustedHeader,
  trusted: (hash: string) => Promise<TrustedHeader | undefined>,
  signal?: AbortSignal,
): EVMMockBlockchainInterface {
  // number → hash of that block, as far down as walked.
  const known = new Map<number, string>([[header.number - 1, header.parentHash]])
  let lowest = header
  const walk = async (n: number) => {
    while (!known.has(n)) {
      // Up to 256 headers, one after another: none once the engine gave up on the answer.
      if (signal?.aborted)
        throw new UnprovableError('Local execution cancelled: another source answered.')
      const parent = await trusted(lowest.parentHash)
      if (!parent || parent.number !== lowest.number - 1)
        throw new UnprovableError(`BLOCKHASH(${n}): block ${lowest.number - 1} is not trusted`)
      lowest = parent
      known.set(parent.number - 1, parent.parentHash)
    }
    return known.get(n)!
  }
  const chain: EVMMockBlockchainInterface = {
    async getBlock(n: number) {
      const hash = hexToBytes((await walk(n)) as `0x${string}`)
      return { hash: () => hash }
    },
    async putBlock() {},
    shallowCopy: () => chain,
  }
  return chain
}
