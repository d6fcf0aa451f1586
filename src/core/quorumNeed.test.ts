/**
 * candidatesFor over a real source pool: who a head-dependent read may ask when no source at
 * the agreed chain's tip is eligible.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import type { Source } from '../shared/types.ts'
import { resolveConfig } from './config.ts'
import { createEmitter } from './emitter.ts'
import type { OutlastEvents } from './events.ts'
import { candidatesFor } from './quorumNeed.ts'
import { createSourcePool } from './sourcePool.ts'

const source = (name: string): Source => ({
  config: { name, kind: 'cloud', domain: name, weight: 1, label: name },
  request: () => Promise.reject(new Error('not used')),
})

/** aws and gcp down (breakers open) at the tip; home back with a burst: ahead, `unconfirmed`. */
function afterOutage() {
  const config = resolveConfig({ chainId: 1, sources: ['aws', 'gcp', 'home'].map(source) })
  const pool = createSourcePool(config, createEmitter<OutlastEvents>())
  const [aws, gcp, home] = pool.states
  for (const s of [aws!, gcp!]) s.breaker.trip(60_000)
  home!.unconfirmed = true
  const names = (r: ReturnType<typeof candidatesFor>) => r.candidates.map((s) => s.name)
  return { pool, aws: aws!, gcp: gcp!, home: home!, names }
}

describe('candidatesFor: none eligible at the tip', () => {
  it('asks the domain that is only ahead first, then the last resorts', () => {
    const { pool, names } = afterOutage()
    assert.deepEqual(names(candidatesFor(pool, true)), ['home', 'aws', 'gcp'])
    // A read at no block: home is eligible there, the others are its reserve, as before.
    const any = candidatesFor(pool, false)
    assert.deepEqual([names(any), any.reserve?.map((s) => s.name)], [['home'], ['aws', 'gcp']])
  })

  it('the domain ahead alone, the others lagging as well as down', () => {
    const { pool, aws, gcp, names } = afterOutage()
    aws.lag = gcp.lag = 10
    assert.deepEqual(names(candidatesFor(pool, true)), ['home'])
  })

  it('never one on a fork, lagging, with a head from the future or stale', () => {
    for (const mark of [
      (s: { forked: boolean }) => (s.forked = true),
      (s: { lag: number }) => (s.lag = 3),
      (s: { headVerdict: unknown }) => (s.headVerdict = { kind: 'future', reason: 'ahead' }),
      (s: { headVerdict: unknown }) => (s.headVerdict = { kind: 'stale', reason: 'old' }),
    ]) {
      const { pool, home, names } = afterOutage()
      mark(home as never)
      assert.deepEqual(names(candidatesFor(pool, true)), ['aws', 'gcp'])
    }
  })

  it('never beside a source that is up (its breaker closed), wherever its head', () => {
    const { pool, gcp, names } = afterOutage()
    gcp.breaker.success()
    gcp.head = { number: 6, hash: '0x06', at: 0 }
    gcp.lag = 10
    assert.deepEqual(names(candidatesFor(pool, true)), ['aws'])
  })

  it('beside one whose breaker closed but whose latest attempt failed: as the stream, home first', () => {
    // watch.test.ts on a loaded machine: gcp's socket back (breaker closed) with its head from
    // before the outage, its last attempt failed. The stream moved on home's head (heldBack: no
    // domain up disputes it), so viem's read of each pushed head was refused: "All sources failed".
    const { pool, gcp, names } = afterOutage()
    gcp.breaker.success()
    gcp.head = { number: 6, hash: '0x06', at: 0 }
    gcp.lag = 10
    gcp.lastAnswerAt = 1
    gcp.lastFailedAt = 2
    assert.equal(pool.up(gcp), false)
    assert.deepEqual(names(candidatesFor(pool, true)), ['home', 'aws'])
    // Once it answers again it is up: home waits while it catches up.
    gcp.lastAnswerAt = 3
    assert.equal(pool.up(gcp), true)
    assert.deepEqual(names(candidatesFor(pool, true)), ['aws'])
  })
})
