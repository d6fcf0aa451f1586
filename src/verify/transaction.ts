/**
 * Transaction hashes checked locally: the signed envelope is rebuilt from the JSON-RPC transaction
 * object (types 0x0 to 0x4) and hashed. Unknown types cannot be checked and give `undefined`.
 */
import * as Hash from 'ox/Hash'
import * as Rlp from 'ox/Rlp'
import type { Hex } from '../shared/types.ts'
import { address, bytes, hash32, malformed, quantity, sameHex } from './fields.ts'

/** An EIP-2930 access list entry. */
export type RpcAccessListItem = { address: Hex; storageKeys: readonly Hex[] }

/** A signed EIP-7702 authorization; nodes give `yParity`, `v` or both. */
export type RpcAuthorization = {
  chainId: Hex
  address: Hex
  nonce: Hex
  yParity?: Hex | undefined
  v?: Hex | undefined
  r: Hex
  s: Hex
}

/** A JSON-RPC transaction object (`eth_getTransactionBy*`, full blocks), as hex strings. */
export type RpcTransaction = {
  /** Absent on nodes older than Berlin: legacy. */
  type?: Hex | undefined
  hash?: Hex | undefined
  chainId?: Hex | null | undefined
  nonce: Hex
  gas: Hex
  gasPrice?: Hex | null | undefined
  maxFeePerGas?: Hex | undefined
  maxPriorityFeePerGas?: Hex | undefined
  maxFeePerBlobGas?: Hex | undefined
  /** `null` for contract creation. */
  to?: Hex | null | undefined
  value: Hex
  input: Hex
  accessList?: readonly RpcAccessListItem[] | undefined
  blobVersionedHashes?: readonly Hex[] | undefined
  authorizationList?: readonly RpcAuthorization[] | undefined
  v?: Hex | undefined
  yParity?: Hex | undefined
  r: Hex
  s: Hex
  blockHash?: Hex | null | undefined
  blockNumber?: Hex | null | undefined
}

/** RLP items as hex strings (ox `Rlp.fromHex` input). */
export type Items = (Hex | Items)[]

/** The signed envelope (type byte + RLP, or RLP for legacy) that the hash and the trie commit to. */
export function serializeTransaction(tx: RpcTransaction): Uint8Array | undefined {
  if (typeof tx !== 'object' || tx === null) malformed('transaction', 'a JSON-RPC object', tx)
  const type = transactionType(tx)
  if (type === 0) return Rlp.fromHex(legacyItems(tx), { as: 'Bytes' })
  if (type === undefined) return undefined
  const body = Rlp.fromHex(typedItems(tx, type), { as: 'Bytes' })
  const envelope = new Uint8Array(body.length + 1)
  envelope[0] = type
  envelope.set(body, 1)
  return envelope
}

/** keccak256 of the signed envelope rebuilt from the object; `undefined` for unknown types. */
export function computeTransactionHash(tx: RpcTransaction): Hex | undefined {
  const envelope = serializeTransaction(tx)
  return envelope && Hash.keccak256(envelope, { as: 'Hex' })
}

/** True iff the rebuilt hash equals `tx.hash` (and `expectedHash`); `undefined` for unknown types. */
export function verifyTransactionHash(tx: RpcTransaction, expectedHash?: Hex): boolean | undefined {
  const computed = computeTransactionHash(tx)
  if (computed === undefined) return undefined
  return (
    sameHex(tx.hash, computed) && (expectedHash === undefined || sameHex(expectedHash, computed))
  )
}

const SIGNED = ['type', 'nonce', 'gas', 'to', 'value', 'input', 'v', 'yParity', 'r', 's']
const FEE_MARKET = [...SIGNED, 'chainId', 'maxFeePerGas', 'maxPriorityFeePerGas', 'accessList']
/** The fields of a JSON-RPC transaction that its hash covers, by type (0 to 4). */
export const HASHED: readonly ReadonlySet<string>[] = [
  new Set([...SIGNED, 'gasPrice']),
  new Set([...SIGNED, 'chainId', 'gasPrice', 'accessList']),
  new Set(FEE_MARKET),
  new Set([...FEE_MARKET, 'maxFeePerBlobGas', 'blobVersionedHashes']),
  new Set([...FEE_MARKET, 'authorizationList']),
]
const EIP155_LEGACY: ReadonlySet<string> = new Set([...HASHED[0]!, 'chainId'])

/**
 * The fields of `tx` that its hash covers, or undefined for a type this version cannot rebuild.
 * A legacy transaction's `chainId` is covered where its `v` encodes one (EIP-155: `legacyItems`
 * checks that they match).
 */
export function hashedFields(tx: { type?: unknown; v?: unknown }): ReadonlySet<string> | undefined {
  const { type, v } = tx
  if (type != null && !/^0x[0-4]$/.test(String(type))) return undefined
  if (type != null && type !== '0x0') return HASHED[Number(type)]
  try {
    return typeof v === 'string' && BigInt(v) >= 35n ? EIP155_LEGACY : HASHED[0]
  } catch {
    return HASHED[0]
  }
}

/**
 * The fields of a full transaction in a block that the block's checks cover beside its hash:
 * its own hash (rebuilt), the block it names (block.ts `verifyBlockHash`), its index, price
 * and time (trie.ts `verifyBlockBody`). All but `blockTimestamp` (not every client sends it) are
 * required (`gasPrice` wherever the header tells it): a checked body's agreement key leaves them
 * out (core/txRules.ts `unhashed`), so one dropped would go unseen. Its sender (`from`) is not
 * among them.
 */
export const CHECKED_IN_BLOCK: ReadonlySet<string> = new Set([
  'hash',
  'blockHash',
  'blockNumber',
  'transactionIndex',
  'gasPrice',
  'blockTimestamp',
])

/** 0 to 4 for the types we can rebuild, `undefined` for any other type. */
export function transactionType(tx: RpcTransaction): number | undefined {
  if (tx.type === undefined || tx.type === null) return 0
  const type = toBigInt(quantity(tx.type, 'type'))
  return type <= 4n ? Number(type) : undefined
}

/** A legacy transaction's signed items: its six fields, then `v`, `r`, `s` (`v` checked). */
export function legacyItems(tx: RpcTransaction): Items {
  const v = toBigInt(quantity(tx.v, 'v'))
  let parity: bigint
  if (v === 27n || v === 28n) parity = v - 27n
  else if (v >= 35n) {
    parity = (v - 35n) % 2n
    if (tx.chainId != null && toBigInt(quantity(tx.chainId, 'chainId')) !== (v - 35n) / 2n)
      malformed('chainId', `the chain id that v = ${v} encodes (EIP-155)`, tx.chainId)
  } else malformed('v', '27 or 28, or chainId * 2 + 35 or 36 (EIP-155)', tx.v)
  if (tx.yParity != null && toBigInt(quantity(tx.yParity, 'yParity')) !== parity)
    malformed('yParity', `${parity}, the parity that v = ${v} encodes`, tx.yParity)
  return [
    quantity(tx.nonce, 'nonce'),
    quantity(tx.gasPrice, 'gasPrice'),
    quantity(tx.gas, 'gas'),
    tx.to == null ? '0x' : address(tx.to, 'to'),
    quantity(tx.value, 'value'),
    bytes(tx.input, 'input'),
    quantity(tx.v, 'v'),
    quantity(tx.r, 'r'),
    quantity(tx.s, 's'),
  ]
}

/** A typed (1 to 4) transaction's signed items: its fields, then `yParity`, `r`, `s`. */
export function typedItems(tx: RpcTransaction, type: number): Items {
  const fees =
    type === 1
      ? [quantity(tx.gasPrice, 'gasPrice')]
      : [
          quantity(tx.maxPriorityFeePerGas, 'maxPriorityFeePerGas'),
          quantity(tx.maxFeePerGas, 'maxFeePerGas'),
        ]
  const to = type >= 3 || tx.to != null ? address(tx.to, 'to') : '0x'
  const items: Items = [
    quantity(tx.chainId, 'chainId'),
    quantity(tx.nonce, 'nonce'),
    ...fees,
    quantity(tx.gas, 'gas'),
    to,
    quantity(tx.value, 'value'),
    bytes(tx.input, 'input'),
    accessListItems(tx.accessList),
  ]
  if (type === 3)
    items.push(
      quantity(tx.maxFeePerBlobGas, 'maxFeePerBlobGas'),
      list(tx.blobVersionedHashes, 'blobVersionedHashes').map((h, i) =>
        hash32(h, `blobVersionedHashes[${i}]`),
      ),
    )
  if (type === 4) items.push(authorizationItems(tx.authorizationList))
  items.push(yParity(tx, ''), quantity(tx.r, 'r'), quantity(tx.s, 's'))
  return items
}

/**
 * The fields of each item of a hashed list (`accessListItems`, `authorizationItems`) that its
 * hash reads: any other field of an item is outside the hash.
 */
export const ITEM_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['accessList', new Set(['address', 'storageKeys'])],
  ['authorizationList', new Set(['chainId', 'address', 'nonce', 'yParity', 'v', 'r', 's'])],
])

function accessListItems(accessList: unknown): Items {
  return list(accessList, 'accessList').map((item, i) => {
    const at = `accessList[${i}]`
    const entry = object<RpcAccessListItem>(item, at, 'an access list entry')
    return [
      address(entry.address, `${at}.address`),
      list(entry.storageKeys, `${at}.storageKeys`).map((key, j) =>
        hash32(key, `${at}.storageKeys[${j}]`),
      ),
    ]
  })
}

function authorizationItems(authorizations: unknown): Items {
  return list(authorizations, 'authorizationList').map((item, i) => {
    const at = `authorizationList[${i}]`
    const auth = object<RpcAuthorization>(item, at, 'a signed authorization')
    return [
      quantity(auth.chainId, `${at}.chainId`),
      address(auth.address, `${at}.address`),
      quantity(auth.nonce, `${at}.nonce`),
      yParity(auth, `${at}.`),
      quantity(auth.r, `${at}.r`),
      quantity(auth.s, `${at}.s`),
    ]
  })
}

/** The signature's y parity from `yParity` or `v` (0/1, or 27/28), which must agree when both are given. */
export function yParity(sig: { yParity?: unknown; v?: unknown }, at: string): Hex {
  const fromY = sig.yParity == null ? undefined : quantity(sig.yParity, `${at}yParity`)
  if (fromY !== undefined && fromY !== '0x' && fromY !== '0x01')
    malformed(`${at}yParity`, '0 or 1', sig.yParity)
  let fromV: Hex | undefined
  if (sig.v != null) {
    const v = quantity(sig.v, `${at}v`)
    if (v === '0x' || v === '0x1b') fromV = '0x'
    else if (v === '0x01' || v === '0x1c') fromV = '0x01'
    else malformed(`${at}v`, '0 or 1 (or 27 or 28)', sig.v)
  }
  if (fromY !== undefined && fromV !== undefined && fromY !== fromV)
    malformed(`${at}v`, `the same parity as ${at}yParity`, sig.v)
  const parity = fromY ?? fromV
  if (parity === undefined) malformed(`${at}yParity`, 'yParity or v', undefined)
  return parity
}

/** An array field; absent means empty (a wrong guess cannot pass: the hash would differ). */
function list(value: unknown, field: string): readonly unknown[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) malformed(field, 'an array', value)
  return value
}

function object<T>(value: unknown, field: string, expected: string): T {
  if (typeof value !== 'object' || value === null) malformed(field, expected, value)
  return value as T
}

export const toBigInt = (quantity: Hex): bigint => (quantity === '0x' ? 0n : BigInt(quantity))
