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

/** Throws `UnsupportedHashError` unless blocks of `cid` can be verified here. */
export function assertVerifiable(cid: CID): void {
  if (cid.multihash.code !== IDENTITY && !hashers.has(cid.multihash.code))
    throw new UnsupportedHashError(cid.toString(), cid.multihash.code)
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
