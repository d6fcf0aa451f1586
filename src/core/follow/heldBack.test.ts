/** heldBack.ts: whose word holds a stream back from a block one domain backs. */
import assert from 'node:assert/strict'
import { describe, test } from 'vitest'
import type { SourceState } from '../sourceState.ts'
import { heldBack } from './heldBack.ts'

/** A source in `domain` whose head is `head` and that reports the given heights' hashes. */
const source = (domain: string, head: number, hashes: [number, string][]) =>
  ({ domain, head: { number: head }, hashes: new Map(hashes) }) as unknown as SourceState

describe('heldBack', () => {
  const liar = source('liar', 6, [
    [5, '0xa'],
    [6, '0xf'],
  ])
  const aws = source('aws', 5, [[5, '0xa']])
  const gcp = source('gcp', 5, [[5, '0xa']])
  const all = [liar, aws, gcp]

  test('one domain backs the block: held while other domains are up, naming them', () => {
    assert.equal(
      heldBack(6, '0xf', all, 2, () => true),
      'block #6 is backed by fewer than 2 domains while aws, gcp, up, stand at #5: held until a second domain backs it',
    )
    assert.match(heldBack(6, '0xf', all, 2, (s) => s !== gcp) ?? '', /while aws, up/)
  })

  test('the other domains are out (an outage): not held', () => {
    assert.equal(
      heldBack(6, '0xf', all, 2, (s) => s === liar),
      undefined,
    )
  })

  test('a block two domains back is confirmed: not held, whoever is up', () => {
    assert.equal(
      heldBack(5, '0xa', all, 2, () => true),
      undefined,
    )
    const home = source('home', 6, [[6, '0xf']])
    assert.equal(
      heldBack(6, '0xf', [...all, home], 2, () => true),
      undefined,
    )
  })

  test('a second source in the backer’s own domain does not hold it back', () => {
    const liar2 = source('liar', 5, [[5, '0xa']])
    assert.equal(
      heldBack(6, '0xf', [liar, liar2], 2, () => true),
      undefined,
    )
  })

  test('with a quorum of one domain every block goes out', () => {
    assert.equal(
      heldBack(6, '0xf', all, 1, () => true),
      undefined,
    )
  })
})
