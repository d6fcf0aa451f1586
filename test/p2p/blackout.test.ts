/**
 * The blackout scenario (test/p2p/blackout.ts): every HTTP source down, two relays left. A
 * 200-request wallet workload through `p2p()` with `proofs()` is answered in full and right, and
 * a transfer is mined though the relays it was sent to could not submit it: a third relay got it
 * by gossip.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { signedTransfer } from '../helpers.ts'
import { type Blackout, comparable, startBlackout, walletCall } from './blackout.ts'

let b: Blackout
beforeAll(async () => {
  b = await startBlackout()
})
afterAll(() => b?.stop())

describe('blackout: every HTTP source gone, two relays left', () => {
  it('answers all of a 200-request wallet workload, none wrong, and mines a transfer by gossip', async () => {
    const rpc = b.client()
    try {
      await rpc.connect()
      await b.blackout()
      let answered = 0
      const wrong: string[] = []
      const failed: string[] = []
      const consistency: Record<string, number> = {}
      for (let i = 0; i < 200; i++) {
        const call = walletCall(b, i)
        try {
          const { result, meta } = await rpc.requestWithMeta({
            method: call.method,
            params: call.params,
          })
          answered++
          consistency[meta.consistency] = (consistency[meta.consistency] ?? 0) + 1
          const truth = await call.truth(b.lab.anvil)
          if (comparable(result) !== truth) wrong.push(`${call.method}: ${JSON.stringify(result)}`)
        } catch (error) {
          failed.push(`${call.method}: ${(error as Error).message}`)
        }
      }
      assert.deepEqual(failed, [])
      assert.equal(answered, 200)
      assert.deepEqual(wrong, [])
      assert.ok((consistency.proven ?? 0) >= 60, JSON.stringify(consistency))
      const healthy = rpc.status().quorum.healthyDomains.sort()
      assert.deepEqual(healthy, ['home-1', 'home-2'])

      const before = (await b.relays.third.status()).gossip.txsSubmitted ?? 0
      const raw = await signedTransfer(b.lab.anvil)
      const hash = (await rpc.request({
        method: 'eth_sendRawTransaction',
        params: [raw],
      })) as string
      let receipt = null as { status?: string } | null
      for (let i = 0; i < 100 && !receipt; i++) {
        receipt = (await rpc.request({
          method: 'eth_getTransactionReceipt',
          params: [hash],
        })) as typeof receipt
        if (!receipt) await new Promise((r) => setTimeout(r, 100))
      }
      assert.equal(receipt?.status, '0x1', 'mined, and the receipt read through the relays')
      assert.equal(
        (await b.relays.third.status()).gossip.txsSubmitted,
        before + 1,
        'by gossip, at the third relay',
      )
      for (const n of ['home1', 'home2'])
        assert.ok(
          (b.lab.proxy(n).stats.byMethod.eth_sendRawTransaction ?? 0) > 0,
          `${n}'s node refused it`,
        )
    } finally {
      await rpc.close()
    }
  })
})
