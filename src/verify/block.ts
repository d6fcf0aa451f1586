/**
 * Block hashes checked locally: the header is rebuilt from the JSON-RPC block object, RLP-encoded
 * and hashed, for every fork from Frontier to Prague.
 */
import { encode as rlp } from '@ethereumjs/rlp'
import { VerificationError } from '../shared/errors.ts'
import { keccak256 } from '../shared/keccak.ts'
import type { Hex } from '../shared/types.ts'
import { address, bytes, hash32, malformed, quantity, sameHex } from './fields.ts'
import type { RpcTransaction } from './transaction.ts'

/** The header fields of a JSON-RPC block object (`eth_getBlockBy*`), as hex strings. */
export type RpcBlockHeader = {
  hash?: Hex | null | undefined
  parentHash: Hex
  sha3Uncles: Hex
  miner: Hex
  stateRoot: Hex
  transactionsRoot: Hex
  receiptsRoot: Hex
  logsBloom: Hex
  difficulty: Hex
  number: Hex
  gasLimit: Hex
  gasUsed: Hex
  timestamp: Hex
  extraData: Hex
  mixHash: Hex
  nonce: Hex
  /** London (EIP-1559). */
  baseFeePerGas?: Hex | null | undefined
  /** Shanghai (EIP-4895). */
  withdrawalsRoot?: Hex | null | undefined
  /** Cancun (EIP-4844). */
  blobGasUsed?: Hex | null | undefined
  /** Cancun (EIP-4844). */
  excessBlobGas?: Hex | null | undefined
  /** Cancun (EIP-4788). */
  parentBeaconBlockRoot?: Hex | null | undefined
  /** Prague (EIP-7685). */
  requestsHash?: Hex | null | undefined
}

/** A JSON-RPC block: the header plus transaction hashes or full transaction objects. */
export type RpcBlock = RpcBlockHeader & {
  transactions?: readonly (Hex | RpcTransaction)[] | undefined
}

type Field = readonly [key: keyof RpcBlockHeader, encode: (value: unknown, field: string) => Hex]

const BASE_FIELDS: readonly Field[] = [
  ['parentHash', hash32],
  ['sha3Uncles', hash32],
  ['miner', address],
  ['stateRoot', hash32],
  ['transactionsRoot', hash32],
  ['receiptsRoot', hash32],
  ['logsBloom', (value, field) => bytes(value, field, 256)],
  ['difficulty', quantity],
  ['number', quantity],
  ['gasLimit', quantity],
  ['gasUsed', quantity],
  ['timestamp', quantity],
  ['extraData', bytes],
  ['mixHash', hash32],
  ['nonce', (value, field) => bytes(value, field, 8)],
]

/** Fields added by later forks, in header order; each may appear only if all before it do. */
const FORK_FIELDS: readonly Field[] = [
  ['baseFeePerGas', quantity],
  ['withdrawalsRoot', hash32],
  ['blobGasUsed', quantity],
  ['excessBlobGas', quantity],
  ['parentBeaconBlockRoot', hash32],
  ['requestsHash', hash32],
]

/**
 * The header's fields in RLP order (Frontier to Prague), each a quantity or bytes: for decoders
 * (outlast/ipfs). Pure: a bundle whose code never reads it (the core's) does not build it.
 */
export const HEADER_FIELDS: readonly { name: keyof RpcBlockHeader; quantity: boolean }[] =
  /* @__PURE__ */ [...BASE_FIELDS, ...FORK_FIELDS].map(([name, encode]) => ({
    name,
    quantity: encode === quantity,
  }))

/**
 * The fields of a block object that its hash covers, and the hash: what is kept of a header
 * once checked (a source may pad a correctly hashed header with fields no hash covers). A fork
 * field that is `null` is absent, as the hash counts it: kept as `null`, a padded
 * `requestsHash: null` would read as a later fork's header (execute's `hardforksOf`).
 */
export function checkedHeader(block: Record<string, unknown>): Record<string, unknown> {
  // Digits in one case (either hashes the same): hashes then compare as strings. Only after a
  // `0x`: a `0X` kept as sent fails the hash check, as any other malformed field does.
  const lower = (v: unknown) => (typeof v === 'string' && v.startsWith('0x') ? v.toLowerCase() : v)
  const out: Record<string, unknown> = { hash: lower(block.hash) }
  for (const [key] of BASE_FIELDS) if (key in block) out[key] = lower(block[key])
  for (const [key] of FORK_FIELDS) if (block[key] != null) out[key] = lower(block[key])
  return out
}

/** The header's RLP items in consensus order; throws `VerificationError` naming a bad field. */
export function blockHeaderFields(block: RpcBlockHeader): Hex[] {
  if (typeof block !== 'object' || block === null)
    malformed('block', 'a JSON-RPC block object', block)
  const items = BASE_FIELDS.map(([key, encode]) => encode(block[key], key))
  let missing: string | undefined
  for (const [key, encode] of FORK_FIELDS) {
    const value = block[key]
    if (value === undefined || value === null) missing ??= key
    else if (missing)
      throw new VerificationError(
        `Malformed field "${key}": it is present but the earlier header field "${missing}" is not.`,
      )
    else items.push(encode(value, key))
  }
  return items
}

/** keccak256 of the RLP-encoded header rebuilt from a JSON-RPC block object. */
export function computeBlockHash(block: RpcBlockHeader): Hex {
  return keccak256(rlp(blockHeaderFields(block)))
}

/** True iff the header hashes to `block.hash` (and `expectedHash`) and every full transaction names this block. */
export function verifyBlockHash(block: RpcBlock, expectedHash?: Hex): boolean {
  const computed = computeBlockHash(block)
  if (!sameHex(block.hash, computed)) return false
  if (expectedHash !== undefined && !sameHex(expectedHash, computed)) return false
  const transactions = block.transactions ?? []
  if (!Array.isArray(transactions)) malformed('transactions', 'an array', transactions)
  const number = quantity(block.number, 'number')
  return transactions.every((tx: unknown, i) => {
    if (typeof tx === 'string') return true
    if (typeof tx !== 'object' || tx === null)
      malformed(`transactions[${i}]`, 'a hash or object', tx)
    const { blockHash, blockNumber } = tx as RpcTransaction
    return (
      sameHex(blockHash, computed) &&
      quantity(blockNumber, `transactions[${i}].blockNumber`) === number
    )
  })
}
