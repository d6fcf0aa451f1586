/**
 * keccak256, straight from `@noble/hashes` (the implementation ox's `Hash.keccak256` wraps):
 * the core hashes headers and raw transactions on every first request, and ox's `Hash` would
 * bring its `Hex`, `Bytes`, `Errors` and `Json` modules along (~1 kB gzipped).
 */
import { hexToBytes } from '@ethereumjs/rlp'
import { keccak_256 } from '@noble/hashes/sha3'
import { bytesToHex } from '@noble/hashes/utils'
import type { Hex } from './types.ts'

/** keccak256 of hex bytes (`0x`, an even number of digits) or raw bytes, as lowercase hex. */
export function keccak256(data: Hex | Uint8Array): Hex {
  // @ethereumjs/rlp's hexToBytes (the core carries it to encode headers; @noble/hashes' would be
  // a second copy), given exactly one `0x` to take off: whatever the first two characters were.
  const bytes = typeof data === 'string' ? hexToBytes(`0x${data.slice(2)}`) : data
  return `0x${bytesToHex(keccak_256(bytes))}`
}
