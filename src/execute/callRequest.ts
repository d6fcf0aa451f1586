/**
 * The transaction object of `eth_call` / `eth_estimateGas`, read the way geth reads it: `from`
 * defaults to the zero address, `input` wins over `data`, no fee fields means a gas price of 0.
 * Anything this version does not execute (EIP-7702 authorizations, blob fields, state or block
 * overrides) makes the call unprovable here, and a malformed object is left for the nodes to refuse.
 */
import { hexToBytes } from '@ethereumjs/util'
import type { Hex } from '../shared/types.ts'
import type { ReadSet } from './provenReads.ts'
import { UnprovableError } from './unprovable.ts'

export type CallRequest = {
  from: Hex
  /** Undefined: a contract creation. */
  to: Hex | undefined
  /** The gas limit asked for, if any. */
  gas: bigint | undefined
  /** What GASPRICE says and what the gas costs (EIP-1559: min(maxFee, baseFee + tip)). */
  gasPrice: bigint
  /** The most a unit of gas may cost (`gasPrice` or `maxFeePerGas`): for balance checks. */
  feeCap: bigint
  value: bigint
  data: Uint8Array
  accessList: ReadSet
  /** The chain the call names, if it names one: another chain's makes nodes refuse it. */
  chainId: bigint | undefined
}

const ZERO_ADDRESS: Hex = '0x0000000000000000000000000000000000000000'
const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/
/** A gas limit or nonce: 64 bits, as every node reads it (geth's `hexutil.Uint64`). */
const UINT64 = /^0x[0-9a-fA-F]{1,16}$/
const DATA = /^0x(?:[0-9a-fA-F]{2})*$/
const HASH = /^0x[0-9a-fA-F]{64}$/

/** The call of `params` (an `eth_call` or `eth_estimateGas` param list) at a block with `baseFee`. */
export function readCallRequest(
  params: readonly unknown[],
  baseFee: bigint | undefined,
): CallRequest {
  const tx = params[0] as Record<string, unknown> | undefined
  if (!tx || typeof tx !== 'object') unprovable('the call object is missing')
  if (params[2] !== undefined && params[2] !== null) unprovable('state overrides are not executed')
  if (params[3] !== undefined && params[3] !== null) unprovable('block overrides are not executed')
  const list = tx.authorizationList
  if (list != null && !(Array.isArray(list) && list.length === 0))
    unprovable('EIP-7702 authorizations are not executed')
  // Not run (no nonce check, as geth's eth_call), but a malformed one is the nodes' to refuse.
  optional(tx.nonce, 'nonce', UINT64)
  // Blob calls: nodes check the hashes and the blob fee each their own way (geth and anvil differ).
  if (tx.blobVersionedHashes != null || tx.maxFeePerBlobGas != null)
    unprovable('blob fields are not executed')

  const input = tx.input ?? tx.data
  if (tx.input !== undefined && tx.data !== undefined && tx.input !== tx.data)
    unprovable('both input and data are set and differ')
  const maxFee = optional(tx.maxFeePerGas, 'maxFeePerGas')
  const tip = optional(tx.maxPriorityFeePerGas, 'maxPriorityFeePerGas') ?? 0n
  const legacy = optional(tx.gasPrice, 'gasPrice')
  if (legacy !== undefined && (maxFee !== undefined || tx.maxPriorityFeePerGas != null))
    unprovable('both gasPrice and EIP-1559 fees are set')
  // Fees that nodes refuse (geth: a tip above the fee cap, a fee cap below the base fee) unless
  // none is given: the nodes' refusal is theirs to word.
  const feeCap = legacy ?? maxFee ?? 0n
  if (feeCap > 0n || tip > 0n) {
    if (tip > feeCap) unprovable('maxPriorityFeePerGas is above maxFeePerGas')
    if (baseFee !== undefined && feeCap < baseFee) unprovable('the fee cap is below the base fee')
  }
  const gasPrice = legacy ?? (maxFee === undefined ? 0n : min(maxFee, (baseFee ?? 0n) + tip))
  return {
    from: tx.from === undefined || tx.from === null ? ZERO_ADDRESS : address(tx.from, 'from'),
    to: tx.to === undefined || tx.to === null ? undefined : address(tx.to, 'to'),
    gas: optional(tx.gas, 'gas', UINT64),
    gasPrice,
    feeCap,
    value: optional(tx.value, 'value') ?? 0n,
    data: input === undefined || input === null ? new Uint8Array(0) : hexToBytes(data(input)),
    accessList: accessList(tx.accessList),
    chainId: optional(tx.chainId, 'chainId'),
  }
}

function accessList(value: unknown): ReadSet {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) unprovable('accessList is not a list')
  return value.map((item: { address?: unknown; storageKeys?: unknown }) => {
    const keys = item?.storageKeys ?? []
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && HASH.test(k)))
      unprovable('accessList has a malformed storage key')
    // Lowercase, as the EVM's journal keys warm slots (a key in capitals would stay cold).
    const storageKeys = (keys as Hex[]).map((k) => k.toLowerCase() as Hex)
    return { address: address(item?.address, 'accessList address'), storageKeys }
  })
}

function optional(value: unknown, field: string, pattern = QUANTITY): bigint | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' || !pattern.test(value)) unprovable(`${field} is malformed`)
  return BigInt(value)
}

function address(value: unknown, field: string): Hex {
  if (typeof value !== 'string' || !ADDRESS.test(value)) unprovable(`${field} is malformed`)
  return value.toLowerCase() as Hex
}

function data(value: unknown): Hex {
  if (typeof value !== 'string' || !DATA.test(value)) unprovable('input is malformed')
  return value as Hex
}

const min = (a: bigint, b: bigint) => (a < b ? a : b)

function unprovable(reason: string): never {
  throw new UnprovableError(`Cannot execute this call locally: ${reason}.`)
}
