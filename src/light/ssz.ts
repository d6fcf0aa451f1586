/**
 * The few SSZ primitives the light-client containers need: a container's fields split by their
 * offsets (checked), little-endian integers, and the inverse for encoding. Every failure names
 * the field path and what is wrong; nothing is read past a buffer's end or defaulted.
 */
import { malformed } from './errors.ts'

/** A field's size in the fixed part: a byte count, or `'var'` for a 4-byte offset. */
export type FieldSize = number | 'var'

/**
 * Splits an SSZ container into its fields' bytes (views, not copies). Checks the total size of a
 * fixed container, and that the offsets start at the fixed part's end, never go backwards and stay
 * within the buffer.
 */
export function splitContainer(
  bytes: Uint8Array,
  path: string,
  fields: readonly (readonly [name: string, size: FieldSize])[],
): Uint8Array[] {
  let fixed = 0
  let variable = false
  for (const [, size] of fields) {
    fixed += size === 'var' ? 4 : size
    if (size === 'var') variable = true
  }
  if (!variable && bytes.length !== fixed)
    throw malformed(path, `expected ${fixed} bytes, got ${bytes.length}`)
  if (bytes.length < fixed)
    throw malformed(path, `expected at least ${fixed} bytes, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: Uint8Array[] = []
  const offsets: { index: number; offset: number; name: string }[] = []
  let at = 0
  for (const [name, size] of fields) {
    if (size === 'var') {
      const offset = view.getUint32(at, true)
      const previous = offsets.at(-1)?.offset ?? fixed
      if (offsets.length === 0 && offset !== fixed) {
        throw malformed(
          `${path}.${name}`,
          `first offset ${offset} is not the fixed part's size ${fixed}`,
        )
      }
      if (offset < previous || offset > bytes.length) {
        throw malformed(`${path}.${name}`, `offset ${offset} outside ${previous}..${bytes.length}`)
      }
      offsets.push({ index: out.length, offset, name })
      out.push(new Uint8Array(0))
      at += 4
    } else {
      out.push(bytes.subarray(at, at + size))
      at += size
    }
  }
  for (let i = 0; i < offsets.length; i++) {
    const o = offsets[i] as (typeof offsets)[number]
    const end = offsets[i + 1]?.offset ?? bytes.length
    out[o.index] = bytes.subarray(o.offset, end)
  }
  return out
}

/** Joins fields into an SSZ container: fixed fields in place, variable ones behind 4-byte offsets. */
export function joinContainer(
  parts: readonly (readonly [bytes: Uint8Array, variable: boolean])[],
): Uint8Array {
  let fixed = 0
  let total = 0
  for (const [bytes, variable] of parts) {
    fixed += variable ? 4 : bytes.length
    total += variable ? 4 + bytes.length : bytes.length
  }
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  let at = 0
  let tail = fixed
  for (const [bytes, variable] of parts) {
    if (variable) {
      view.setUint32(at, tail, true)
      out.set(bytes, tail)
      tail += bytes.length
      at += 4
    } else {
      out.set(bytes, at)
      at += bytes.length
    }
  }
  return out
}

/** A uint64 (8 bytes little-endian) as a bigint. */
export function readU64(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true)
}

/** A uint64 that must fit a JavaScript number (slots, indices). */
export function readSafeU64(bytes: Uint8Array, path: string): number {
  const value = readU64(bytes)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(path, `${value} is beyond 2^53`)
  return Number(value)
}

/** A uint256 (32 bytes little-endian) as a bigint. */
export function readU256(bytes: Uint8Array): bigint {
  let value = 0n
  for (let i = 31; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] as number)
  return value
}

export function u64Bytes(value: bigint | number, path = 'uint64'): Uint8Array {
  const v = BigInt(value)
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`${path}: ${v} is not a uint64`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, v, true)
  return out
}

export function u256Bytes(value: bigint, path = 'uint256'): Uint8Array {
  if (value < 0n || value >= 1n << 256n) throw new RangeError(`${path}: ${value} is not a uint256`)
  const out = new Uint8Array(32)
  let v = value
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** A u64 as a 32-byte chunk (its hash_tree_root). */
export function u64Chunk(value: bigint | number): Uint8Array {
  const out = new Uint8Array(32)
  new DataView(out.buffer).setBigUint64(0, BigInt(value), true)
  return out
}

/** A Vector[Bytes32, depth]'s entries (copies: the caller keeps them). */
export function readBranch(bytes: Uint8Array, path: string, depth: number): Uint8Array[] {
  if (bytes.length !== depth * 32)
    throw malformed(path, `expected ${depth} × 32 bytes, got ${bytes.length}`)
  const out: Uint8Array[] = []
  for (let i = 0; i < depth; i++) out.push(bytes.slice(i * 32, i * 32 + 32))
  return out
}
