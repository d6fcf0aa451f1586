/**
 * FastAggregateVerify for sync committee signatures, on `@noble/curves` (pure JS, browsers and
 * Node). The participants' key is the committee's aggregate key minus the non-signers (usually
 * a handful of 512), or the signers' sum when fewer than half signed; keys are decoded (and
 * subgroup-checked) only when needed and kept per committee. `BlsVerifier` is the seam for a
 * faster backend (`@chainsafe/blst` in Node).
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { LightClientError } from './errors.ts'
import { signerKeys } from './signers.ts'
import type { SyncCommittee } from './types.ts'

/** Verifies one sync committee signature; true when it is valid for the participants. */
export type BlsVerifier = {
  /** The backend's name, for status and benchmarks. */
  readonly name: string
  /**
   * eth FastAggregateVerify of `signature` over `signingRoot` by the members of `committee`
   * whose bit is set in `bits` (bit i = byte i/8, bit i%8). False for a signature that does not
   * verify or does not decode; throws `LightClientError('invalid-key')` for a committee key that
   * does not decode.
   */
  verifySyncAggregate(
    committee: SyncCommittee,
    bits: Uint8Array,
    signingRoot: Uint8Array,
    signature: Uint8Array,
  ): boolean
}

/** The Ethereum proof-of-possession ciphersuite's hash-to-G2 tag. */
export const ETH_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_'

const sigs = bls12_381.longSignatures
const G1 = bls12_381.G1.Point

export { bitSet, countBits } from './bytes.ts'

type G1Point = ReturnType<typeof G1.fromBytes>

/** Decoded keys of one committee, filled in as they are needed. */
type CommitteeKeys = { aggregate: G1Point | undefined; keys: (G1Point | undefined)[] }

function decodeKey(bytes: Uint8Array, what: string): G1Point {
  try {
    const point = G1.fromBytes(bytes)
    if (point.is0()) throw new Error('the point at infinity')
    return point
  } catch (cause) {
    throw new LightClientError(
      'invalid-key',
      `Sync committee ${what} is not a valid BLS public key.`,
      { cause },
    )
  }
}

/** The pure-JS verifier on `@noble/curves`. Its key cache holds committees weakly. */
export function nobleVerifier(): BlsVerifier {
  const cache = new WeakMap<SyncCommittee, CommitteeKeys>()
  const keysOf = (committee: SyncCommittee): CommitteeKeys => {
    let entry = cache.get(committee)
    if (!entry) {
      entry = { aggregate: undefined, keys: new Array(committee.pubkeys.length).fill(undefined) }
      cache.set(committee, entry)
    }
    return entry
  }
  const keyAt = (committee: SyncCommittee, entry: CommitteeKeys, i: number): G1Point => {
    let key = entry.keys[i]
    if (!key) {
      key = decodeKey(committee.pubkeys[i] as Uint8Array, `key ${i}`)
      entry.keys[i] = key
    }
    return key
  }

  return {
    name: 'noble',
    verifySyncAggregate(committee, bits, signingRoot, signature) {
      const plan = signerKeys(bits, committee.pubkeys.length)
      if (!plan) return false
      const entry = keysOf(committee)
      if (plan.fromAggregate)
        entry.aggregate ??= decodeKey(committee.aggregatePubkey, 'aggregate key')
      let key: G1Point = (plan.fromAggregate && entry.aggregate) || G1.ZERO
      for (const i of plan.indices)
        key = plan.fromAggregate
          ? key.subtract(keyAt(committee, entry, i))
          : key.add(keyAt(committee, entry, i))
      if (key.is0()) return false
      // A signature that does not decode, or decodes to the point at infinity (which noble
      // cannot pair), is not valid: false, never a throw.
      try {
        const sig = sigs.Signature.fromBytes(signature)
        return !sig.is0() && sigs.verify(sig, sigs.hash(signingRoot, ETH_DST), key)
      } catch {
        return false
      }
    },
  }
}
