/**
 * Trust, the head: a reorg to a shorter chain (a rollback of several blocks), agreed by every
 * domain, replaces the old head at once — `latest` reads do not fail until the new chain passes
 * the old height — while `eth_blockNumber` still never goes back.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { balanceCall, clientFor, sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ blockTime: 0, sources: threeDomains })
})
afterAll(() => lab.stop())

const hashAt = async (n: number) =>
  (await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false]))
    .hash

describe('a rollback to a shorter chain', () => {
  for (const depth of [2, 4, 8]) {
    it(`${depth} block(s) back: latest reads follow the new chain at once`, async () => {
      await lab.anvil.rpc('anvil_mine', ['0xc'])
      const rpc = clientFor(lab, { pollingInterval: 200 })
      try {
        await rpc.connect() // the head is known: reads are pinned (a cold one is not)
        const before = await rpc.requestWithMeta(balanceCall(0))
        const top = before.meta.block!.number
        const highest = Number(await rpc.request({ method: 'eth_blockNumber' }))
        await lab.anvil.rpc('anvil_rollback', [depth])
        // The new chain: a transfer in a block of its own, so its hashes differ from the old.
        const tx = await lab.anvil.rpc<string>('eth_sendTransaction', [
          { from: devAccounts[2].address, to: devAccounts[3].address, value: '0x1' },
        ])
        while (!(await lab.anvil.rpc('eth_getTransactionReceipt', [tx]))) await sleep(10)
        const newTop = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
        assert.ok(newTop < top, `the chain is shorter (${newTop} < ${top})`)
        const started = Date.now()
        let read: Awaited<ReturnType<typeof rpc.requestWithMeta>> | undefined
        while (Date.now() - started < 3_000) {
          read = await rpc.requestWithMeta(balanceCall(2)).catch(() => undefined)
          if (read?.meta.block?.number === newTop) break
          await sleep(50)
        }
        assert.equal(read?.meta.block?.number, newTop, 'pinned to the new head')
        assert.equal(read?.meta.block?.hash, await hashAt(newTop))
        assert.equal(read?.meta.consistency, 'agreed')
        assert.equal(
          read?.result,
          await lab.anvil.rpc('eth_getBalance', [devAccounts[2].address, 'latest']),
        )
        assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`)
        const n = Number(await rpc.request({ method: 'eth_blockNumber' }))
        assert.ok(n >= highest, 'eth_blockNumber does not go back')
        const forked = rpc.status().sources.filter((s) => s.condition !== 'healthy')
        assert.deepEqual(forked, [], 'no honest source is called forked or lagging')
      } finally {
        await rpc.close()
      }
    })
  }
})
