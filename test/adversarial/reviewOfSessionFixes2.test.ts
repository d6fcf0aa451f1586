/**
 * Attacker's review of the last hour's fixes (652529c..ca4e245): pruned.ts `isUnknownBlock`
 * (-32001) and `unconfirmedBlock` (sourcePool.ts attempt, tally.ts), follow/secondOpinion.ts
 * (streams.ts getLogs), shared/lazy.ts, head.ts `#askedFor` per pusher, median.ts under a
 * quorum of three. Lab: real anvil behind fault proxies, three honest domains.
 *
 * Found:
 * 1. Fixed (follow/secondOpinion.ts): a held-back domain that answers head polls but refuses
 *    eth_getLogs with its own node error (a provider without logs, a range limit: the lab's
 *    `methods` fault, -32601) beside the one domain up (gcp refused) kept a log stream's lone
 *    logs owed, as if it were a socket coming back: it "answered lately" (its head polls) until
 *    its breaker opened; every ping's log reached the subscription 2.7-3.3 s late (was 0.5-0.8
 *    s before the fix, rpc.request had them at once, degraded). A node's own error to the direct
 *    ask is now its answer ("cannot"), not silence; "unknown block" still waits (not yet).
 * 2. Not fixed (it.fails): a read at a block hash every domain reported as its head, then
 *    reorged away (evm_snapshot/evm_revert): each node's truthful -32001 for it is charged as
 *    its failure (unconfirmedBlock counts the hash as confirmed): 8 such reads left aws, gcp and
 *    home with open breakers. A fix needs the agreed chain (head.ts) in sourcePool's attempt.
 *
 * Held: a liar answering -32001 to every balance read (asked, ranked above a slowed honest
 * domain) keeps no read from the honest domains' agreed balance.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest'
import type { RpcLog } from '../../src/core/follow/logs.ts'
import { createOutlast, RpcResponseError, type Source } from '../../src/index.ts'
import { sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { deployAnswer, minePing, PING, PING_INIT } from '../workload.ts'
import { hostile, labSources } from './hostile.ts'

let lab: Lab
let emitter: `0x${string}`
beforeAll(async () => {
  lab = await startLab({ blockTime: 0, sources: threeDomains })
  emitter = await deployAnswer(lab.anvil, PING_INIT)
}, 60_000)
afterAll(() => lab.stop())
beforeEach(async () => {
  for (const p of lab.proxies) await p.setMode({ kind: 'ok' })
})

/** One ping mined into its own block; the ping's block. */
const ping = (n: number) => minePing(lab.anvil, emitter, n)

const pings = (logs: RpcLog[]) => logs.map((l) => Number(l.data))

/** Subscribes to the pings, sends `n` of them, and waits up to `ms` for them: the pings seen. */
async function pingsDelivered(sources: Source[], n: number, ms: number) {
  const rpc = createOutlast({ chainId: 31337, sources, pollingInterval: 250 })
  const logs: RpcLog[] = []
  const sentAt: number[] = []
  const delays: number[] = []
  try {
    await rpc.request({ method: 'eth_blockNumber' })
    await rpc.subscribe(['logs', { address: emitter, topics: [PING] }], (l) => {
      logs.push(l as RpcLog)
      delays.push(Date.now() - (sentAt[Number((l as RpcLog).data) - 1] ?? Number.NaN))
    })
    const start = Date.now()
    for (let i = 1; i <= n; i++) {
      sentAt.push(Date.now())
      await ping(i)
      await sleep(300)
    }
    while (logs.length < n && Date.now() - start < ms) await sleep(100)
    const direct = await rpc.requestWithMeta({
      method: 'eth_getLogs',
      params: [{ address: emitter, topics: [PING], fromBlock: '0x0' }],
    })
    return { seen: pings(logs), delays, request: direct.meta.consistency, status: rpc.status() }
  } finally {
    await rpc.close()
  }
}

describe('secondOpinion: a held-back domain that answers heads but not eth_getLogs', () => {
  it('a provider refusing eth_getLogs (a node error) beside the one domain up: logs still reach the stream, degraded', async () => {
    await lab.proxy('gcp').setMode({ kind: 'refused' })
    await lab.proxy('home').setMode({ kind: 'methods', failing: ['eth_getLogs'] })
    const r = await pingsDelivered(labSources(lab), 3, 8_000)
    console.log(`# refusing logs: seen ${r.seen}, delays ${r.delays}, request ${r.request}`)
    assert.equal(r.request, 'degraded') // rpc.request has them, from aws alone
    assert.deepEqual(r.seen, [1, 2, 3])
    // Owed while home "answered lately" (its head polls) until its breaker opened: 2.7-3.3 s each.
    assert.ok(Math.max(...r.delays) < 2_000, `delays ${r.delays}`)
  }, 30_000)
})

describe('unknown blocks: a read at a hash two domains reported, then reorged away', () => {
  // Hole 2 (not fixed): pruned.ts `unconfirmedBlock` excuses "unknown block" only for a hash
  // fewer than two domains reported; a hash every domain reported as its head, then reorged
  // away, is "confirmed", so each node's truthful -32001 for it is charged as its failure:
  // 8 reads took aws, gcp and home to an open breaker. A fix needs the agreed chain (head.ts):
  // a hash no longer the agreed chain's block at its height is unconfirmed too (or the node's
  // own head on another branch at that height excuses it).
  it("the nodes' 'unknown block' for it takes no source down", async () => {
    const rpc = createOutlast({ chainId: 31337, sources: labSources(lab), pollingInterval: 200 })
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      const snap = await lab.anvil.rpc<string>('evm_snapshot')
      await lab.anvil.rpc('evm_mine')
      const gone = (
        await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['latest', false])
      ).hash
      const until = Date.now() + 4_000 // every source polled it as its head
      while (rpc.status().head?.hash !== gone && Date.now() < until) {
        await rpc.request({ method: 'eth_blockNumber' })
        await sleep(100)
      }
      await sleep(600)
      const seen = rpc.status().head?.hash
      await lab.anvil.rpc('evm_revert', [snap])
      await lab.anvil.rpc('evm_mine')
      await lab.anvil.rpc('evm_mine')
      await sleep(800)
      // A dApp reads the head now and then: outlast has seen the reorg before the stale reads.
      await rpc.request({ method: 'eth_blockNumber' })
      const raw = await lab.anvil
        .rpc('eth_getBalance', [devAccounts[2]!.address, { blockHash: gone }])
        .then(String, (e: Error) => e.message)
      const answers: string[] = []
      for (let i = 0; i < 8; i++)
        answers.push(
          await rpc
            .request({
              method: 'eth_getBalance',
              params: [devAccounts[2]!.address, { blockHash: gone }],
            })
            .then(String, (e: Error) => (e instanceof RpcResponseError ? `rpc ${e.code}` : e.name)),
        )
      const st = rpc.status()
      const down = st.sources
        .filter((s) => s.breaker !== 'closed')
        .map((s) => `${s.name}:${s.breaker}`)
      console.log(
        `# reorged-away read: head then ${seen} vs ${gone}, node says ${raw}, answers ${[...new Set(answers)]}, down ${down}`,
      )
      if (seen !== gone) return // not set up: an unexpected pass, so it.fails reports it
      assert.deepEqual(answers, Array(8).fill('rpc -32001')) // the nodes' word reaches the caller
      assert.deepEqual(down, [])
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("unknown blocks: a liar answering EIP-1474's -32001 to every balance read", () => {
  it("its -32001 keeps no read from the honest domains' agreed answer", async () => {
    const [home] = labSources(lab, ['home'])
    const asked: string[] = []
    const liar = hostile(
      home!,
      async (m, _p, answer) => {
        if (m === 'eth_getBalance') asked.push(JSON.stringify(_p[1]))
        if (m === 'eth_getBalance')
          throw new RpcResponseError('liar', { code: -32001, message: 'Resource not found' })
        return answer()
      },
      { name: 'liar', domain: 'liar-host' },
    )
    const rpc = createOutlast({
      chainId: 31337,
      sources: [...labSources(lab, ['aws', 'gcp']), liar],
      pollingInterval: 250,
    })
    try {
      const who = devAccounts[2]!.address
      const truth = await lab.anvil.rpc<string>('eth_getBalance', [who, 'latest'])
      await rpc.request({ method: 'eth_blockNumber' })
      await lab.proxy('gcp').setMode({ kind: 'slow', factor: 4 }) // the liar is ranked above gcp
      const got: string[] = []
      for (let i = 0; i < 8; i++) {
        const r = await rpc.requestWithMeta({ method: 'eth_getBalance', params: [who, 'latest'] })
        got.push(`${r.result}/${r.meta.consistency}`)
      }
      const l = rpc.status().sources.find((s) => s.name === 'liar')!
      console.log(
        `# -32001 liar: ${[...new Set(got)]}, liar ${l.breaker} ${l.condition}, asked ${asked.length} ${asked[0]}`,
      )
      assert.deepEqual(new Set(got).size, 1)
      assert.equal(got[0]!.split('/')[0], truth)
      assert.notEqual(got[0]!.split('/')[1], 'degraded')
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
