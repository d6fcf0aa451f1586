import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { turnstile } from './turnstile.ts'

describe("turnstile (a peer's streams at once)", () => {
  it('lets in up to the limit, then the waiting in order as places free', async () => {
    const t = turnstile(2)
    const order: number[] = []
    await t.enter(new AbortController().signal)
    await t.enter(new AbortController().signal)
    const waits = [3, 4, 5].map((n) =>
      t.enter(new AbortController().signal).then(() => void order.push(n)),
    )
    await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(order, [], 'none past the limit')
    t.leave()
    await waits[0]
    assert.deepEqual(order, [3])
    t.leave()
    t.leave()
    await Promise.all(waits)
    assert.deepEqual(order, [3, 4, 5], 'first come, first served')
  })

  it('drops a waiter whose signal aborts, and keeps its place for the next', async () => {
    const t = turnstile(1)
    await t.enter(new AbortController().signal)
    const quit = new AbortController()
    const gone = t.enter(quit.signal)
    let next = false
    const stays = t.enter(new AbortController().signal).then(() => {
      next = true
    })
    quit.abort(new Error('cancelled'))
    await assert.rejects(gone, /cancelled/)
    t.leave()
    await stays
    assert.equal(next, true, 'the place went to the waiter behind the one that left')
    await assert.rejects(t.enter(AbortSignal.abort(new Error('already'))), /already/)
    // One inside, none waiting: one more leave frees the only place.
    t.leave()
    await t.enter(new AbortController().signal)
  })
})
