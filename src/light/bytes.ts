/** Byte helpers for the light client: hex both ways (strict), equality, all-zero checks. */
import type { Hex } from '../shared/types.ts'
import { malformed } from './errors.ts'

const HEX = /^0x([0-9a-fA-F]{2})*$/

/** Bytes of `0x…` hex of exactly `length` bytes (any length when omitted); names `path` when not. */
export function fromHex(value: unknown, path: string, length?: number): Uint8Array {
  if (typeof value !== 'string' || !HEX.test(value))
    throw malformed(path, 'expected 0x-prefixed hex bytes')
  const n = (value.length - 2) / 2
  if (length !== undefined && n !== length)
    throw malformed(path, `expected ${length} bytes, got ${n}`)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Number.parseInt(value.slice(2 + 2 * i, 4 + 2 * i), 16)
  return out
}

const DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase `0x…` hex of `bytes`. */
export function toHex(bytes: Uint8Array): Hex {
  let s = '0x'
  for (const b of bytes) s += DIGITS[b]
  return s as Hex
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false
  return true
}

/** True when bit `i` of an SSZ bitvector is set. */
export function bitSet(bits: Uint8Array, i: number): boolean {
  return (((bits[i >> 3] as number) >> (i & 7)) & 1) === 1
}

/** The number of set bits (participants). */
export function countBits(bits: Uint8Array): number {
  let n = 0
  for (let b of bits) {
    while (b) {
      n += b & 1
      b >>= 1
    }
  }
  return n
}
