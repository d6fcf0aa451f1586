import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { accepts, highestAgreed, steppedBackTo } from './headChoice.ts'
import type { SourceState } from './sourceState.ts'

/** A source in `domain` that reported `hashes` (height to hash). */
const source = (domain: string, hashes: Record<number, string>) =>
  ({
    domain,
    hashes: new Map(Object.entries(hashes).map(([n, h]) => [Number(n), h])),
  }) as never as SourceState
const never = () => false
const head = (q: number, among: SourceState[], trustQuorum = 2) => {
  const c = highestAgreed(q, among, trustQuorum, never)
  return c && `${c.number}:${c.hash}:${c.domains}`
}

describe('highestAgreed with a quorum of three domains', () => {
  const a = source('a', { 1: 'x1', 2: 'x2', 3: 'x3' })
  const b = source('b', { 1: 'x1', 2: 'x2', 3: 'x3' })

  it('a domain on a chain of its own (another hash at each height) does not hold the head back', () => {
    const liar = source('liar', { 1: 'x1', 2: 'f2', 3: 'f3', 4: 'f4' })
    assert.equal(head(3, [liar, a, b]), '3:x3:2')
  })

  it('a domain behind (no hash at a height yet) is waited for: the head is the height all three hold', () => {
    const behind = source('c', { 1: 'x1', 2: 'x2' })
    assert.equal(head(3, [behind, a, b]), '2:x2:3')
  })

  it('never fewer domains than a confirmation: one domain against two others of their own', () => {
    const c = source('c', { 1: 'x1', 2: 'y2' })
    const d = source('d', { 1: 'x1', 2: 'z2' })
    assert.equal(head(3, [source('a', { 1: 'x1', 2: 'x2' }), c, d]), '1:x1:3')
  })

  it('a quorum of two is as before: two domains, whatever the third says', () => {
    const liar = source('liar', { 1: 'x1', 2: 'f2' })
    assert.equal(head(2, [liar, source('a', { 1: 'x1', 2: 'x2' })]), '1:x1:2')
    assert.equal(head(1, [liar], 1), '2:f2:1')
  })
})

describe('accepts: a lone head at the confirmed head', () => {
  const confirmed = { number: 3, hash: 'x3' }
  const lone = (number: number, hash: string) => ({ number, hash, backers: [], domains: 1 })
  const linked = () => true

  it('is refused while the head stands on a source not cut off (a lagging backend does not take it back)', () => {
    assert.equal(
      accepts(lone(3, 'x3'), confirmed, 2, linked, () => false),
      false,
    )
  })

  it('is taken (unconfirmed) once every backer of the head was cut off as lying', () => {
    assert.equal(
      accepts(lone(3, 'x3'), confirmed, 2, linked, () => true),
      true,
    )
  })

  it('only the confirmed head itself: not a lower lone head, nor another at its height', () => {
    assert.equal(
      accepts(lone(2, 'x2'), confirmed, 2, linked, () => true),
      false,
    )
    assert.equal(
      accepts(lone(3, 'y3'), confirmed, 2, linked, () => true),
      false,
    )
  })
})

describe('accepts: a lower confirmed head (a rollback)', () => {
  const confirmed = { number: 4, hash: 'x4' }
  /** A source in `domain` whose head is `at` and whose highest head was `peak`. */
  const at = (domain: string, number: number, hash: string, peak: number) =>
    ({ domain, head: { number, hash, at: 0 }, peak }) as never as SourceState
  const lower = (backers: SourceState[]) => ({
    number: 3,
    hash: 'x3',
    backers,
    domains: new Set(backers.map((s) => s.domain)).size,
  })
  const rollback = (sources: SourceState[], standing: SourceState[] = []) =>
    accepts(
      lower(sources),
      confirmed,
      2,
      () => true,
      () => false,
      () => steppedBackTo({ number: 3, hash: 'x3' }, [...sources, ...standing]),
    )

  it('is taken when two domains stepped back to it, whatever a third still reports (reviewOfSession40e 1)', () => {
    assert.equal(
      rollback([at('aws', 3, 'x3', 4), at('gcp', 3, 'x3', 4)], [at('liar', 4, 'x4', 4)]),
      true,
    )
  })

  it('is refused beside a domain that never passed it: a lagging domain and one liar are no rollback (reviewOfSession40b 1)', () => {
    assert.equal(rollback([at('gcp', 3, 'x3', 3), at('liar', 3, 'x3', 4)]), false)
    assert.equal(steppedBackTo({ number: 3, hash: 'x3' }, [at('aws', 3, 'y3', 4)]), 0)
  })
})
