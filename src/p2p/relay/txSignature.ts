/**
 * Whether a gossiped transaction is signed: its sender recovered from its signature, before the
 * relay asks its node anything about it. gossip.ts's `checkTransaction` only decodes (it runs in
 * browsers too, which need no secp256k1 for it); a relay, which submits what it checks to its
 * node, also refuses what no key signed (signatureShape.ts) and a signature that recovers no
 * key. Pure, Node and browser alike: the relay imports it, and the dApp's node loads it with its
 * first send, to publish only what a relay would take (a relay strikes the publisher of junk).
 */
import * as Secp256k1 from 'ox/Secp256k1'
import * as Eip1559 from 'ox/TxEnvelopeEip1559'
import * as Eip2930 from 'ox/TxEnvelopeEip2930'
import * as Eip4844 from 'ox/TxEnvelopeEip4844'
import * as Eip7702 from 'ox/TxEnvelopeEip7702'
import * as Legacy from 'ox/TxEnvelopeLegacy'
import type { Hex } from '../../shared/types.ts'
import type { Checked } from '../gossip.ts'
import { type Signature, signatureFlaw } from '../signatureShape.ts'

/** A transaction's signature, and the hash its sender signed (asked for only once it is needed). */
type Signed = { signature: Signature; payload: () => Hex }

/** Each type's reader (gossip.ts decoded it already: these do not fail on what reaches them). */
const readers: Record<number, (raw: Hex) => Signed> = {
  1: (raw) => {
    const tx = Eip2930.deserialize(raw as Eip2930.Serialized)
    return { signature: tx, payload: () => Eip2930.getSignPayload(tx) }
  },
  2: (raw) => {
    const tx = Eip1559.deserialize(raw as Eip1559.Serialized)
    return { signature: tx, payload: () => Eip1559.getSignPayload(tx) }
  },
  3: (raw) => {
    const tx = Eip4844.deserialize(raw as Eip4844.Serialized)
    return { signature: tx, payload: () => Eip4844.getSignPayload(tx) }
  },
  4: (raw) => {
    const tx = Eip7702.deserialize(raw as Eip7702.Serialized)
    return { signature: tx, payload: () => Eip7702.getSignPayload(tx) }
  },
}

const legacy = (raw: Hex): Signed => {
  const tx = Legacy.deserialize(raw)
  return { signature: tx, payload: () => Legacy.getSignPayload(tx) }
}

/** The sender of a raw transaction that decoded (gossip.ts), or why no key signed it. */
export function checkSignature(raw: Hex): Checked<{ from: Hex }> {
  let signed: Signed
  try {
    const type = Number.parseInt(raw.slice(2, 4), 16)
    // A legacy transaction is an RLP list (first byte >= 0xc0); a typed one starts with its type.
    const read = type >= 0xc0 ? legacy : readers[type]
    if (!read) return { ok: false, why: `unknown transaction type ${type}` }
    signed = read(raw)
  } catch {
    return { ok: false, why: 'does not decode' }
  }
  const flaw = signatureFlaw(signed.signature)
  if (flaw) return { ok: false, why: flaw }
  const { r, s, yParity } = signed.signature as Required<Signature>
  try {
    return {
      ok: true,
      value: {
        from: Secp256k1.recoverAddress({
          payload: signed.payload(),
          signature: { r, s, yParity: yParity as 0 | 1 },
        }),
      },
    }
  } catch {
    return { ok: false, why: 'its signature recovers no key' }
  }
}
