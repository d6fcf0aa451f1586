/**
 * Whether a transaction's signature could be a key's, in plain bigint arithmetic (no curve
 * library: the dApp's bundle needs none). A dApp's node checks it before publishing a transaction
 * to gossip, since a relay strikes the publisher of one no key signed; a relay checks it before
 * recovering the sender (relay/txSignature.ts). What a key never makes: no signature (EIP-155's
 * unsigned form, a typed transaction without one), r or s out of range, a high s (EIP-2: nodes
 * refuse it), r and s too small to be a key's, an r that is the x of no point of the curve.
 */

export type Signature = {
  r?: bigint | undefined
  s?: bigint | undefined
  yParity?: number | undefined
}

/** The order of secp256k1's group: r and s are below it, and s at most half of it (EIP-2). */
export const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
/** The field's prime: a point's x is below it, and x^3 + 7 a square modulo it. */
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn

/**
 * The least r and s a signing key makes, but for a chance of 2^-128. r is the x of a random
 * point (the signer's nonce times G), s a random number below N/2: neither is ever that small.
 * Yet any (r, s) whose r is on the curve "recovers" some address, so that a signature picked
 * without a key (r = s = 1) recovers one no one holds the key of. Such a transaction is junk.
 */
const LEAST = 1n << 128n

/** Why no key made `signature`, or undefined when one may have (only recovery says who). */
export function signatureFlaw({ r, s, yParity }: Signature): string | undefined {
  if (r === undefined || s === undefined || yParity === undefined || (!r && !s)) return 'unsigned'
  if (yParity !== 0 && yParity !== 1) return `y parity ${yParity}`
  if (r < 1n || r >= N || s < 1n || s >= N) return 'r or s out of range'
  if (s > N / 2n) return 'high s (EIP-2)'
  if (r < LEAST || s < LEAST) return 'a signature no key made'
  // Euler's criterion: x^3 + 7 is a square mod P (r is a point's x) iff its (P-1)/2th power is 1.
  if (power((r ** 3n + 7n) % P, (P - 1n) / 2n) !== 1n) return 'its signature recovers no key'
  return undefined
}

/** base^exponent mod P, by squaring (256 steps: a fraction of a millisecond). */
function power(base: bigint, exponent: bigint): bigint {
  let result = 1n
  for (let b = base, e = exponent; e > 0n; e >>= 1n, b = (b * b) % P)
    if (e & 1n) result = (result * b) % P
  return result
}
