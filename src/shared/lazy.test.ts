import assert from 'node:assert/strict'
import { it } from 'vitest'
import { lazy } from './lazy.ts'

it('shares one load; a failed load is tried again on the next call, not kept', async () => {
  let calls = 0
  const get = lazy(async () => {
    calls++
    if (calls === 1) throw new TypeError('Failed to fetch dynamically imported module')
    return calls
  })
  assert.equal(get.started(), undefined, 'nothing begun before the first call')
  await assert.rejects(get(), /Failed to fetch/)
  assert.equal(get.started(), undefined, 'a failed load is not kept')
  const [a, b] = await Promise.all([get(), get()])
  assert.deepEqual([a, b, calls], [2, 2, 2])
  assert.equal(await get(), 2)
  assert.equal(calls, 2, 'a resolved load is kept')
})
