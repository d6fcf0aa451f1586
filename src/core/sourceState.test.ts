import assert from 'node:assert/strict'
import { it } from 'vitest'
import { SourceError } from '../shared/errors.ts'
import { http } from '../sources/http.ts'
import { createSourceState, recordFailure, recordSuccess } from './sourceState.ts'

const state = () => createSourceState(http('https://a.example', { name: 'a' }))
const limited = (retryAfter?: number) =>
  new SourceError('a', 'rate-limited', 'HTTP 429', retryAfter === undefined ? {} : { retryAfter })

it('429: an answer to a call sent before the limit does not end it; one sent after does', () => {
  const s = state()
  recordFailure(s, limited(10_000), 1_000)
  assert.equal(s.rateLimitedUntil, 11_000)
  assert.equal(s.announcedUntil, 11_000)
  recordSuccess(s, 50, 1_010) // sent at 960, before the 429
  assert.equal(s.rateLimitedUntil, 11_000, 'Retry-After still honoured')
  recordSuccess(s, 5, 12_000) // sent after the limit began
  assert.equal(s.rateLimitedUntil, 0)
  assert.equal(s.announcedUntil, 0)
  assert.equal(s.rateLimitStreak, 0)
})

it('429 without Retry-After: our own backoff doubles per fresh limit, not per 429 during it', () => {
  const s = state()
  recordFailure(s, limited(), 0)
  assert.equal(s.rateLimitedUntil, 1_000)
  for (let t = 10; t < 1_000; t += 100) recordFailure(s, limited(), t) // a broadcast's 429s
  assert.equal(s.rateLimitedUntil, 1_000, 'not stretched')
  recordFailure(s, limited(), 1_500) // a fresh limit after the first ended
  assert.equal(s.rateLimitedUntil, 3_500)
  assert.equal(s.announcedUntil, 0, 'our own guess, not announced')
  // A Retry-After during our guess marks only its own span as announced.
  recordFailure(s, limited(500), 2_000)
  assert.equal(s.announcedUntil, 2_500)
  assert.equal(s.rateLimitedUntil, 3_500)
})
