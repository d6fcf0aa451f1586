import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { RpcResponseError } from '../../shared/errors.ts'
import type { Source } from '../../shared/types.ts'
import type { Engine } from '../engine.ts'
import { createSourceState, type SourceState } from '../sourceState.ts'
import { heldBackDomains, refuses, secondOpinion } from './secondOpinion.ts'

const log = (data: string) => ({ blockHash: `0x${'aa'.repeat(32)}`, logIndex: '0x0', data })
const made = [log('0x1234')]
const real = [log('0x01')]

/** An engine whose pool holds `answers` (a source per entry: its domain, its answer or error). */
function engineOf(answers: [domain: string, answer: unknown][], quorum = 2) {
  const states = answers.map(([domain], i) =>
    createSourceState({ config: { name: `${domain}${i}`, domain, weight: 1 } } as Source),
  )
  const asked: string[] = []
  const engine = {
    config: { quorum: { domains: quorum, sources: 1 }, pollingInterval: 100 },
    pool: {
      states,
      lastResort: () => states,
      attempt: async (s: SourceState) => {
        asked.push(s.name)
        const answer = answers[states.indexOf(s)]![1]
        if (answer instanceof Error) throw answer
        return answer
      },
    },
  } as unknown as Engine
  return { engine, states, asked }
}

describe('secondOpinion: one domain alone answered a stream’s logs', () => {
  it('a held-back domain answering otherwise holds them back (owed), naming both', async () => {
    const { engine } = engineOf([
      ['liar', made],
      ['honest', real],
    ])
    await assert.rejects(
      secondOpinion(engine, { blockHash: `0x${'aa'.repeat(32)}` }, made, ['liar']),
      /liar alone; honest, held back, differs/,
    )
  })

  it('one answering the same makes them agreed; none that can answer leaves them one domain’s', async () => {
    const same = engineOf([
      ['a', real],
      ['b', real],
    ])
    assert.equal(await secondOpinion(same.engine, {}, real, ['a']), true)
    assert.deepEqual(same.asked, ['b1'], 'the answering domain is not asked again')
    const down = engineOf([
      ['a', real],
      ['b', new Error('ECONNREFUSED')],
    ])
    assert.equal(await secondOpinion(down.engine, {}, real, ['a']), false)
    const none = engineOf([['a', real]])
    assert.equal(await secondOpinion(none.engine, {}, real, ['a']), false)
  })

  it('one that cannot answer now but answered lately (a socket reconnecting): owed, not one domain’s', async () => {
    const { engine, states } = engineOf([
      ['a', made],
      ['b', new Error('b: not connected, next attempt in 480 ms')],
    ])
    states[1]!.lastAnswerAt = Date.now() - 500
    await assert.rejects(secondOpinion(engine, {}, made, ['a']), /a alone; owed while b comes back/)
    states[1]!.lastAnswerAt = Date.now() - 2_500 // silent past the grace: an outage
    assert.equal(await secondOpinion(engine, {}, made, ['a']), false)
  })

  it('agreed only with the quorum’s domains: two of a quorum of three stay one domain short', async () => {
    const { engine } = engineOf(
      [
        ['a', real],
        ['b', real],
        ['c', new Error('timeout')],
      ],
      3,
    )
    assert.equal(await secondOpinion(engine, {}, real, ['a']), false)
  })

  it('asks the best source of each other domain, never a forked one or one routed away from logs', () => {
    const { engine, states } = engineOf([
      ['a', real],
      ['b', real],
      ['b', real],
      ['c', real],
      ['d', real],
    ])
    states[3]!.forked = true
    ;(states[4]!.source.config as { methods?: unknown }).methods = { exclude: ['eth_getLogs'] }
    assert.deepEqual(
      heldBackDomains(engine, ['a']).map((s) => s.name),
      ['b1'],
    )
  })
  it('a node that refuses the query cannot answer it; one that fails a moment (-32603) is not now', () => {
    const rpc = (code: number, message: string) => new RpcResponseError('b', { code, message })
    assert.equal(refuses(rpc(-32601, 'the method eth_getLogs does not exist')), true)
    assert.equal(refuses(rpc(-32602, 'invalid params')), true)
    assert.equal(refuses(rpc(-32005, 'limit exceeded')), false) // a rate limit: not now
    assert.equal(refuses(rpc(-32603, 'internal error')), false)
    assert.equal(refuses(rpc(-32000, 'upstream unavailable')), false)
    assert.equal(refuses(new Error('not connected')), false)
  })
  it('a domain a Retry-After holds off (not asked): owed while its 429 is recent, one domain’s after', async () => {
    const { engine, states, asked } = engineOf([
      ['a', made],
      ['b', real],
    ])
    engine.pool.lastResort = () => [states[0]!]
    states[1]!.announcedUntil = Date.now() + 5_000
    states[1]!.rateLimitedAt = Date.now() - 500
    await assert.rejects(secondOpinion(engine, {}, made, ['a']), /owed while b comes back/)
    assert.deepEqual(asked, [], 'not asked before its Retry-After')
    states[1]!.rateLimitedAt = Date.now() - 2_500 // held off past the grace: an outage
    assert.equal(await secondOpinion(engine, {}, made, ['a']), false)
  })

  it('every domain (`need` of Infinity: an agreed [] a stream asks again): one that failed but answered lately makes it owed', async () => {
    const { engine, states } = engineOf([
      ['a', []],
      ['b', []],
      ['c', new Error('HTTP 503')],
    ])
    states[2]!.lastAnswerAt = Date.now() - 500
    await assert.rejects(
      secondOpinion(engine, {}, [], ['a', 'b'], 1 / 0),
      /owed while c comes back/,
    )
    assert.equal(await secondOpinion(engine, {}, [], ['a', 'b']), true, 'the quorum: agreed')
    states[2]!.lastAnswerAt = Date.now() - 2_500 // silent past the grace: the [] stands
    assert.equal(await secondOpinion(engine, {}, [], ['a', 'b'], 1 / 0), false)
  })
})
