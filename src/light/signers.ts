/**
 * Which committee keys make the signers' aggregate public key, for every BLS backend: when most
 * of the committee signed (over 90 % on mainnet), the committee's aggregate key minus the few
 * non-signers; else the signers' keys added up.
 */
import { bitSet, countBits } from './bytes.ts'

export type SignerKeys = {
  /** Start from the committee's aggregate key and take `indices` (the non-signers) away. */
  fromAggregate: boolean
  /** The keys to take away (`fromAggregate`) or to add up (the signers). */
  indices: number[]
}

/** The plan for `bits` over a committee of `size`; undefined if they do not fit or no one signed. */
export function signerKeys(bits: Uint8Array, size: number): SignerKeys | undefined {
  if (bits.length * 8 !== size) return undefined
  const participants = countBits(bits)
  if (participants === 0) return undefined
  const fromAggregate = participants * 2 > size
  const indices: number[] = []
  for (let i = 0; i < size; i++) if (bitSet(bits, i) !== fromAggregate) indices.push(i)
  return { fromAggregate, indices }
}
