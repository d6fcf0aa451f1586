/**
 * Review of 8e32093 (nodeErrors.ts `chainData`: -32602 to `eth_getLogs` stayed an answer, for
 * "a filter no node reads", reviewOfLogs) beside 38i's rule that no other error to the chain's
 * own data is one. Real anvil behind the lab's proxies; the liar is the `liar` proxy rewritten
 * (`hostile`), in its own domain.
 *
 * Found (both fixed the same stop; their tests are "Fixed: …"):
 * 1. (high) One source answering -32602 "invalid params" to every `eth_getLogs`, two domains
 *    (quorum 2): each log read was a split, a QuorumError; the follower's log fetches too, so
 *    every log subscription and filter got nothing, for good, the source uncharged (an answer is
 *    a success). 38i's finding, back through the exception 8e32093 made for -32602. Fixed:
 *    invalid params to a chain-data read is no answer but the caller's failure (policy.ts
 *    `isCallersError`): charged to no source, thrown as the nodes' error when the domains agree
 *    on it (a filter no node reads still is, reviewOfLogs), one source's beside another domain's
 *    logs leaves those standing, degraded.
 * 2. (low) Since 38i, the nodes' -32602 to a caller's `eth_feeHistory` params they cannot read
 *    (a count `'zz'`) was "all sources failed" (4900, "disconnected" to a wallet) and a failure
 *    of every source's. Fixed by 1's rule: their -32602, no one charged.
 *
 * Held: three domains, the liar of 1 beside two honest ones: agreed. A filter no node reads,
 * asked eight times: the nodes' -32602 each time, no breaker opened.
 *
 * Noticed, not changed: a log read at blocks past every node's head is "all sources failed"
 * (4900), as before this review: anvil's -32602 "BlockOutOfRangeError: block height is N but
 * requested was M" is read as pruned state (pruned.ts), which is no one's answer.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { deployAnswer, minePing, PING_INIT } from '../workload.ts'
import { hostile, type Rewrite } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'

let lab: Lab
let emitter: string
beforeAll(async () => {
  lab = await startLiarLab()
  emitter = await deployAnswer(lab.anvil, PING_INIT)
  await lab.anvil.rpc('anvil_mine', ['0x20'])
}, 60_000)
afterAll(() => lab.stop())

const node = (proxy: string, name: string, rewrite?: Rewrite): Source => {
  const p = lab.proxy(proxy)
  const inner = http(p.url, { name, domain: name, fetchFn: p.fetch, timeout: 5_000 })
  return rewrite ? hostile(inner, rewrite, { name, domain: name }) : inner
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(fn: () => boolean, ms: number) {
  const end = Date.now() + ms
  while (!fn() && Date.now() < end) await sleep(50)
}

const invalidLogs: Rewrite = async (m, _p, answer) => {
  if (m === 'eth_getLogs')
    throw new RpcResponseError('liar', { code: -32602, message: 'invalid params' })
  return answer()
}

const fleet = (sources: Source[]) =>
  createOutlast({
    chainId: CHAIN_ID,
    quorum: { domains: 2 },
    sources,
    timeout: 10_000,
    pollingInterval: 100,
  })

const standing = (rpc: ReturnType<typeof fleet>) =>
  rpc.status().sources.map((s) => `${s.name} ${s.breaker} ${s.condition}`)

describe('finding 1: one source answering -32602 to every eth_getLogs', () => {
  it("Fixed: two domains: a logs subscription gets the honest domain's logs, and a read its answer, degraded (before: nothing, and a QuorumError)", async () => {
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', invalidLogs)])
    const errors: string[] = []
    rpc.on('streamError', (e) => errors.push(e.message))
    try {
      await rpc.connect()
      const logs: unknown[] = []
      await rpc.subscribe(['logs', { address: emitter }], (l) => logs.push(l))
      const block = await minePing(lab.anvil, emitter, 1)
      await until(() => logs.length >= 1, 6_000)
      const read = await rpc
        .requestWithMeta({
          method: 'eth_getLogs',
          params: [{ address: emitter, fromBlock: '0x0' }],
        })
        .then(
          (r) => `${(r.result as unknown[]).length} ${r.meta.consistency}`,
          (e: Error) => `${e.name}: ${e.message}`,
        )
      assert.ok(
        logs.length >= 1,
        `logs ${logs.length}; read: ${read}; block ${block}; errors ${errors.length}: ${errors[0]}`,
      )
      assert.match(read, /^[1-9]\d* degraded$/)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: three domains: the two honest ones agree', async () => {
    const rpc = fleet([node('aws', 'aws'), node('gcp', 'gcp'), node('liar', 'liar', invalidLogs)])
    try {
      const r = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [{ address: emitter, fromBlock: '0x0' }],
      })
      assert.ok((r.result as unknown[]).length >= 1)
      assert.equal(r.meta.consistency, 'agreed')
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("the caller's -32602 to eth_getLogs, as the nodes give it", () => {
  it("Held: a filter no node reads is the nodes' -32602, and no breaker opens for it, however often asked", async () => {
    const rpc = fleet([node('aws', 'aws'), node('gcp', 'gcp')])
    try {
      await rpc.connect()
      for (let i = 0; i < 8; i++) {
        const got = await rpc
          .request({ method: 'eth_getLogs', params: [{ address: `0x${'22'.repeat(19)}` }] })
          .then(
            (r) => `result ${JSON.stringify(r)}`,
            (e: { code?: number; message: string }) => `${e.code} ${e.message}`,
          )
        assert.match(got, /^-32602 /, got)
      }
      assert.deepEqual(standing(rpc), ['aws closed healthy', 'gcp closed healthy'])
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("the caller's -32602 to eth_feeHistory", () => {
  it("Fixed: params no node reads (a count 'zz') are the nodes' -32602, not \"all sources failed\" (4900), and no breaker opens for them", async () => {
    const rpc = fleet([node('aws', 'aws'), node('gcp', 'gcp')])
    try {
      await rpc.connect()
      for (let i = 0; i < 8; i++) {
        const got = await rpc
          .request({ method: 'eth_feeHistory', params: ['zz', 'latest', []] })
          .then(
            (r) => `result ${JSON.stringify(r)}`,
            (e: { code?: number; message: string }) => `${e.code} ${e.message}`,
          )
        assert.match(got, /^-32602 /, got)
      }
      assert.deepEqual(standing(rpc), ['aws closed healthy', 'gcp closed healthy'])
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("a liar disputing every block's logs (two domains): denial, not deception; proofs() answer", () => {
  const disputes: [string, Rewrite][] = [
    ['made-up []', async (m, _p, a) => (m === 'eth_getLogs' ? [] : a())],
    [
      '"unknown block"',
      async (m, _p, a) => {
        if (m === 'eth_getLogs')
          throw new RpcResponseError('liar', { code: -32001, message: 'unknown block' })
        return a()
      },
    ],
  ]
  for (const [what, rewrite] of disputes)
    it(`Held: ${what} to every eth_getLogs, with proofs(): a logs subscription gets the block's log`, async () => {
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        quorum: { domains: 2 },
        sources: [node('aws', 'aws'), node('liar', 'liar', rewrite)],
        timeout: 10_000,
        pollingInterval: 100,
        prover: proofs(),
      })
      const errors: string[] = []
      rpc.on('streamError', (e) => errors.push(e.message))
      try {
        await rpc.connect()
        const logs: { blockNumber: string }[] = []
        await rpc.subscribe(['logs', { address: emitter }], (l) => logs.push(l as never))
        const block = await minePing(lab.anvil, emitter, 3)
        await until(() => logs.length >= 1, 10_000)
        assert.deepEqual(
          logs.map((l) => Number(l.blockNumber)),
          [block],
          `${errors.length} stream errors: ${errors[0]}`,
        )
      } finally {
        await rpc.close()
      }
    }, 30_000)
})
