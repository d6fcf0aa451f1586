/**
 * The execution blocks a light client vouches for: what its `trustedHeader` hook answers, by
 * hash, by number and for `latest`. Bounded: past `keep` blocks, the oldest go first.
 */
import type { TrustedHeaderHook } from '../core/trust.ts'
import type { Hex } from '../shared/types.ts'
import type { VerifiedHead } from './core.ts'

/**
 * A verified execution block: its hash and number, and the beacon block that carries it. From
 * Gloas on (ePBS) it is the block the beacon block's bid builds on (its payload came with an
 * earlier slot), and the light-client header keeps only its hash: `number` is undefined there.
 */
export type LightBlock = { hash: Hex; number: number | undefined; slot: number; beaconRoot: Hex }

/** The execution block of a verified beacon head; undefined before Capella. */
export const blockOf = (h: VerifiedHead): LightBlock | undefined =>
  h.execution && {
    hash: h.execution.blockHash,
    number: h.execution.blockNumber,
    slot: h.slot,
    beaconRoot: h.beaconRoot,
  }

export type Vouched = {
  /** Vouches for `b` from now on (nothing for undefined). */
  remember(b: LightBlock | undefined): void
  /** `true` for a vouched hash; the hash at a vouched number; the newest vouched for `latest`. */
  hook: TrustedHeaderHook
}

export function createVouched(keep = 1_024): Vouched {
  const byHash = new Map<string, LightBlock>()
  const byNumber = new Map<number, Hex>()
  /** The newest block vouched for (`latest` state reads are proven there). */
  const newest = (): Hex | undefined => {
    let found: LightBlock | undefined
    for (const b of byHash.values()) if (!found || b.slot > found.slot) found = b
    return found?.hash
  }
  return {
    remember(b) {
      if (!b || byHash.has(b.hash)) return
      byHash.set(b.hash, b)
      if (b.number !== undefined) byNumber.set(b.number, b.hash)
      if (byHash.size > keep) {
        const [hash, { number }] = byHash.entries().next().value as [string, LightBlock]
        byHash.delete(hash)
        if (number !== undefined && byNumber.get(number) === hash) byNumber.delete(number)
      }
    },
    hook: async (block) => {
      if ('hash' in block) return byHash.has(String(block.hash).toLowerCase()) ? true : undefined
      if ('latest' in block) return newest()
      return byNumber.get(Number(block.number))
    },
  }
}
