/**
 * Is this block the one its CID names? The only check between a route and the caller: bytes
 * that do not hash to the CID's multihash never leave this file as a block.
 */
import { keccak256 } from '@multiformats/sha3'
import { equals } from 'multiformats/bytes'
import type { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import type { MultihashHasher } from 'multiformats/hashes/interface'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { UnsupportedHashError } from './errors.ts'

/** Multihash codes: sha2-256 0x12, sha2-512 0x13, keccak-256 0x1b (Ethereum block hashes). */
const hashers: ReadonlyMap<number, MultihashHasher> = new Map<number, MultihashHasher>([
  [sha256.code, sha256],
  [sha512.code, sha512],
  [keccak256.code, keccak256],
])

/** The identity multihash's code: the block is the digest itself, nothing to fetch. */
export const IDENTITY = identity.code

/** Each verifiable function's digest length: a truncated digest is refused, not half-checked. */
const fullLength: ReadonlyMap<number, number> = new Map([
  [sha256.code, 32],
  [sha512.code, 64],
  [keccak256.code, 32],
])

/**
 * Throws `UnsupportedHashError` unless blocks of `cid` can be verified here. A truncated digest
 * (a sha2-256 CID of 20 bytes) is refused before any route is asked: matched by its prefix it
 * would be as weak as its length (one byte: anything passes), and matched whole no honest route
 * could ever pass, so each would be called a liar for sending the right bytes.
 */
export function assertVerifiable(cid: CID): void {
  const { code, size } = cid.multihash
  if (code === IDENTITY) return
  const length = fullLength.get(code)
  if (length === undefined) throw new UnsupportedHashError(cid.toString(), code)
  if (size !== length) throw new UnsupportedHashError(cid.toString(), code, size)
}

/** True if `bytes` hash to `cid`'s multihash (same function, same length, same digest). */
export async function matches(cid: CID, bytes: Uint8Array): Promise<boolean> {
  const code = cid.multihash.code
  if (code === IDENTITY) return equals(cid.multihash.digest, bytes)
  const hasher = hashers.get(code)
  if (!hasher) throw new UnsupportedHashError(cid.toString(), code)
  const digest = await hasher.digest(bytes)
  return equals(digest.bytes, cid.multihash.bytes)
}
