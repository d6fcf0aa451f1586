/** The pure parts of `light()`: the SSE reader, the checkpoint rules, source ranking and hedging. */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { createBreaker } from '../../src/core/breaker.ts'
import { createLatencyStats } from '../../src/core/latency.ts'
import { agreedRoot, checkpointAge, type RootClaim } from '../../src/light/checkpoint.ts'
import { mainnet } from '../../src/light/index.ts'
import { hedgeDelay, type Member, rankMembers } from '../../src/light/lightPool.ts'
import { sseParser } from '../../src/light/sse.ts'

describe('sseParser', () => {
  it('events split across chunks, CRLF, comments, multi-line data', () => {
    const p = sseParser()
    assert.deepEqual(p.push(': hello\r\nevent: light_client_finality_update\r\nda'), [])
    assert.deepEqual(p.push('ta: {"a":1}\r'), [])
    assert.deepEqual(p.push('\n\r\n'), [{ event: 'light_client_finality_update', data: '{"a":1}' }])
    assert.deepEqual(p.push('data: x\ndata: y\n\nevent: e\n\n'), [
      { event: 'message', data: 'x\ny' },
    ])
  })
  it('an event past the limit throws, whether in one line or many', () => {
    assert.throws(() => sseParser(64).push(`data: ${'x'.repeat(100)}`), RangeError)
    const p = sseParser(64)
    assert.throws(() => {
      for (let i = 0; i < 20; i++) p.push('data: 0123456789\n')
    }, RangeError)
  })
})

const claim = (source: string, domain: string, root: string, slot: number): RootClaim => ({
  source,
  domain,
  root: root as `0x${string}`,
  slot,
  from: 'headers/finalized',
})

describe('checkpoint rules', () => {
  it('agreedRoot needs two distinct domains; the newest agreed root wins', () => {
    assert.equal(
      agreedRoot([claim('a', 'd1', '0x01', 10), claim('b', 'd1', '0x01', 10)]),
      undefined,
      'one domain twice',
    )
    assert.equal(
      agreedRoot([claim('a', 'd1', '0x01', 10), claim('b', 'd2', '0x02', 10)]),
      undefined,
    )
    assert.equal(
      agreedRoot([claim('a', 'd1', '0x01', 10), claim('b', 'd2', '0x01', 10)])?.root,
      '0x01',
    )
    const both = [
      claim('a', 'd1', '0x01', 10),
      claim('b', 'd2', '0x01', 10),
      claim('c', 'd1', '0x02', 20),
      claim('d', 'd3', '0x02', 20),
      claim('liar', 'd4', '0x03', 99),
    ]
    assert.equal(agreedRoot(both)?.root, '0x02')
  })
  it('checkpointAge counts the slots between checkpoint and clock', () => {
    assert.equal(checkpointAge(mainnet, 100, 100 + 7200), 86_400)
    assert.equal(checkpointAge(mainnet, 100, 50), 0)
  })
})

function member(
  name: string,
  latencies: number[],
  state: 'closed' | 'open' | 'half-open' = 'closed',
): Member {
  let now = 0
  const breaker = createBreaker({ threshold: 1, cooldown: 10 }, () => now)
  if (state !== 'closed') breaker.failure()
  if (state === 'half-open') now = 20
  const latency = createLatencyStats()
  for (const ms of latencies) latency.add(ms)
  return {
    source: { name } as never,
    name,
    domain: name,
    breaker,
    latency,
    lies: 0,
    failures: 0,
    lyingUntil: 0,
    lastError: undefined,
    lastOk: undefined,
  }
}

describe('source ranking', () => {
  it('closed before half-open, faster first, open left out; unmeasured as 250 ms', () => {
    const ranked = rankMembers([
      member('slow', [400]),
      member('fast', [20]),
      member('new', []),
      member('down', [5], 'open'),
      member('probing', [5], 'half-open'),
    ])
    assert.deepEqual(
      ranked.map((m) => m.name),
      ['fast', 'new', 'slow', 'probing'],
    )
  })
  it('the hedge waits twice the p95, within 250 ms..2 s', () => {
    assert.equal(hedgeDelay(member('a', [])), 500)
    assert.equal(hedgeDelay(member('b', [10, 20])), 250)
    assert.equal(hedgeDelay(member('c', [300, 400])), 800)
    assert.equal(hedgeDelay(member('d', [5_000])), 2_000)
  })
})
