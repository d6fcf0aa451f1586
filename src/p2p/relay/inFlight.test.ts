import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { inFlight, inFlightPer } from './inFlight.ts'

describe('inFlight', () => {
  it('runs tasks up to the bound, none past it, and frees a slot when one settles', async () => {
    const slots = inFlight(2)
    const release: (() => void)[] = []
    const task = () => new Promise<void>((r) => release.push(r))
    const a = slots.run(task)
    const b = slots.run(() => Promise.reject(new Error('refused')))
    assert.ok(a && b)
    assert.equal(slots.full(), true)
    assert.equal(slots.run(task), undefined, 'past the bound: not run')
    assert.equal(release.length, 1)
    await assert.rejects(b, /refused/)
    assert.equal(slots.count(), 1, 'a rejected task gives its slot back')
    assert.equal(slots.full(), false)
    const c = slots.run(task)
    assert.ok(c)
    assert.equal(slots.run(task), undefined)
    for (const r of release) r()
    await Promise.all([a, c])
    assert.equal(slots.count(), 0)
  })

  it('gives the slot back when a task throws at once', async () => {
    const slots = inFlight(1)
    await assert.rejects(
      slots.run(() => {
        throw new Error('at once')
      })!,
      /at once/,
    )
    assert.equal(slots.count(), 0)
  })

  it('holds each key to its own bound in front of a shared one', async () => {
    const shared = inFlight(4)
    const per = inFlightPer(2)
    const release: (() => void)[] = []
    const task = () => new Promise<void>((r) => release.push(r))
    const run = (peer: string) => per.run(peer, () => shared.run(task))
    const flood = [run('a'), run('a'), run('a'), run('a')]
    assert.deepEqual(
      flood.map((p) => p !== undefined),
      [true, true, false, false],
      "one peer's flood holds two slots",
    )
    assert.equal(per.full('a'), true)
    assert.ok(run('b') && run('b'), 'another peer gets the rest')
    assert.equal(run('c'), undefined, 'the shared bound still holds')
    assert.equal(per.full('c'), false, 'a task the shared bound refused is not counted')
    for (const r of release) r()
    await Promise.all(flood)
    assert.equal(per.full('a'), false)
    assert.ok(run('a'))
    for (const r of release) r()
  })
})
