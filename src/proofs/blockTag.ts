/** Block parameters as the proofs read them. */
import type { Hex } from '../shared/types.ts'

/** A 32-byte hash (a block or transaction hash). */
export const isHash = (v: unknown): v is Hex =>
  typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v)

export const toQuantity = (n: number): Hex => `0x${n.toString(16)}`

/**
 * A block parameter as a number: a quantity, `earliest` (0), or `'latest'` for `latest` and an
 * omitted one (the agreed head). Undefined for what only a node can say (`pending`, `safe`,
 * `finalized`) and for anything else: those are left to quorum.
 */
export function blockNumberOf(tag: unknown): number | 'latest' | undefined {
  if (tag === undefined || tag === 'latest') return 'latest'
  if (tag === 'earliest') return 0
  if (typeof tag !== 'string' || !/^0x[0-9a-fA-F]{1,13}$/.test(tag)) return undefined
  return Number.parseInt(tag, 16)
}
