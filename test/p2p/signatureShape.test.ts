import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as Secp256k1 from 'ox/Secp256k1'
import { describe, it } from 'vitest'
import { N, signatureFlaw } from '../../src/p2p/signatureShape.ts'

describe('signatureFlaw (checked before a dApp publishes a transaction)', () => {
  it('agrees with key recovery on which r are on the curve', () => {
    const payload = `0x${'11'.repeat(32)}` as const
    const s = 1n << 200n
    let on = 0
    for (let i = 0; i < 64; i++) {
      const r = (BigInt(`0x${randomBytes(32).toString('hex')}`) % (N - (1n << 128n))) + (1n << 128n)
      let recovers = true
      try {
        Secp256k1.recoverPublicKey({ payload, signature: { r, s, yParity: 0 } })
      } catch {
        recovers = false
      }
      if (recovers) on++
      assert.equal(
        signatureFlaw({ r, s, yParity: 0 }),
        recovers ? undefined : 'its signature recovers no key',
        `r = ${r}`,
      )
    }
    assert.ok(on > 0 && on < 64, 'both kinds were tried')
  })

  it('finds what no key made without a curve library', () => {
    assert.equal(signatureFlaw({}), 'unsigned')
    assert.equal(signatureFlaw({ r: 0n, s: 0n, yParity: 0 }), 'unsigned')
    assert.equal(signatureFlaw({ r: 1n << 200n, s: 1n << 200n, yParity: 2 }), 'y parity 2')
    assert.equal(signatureFlaw({ r: N, s: 1n << 200n, yParity: 0 }), 'r or s out of range')
    assert.equal(signatureFlaw({ r: 1n << 200n, s: N - 1n, yParity: 0 }), 'high s (EIP-2)')
    assert.equal(signatureFlaw({ r: 1n, s: 1n, yParity: 0 }), 'a signature no key made')
  })
})
