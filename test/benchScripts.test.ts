/**
 * The bench scripts that build their own chain data still run against today's checks: a bench
 * whose made-up blocks the engine now refuses fails here, not only in `npm run bench`.
 */
import assert from 'node:assert/strict'
import { it } from 'vitest'
import { measurePadding } from '../bench/padding.ts'

it('bench/padding.ts: 20 padded blocks by hash, each answered (a wrong or refused one throws)', async () => {
  const r = await measurePadding(20)
  assert.equal(r.lookups, 20)
})
