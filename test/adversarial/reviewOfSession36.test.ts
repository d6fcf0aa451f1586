/**
 * Attacker's review of the last session's code (27853f2..db257f2): follow/secondOpinion.ts (a
 * held-back domain's own node error is "cannot"), median.ts's hedge under a quorum of three,
 * broadcast.ts's known-transaction round, head.ts `holds()` with pruned.ts `unconfirmedBlock`,
 * shared/lazy.ts.
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
 *    went to the subscription (which carries no label) and were never taken back: in three runs
 *    the first 2 of 4 pings were delivered as MARK (their real logs never came). Severity high:
 *    made-up logs to a wallet, the hole reviewOfWsBeside closed for dropped sockets, reopened for
 *    JSON-RPC errors. Fixed (secondOpinion.ts `refuses`): only a node's refusal of the query
 *    (-32601, invalid params) is "cannot"; any other node error is "not now", like silence
 *    (owed while that domain answered lately).
 * 2. secondOpinion: a held-back domain that a `Retry-After` holds off (429; `lastResort` leaves it
 *    out) was not asked and not counted at all: with every honest domain rate-limiting us a
 *    moment (429, Retry-After 1 s, 800 ms around each block) there was "no one to ask", and the
 *    liar's lone logs went out as one domain's: 4 of 4 pings delivered as MARK, in every run
 *    (the hole predates the last session: heldBackDomains). Severity high (as 1; a provider's
 *    429 is routine). Fixed: such a source is silent, not gone, and a 429 counts as an answer
 *    for "answered lately" (`rateLimitedAt`): owed until its limit lapses and it is asked, or one
 *    domain's once it has held us off past the grace (a quota for the day is an outage).
 *
 * Held:
 * - broadcast.ts known-transaction round: a liar with two sources in one domain refusing a
 *   transaction no node holds (another at a used nonce) and answering eth_getTransactionByHash
 *   with a forged object under its hash: one domain "holds" it, two are needed; the caller gets
 *   "nonce too low" (tested below). "Holds" is the lookup's `hash` against the hash computed
 *   here from the raw bytes; only the refusing domains are asked; untrusted sources are no
 *   targets.
 * - median.ts hedge (read, not tested here): the fourth is asked only of a domain not asked yet
 *   or whose sources all failed, never of one answering or in flight (a liar's second source
 *   adds no vote: each domain's lowest figure is its one vote), at most one per patience, so at
 *   most the pool and reserve; two domains alone stay `degraded` under a quorum of three.
 * - head.ts `holds()` / pruned.ts `unconfirmedBlock` (read): only hashes two domains confirmed
 *   (hash-checked headers, parents walked) are held; a liar cannot put one there, so it cannot
 *   get honest nodes' "unknown block" charged; its own is excused only where every node's is.
 * - shared/lazy.ts (read): a rejected load rejects the request that needed it (prove, streams,
 *   batching); block-body and transaction checks loaded with dynamic imports fail closed (a
 *   body not verified does not stand alone).
 * - The liar cannot use the fix of 2 (a 429 as "answered lately") to hold honest logs longer
 *   than it already could by answering head polls and failing the direct ask (owed, never made
 *   up).
 */
import assert from 'node:assert/strict'
import { keccak256 } from 'viem'
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest'
import type { RpcLog } from '../../src/core/follow/logs.ts'
import { createOutlast, type Source } from '../../src/index.ts'
import { sleep, transfers } from '../helpers.ts'
import type { FaultMode, Lab } from '../lab/index.ts'
import { deployAnswer, minePing, PING, PING_INIT } from '../workload.ts'
import { hostile } from './hostile.ts'
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

/**
 * A log subscription over the liar and aws and gcp; before each of `n` pings the honest providers
 * answer head polls (600 ms), then both take `mode` for 800 ms around the ping's block. The
 * pings delivered (MADE-UP for the liar's), once `n` arrived or 6 s after the last.
 */
async function pingsThroughBlips(mode: FaultMode, n = 4) {
  const rpc = createOutlast({
    chainId: 31337,
    sources: [logLiar(), ...honestOf(lab, ['aws', 'gcp'])],
    pollingInterval: 250,
  })
  const logs: RpcLog[] = []
  try {
    await rpc.request({ method: 'eth_blockNumber' })
    await rpc.subscribe(['logs', { address: emitter, topics: [PING] }], (l) =>
      logs.push(l as RpcLog),
    )
    for (let i = 1; i <= n; i++) {
      await sleep(600) // the honest domains answer head polls: they answered lately
      for (const name of ['aws', 'gcp']) await lab.proxy(name).setMode(mode)
      await minePing(lab.anvil, emitter, i)
      await sleep(800)
      for (const name of ['aws', 'gcp']) await lab.proxy(name).setMode({ kind: 'ok' })
    }
    const deadline = Date.now() + 6_000
    while (logs.length < n && Date.now() < deadline) await sleep(100)
    return shown(logs)
  } finally {
    await rpc.close()
  }
}

const pingsSent = (n = 4) => Array.from({ length: n }, (_, i) => String(i + 1))

describe('secondOpinion: held-back domains whose providers fail a moment', () => {
  it('Fixed: the liar steady, aws and gcp answering -32603 for 800 ms around each block: every ping once, none made up', async () => {
    const seen = await pingsThroughBlips({ kind: 'rpcError' })
    console.log(`# -32603 blips: logs ${seen}`)
    assert.deepEqual(seen, pingsSent())
  }, 40_000)

  it('Fixed: the liar steady, aws and gcp rate-limiting (429, Retry-After 1 s) around each block: every ping once, none made up', async () => {
    const seen = await pingsThroughBlips({ kind: 'rateLimit', retryAfter: 1 })
    console.log(`# 429 blips: logs ${seen}`)
    assert.deepEqual(seen, pingsSent())
  }, 40_000)
})

describe('broadcast: the known-transaction round after two refusals', () => {
  it('Held: a liar with two sources in one domain refusing a never-sent transaction and answering a forged one for its hash: the refusal, never "sent"', async () => {
    const { sign, nonceNow } = transfers(() => lab.anvil)
    const nonce = await nonceNow()
    await lab.anvil.rpc('eth_sendRawTransaction', [await sign(nonce)])
    await lab.anvil.rpc('evm_mine')
    // Another transaction at the used nonce: no node holds it, every node refuses it.
    const raw = await sign(nonce, 2n)
    const hash = keccak256(raw)
    const lookups: string[] = []
    const liar = (name: string) =>
      hostile(
        liarOf(lab, (_m, _p, real) => real()),
        async (method, params, real) => {
          if (method !== 'eth_getTransactionByHash') return real()
          lookups.push(name)
          // The mined transaction's object under the asked hash: "I hold it".
          const mined = await lab.anvil.rpc<Obj | null>('eth_getBlockByNumber', ['latest', true])
          const tx = (mined?.transactions as Obj[] | undefined)?.[0]
          return { ...tx, hash: params[0] }
        },
        { name, domain: 'liar-host' },
      )
    const rpc = createOutlast({
      chainId: 31337,
      sources: [liar('liar-a'), liar('liar-b'), ...honestOf(lab, ['aws', 'gcp'])],
    })
    try {
      const sent = await rpc
        .request({ method: 'eth_sendRawTransaction', params: [raw] })
        .catch((e: Error) => e)
      console.log(
        `# forged holders: ${sent instanceof Error ? sent.message.split('\n')[0] : sent}, lookups ${lookups}`,
      )
      assert.ok(sent instanceof Error, `reported sent: ${String(sent)}`)
      assert.match(sent.message, /nonce too low/i)
      assert.equal(await lab.anvil.rpc('eth_getTransactionByHash', [hash]), null)
    } finally {
      await rpc.close()
    }
  }, 20_000)
})
