/**
 * The rules for transaction lookups (by hash, by block and index) and the check of transaction
 * hashes (theirs, and a full block's): loaded with the first lookup or block body, together with
 * the code that rebuilds a transaction's hash. A dApp that never asks for either carries neither.
 */
import { VerificationError } from '../shared/errors.ts'
import {
  CHECKED_IN_BLOCK,
  computeTransactionHash,
  HASHED,
  hashedFields,
  ITEM_FIELDS,
} from '../verify/transaction.ts'
import { canonical } from './canonical.ts'
import type { AnswerRules } from './rules.ts'
import { invalidTransactionFields } from './validate.ts'

export type Tx = { hash?: string; blockHash?: string | null; transactionIndex?: string | null }

/**
 * `eth_getTransactionByHash` and the lookups by block and index: the transaction's shape, the
 * hash or place asked for, its hash rebuilt; what its hash does not cover needs agreement.
 */
export function transactionRules(
  method: string,
  params: readonly unknown[],
  expected: string | undefined,
): AnswerRules {
  const byHash = method === 'eth_getTransactionByHash'
  const byBlockHash = method === 'eth_getTransactionByBlockHashAndIndex'
  const inBlock = (tx: Tx) => tx.blockHash?.toLowerCase() === expected
  return {
    check: (r) => {
      if (r === null) return undefined
      const tx = r as Tx
      const why = checkTx(tx, byHash ? expected : undefined)
      if (why) return why
      if (byBlockHash && !inBlock(tx))
        return `transaction is in block ${tx.blockHash}, not ${expected}`
      if (!byHash && tx.transactionIndex?.toLowerCase() !== String(params[1]).toLowerCase())
        return `transaction index ${tx.transactionIndex} is not ${params[1]}`
      return undefined
    },
    // The hash proves the signed envelope, not where it stands: its inclusion (block, index),
    // "still pending", `from`, the `gasPrice` a typed transaction paid, `blockTimestamp` and
    // anything else a node adds need agreement (or `outlast/proofs`). The envelope's fields
    // are the hash's: two honest clients that format them apart still agree. A type this
    // version cannot rebuild is not checked by its hash: all of it must agree.
    key: (r) => (r === null ? 'null' : canonical(unhashed(r as Tx))),
    // Rebuilt and hashed inside the attempt.
    verify: async (r) => {
      if (r !== null) checkHashes([r as Tx])
    },
    pending: (r) => r === null,
  }
}

/**
 * Each transaction rebuilt from its fields and hashed: one that does not hash to its `hash` is
 * a lie (`VerificationError`). A type this version cannot rebuild is left to agreement.
 */
export function checkHashes(txs: readonly Tx[]): void {
  for (const tx of txs) {
    let computed: string | undefined
    try {
      computed = computeTransactionHash(tx as never)
    } catch (error) {
      throw new VerificationError(`transaction ${tx.hash}: ${(error as Error).message}`)
    }
    if (computed !== undefined && computed.toLowerCase() !== tx.hash?.toLowerCase())
      throw new VerificationError(`transaction does not hash to ${tx.hash}`)
  }
}

/** Fields some type's hash covers: on another type, empty, they say nothing. */
const ENVELOPE: ReadonlySet<string> = new Set(HASHED.flatMap((fields) => [...fields]))

/**
 * What of a transaction no check covers, so answers must agree on it: all of it when its type
 * cannot be rebuilt; else every field its type's hash leaves out, whatever its name (`from`, the
 * place in a block, `data` or `gasLimit` beside `input` and `gas`, a field of another type such
 * as an `authorizationList` on a type-2 transaction, a hashed list whose items carry fields the
 * hash does not read), but for another type's empty fields. In a checked block body
 * (`inCheckedBody`), also not the fields that check covers.
 */
export function unhashed(tx: Tx, inCheckedBody = false): Record<string, unknown> {
  const hashed = hashedFields(tx as { type?: unknown; v?: unknown })
  if (!hashed) return tx
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(tx)) {
    if (hashed.has(k) && !withUnread(k, v)) continue
    if (inCheckedBody && CHECKED_IN_BLOCK.has(k)) continue
    if (ENVELOPE.has(k) && (v == null || (Array.isArray(v) && v.length === 0))) continue
    out[k] = v
  }
  return out
}

/**
 * A hashed list (an access list, an authorization list) with an item that carries a field its
 * hash does not read (an L2's `l1Fee`): honest clients send none, so the list is keyed whole
 * and a source that adds one disagrees, rather than returning fields no one checked.
 */
function withUnread(k: string, v: unknown): boolean {
  const read = ITEM_FIELDS.get(k)
  return (
    read !== undefined &&
    Array.isArray(v) &&
    v.some((item) => Object.keys(item ?? {}).some((f) => !read.has(f)))
  )
}

/** A transaction's shape, and the hash asked for (its hash itself is checked by `checkHashes`). */
function checkTx(tx: Tx, expected: string | undefined): string | undefined {
  const shape = invalidTransactionFields(tx as Record<string, unknown>)
  if (shape) return shape
  if (expected && tx.hash?.toLowerCase() !== expected)
    return `transaction ${tx.hash} is not ${expected}`
  return undefined
}
