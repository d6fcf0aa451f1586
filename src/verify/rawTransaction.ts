/**
 * The hash of a signed raw transaction as `eth_sendRawTransaction` takes it: keccak of its bytes,
 * except a blob transaction (type 0x03) in network form, whose hash is that of its body alone:
 * `0x03 || rlp(tx_payload_body)`, without blobs, commitments and proofs. Every envelope is decoded
 * first, canonically and with no trailing bytes: a node that takes one byte too many mines the
 * transaction under the hash of its canonical bytes, and keccak of the bytes sent would be a hash
 * no transaction has (reviewOfSession38a).
 */

import * as Hash from 'ox/Hash'
import * as Rlp from 'ox/Rlp'
import { BaseError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'

type Item = Hex | readonly Item[]

/** The caller's raw transaction cannot be what it claims to be (the caller's error, -32602). */
export class InvalidRawTransactionError extends BaseError {
  override name = 'InvalidRawTransactionError'
  override code = -32602
  constructor(reason: string, kind = 'blob transaction (type 0x03)') {
    super(`eth_sendRawTransaction: malformed ${kind}: ${reason}`)
  }
}

/** Sizes fixed by EIP-4844 / EIP-7594. */
const BLOB_BYTES = 131_072
const COMMITMENT_BYTES = 48
const PROOF_BYTES = 48
const CELLS_PER_BLOB = 128
/** The body's fields: chain_id … max_fee_per_blob_gas, blob_versioned_hashes, y_parity, r, s. */
const BODY_FIELDS = 14
const LIST_FIELDS = new Set([8, 10]) // access_list, blob_versioned_hashes

/**
 * The transaction hash of a signed raw transaction (lowercase hex). Throws an
 * `InvalidRawTransactionError` for bytes that are not one canonical RLP list (a legacy
 * transaction) or a type byte and one (a typed one), and for a type 0x03 transaction that is not
 * a well-formed body or network wrapper (EIP-4844 `[body, blobs, commitments, proofs]`, or
 * EIP-7594 `[body, 1, blobs, commitments, cell_proofs]`). The fields themselves the nodes judge.
 */
export function rawTransactionHash(raw: Hex): Hex {
  const type = Number.parseInt(raw.slice(2, 4), 16)
  if (type >= 0xc0) {
    if (!Array.isArray(decode(raw.toLowerCase() as Hex, LEGACY)))
      throw new InvalidRawTransactionError('it must be an RLP list', LEGACY)
    return Hash.keccak256(raw)
  }
  if (type > 0x7f || Number.isNaN(type))
    throw new InvalidRawTransactionError(
      'it must begin with a type byte (0x00 to 0x7f) or be an RLP list',
      'transaction',
    )
  const payload = `0x${raw.slice(4).toLowerCase()}` as Hex
  if (type !== 3) {
    const kind = `transaction (type 0x${raw.slice(2, 4)})`
    if (!Array.isArray(decode(payload, kind)))
      throw new InvalidRawTransactionError('after the type byte it must be an RLP list', kind)
    return Hash.keccak256(raw)
  }
  const items = decode(payload)
  if (!Array.isArray(items))
    throw new InvalidRawTransactionError('after the type byte it must be an RLP list')
  if (items.length === BODY_FIELDS) {
    checkBody(items)
    return Hash.keccak256(raw)
  }
  if (items.length !== 4 && items.length !== 5)
    throw new InvalidRawTransactionError(
      `expected ${BODY_FIELDS} fields (a body) or 4 or 5 (a network wrapper), got ${items.length}`,
    )
  const [body, ...rest] = items
  if (!Array.isArray(body))
    throw new InvalidRawTransactionError(
      'the first element of the network wrapper must be the transaction body, a list',
    )
  checkBody(body)
  const osaka = items.length === 5
  if (osaka && rest.shift() !== '0x01')
    throw new InvalidRawTransactionError(
      `unknown wrapper version ${JSON.stringify(items[1])} (EIP-7594 defines 0x01)`,
    )
  const [blobs, commitments, proofs] = rest
  const count = body[10]!.length
  const proofCount = osaka ? count * CELLS_PER_BLOB : count
  if (count === 0) throw new InvalidRawTransactionError('it has no blob versioned hashes')
  list(blobs, 'blobs', count, BLOB_BYTES)
  list(commitments, 'commitments', count, COMMITMENT_BYTES)
  list(proofs, osaka ? 'cell proofs' : 'proofs', proofCount, PROOF_BYTES)
  return Hash.keccak256(`0x03${Rlp.fromHex(body as Hex[]).slice(2)}`)
}

const LEGACY = 'legacy transaction'

/** Decodes the whole payload, canonically and without trailing bytes, or throws. */
function decode(payload: Hex, kind?: string): Item {
  if (payload === '0x') throw new InvalidRawTransactionError('nothing follows the type byte', kind)
  let items: Item
  let again: Hex
  try {
    items = Rlp.toHex(payload) as Item
    again = Rlp.fromHex(items as Hex[])
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
    throw new InvalidRawTransactionError(`its RLP does not decode (${reason})`, kind)
  }
  if (again !== payload)
    throw new InvalidRawTransactionError(
      'its RLP is not canonical, overruns a list or has trailing bytes',
      kind,
    )
  return items
}

function checkBody(body: readonly Item[]): void {
  if (body.length !== BODY_FIELDS)
    throw new InvalidRawTransactionError(
      `the body must have ${BODY_FIELDS} fields, it has ${body.length}`,
    )
  for (const [i, field] of body.entries())
    if (Array.isArray(field) !== LIST_FIELDS.has(i))
      throw new InvalidRawTransactionError(
        `body field ${i} must be ${LIST_FIELDS.has(i) ? 'a list' : 'a byte string'}`,
      )
}

function list(value: Item | undefined, name: string, count: number, size: number): void {
  if (!Array.isArray(value)) throw new InvalidRawTransactionError(`${name} must be a list`)
  if (value.length !== count)
    throw new InvalidRawTransactionError(
      `${value.length} ${name} for ${count} blob versioned hashes, expected ${count}`,
    )
  if (!value.every((v) => typeof v === 'string' && v.length === 2 + 2 * size))
    throw new InvalidRawTransactionError(`each of the ${name} must be ${size} bytes`)
}
