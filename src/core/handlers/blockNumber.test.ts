import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import type { Call, Engine } from '../engine.ts'
import type { HeadTracker } from '../head.ts'
import { blockNumber } from './blockNumber.ts'

/** An engine with only the head tracker the handler reads, its answers given. */
const engineWith = (head: Partial<HeadTracker>, config = {}) =>
  ({ config, head: { peek: () => ({ number: 7, hash: '0xab' }), ...head } }) as never as Engine
const call = {
  method: 'eth_blockNumber',
  params: [],
  started: Date.now(),
  deadline: Date.now() + 1_000,
  meta: (m: object) => m,
} as never as Call

describe('eth_blockNumber', () => {
  it('labels the height as it was when computed, not as the head is after the await', async () => {
    // The height came from one domain alone; a poll confirmed a head before the handler resumed.
    let confirmed = false
    const engine = engineWith({
      blockNumber: async () => {
        const answer: [number, boolean] = [7, confirmed]
        confirmed = true
        return answer
      },
      confirmed: () => confirmed,
    })
    const { result, meta } = await blockNumber(engine, call)
    assert.equal(result, '0x7')
    assert.equal(meta.consistency, 'degraded')
  })

  it('labels a confirmed height `head`', async () => {
    const engine = engineWith({ blockNumber: async () => [9, true], confirmed: () => true })
    const { result, meta } = await blockNumber(engine, call)
    assert.deepEqual([result, meta.consistency], ['0x9', 'head'])
  })

  it("under onQuorumLoss 'fail', a height one domain alone backs is a QuorumLostError, a confirmed one returned", async () => {
    // test/adversarial/reviewOfWiderQuorums.test.ts: the liar, the one domain left, had its
    // forged height returned (`degraded`) though the caller asked to fail.
    const fail = { onQuorumLoss: 'fail' }
    const lone = engineWith({ blockNumber: async () => [7, false] }, fail)
    await assert.rejects(blockNumber(lone, call), { name: 'QuorumLostError' })
    const confirmed = engineWith({ blockNumber: async () => [9, true] }, fail)
    assert.equal((await blockNumber(confirmed, call)).result, '0x9')
  })
})
