/**
 * Attacker's review of the last session's code (27853f2..db257f2): follow/secondOpinion.ts (a held-back
 * domain's own node error is "cannot"), median.ts's hedge under a quorum of three, broadcast.ts's
 * known-transaction round, head.ts `holds()` with pruned.ts `unconfirmedBlock`, shared/lazy.ts.
 * Lab: real anvil (mined on demand) behind fault proxies, three honest domains and a liar in its
 * own domain (proxiedLiar.ts).
 *
 * Found:
 * 1. secondOpinion: any JSON-RPC error from a held-back domain to the direct ask counted as its
 *    answer "cannot serve these logs", so a node's passing failure (-32603 "internal error", the
 *    lab's `rpcError`: a provider's backend down a moment) was no longer "not now". Attack: the
 *    liar, steady, answers each ping's log with made-up `data`; the honest domains' providers
 *    fail with -32603 for 800 ms around each block (they had answered head polls a moment
 *    before). The liar is the lone domain, both held-back domains "cannot", and the made-up logs
 *    went to the subscription (which carries no label) and were never taken back: in two runs the
 *    first 2 of 4 pings were delivered as MARK (their real logs never came). Severity high: made-up logs to a wallet, the hole
 *    reviewOfWsBeside closed for dropped sockets, reopened for JSON-RPC errors. Fixed: only a
 *    node's refusal of the method or of the query (-32601, a range or result limit, invalid
 *    params) is "cannot"; any other node error is "not now", like silence (owed while that
 *    domain answered lately).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest'
import type { RpcLog } from '../../src/core/follow/logs.ts'
import { createOutlast, type Source } from '../../src/index.ts'
import { sleep } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { deployAnswer, minePing, PING, PING_INIT } from '../workload.ts'
import { honestOf, liarOf, MARK, startLiarLab } from './proxiedLiar.ts'

type Obj = Record<string, unknown>
let lab: Lab
let emitter: `0x${string}`
beforeAll(async () => {
  lab = await startLiarLab()
  emitter = await deployAnswer(lab.anvil, PING_INIT)
}, 60_000)
afterAll(() => lab.stop())
beforeEach(async () => {
  for (const p of lab.proxies) await p.setMode({ kind: 'ok' })
})

/** The liar: every log's `data` made up (MARK), everything else the node's. */
const logLiar = (): Source =>
  liarOf(lab, async (method, _p, real) => {
    const a = await real()
    return method === 'eth_getLogs' && Array.isArray(a)
      ? a.map((l) => ({ ...(l as Obj), data: `0x${MARK.slice(2).padStart(64, '0')}` }))
      : a
  })

const shown = (logs: RpcLog[]) =>
  logs.map((l) => (BigInt(l.data) === BigInt(MARK) ? 'MADE-UP' : String(Number(l.data))))

describe('secondOpinion: held-back domains whose providers fail a moment with a JSON-RPC error', () => {
  it('Fixed: the liar steady, aws and gcp answering -32603 for 800 ms around each block: every ping once, none made up', async () => {
    const rpc = createOutlast({
      chainId: 31337,
      sources: [logLiar(), ...honestOf(lab, ['aws', 'gcp'])],
      pollingInterval: 250,
    })
    const logs: RpcLog[] = []
    const errors: string[] = []
    rpc.on('streamError', (e) => errors.push(e.message))
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      await rpc.subscribe(['logs', { address: emitter, topics: [PING] }], (l) =>
        logs.push(l as RpcLog),
      )
      const sent: string[] = []
      for (let i = 1; i <= 4; i++) {
        await sleep(600) // the honest domains answer head polls: they answered lately
        for (const name of ['aws', 'gcp']) await lab.proxy(name).setMode({ kind: 'rpcError' })
        await minePing(lab.anvil, emitter, i)
        sent.push(String(i))
        await sleep(800)
        for (const name of ['aws', 'gcp']) await lab.proxy(name).setMode({ kind: 'ok' })
      }
      const deadline = Date.now() + 6_000
      while (logs.length < sent.length && Date.now() < deadline) await sleep(100)
      console.log(`# -32603 blips: logs ${shown(logs)}, ${errors.length} stream errors`)
      assert.deepEqual(shown(logs), sent)
    } finally {
      await rpc.close()
    }
  }, 40_000)
})
