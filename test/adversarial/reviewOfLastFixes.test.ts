/**
 * Review of the last session's fixes (9dbfdd3..96a57a0): head.ts (`#blockNumber`'s floor from
 * confirmed heights only, `#overtaken`, `#wantsLink`, `#confirmAt`'s early return), tally.ts
 * `Need.uncounted` with quorumNeed.ts `needFor`, follow/sentLogs.ts and follow/subscriptions.ts
 * (`FILTER_BUDGET`, `gone`, `readByNodes`). Two directions: what honest faults now get wrong
 * (lagging, load-balanced, slow, down-then-back domains; a quiet chain; a chain that halts), and
 * what one hostile source in its own domain can do with the new rules. Real anvil, a block a second.
 *
 * Found (first failing, stating the correct behaviour):
 * 1. Fixed: one domain left (the others out), its provider behind a load balancer whose backends
 *    are a block apart (honest): eth_blockNumber went backwards at every other poll, "3 then 2,
 *    4 then 3, …" 20 times in 6 s (labelled `degraded`). The lone-domain review's fix #1 made no
 *    lone height a floor, so each lone head was returned as it came, a block below the one
 *    returned a moment before on the same chain; before it, every height returned was a floor.
 *    Now (head.ts `#blockNumber`) the height returned at a lone head is the floor of the lone
 *    heads below it on its chain (by the kept headers' parent hashes); a confirmed head clears
 *    it, and a lone head elsewhere replaces it.
 *    Lone-domain #1 still holds: its liar's forged height is dropped once the honest domains
 *    confirm a head, or once an honest lone head that is not its ancestor stands (a liar forging
 *    on top of the real chain keeps its height as a `degraded` floor only while the honest lone
 *    head is the real block it forged on, until the next real block). Costs 64 B of the core
 *    (budgets 31.25 kB and 56.4 kB, from 31.2 and 56.3).
 *
 * Held (tried in a test here, or reasoned from the code, no hole):
 * - One domain slow (15× its latency, up): `head` throughout but a moment, confirmed heights
 *   never backwards (a moment's `degraded` height one above may be followed by the confirmed one). Two domains left, both behind load balancers a block apart, out of step (`#confirmAt`
 *   confirming the same head again with one domain standing at it, so its `at` is kept): the head
 *   keeps up with the chain, confirmed, never backwards.
 * - A chain halted 3.5 s with `maxHeadAge` 2 s that resumes at a block a second, or gets a burst
 *   of 6 blocks at once (anvil_mine, a quiet dev chain): reads `agreed`, eth_blockNumber `head`
 *   and at the chain within 1.5 s; `#overtaken` did not hold reads (the domains that move past
 *   maxLag are confirmed by a second domain at the same poll). Honest, `#overtaken` needs the
 *   confirmed head older than `maxHeadAge` while a counted domain's fresh head extends it past
 *   maxLag and no second domain backs anything newer: honest domains on one chain back the newer
 *   head (the fill step finds the common height), or they are old themselves and set aside as
 *   stale, which was already so (staleDomain.test.ts).
 * - One domain out for good, another down 3 s and back (half-open, left out of the reduced
 *   quorum, then answering): no read failed; reads `agreed` again within 3 s.
 * - One liar with two honest domains up: `#overtaken` needs the confirmed head older than
 *   `maxHeadAge` (60 s by default, or five block times): two honest domains keep it fresh on a
 *   live chain; on a quiet chain the liar's fresh forged head already sets the honest domains
 *   aside as stale (quietFork.test.ts, known): `#overtaken` adds no lever. `#wantsLink`'s new
 *   case (the confirmed head old) holds on a quiet chain only, where the case before it (another
 *   domain's old head) already held: no new link walks for a liar to ask for. `#confirmAt`'s
 *   early return only keeps an older `at` (reach grows from it); a liar standing at the
 *   confirmed head refreshes `at`, but two honest domains confirm each new height anyway.
 * - `Need.uncounted` applies only to a reduced quorum: with two honest domains up and a quorum of
 *   two there is none, so a liar going silent to be left out gains nothing; with one honest
 *   domain out it gives the liar a split (an error), as a counted liar had before (by design,
 *   flapping review #1). Observed on a fake clock, not a regression: a domain left out that is
 *   behind and answers first with a "not yet" (null for eth_getBlockReceipts or
 *   eth_getBlockTransactionCountBy*, or "unknown block" for a read not pinned by outlast), beside
 *   the counted domain's real answer, ends in a QuorumError after the re-ask; before, that
 *   "not yet" alone met the reduced quorum and was returned. A counted domain's persistent
 *   "not yet" without an inclusion check is a QuorumError too, so it is consistent; left.
 * - Subscriptions: `FILTER_BUDGET` and `SentLogs` fill only with delivered logs, agreed while two
 *   domains are up, so a liar cannot push honest filters over their budget nor make a reorg's
 *   logs "let go"; `readByNodes`' probe goes through the quorum, where one domain's -32602 is
 *   outvoted (a caller's error needs max(quorum, 2) domains); the "let go" error is thrown after
 *   every consumer was served and the chain linked (chainFollower.ts `advance`): nothing is
 *   delivered twice.
 * - Not tried: WebSocket pushes, `proofs()`, configured quorums above two domains on real nodes.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http } from '../../src/index.ts'
import { CHAIN_ID, resetLab, sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { hostile } from './hostile.ts'

const hex = (n: number) => `0x${n.toString(16)}`
const ADDRESS = devAccounts[2]!.address

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
}, 30_000)
afterAll(() => lab.stop())

/**
 * The lab's source `name`; with `behind`, its `latest` comes from one of two backends a block
 * apart, in turn (an honest load balancer).
 */
function source(name: string, o: { behind?: boolean; timeout?: number } = {}) {
  const s = lab.sources.find((x) => x.name === name)!
  const inner = http(s.proxy.url, {
    name: s.name,
    domain: s.domain,
    fetchFn: s.proxy.fetch,
    timeout: o.timeout ?? 1_000,
  })
  if (!o.behind) return inner
  let turn = 0
  return hostile(inner, async (method, params, answer) => {
    if (method !== 'eth_getBlockByNumber' || params[0] !== 'latest' || turn++ % 2 === 0)
      return answer()
    const n = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    return lab.anvil.rpc('eth_getBlockByNumber', [hex(n - 1), params[1]])
  })
}

/** eth_blockNumber every `every` ms for `ms`: [height, label] each. */
async function watch(rpc: ReturnType<typeof createOutlast>, ms: number, every = 100) {
  const seen: [number | string, string][] = []
  const end = Date.now() + ms
  while (Date.now() < end) {
    const n = await rpc.requestWithMeta({ method: 'eth_blockNumber' }).catch((e: Error) => e)
    seen.push(
      n instanceof Error
        ? [n.message.slice(0, 60), 'error']
        : [Number(n.result), n.meta.consistency],
    )
    await sleep(every)
  }
  return seen
}

const backwards = (seen: [number | string, string][]) => {
  const out: string[] = []
  let top = -1
  for (const [n, label] of seen) {
    if (typeof n !== 'number') continue
    if (n < top) out.push(`${top} then ${n} (${label})`)
    top = Math.max(top, n)
  }
  return out
}

describe('honest faults', () => {
  it('Fixed: one domain left, behind a load balancer whose backends are a block apart: eth_blockNumber never goes backwards', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      sources: [source('aws', { behind: true }), source('gcp'), source('home')],
    })
    try {
      await watch(rpc, 1_500)
      await lab.proxy('gcp').setMode({ kind: 'refused' })
      await lab.proxy('home').setMode({ kind: 'refused' })
      const seen = await watch(rpc, 6_000)
      assert.deepEqual(backwards(seen), [], JSON.stringify(seen))
    } finally {
      await rpc.close()
    }
  }, 20_000)

  it('two domains left, both behind load balancers a block apart, out of step: the head keeps up, confirmed (the same head confirmed again while only one domain stands at it)', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      sources: [source('aws', { behind: true }), source('gcp', { behind: true }), source('home')],
    })
    try {
      await lab.proxy('home').setMode({ kind: 'refused' })
      await watch(rpc, 1_500)
      const seen = await watch(rpc, 5_000)
      const now = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      const shown = JSON.stringify(seen)
      assert.deepEqual(backwards(seen), [], shown)
      assert.ok(seen.filter(([, l]) => l !== 'head').length <= 2, shown)
      assert.ok((seen.at(-1)![0] as number) >= now - 3, `chain at ${now}: ${shown}`)
    } finally {
      await rpc.close()
    }
  }, 20_000)

  it('one domain slow (up, answering every poll late): eth_blockNumber never goes backwards', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      sources: [source('aws'), source('gcp', { timeout: 2_000 }), source('home')],
    })
    try {
      await watch(rpc, 1_500)
      await lab.proxy('home').setMode({ kind: 'refused' })
      await lab.proxy('gcp').setMode({ kind: 'slow', factor: 15 })
      const seen = await watch(rpc, 6_000)
      // A height the fast domain alone backed for a moment (`degraded`) is no floor (README,
      // method policies): once the slow one confirms the block below, that is returned. CI saw
      // "16 degraded, then 15 head" once. Confirmed heights never go back.
      const confirmed = seen.filter(([, label]) => label === 'head')
      assert.deepEqual(backwards(confirmed), [], JSON.stringify(seen))
    } finally {
      await rpc.close()
    }
  }, 20_000)
})

describe('a chain that halts, then moves again', () => {
  for (const [label, resume] of [
    ['resumes at a block a second', async () => lab.anvil.rpc('evm_setIntervalMining', [1])],
    [
      'gets a burst of 6 blocks at once (a quiet dev chain)',
      async () => lab.anvil.rpc('anvil_mine', ['0x6']),
    ],
  ] as const)
    it(`${label}: once every domain has the new blocks, reads are agreed and eth_blockNumber is the chain's`, async () => {
      await resetLab(lab)
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        pollingInterval: 200,
        maxHeadAge: 2_000,
        sources: [source('aws'), source('gcp'), source('home')],
      })
      try {
        await lab.anvil.rpc('evm_setIntervalMining', [0])
        await watch(rpc, 3_500)
        await resume()
        const seen: string[] = []
        const bad: string[] = []
        const settled = Date.now() + 1_500
        const end = Date.now() + 4_000
        while (Date.now() < end) {
          const n = await rpc.requestWithMeta({ method: 'eth_blockNumber' }).catch((e: Error) => e)
          const b = await rpc
            .requestWithMeta({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] })
            .catch((e: Error) => e)
          const now = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
          if (
            Date.now() > settled &&
            (n instanceof Error ||
              b instanceof Error ||
              n.meta.consistency !== 'head' ||
              b.meta.consistency !== 'agreed' ||
              Number(n.result) < now - 2)
          )
            bad.push(seen.length.toString())
          seen.push(
            `${n instanceof Error ? 'error' : `${Number(n.result)} ${n.meta.consistency}`} / ${b instanceof Error ? b.message.slice(0, 50) : b.meta.consistency} (chain ${now})`,
          )
          await sleep(100)
        }
        assert.deepEqual(
          bad.map((i) => seen[Number(i)]),
          [],
          seen.join('\n'),
        )
      } finally {
        await lab.anvil.rpc('evm_setIntervalMining', [1])
        await rpc.close()
      }
    }, 20_000)
})

describe('a domain down, then back', () => {
  it('one domain out for good, another down 3 s then back (half-open, left out of the quorum, then answering): no read fails, reads are agreed again once it is', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      sources: [source('aws'), source('gcp'), source('home')],
    })
    try {
      await watch(rpc, 1_000)
      await lab.proxy('home').setMode({ kind: 'refused' })
      await lab.proxy('gcp').setMode({ kind: 'refused' })
      const labels = new Map<string, number>()
      const count = (k: string) => labels.set(k, (labels.get(k) ?? 0) + 1)
      const read = async () => {
        const b = await rpc
          .requestWithMeta({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] })
          .catch((e: Error) => e)
        return b instanceof Error ? `error: ${b.message.slice(0, 80)}` : b.meta.consistency
      }
      const end = Date.now() + 3_000
      while (Date.now() < end) count(`out: ${await read()}`)
      await lab.proxy('gcp').setMode({ kind: 'ok' })
      const back = Date.now()
      let agreedAt: number | undefined
      while (Date.now() < back + 5_000) {
        const r = await read()
        count(`back: ${r}`)
        if (r === 'agreed') agreedAt ??= Date.now() - back
        await sleep(20)
      }
      const shown = JSON.stringify([...labels])
      assert.ok(![...labels.keys()].some((k) => k.includes('error')), shown)
      assert.ok(agreedAt !== undefined && agreedAt < 3_000, `${agreedAt} ${shown}`)
    } finally {
      await rpc.close()
    }
  }, 20_000)
})
