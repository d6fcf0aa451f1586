/**
 * Gas a transaction pays before its first opcode (intrinsic gas), and the calldata floor of
 * EIP-7623 (Prague) that its gas used cannot go below.
 */
import type { Common } from '@ethereumjs/common'
import type { CallRequest } from './callRequest.ts'

const TX_GAS = 21_000n
const CREATE_GAS = 32_000n
const ZERO_BYTE = 4n
const NONZERO_BYTE = 16n
const INITCODE_WORD = 2n
const ACCESS_ADDRESS = 2_400n
const ACCESS_SLOT = 1_900n
const FLOOR_PER_TOKEN = 10n

export type Intrinsic = {
  /** Charged before execution: 21000, calldata, creation, access list. */
  gas: bigint
  /** EIP-7623's least gas used (0 before Prague). */
  floor: bigint
}

export function intrinsicGas(tx: CallRequest, common: Common): Intrinsic {
  let zeros = 0n
  for (const byte of tx.data) if (byte === 0) zeros++
  const nonzeros = BigInt(tx.data.length) - zeros
  let gas = TX_GAS + zeros * ZERO_BYTE + nonzeros * NONZERO_BYTE
  if (tx.to === undefined) {
    gas += CREATE_GAS
    if (common.isActivatedEIP(3860)) gas += INITCODE_WORD * ((BigInt(tx.data.length) + 31n) / 32n)
  }
  for (const item of tx.accessList)
    gas += ACCESS_ADDRESS + ACCESS_SLOT * BigInt(item.storageKeys.length)
  const floor = common.isActivatedEIP(7623)
    ? TX_GAS + FLOOR_PER_TOKEN * (zeros + 4n * nonzeros)
    : 0n
  return { gas, floor }
}
