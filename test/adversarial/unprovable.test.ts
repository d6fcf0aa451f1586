/**
 * Proofs that cannot be had: on a fresh anvil (still at its genesis block, whose state anvil
 * cannot prove) every domain fails the proof the same way. No honest source is called a liar:
 * the read says so (`unproven`) and falls back to quorum. One source failing alone still lies.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type OutlastEvents } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { hostile } from './hostile.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ blockTime: 0, sources: threeDomains })
})
afterAll(() => lab.stop())

const sources = () =>
  lab.sources.map((s) =>
    http(s.proxy.url, { name: s.name, domain: s.domain, fetchFn: s.proxy.fetch }),
  )

const reads = (i: number) =>
  [
    { method: 'eth_getBalance', params: [devAccounts[i]!.address, 'latest'] },
    { method: 'eth_getTransactionCount', params: [devAccounts[i]!.address, 'latest'] },
    { method: 'eth_getCode', params: [devAccounts[i]!.address, 'latest'] },
    { method: 'eth_getStorageAt', params: [devAccounts[i]!.address, '0x0', 'latest'] },
  ] as const

describe('proofs() at a genesis block anvil cannot prove', () => {
  it('answers by quorum, says why, and calls no honest source a liar', async () => {
    assert.equal(await lab.anvil.rpc('eth_blockNumber'), '0x0')
    const rpc = createOutlast({ chainId: CHAIN_ID, prover: proofs(), sources: sources() })
    const lies: OutlastEvents['lie'][] = []
    const unproven: OutlastEvents['unproven'][] = []
    rpc.on('lie', (e) => lies.push(e))
    rpc.on('unproven', (e) => unproven.push(e))
    try {
      for (let i = 0; i < 3; i++)
        for (const call of reads(i)) {
          const { result, meta } = await rpc.requestWithMeta({ ...call, params: [...call.params] })
          assert.equal(result, await lab.anvil.rpc(call.method, [...call.params]))
          assert.equal(meta.consistency, 'agreed', call.method)
        }
      assert.deepEqual(lies, [])
      assert.ok(unproven.length > 0, 'the fallback is reported')
      assert.ok(rpc.status().sources.every((s) => s.condition === 'healthy'))
    } finally {
      await rpc.close()
    }
  })

  it('a source whose proof fails where another passes is still a liar', async () => {
    await lab.anvil.rpc('evm_mine')
    const [first, ...rest] = sources()
    const liar = hostile(first!, async (method, _params, answer) => {
      const a = (await answer()) as Record<string, unknown>
      return method === 'eth_getProof' ? { ...a, balance: '0x1' } : a
    })
    const rpc = createOutlast({ chainId: CHAIN_ID, prover: proofs(), sources: [liar, ...rest] })
    const lies: OutlastEvents['lie'][] = []
    rpc.on('lie', (e) => lies.push(e))
    try {
      for (let i = 0; i < 3; i++) {
        const call = reads(i)[0]
        const { result, meta } = await rpc.requestWithMeta({ ...call, params: [...call.params] })
        assert.equal(result, await lab.anvil.rpc(call.method, [...call.params]))
        assert.equal(meta.consistency, 'proven')
      }
      assert.ok(
        lies.some((l) => l.source === first!.config.name),
        'the liar is named',
      )
      assert.ok(
        lies.every((l) => l.source === first!.config.name),
        'no one else is',
      )
    } finally {
      await rpc.close()
    }
  })
})
