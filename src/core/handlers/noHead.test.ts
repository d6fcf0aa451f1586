import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import type { Engine } from '../engine.ts'
import { noHead } from './noHead.ts'

/** A pool whose sources last answered at `answeredAt` (ms). */
const pool = (...answeredAt: number[]) =>
  ({
    states: answeredAt.map((at, i) => ({ name: `s${i}`, lastAnswerAt: at, lastError: 'x' })),
  }) as unknown as Engine['pool']

describe('noHead: the error of a read no head was agreed for in time', () => {
  const call = { method: 'eth_getBalance', started: 1_000 }

  it('no source answered since the request began: 4900, as good as disconnected', () => {
    assert.equal(noHead({ pool: pool(0, 999) }, call).code, 4900)
    assert.equal(noHead({ pool: pool() }, call).code, 4900)
  })

  it('a source answered (heads that no check passed, or no agreement): -32603', () => {
    const error = noHead({ pool: pool(0, 1_200) }, call)
    assert.equal(error.code, -32603)
    assert.match(error.message, /- s0: x\n- s1: x/)
  })
})
