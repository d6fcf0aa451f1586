/**
 * A transaction's sender, recovered from its signature: `from` is no hash's, so only this (or
 * agreement) can check it. The signing payload is rebuilt from the JSON-RPC object (types 0x0
 * to 0x4; legacy with or without EIP-155) and the signer's key recovered with secp256k1.
 * `@ethereumjs/util`'s `ecrecover`, not ox's `Secp256k1`: its curve (noble 2) is in the
 * `outlast/proofs` bundle already (@ethereumjs/mpt brings it), ox's (noble 1.9) would add
 * ~14 kB. A recovery costs ~1.5 ms: the proofs code loads this module on demand (`import()`),
 * results are cached by transaction hash, and a block's senders are recovered in turns that
 * yield the event loop.
 */
import { ecrecover } from '@ethereumjs/util'
import * as Bytes from 'ox/Bytes'
import * as Hash from 'ox/Hash'
import * as Rlp from 'ox/Rlp'
import { createLru } from '../shared/lru.ts'
import type { Hex } from '../shared/types.ts'
import { yieldToEventLoop } from '../shared/yield.ts'
import { quantity } from './fields.ts'
import {
  computeTransactionHash,
  type Items,
  legacyItems,
  type RpcTransaction,
  toBigInt,
  transactionType,
  typedItems,
} from './transaction.ts'

/** Recoveries between two turns of the event loop (~20 ms of work). */
const PER_TURN = 8

/**
 * Transaction hash → sender. The hash covers the signed envelope, so the mapping is pure; the
 * key is the hash computed here, never the one a source claims.
 */
const senders = createLru<Hex>(4_096)

type Signed = { payload: Uint8Array; r: Hex; s: Hex; yParity: number }

/**
 * What the sender signed, and the signature: the signed items (transaction.ts, the ones the hash
 * covers) without their last three, `v` or `yParity`, `r`, `s`. A typed transaction signs its
 * type byte and the RLP of the rest; a legacy one the RLP of its six fields and, under EIP-155
 * (`v` = chainId * 2 + 35 or 36), the chain id and two empty items. `undefined` for a type this
 * version cannot rebuild.
 */
function signed(tx: RpcTransaction): Signed | undefined {
  const type = transactionType(tx)
  if (type === undefined) return undefined
  if (type === 0) {
    const items = legacyItems(tx) // checks `v` (and `chainId`, `yParity` against it)
    const [v, r, s] = items.slice(6) as Hex[]
    const n = toBigInt(v!)
    const fields = items.slice(0, 6)
    const eip155 = n >= 35n
    const unsigned: Items = eip155 ? [...fields, hex((n - 35n) / 2n), '0x', '0x'] : fields
    const yParity = Number(eip155 ? (n - 35n) % 2n : n - 27n)
    return { payload: Rlp.fromHex(unsigned, { as: 'Bytes' }), r: r!, s: s!, yParity }
  }
  const items = typedItems(tx, type)
  const [y, r, s] = items.slice(-3) as Hex[]
  const body = Rlp.fromHex(items.slice(0, -3), { as: 'Bytes' })
  const payload = new Uint8Array(body.length + 1)
  payload[0] = type
  payload.set(body, 1)
  return { payload, r: r!, s: s!, yParity: Number(toBigInt(y!)) }
}

/** The bytes whose keccak256 the sender signed; `undefined` for a type this version cannot rebuild. */
export const signingPayload = (tx: RpcTransaction): Uint8Array | undefined => signed(tx)?.payload

/**
 * The address that signed `tx` (lower case), or `undefined` when that cannot be told: a type
 * this version cannot rebuild, or a signature that recovers no key (no valid chain holds one).
 * Throws `VerificationError` naming a malformed field.
 */
export function recoverSender(tx: RpcTransaction): Hex | undefined {
  const hash = computeTransactionHash(tx)
  if (hash === undefined) return undefined
  const known = senders.get(hash)
  if (known !== undefined) return known
  const { payload, r, s, yParity } = signed(tx)!
  let sender: Hex
  try {
    const key = ecrecover(
      Hash.keccak256(payload),
      BigInt(yParity),
      Bytes.fromHex(r),
      Bytes.fromHex(s),
    )
    sender = `0x${Hash.keccak256(key, { as: 'Hex' }).slice(26)}`
  } catch {
    return undefined // r or s out of range, or no point: no sender to compare with
  }
  senders.set(hash, sender)
  return sender
}

/** `recoverSender` for each transaction, in turns that let the event loop run between them. */
export async function recoverSenders(
  transactions: readonly RpcTransaction[],
): Promise<(Hex | undefined)[]> {
  const out: (Hex | undefined)[] = []
  for (const [i, tx] of transactions.entries()) {
    if (i > 0 && i % PER_TURN === 0) await yieldToEventLoop()
    out.push(recoverSender(tx))
  }
  return out
}

/**
 * The address a contract creation by `sender` with this `nonce` deploys to (lower case): the
 * last 20 bytes of keccak256(RLP([sender, nonce])), as ox `ContractAddress.fromCreate` (whose
 * `Address` code would add ~1.4 kB to the proofs bundle) computes it.
 */
export function createAddress(sender: Hex, nonce: Hex): Hex {
  const created = Hash.keccak256(Rlp.fromHex([sender, quantity(nonce, 'nonce')]))
  return `0x${created.slice(26)}`
}

const hex = (n: bigint): Hex => quantity(`0x${n.toString(16)}`, 'chainId')
