/**
 * EIP-1186 `eth_getProof` answers checked against a trusted `stateRoot` with `@ethereumjs/mpt`:
 * the account proof, storage proofs against the proven `storageHash`, code against the proven
 * `codeHash`. A valid proof of absence proves an empty account or a zero slot. From a checked
 * proof `provenAnswer` rebuilds the answer to `eth_getBalance`, `eth_getTransactionCount`,
 * `eth_getCode` and `eth_getStorageAt` as a node formats it.
 */
import { createMerkleProof, createMPTFromProof } from '@ethereumjs/mpt'
import * as Bytes from 'ox/Bytes'
import * as Hash from 'ox/Hash'
import * as Rlp from 'ox/Rlp'
import { UnanchoredProofError, VerificationError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import { mismatch } from './errors.ts'
import { address as addressField, bytes, hash32, malformed, quantity, sameHex } from './fields.ts'
import { EMPTY_TRIE_ROOT } from './trie.ts'

/** keccak256 of empty code: `codeHash` of an account without code. */
export const EMPTY_CODE_HASH: Hex =
  '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470'

const ZERO_HASH = `0x${'00'.repeat(32)}`

/** One entry of `storageProof` in an `eth_getProof` answer. */
export type RpcStorageProof = { key: Hex; value: Hex; proof: readonly Hex[] }

/** An `eth_getProof` answer (EIP-1186). */
export type RpcProof = {
  address: Hex
  accountProof: readonly Hex[]
  balance: Hex
  codeHash: Hex
  nonce: Hex
  storageHash: Hex
  storageProof: readonly RpcStorageProof[]
}

/** The account the proof proves, or `undefined` when it proves that no account exists (empty). */
export type ProvenAccount =
  | { nonce: bigint; balance: bigint; storageHash: Hex; codeHash: Hex }
  | undefined

/** The methods `provenAnswer` can answer from an `eth_getProof` answer. */
export type ProvableMethod =
  | 'eth_getBalance'
  | 'eth_getTransactionCount'
  | 'eth_getCode'
  | 'eth_getStorageAt'

export const provableMethods: ReadonlySet<string> = new Set<ProvableMethod>([
  'eth_getBalance',
  'eth_getTransactionCount',
  'eth_getCode',
  'eth_getStorageAt',
])

/**
 * Checks `proof.accountProof` against `stateRoot` for `address` and returns the proven account
 * (`undefined`: proven absent). Throws `VerificationError` naming the field when the proof is
 * invalid or when the answer's `balance`, `nonce`, `storageHash` or `codeHash` differ from it.
 * Storage proofs are not checked here: see `verifyStorageProof`.
 */
export async function verifyAccountProof(
  stateRoot: Hex,
  address: Hex,
  proof: RpcProof,
): Promise<ProvenAccount> {
  return (await accountAt(stateRoot, address, proof)).account
}

/** `verifyAccountProof`, and with `withPath` the proof's nodes on the address's path (`proven`). */
async function accountAt(stateRoot: Hex, address: Hex, proof: RpcProof, withPath = false) {
  const root = hash32(stateRoot, 'stateRoot')
  const addr = addressField(address, 'address')
  if (typeof proof !== 'object' || proof === null)
    malformed('proof', 'an eth_getProof answer', proof)
  if (!sameHex(proof.address, addr))
    mismatch('address', 'is not the address asked for', proof.address, addr)
  const { value, path } = await proven(
    'accountProof',
    root,
    Hash.keccak256(addr),
    proof.accountProof,
    withPath,
  )
  const account = value ? decodeAccount(value) : undefined
  const claimed = {
    nonce: toBigInt(proof.nonce, 'nonce'),
    balance: toBigInt(proof.balance, 'balance'),
    storageHash: hash32(proof.storageHash, 'storageHash'),
    codeHash: hash32(proof.codeHash, 'codeHash'),
  }
  if (account === undefined) {
    // Proven absent: the claims must describe an empty account. Some nodes give zero hashes here.
    if (claimed.nonce !== 0n)
      mismatch('nonce', 'is not 0 for a proven-absent account', claimed.nonce)
    if (claimed.balance !== 0n)
      mismatch('balance', 'is not 0 for a proven-absent account', claimed.balance)
    if (!sameHex(claimed.storageHash, EMPTY_TRIE_ROOT) && !sameHex(claimed.storageHash, ZERO_HASH))
      mismatch('storageHash', 'is not empty for a proven-absent account', claimed.storageHash)
    if (!sameHex(claimed.codeHash, EMPTY_CODE_HASH) && !sameHex(claimed.codeHash, ZERO_HASH))
      mismatch('codeHash', 'is not empty for a proven-absent account', claimed.codeHash)
    return { account: undefined, path }
  }
  for (const field of ['nonce', 'balance'] as const)
    if (claimed[field] !== account[field])
      mismatch(field, 'does not match the account proof', claimed[field], account[field])
  for (const field of ['storageHash', 'codeHash'] as const)
    if (!sameHex(claimed[field], account[field]))
      mismatch(field, 'does not match the account proof', claimed[field], account[field])
  return { account, path }
}

/**
 * Checks one `storageProof` entry against the account's proven `storageHash` for `slot` and returns
 * the proven value (0 when proven absent). Throws `VerificationError` naming `key`, `proof` or
 * `value` when the entry is for another slot, the proof is invalid, or the claimed value differs.
 */
export async function verifyStorageProof(
  storageHash: Hex,
  slot: Hex,
  item: RpcStorageProof,
): Promise<bigint> {
  return (await slotAt(storageHash, slot, item)).stored
}

/** `verifyStorageProof`, and with `withPath` the entry's nodes on the slot's path (`proven`). */
async function slotAt(storageHash: Hex, slot: Hex, item: RpcStorageProof, withPath = false) {
  const root = hash32(storageHash, 'storageHash')
  const key = slotKey(slot, 'slot')
  if (typeof item !== 'object' || item === null)
    malformed('storageProof', 'a storage proof entry', item)
  if (slotKey(item.key, 'key') !== key) mismatch('key', 'is not the slot asked for', item.key, key)
  const { value, path } = await proven('proof', root, Hash.keccak256(key), item.proof, withPath)
  let stored = 0n
  if (value) {
    const decoded = Rlp.toHex(value)
    if (typeof decoded !== 'string' || decoded === '0x' || decoded.length > 66)
      throw new VerificationError('Invalid field "proof": the proven leaf is not a storage value.')
    stored = BigInt(decoded)
  }
  const claimed = toBigInt(item.value, 'value')
  if (claimed !== stored) mismatch('value', 'does not match the storage proof', claimed, stored)
  return { stored, path }
}

/**
 * An `eth_getProof` answer for `address` and `slots`, checked against `stateRoot`: the account,
 * then each slot, in the order asked, against the proven `storageHash`. Returned as the caller
 * asked: the address and keys as given, balance, nonce, hashes and values as proven (an absent
 * account's as empty, however the source spelled them), the proof nodes those on the key's path
 * from the root, in order (a node a source added is dropped: a verifier that walks the list, as
 * a bridge contract does, would fail on it). Throws `VerificationError` naming the field when
 * anything does not check out, an entry missing, added or out of order included.
 */
export async function verifiedProof(
  stateRoot: Hex,
  address: Hex,
  slots: readonly Hex[],
  proof: RpcProof,
): Promise<RpcProof> {
  const { account, path } = await accountAt(stateRoot, address, proof, true)
  const entries = proof.storageProof
  if (!Array.isArray(entries)) malformed('storageProof', 'an array', entries)
  if (entries.length !== slots.length)
    mismatch('storageProof', `has ${entries.length} entries for ${slots.length} slots asked`)
  const storageHash = account?.storageHash ?? EMPTY_TRIE_ROOT
  const storageProof = await Promise.all(
    slots.map(async (key, i) => {
      const { stored, path } = await slotAt(storageHash, key, entries[i] as RpcStorageProof, true)
      return { key, value: toQuantity(stored), proof: path! }
    }),
  )
  return {
    address,
    accountProof: path!,
    balance: toQuantity(account?.balance ?? 0n),
    codeHash: account?.codeHash ?? EMPTY_CODE_HASH,
    nonce: toQuantity(account?.nonce ?? 0n),
    storageHash,
    storageProof,
  }
}

/** Throws `VerificationError` naming `code` unless keccak256(code) is `codeHash` (empty code: `EMPTY_CODE_HASH`). */
export function verifyCode(codeHash: Hex, code: Hex): void {
  const expected = hash32(codeHash, 'codeHash')
  const computed = Hash.keccak256(bytes(code, 'code'))
  if (!sameHex(expected, computed))
    mismatch('code', 'does not hash to codeHash', computed, expected)
}

/** The `eth_getProof` params that prove `method(params)` at `block` (a hash or number; EIP-1898 objects too). */
export function proofParams(
  method: ProvableMethod,
  params: readonly unknown[],
  block: unknown,
): [Hex, Hex[], unknown] {
  const addr = requestAddress(params)
  return [addr, method === 'eth_getStorageAt' ? [requestSlot(params)] : [], block]
}

/**
 * The answer to `method(params)` computed from an `eth_getProof` answer checked against
 * `stateRoot`, formatted as a node formats it: a quantity for balance and nonce, 32 bytes for
 * storage, the code for `eth_getCode` (which needs `code`, the `eth_getCode` answer, unless the
 * proven account has none). Throws `VerificationError` naming the field when anything does not
 * check out, and `TypeError` when the request itself is not one it can answer.
 */
export async function provenAnswer(
  method: ProvableMethod,
  params: readonly unknown[],
  proof: RpcProof,
  stateRoot: Hex,
  code?: Hex,
): Promise<Hex> {
  if (!provableMethods.has(method)) throw new TypeError(`${method} cannot be answered from a proof`)
  const addr = requestAddress(params)
  const account = await verifyAccountProof(stateRoot, addr, proof)
  if (method === 'eth_getBalance') return toQuantity(account?.balance ?? 0n)
  if (method === 'eth_getTransactionCount') return toQuantity(account?.nonce ?? 0n)
  if (method === 'eth_getCode') {
    const codeHash = account?.codeHash ?? EMPTY_CODE_HASH
    if (code === undefined) {
      if (sameHex(codeHash, EMPTY_CODE_HASH)) return '0x'
      throw new TypeError('eth_getCode needs the code to check against the proven codeHash')
    }
    verifyCode(codeHash, code)
    return code.toLowerCase() as Hex
  }
  const slot = requestSlot(params)
  if (!Array.isArray(proof.storageProof)) malformed('storageProof', 'an array', proof.storageProof)
  const item = proof.storageProof.find((entry: RpcStorageProof) => isSlot(entry?.key, slot))
  if (!item) mismatch('storageProof', `has no entry for slot ${slot}`)
  const value = await verifyStorageProof(account?.storageHash ?? EMPTY_TRIE_ROOT, slot, item)
  return `0x${value.toString(16).padStart(64, '0')}`
}

/**
 * Verifies `nodes` as a proof for `key` under `root`: the proven value (null for proven absence),
 * and with `withPath` the nodes on the key's path from the root, in order, as a node lists them
 * (any other node a source sent is left out): only an `eth_getProof` answer returns them.
 */
async function proven(
  field: string,
  root: Hex,
  key: Hex,
  nodes: unknown,
  withPath = false,
): Promise<{ value: Uint8Array | null; path?: Hex[] }> {
  if (!Array.isArray(nodes)) malformed(field, 'an array of trie nodes', nodes)
  const proof = nodes.map((node, i) => Bytes.fromHex(bytes(node, `${field}[${i}]`)))
  // The empty trie holds nothing: its proof is [] or, from reth and anvil, its root node RLP("").
  if (sameHex(root, EMPTY_TRIE_ROOT) && nodes.every((node, i) => i === 0 && node === '0x80'))
    return { value: null, path: nodes }
  try {
    const trie = await createMPTFromProof(proof, { root: Bytes.fromHex(root) })
    const at = Bytes.fromHex(key)
    const value = await trie.get(at, true)
    if (!withPath) return { value }
    const path = (await createMerkleProof(trie, at)).map((node) => Bytes.toHex(node))
    return { value, path }
  } catch (cause) {
    throw new UnanchoredProofError(
      `Invalid field "${field}": it is not a Merkle proof for this key under the trusted root.`,
      { cause, details: `root ${root}, key ${key}, ${proof.length} nodes` },
    )
  }
}

/** An account leaf: RLP([nonce, balance, storageRoot, codeHash]). */
function decodeAccount(value: Uint8Array): NonNullable<ProvenAccount> {
  const items = Rlp.toHex(value)
  if (
    !Array.isArray(items) ||
    items.length !== 4 ||
    !items.every((item) => typeof item === 'string')
  )
    throw new VerificationError('Invalid field "accountProof": the proven leaf is not an account.')
  const [nonce, balance, storageHash, codeHash] = items as Hex[]
  return {
    nonce: nonce === '0x' ? 0n : BigInt(nonce as Hex),
    balance: balance === '0x' ? 0n : BigInt(balance as Hex),
    storageHash: storageHash as Hex,
    codeHash: codeHash as Hex,
  }
}

/** A storage slot (a quantity or up to 32 bytes of data) as the 32-byte key it stands for. */
function slotKey(slot: unknown, field: string): Hex {
  if (typeof slot !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(slot))
    malformed(field, 'a storage slot of at most 32 bytes', slot)
  return `0x${BigInt(slot).toString(16).padStart(64, '0')}`
}

function isSlot(key: unknown, slot: Hex): boolean {
  return (
    typeof key === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(key) && BigInt(key) === BigInt(slot)
  )
}

function requestAddress(params: readonly unknown[]): Hex {
  const addr = Array.isArray(params) ? params[0] : undefined
  if (typeof addr !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(addr))
    throw new TypeError(`params[0] is not an address: ${String(addr)}`)
  return addr as Hex
}

function requestSlot(params: readonly unknown[]): Hex {
  const slot = params[1]
  if (typeof slot !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(slot))
    throw new TypeError(`params[1] is not a storage slot: ${String(slot)}`)
  return slotKey(slot, 'slot')
}

function toBigInt(value: unknown, field: string): bigint {
  const hex = quantity(value, field)
  return hex === '0x' ? 0n : BigInt(hex)
}

const toQuantity = (n: bigint): Hex => `0x${n.toString(16)}`
