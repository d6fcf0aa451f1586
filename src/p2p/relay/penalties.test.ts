import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { createPenalties } from './penalties.ts'

describe('penalty box', () => {
  it('bans a peer after enough strikes within the window, for the ban time, and no one else', () => {
    let t = 0
    const p = createPenalties({ strikes: 3, window: 1_000, ban: 10_000, now: () => t })
    assert.equal(p.strike('a', 'frame'), false)
    assert.equal(p.strike('a', 'malformed'), false)
    assert.equal(p.strike('b', 'frame'), false)
    assert.equal(p.strike('a', 'gossip'), true, 'the third strike bans')
    assert.equal(p.banned('a'), true)
    assert.equal(p.banned('b'), false)
    assert.equal(p.count(), 1)
    t = 9_999
    assert.equal(p.banned('a'), true)
    t = 10_001
    assert.equal(p.banned('a'), false, 'the ban ends')
    assert.equal(p.count(), 0)
  })

  it('forgets strikes older than the window', () => {
    let t = 0
    const p = createPenalties({ strikes: 2, window: 1_000, now: () => t })
    p.strike('a', 'frame')
    t = 1_500
    assert.equal(p.strike('a', 'frame'), false, 'a new window')
    assert.equal(p.strike('a', 'frame'), true)
  })

  it('weighs a frame past the rate at a tenth: bursts are not bans', () => {
    const p = createPenalties({ strikes: 5, now: () => 0 })
    for (let i = 0; i < 49; i++) assert.equal(p.strike('a', 'rate'), false)
    assert.equal(p.strike('a', 'rate'), true, 'fifty refused frames within the window ban')
  })

  it('weighs a batch past the limit at half a strike: six within the window ban', () => {
    const p = createPenalties({ now: () => 0 })
    for (let i = 0; i < 5; i++) assert.equal(p.strike('a', 'batch'), false)
    assert.equal(p.strike('a', 'batch'), true)
  })

  it('keeps no peer whose strikes are past their window: each strike drops the old ones', () => {
    let t = 0
    const p = createPenalties({ window: 1_000, now: () => t })
    for (let i = 0; i < 100; i++) p.strike(`peer-${i}`, 'rate')
    assert.equal(p.tracked(), 100)
    t = 500
    p.strike('late', 'rate')
    assert.equal(p.tracked(), 101, 'within their window: kept')
    t = 1_200
    p.strike('next', 'rate')
    assert.equal(p.tracked(), 2, 'the hundred one-strike peers are gone; late and next stay')
    t = 1_600
    p.strike('late', 'frame')
    assert.equal(p.tracked(), 2, "late's window ended: it starts a new one at the back")
    t = 2_300
    p.strike('other', 'rate')
    assert.equal(p.tracked(), 2, 'next (from 1200) is gone, late (new window at 1600) stays')
  })
})
