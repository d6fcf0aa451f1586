/**
 * Blob gas (EIP-4844): the blob base fee a header's `excessBlobGas` sets under its fork's update
 * fraction (EIP-7691, then the BPO forks), and the blob gas a transaction uses.
 */
import { quantity } from './fields.ts'
import { type RpcTransaction, toBigInt, transactionType } from './transaction.ts'

/** Blob gas per blob (GAS_PER_BLOB), the same in every fork so far. */
export const GAS_PER_BLOB = 131_072n

/** Blob base fee update fractions (EIP-4844, EIP-7691, then the BPO forks). */
export const BLOB_FRACTION: Readonly<Record<string, bigint>> = {
  cancun: 3338477n,
  prague: 5007716n,
  osaka: 5007716n,
  bpo1: 8346193n,
  bpo2: 11684671n,
}

/**
 * When each fork with blobs began (Unix seconds, newest first) on the chains `@ethereumjs/common`
 * knows, as it schedules them (blobFee.test.ts holds the two equal). `outlast/proofs` cannot load
 * that optional package; a fork scheduled later needs an entry here, as in `BLOB_FRACTION`.
 */
const SCHEDULES: Readonly<Record<number, readonly (readonly [number, string])[]>> = {
  1: [
    [1767747671, 'bpo2'],
    [1765290071, 'bpo1'],
    [1764798551, 'osaka'],
    [1746612311, 'prague'],
    [1710338135, 'cancun'],
  ],
  11155111: [
    [1761607008, 'bpo2'],
    [1761017184, 'bpo1'],
    [1760427360, 'osaka'],
    [1741159776, 'prague'],
    [1706655072, 'cancun'],
  ],
  17000: [
    [1760389824, 'bpo2'],
    [1759800000, 'bpo1'],
    [1759308480, 'osaka'],
    [1740434112, 'prague'],
    [1707305664, 'cancun'],
  ],
  560048: [
    [1762955544, 'bpo2'],
    [1762365720, 'bpo1'],
    [1761677592, 'osaka'],
    [1742999832, 'prague'],
    [0, 'cancun'],
  ],
}

/** EIP-4844's approximation of factor * e ** (numerator / denominator). */
function fakeExponential(factor: bigint, numerator: bigint, denominator: bigint): bigint {
  let i = 1n
  let output = 0n
  let accumulator = factor * denominator
  while (accumulator > 0n) {
    output += accumulator
    accumulator = (accumulator * numerator) / (denominator * i)
    i++
  }
  return output / denominator
}

/** The blob base fee that `excessBlobGas` sets under an update fraction (the minimum is 1 wei). */
export const blobFee = (excessBlobGas: bigint, fraction: bigint): bigint =>
  fakeExponential(1n, excessBlobGas, fraction)

/**
 * The update fraction of a header's block, by timestamp on the chains in `SCHEDULES`. Undefined
 * elsewhere: no header field tells Prague, Osaka and the BPO forks apart, and a chain may set
 * its own minimum blob base fee (Gnosis: 1 gwei), so nothing is derived there.
 */
function fractionOf(header: Readonly<Record<string, unknown>>, chainId: number | undefined) {
  const schedule = chainId === undefined ? undefined : SCHEDULES[chainId]
  if (!schedule) return undefined
  const time = toBigInt(quantity(header.timestamp, 'timestamp'))
  const fork = schedule.find(([start]) => time >= BigInt(start))?.[1]
  return fork === undefined ? undefined : BLOB_FRACTION[fork]
}

/**
 * The blob base fee of a block, from its header's checked fields; undefined before blobs (no
 * `excessBlobGas`) or on a chain whose blob forks are not in `SCHEDULES`.
 */
export function blobBaseFee(
  header: Readonly<Record<string, unknown>>,
  chainId: number | undefined,
): bigint | undefined {
  if (header.excessBlobGas == null) return undefined
  const fraction = fractionOf(header, chainId)
  if (fraction === undefined) return undefined
  return blobFee(toBigInt(quantity(header.excessBlobGas, 'excessBlobGas')), fraction)
}

/** The blob gas a mined transaction used: GAS_PER_BLOB per versioned hash of a type-3 one, else 0. */
export function blobGasUsed(tx: RpcTransaction): bigint {
  const hashes = tx.blobVersionedHashes
  if (transactionType(tx) !== 3 || !Array.isArray(hashes)) return 0n
  return BigInt(hashes.length) * GAS_PER_BLOB
}
