import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { inFlight } from './inFlight.ts'

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
})
