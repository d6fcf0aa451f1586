import assert from 'node:assert/strict'
import { it } from 'vitest'
import { defaultMaxAge, type HeadClockRule, judgeHeads, type TimedHead } from './headClock.ts'

const NOW = 1_700_000_000_000
const rule: HeadClockRule = { now: NOW, maxAge: 60_000, maxSkew: 15_000, maxLag: 2, trustQuorum: 2 }
const head = (domain: string, number: number, age: number, more: Partial<TimedHead> = {}) => ({
  domain,
  number,
  time: NOW - age,
  extendsAgreed: true,
  domains: 1,
  ...more,
})
const kinds = (heads: (TimedHead | undefined)[], r = rule) =>
  judgeHeads(heads, r).map((v) => v?.kind)

it('an old head is stale while another domain is fresh, on the agreed chain and ahead', () => {
  const verdicts = judgeHeads([head('home', 100, 300_000), head('aws', 125, 2_000)], rule)
  assert.deepEqual(
    verdicts.map((v) => v?.kind),
    ['stale', undefined],
  )
  assert.equal(verdicts[0]?.reason, 'head #100 is 300 s old while aws is at #125 (2 s old)')
})

it('every head old (an idle chain, a clock running fast): no one is stale', () => {
  assert.deepEqual(kinds([head('home', 100, 300_000), head('aws', 101, 90_000)]), [
    undefined,
    undefined,
  ])
})

it('the fresh head must extend the agreed chain, be past maxLag, and be in another domain', () => {
  const old = head('home', 100, 300_000)
  assert.deepEqual(kinds([old, head('liar', 125, 1_000, { extendsAgreed: false })]), [
    undefined,
    undefined,
  ])
  assert.deepEqual(kinds([old, head('aws', 102, 1_000)]), [undefined, undefined])
  assert.deepEqual(kinds([old, head('aws', 103, 1_000)]), ['stale', undefined])
  assert.deepEqual(kinds([old, head('home', 125, 1_000)]), [undefined, undefined])
  assert.deepEqual(kinds([old, undefined]), [undefined, undefined])
})

it('a head from the future is neither fresh evidence nor counted', () => {
  const verdicts = judgeHeads([head('home', 100, 300_000), head('liar', 125, -3_600_000)], rule)
  assert.deepEqual(
    verdicts.map((v) => v?.kind),
    [undefined, 'future'],
  )
  assert.equal(verdicts[1]?.reason, 'head #125 is 3600 s ahead of the local clock')
})

it('a future head is not refused when two domains report it, or when every head is ahead', () => {
  assert.deepEqual(kinds([head('aws', 10, -30_000, { domains: 2 }), head('gcp', 9, 0)]), [
    undefined,
    undefined,
  ])
  // The local clock is behind: every domain's head looks like it is from the future.
  assert.deepEqual(kinds([head('aws', 10, -30_000), head('gcp', 11, -31_000)]), [
    undefined,
    undefined,
  ])
  // Within the skew allowed.
  assert.deepEqual(kinds([head('aws', 10, -14_000), head('gcp', 9, 0)]), [undefined, undefined])
})

it('the thresholds are options: a small maxAge makes seconds-old heads stale', () => {
  const small = { ...rule, maxAge: 3_000 }
  assert.deepEqual(kinds([head('home', 100, 8_000), head('aws', 108, 1_000)], small), [
    'stale',
    undefined,
  ])
  assert.deepEqual(kinds([head('home', 100, 8_000), head('aws', 108, 1_000)]), [
    undefined,
    undefined,
  ])
})

it('the default maxAge: a minute, or five block times', () => {
  assert.equal(defaultMaxAge(undefined), 60_000)
  assert.equal(defaultMaxAge(12_000), 60_000)
  assert.equal(defaultMaxAge(30_000), 150_000)
})
