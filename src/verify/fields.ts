/**
 * JSON-RPC fields turned into RLP items. Each helper checks its input and throws a
 * `VerificationError` that names the field, so a bad answer says what was wrong with it.
 */

import { clip } from '../shared/clip.ts'
import { VerificationError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'

const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/
const DATA = /^0x(?:[0-9a-fA-F]{2})*$/

/** Throws a `VerificationError` naming the malformed field and what was expected. */
export function malformed(field: string, expected: string, value?: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(clip(value, 81)) : String(value)
  throw new VerificationError(`Malformed field "${field}": expected ${expected}.`, {
    details: `${field} = ${shown}`,
  })
}

/** A QUANTITY (up to 256 bits) as minimal big-endian bytes; zero is the empty string. */
export function quantity(value: unknown, field: string): Hex {
  if (typeof value !== 'string' || !QUANTITY.test(value))
    malformed(field, 'a hex quantity of at most 256 bits', value)
  let i = 2
  while (i < value.length && value.charCodeAt(i) === 48) i++
  if (i === value.length) return '0x'
  const digits = value.slice(i)
  return `0x${digits.length % 2 ? '0' : ''}${digits}`
}

/** DATA as it is, checked to be hex bytes (of exactly `size` bytes when given). */
export function bytes(value: unknown, field: string, size?: number): Hex {
  if (typeof value !== 'string' || !DATA.test(value))
    malformed(field, size ? `${size} bytes of hex` : 'hex bytes', value)
  if (size !== undefined && value.length !== 2 + size * 2)
    malformed(field, `${size} bytes of hex`, value)
  return value as Hex
}

/** A 32-byte hash. */
export const hash32 = (value: unknown, field: string): Hex => bytes(value, field, 32)

/** A 20-byte address. */
export const address = (value: unknown, field: string): Hex => bytes(value, field, 20)

/** True when `value` is a hex string equal to `hex`, ignoring letter case. */
export function sameHex(value: unknown, hex: string): boolean {
  return typeof value === 'string' && value.toLowerCase() === hex.toLowerCase()
}
