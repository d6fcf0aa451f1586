import assert from 'node:assert/strict'
import * as Address from 'ox/Address'
import * as Secp256k1 from 'ox/Secp256k1'
import * as Eip1559 from 'ox/TxEnvelopeEip1559'
import * as Legacy from 'ox/TxEnvelopeLegacy'
import { describe, it } from 'vitest'
import { checkSignature } from './txSignature.ts'

const privateKey = `0x${'22'.repeat(32)}` as const
const sender = Address.fromPublicKey(Secp256k1.getPublicKey({ privateKey }))
const N = Secp256k1.noble.CURVE.n
const to = '0x0000000000000000000000000000000000000001'
const typed = Eip1559.from({
  chainId: 31337,
  nonce: 0n,
  gas: 21_000n,
  maxFeePerGas: 1n,
  maxPriorityFeePerGas: 1n,
  to,
  value: 1n,
})
const legacy = Legacy.from({ chainId: 31337, nonce: 0n, gasPrice: 1n, gas: 21_000n, to, value: 1n })
const signature = Secp256k1.sign({ payload: Eip1559.getSignPayload(typed), privateKey })
const why = (raw: `0x${string}`) => {
  const r = checkSignature(raw)
  return r.ok ? `from ${r.value.from}` : r.why
}

describe('checkSignature', () => {
  it('recovers the sender of signed typed and EIP-155 legacy transactions', () => {
    assert.equal(why(Eip1559.serialize(typed, { signature })), `from ${sender}`)
    const legacySignature = Secp256k1.sign({ payload: Legacy.getSignPayload(legacy), privateKey })
    assert.equal(why(Legacy.serialize(legacy, { signature: legacySignature })), `from ${sender}`)
  })

  it('refuses what no key signed: unsigned forms, r or s out of range, high s, tiny r and s', () => {
    assert.equal(why(Legacy.serialize(legacy)), 'unsigned', "EIP-155's unsigned form")
    assert.equal(why(Eip1559.serialize(typed)), 'unsigned')
    const signed = (r: bigint, s: bigint, yParity = signature.yParity) =>
      why(Eip1559.serialize(typed, { signature: { r, s, yParity } }))
    assert.equal(signed(0n, 0n), 'unsigned')
    assert.equal(signed(0n, signature.s), 'r or s out of range')
    assert.equal(signed(N, signature.s), 'r or s out of range')
    // The same signature with s flipped to its high twin: valid maths, refused by nodes (EIP-2).
    assert.equal(signed(signature.r, N - signature.s, 1 - signature.yParity), 'high s (EIP-2)')
    // r = 1 is on the curve: it "recovers" an address whose key no one has.
    assert.equal(signed(1n, 1n, 0), 'a signature no key made')
  })

  it('refuses a signature that recovers no key (its r is the x of no point of the curve)', () => {
    // About half of all x are on the curve: the first r past 2^200 that is not will do.
    const onCurve = (x: bigint) => {
      try {
        Secp256k1.recoverPublicKey({
          payload: `0x${'11'.repeat(32)}`,
          signature: { r: x, s: 1n, yParity: 0 },
        })
        return true
      } catch {
        return false
      }
    }
    let r = 1n << 200n
    while (onCurve(r)) r++
    assert.equal(
      why(Eip1559.serialize(typed, { signature: { r, s: signature.s, yParity: 0 } })),
      'its signature recovers no key',
    )
  })
})
