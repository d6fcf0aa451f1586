/**
 * The native BLS path for Node: `@chainsafe/blst` (an optional peer) behind the same
 * `BlsVerifier` seam as `nobleVerifier`, for `light({ verifier: await fastestVerifier() })`.
 * It is loaded by a dynamic import whose specifier bundlers cannot follow, so browser bundles
 * never see it; `fastestVerifier()` falls back to the pure-JS verifier when it is absent (a
 * browser, or not installed). Nothing in `light()` imports this file: a bundle that does not
 * name these functions does not carry them.
 *
 * blst has no point subtraction, so "the aggregate minus the non-signers" adds the non-signers'
 * keys negated: a compressed G1 point's negation is the same bytes with the y-sign flag flipped.
 * Keys are decoded (infinity and subgroup checked) only when needed and kept per committee.
 */
import { ConfigError } from '../shared/errors.ts'
import { type BlsVerifier, nobleVerifier } from './bls.ts'
import { LightClientError } from './errors.ts'
import { signerKeys } from './signers.ts'
import type { SyncCommittee } from './types.ts'

type Blst = typeof import('@chainsafe/blst')
type PublicKey = InstanceType<Blst['PublicKey']>

/** The name bundlers see as a variable, not a module to bundle. */
const BLST = '@chainsafe/blst'

/** Bit 0x20 of a compressed G1 point's first byte: y is the larger of the two roots. */
const Y_SIGN = 0x20
const INFINITY = 0x40

/** Participants' keys of one committee: the aggregate, each key, each key negated. */
type CommitteeKeys = {
  aggregate: PublicKey | undefined
  keys: (PublicKey | undefined)[]
  negated: (PublicKey | undefined)[]
}

let loading: Promise<Blst | undefined> | undefined

/** `@chainsafe/blst`, or undefined when it cannot load here (not installed, not Node). */
function loadBlst(): Promise<Blst | undefined> {
  loading ??= (async () => {
    const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions
      ?.node
    if (!node) return undefined
    try {
      const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ BLST)) as Blst & {
        default?: Blst
      }
      // CommonJS: the named exports may sit on `default` only.
      return typeof mod.fastAggregateVerify === 'function' ? mod : mod.default
    } catch {
      return undefined
    }
  })()
  return loading
}

/**
 * The verifier on `@chainsafe/blst` (native, Node only). Rejects with a `ConfigError` when blst
 * cannot be loaded; `fastestVerifier()` falls back instead.
 */
export async function blstVerifier(): Promise<BlsVerifier> {
  const blst = await loadBlst()
  if (!blst)
    throw new ConfigError(
      'blstVerifier: @chainsafe/blst could not be loaded (it is an optional peer, native, Node only): install it, or use nobleVerifier()',
    )
  return verifierOn(blst)
}

/** blst when it loads (Node with `@chainsafe/blst` installed), else the pure-JS `nobleVerifier()`. */
export async function fastestVerifier(): Promise<BlsVerifier> {
  const blst = await loadBlst()
  return blst ? verifierOn(blst) : nobleVerifier()
}

function verifierOn(blst: Blst): BlsVerifier {
  const cache = new WeakMap<SyncCommittee, CommitteeKeys>()
  const decode = (bytes: Uint8Array, what: string): PublicKey => {
    try {
      // Validated: not infinity, in the G1 subgroup.
      return blst.PublicKey.fromBytes(bytes, true)
    } catch (cause) {
      throw new LightClientError(
        'invalid-key',
        `Sync committee ${what} is not a valid BLS public key.`,
        { cause },
      )
    }
  }
  const keysOf = (committee: SyncCommittee): CommitteeKeys => {
    let entry = cache.get(committee)
    if (!entry) {
      const n = committee.pubkeys.length
      entry = {
        aggregate: undefined,
        keys: new Array(n).fill(undefined),
        negated: new Array(n).fill(undefined),
      }
      cache.set(committee, entry)
    }
    return entry
  }
  const keyAt = (committee: SyncCommittee, entry: CommitteeKeys, i: number): PublicKey => {
    let key = entry.keys[i]
    if (!key) {
      key = decode(committee.pubkeys[i] as Uint8Array, `key ${i}`)
      entry.keys[i] = key
    }
    return key
  }
  const negatedAt = (committee: SyncCommittee, entry: CommitteeKeys, i: number): PublicKey => {
    let key = entry.negated[i]
    if (!key) {
      const bytes = committee.pubkeys[i] as Uint8Array
      // An infinity or malformed key is decoded as is, to be refused with its own index. A valid
      // key's negation decodes iff the key does (same x, other y): no key is let through.
      if (bytes.length !== 48 || (bytes[0] as number) & INFINITY) return keyAt(committee, entry, i)
      const flipped = bytes.slice()
      flipped[0] = (flipped[0] as number) ^ Y_SIGN
      key = decode(flipped, `key ${i}`)
      entry.negated[i] = key
    }
    return key
  }

  return {
    name: 'blst',
    verifySyncAggregate(committee, bits, signingRoot, signature) {
      const plan = signerKeys(bits, committee.pubkeys.length)
      if (!plan) return false
      const entry = keysOf(committee)
      if (plan.fromAggregate) entry.aggregate ??= decode(committee.aggregatePubkey, 'aggregate key')
      const parts: PublicKey[] =
        plan.fromAggregate && entry.aggregate
          ? [entry.aggregate, ...plan.indices.map((i) => negatedAt(committee, entry, i))]
          : plan.indices.map((i) => keyAt(committee, entry, i))
      const key = parts.length === 1 ? (parts[0] as PublicKey) : blst.aggregatePublicKeys(parts)
      // The participants' keys cancelled out: no one to have signed.
      if ((key.toBytes(true)[0] as number) & INFINITY) return false
      let sig: InstanceType<Blst['Signature']>
      try {
        sig = blst.Signature.fromBytes(signature, true)
      } catch {
        return false
      }
      try {
        return blst.verify(signingRoot, key, sig)
      } catch {
        return false
      }
    },
  }
}
