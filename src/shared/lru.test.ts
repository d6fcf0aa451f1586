import assert from 'node:assert/strict'
import { it } from 'vitest'
import { createLru } from './lru.ts'

it('keeps at most `capacity` entries, least recently used out first', () => {
  const lru = createLru<number>(2)
  lru.set('a', 1)
  lru.set('b', 2)
  assert.equal(lru.get('a'), 1) // a is now the most recent
  lru.set('c', 3)
  assert.equal(lru.get('b'), undefined)
  assert.deepEqual([lru.get('a'), lru.get('c'), lru.size()], [1, 3, 2])
})

it('is bounded by bytes too: padded answers push the oldest out; one too big is not kept', () => {
  const lru = createLru<string>(1_000, 100, (v) => v.length)
  for (let i = 0; i < 10; i++) lru.set(`k${i}`, 'x'.repeat(30))
  assert.ok(lru.bytes() <= 100, `${lru.bytes()} bytes held`)
  assert.equal(lru.size(), 3)
  assert.equal(lru.get('k9'), 'x'.repeat(30))
  assert.equal(lru.get('k0'), undefined)
  lru.set('huge', 'y'.repeat(101))
  assert.equal(lru.get('huge'), undefined)
  lru.set('k9', 'z') // replacing an entry gives its bytes back
  assert.equal(lru.bytes(), 61)
})

it('capacity 0 keeps nothing', () => {
  const lru = createLru<number>(0)
  lru.set('a', 1)
  assert.equal(lru.get('a'), undefined)
})
