import assert from 'node:assert/strict'
import { test } from 'vitest'
import { mapLimit } from './mapLimit.ts'

const tick = () => new Promise((r) => setTimeout(r, 1))

test('results in order, never more than `limit` in flight', async () => {
  let inFlight = 0
  let most = 0
  const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
    most = Math.max(most, ++inFlight)
    for (let i = 0; i < n; i++) await tick()
    inFlight--
    return n * 10
  })
  assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 60])
  assert.equal(most, 3)
  assert.deepEqual(await mapLimit([], 8, async () => 1), [])
})

test('the first rejection rejects and starts nothing more; so does the first undefined', async () => {
  const started: number[] = []
  await assert.rejects(
    mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n)
      await tick()
      if (n === 1) throw new Error('lie')
      return n
    }),
    /lie/,
  )
  assert.ok(started.length <= 3, `started ${started}`)
  started.length = 0
  const out = await mapLimit([0, 1, 2, 3, 4, 5], 1, async (n) => {
    started.push(n)
    return n === 2 ? undefined : n
  })
  assert.deepEqual(started, [0, 1, 2])
  assert.equal(out[2], undefined)
})
