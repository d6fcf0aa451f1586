/**
 * Review of a hostile source that comes and goes: one source in its own domain, fastest when it
 * answers, every answer well-formed and correctly hashed, alternating between answering and
 * being out (its proxy `refused` or `blackhole`), timed against outlast's own timers: the
 * breaker's cool-off (1 s, then half-open), presumed lost (fanOutDecisions.ts), `silent`,
 * heldBack.ts's "another domain up", the head polls and `reach()`. Real anvil, a block a second.
 *
 * Found (each first failing, stating the correct behaviour):
 * 1. Fixed: one honest domain out, the other up: the liar out just long enough not to count
 *    (half-open after its breaker's cool-off, or `silent` after an attempt presumed lost) made
 *    needFor reduce the quorum to the honest domain alone; asked all the same as a hedge once
 *    the honest answer was late, the liar answered first and its answer alone met that quorum:
 *    its balance came back (`degraded`) 7 times in 149 reads, the honest domain up all along
 *    (a wallet hedging after 30 ms; by default whenever the honest answer is in its latency
 *    tail). A domain left out that answers after all now counts again (tally.ts `Need.uncounted`):
 *    its answer alone is no quorum; beside the honest one's it is a split (an error).
 * 2. Fixed: one honest domain out, the liar up on a chain of its own beside the honest one (a
 *    stream open, so the head is polled often): every poll confirmed the old confirmed head
 *    again (both sources still hold its hash) and took its `at` as now (head.ts `#confirmAt`,
 *    headChoice.ts `seenAt`: the sources' latest poll, not their standing at it), and filled the
 *    pace with that one height (block time back to its 1 s default): `reach()` stood still at
 *    the confirmed head + maxLag while the chain moved, so the honest domain was `unconfirmed`;
 *    the liar then out, the honest domain, the last one standing, never caught up (reach grew at
 *    the chain's own pace): eth_blockNumber 3 labelled `head` with the chain at 14, newHeads
 *    stalled ('All sources failed for eth_getBlockByNumber'). The same head confirmed again is
 *    seen anew only while domains enough stand at it (their head).
 *
 * Held (tried in a test here, or reasoned from the code, no hole):
 * - Two honest domains up, the liar flapping (refused or blackhole, timed around the 1 s
 *   cool-off, presumed lost and the 200 ms polls) and forging heads at 1.8× the chain's pace,
 *   its balances made up: every read `agreed`, never its balance, eth_blockNumber `head` and
 *   never past the chain, the head confirmed and the quorum met throughout (c/d).
 * - Subscriptions (newHeads and logs over http, polled) with the liar flapping, forging heads
 *   and dropping or adding logs: no forged head, no made-up log, no real log missed, with two
 *   honest domains up, and with one out (held at the confirmed head while it is up, flowing from
 *   the honest domain while it is out) (b).
 * - heldBack's `up` is about the other domains: a liar down when the stream checks does not
 *   help its own head (it backs it); it cannot make an honest domain's latest attempt fail.
 * - The liar's speed cannot make honest attempts lost: `outpaced` needs an answer from a source
 *   measured no faster, and only its answers (not its timeouts) feed its latency.
 * - A lone head needs the honest domains out of the poll (`want()` counts eligible sources at
 *   the refresh's start, `patience` is at least 250 ms): flapping does not shorten either.
 * - eth_blockNumber's floor takes only confirmed heights (lone-domain review #1); a confirmed
 *   height needs two domains' hashes at it, which flapping does not forge.
 * - WebSocket pushes from a flapping liar: reviewOfWsPushes.test.ts.
 * - Named here, since fixed: handlers/blockNumber.ts computed the height, then read `confirmed()`
 *   after an await: a poll settling in between could label a lone height `head`. The tracker
 *   now returns the height with its label (src/core/handlers/blockNumber.test.ts).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  createOutlast,
  http,
  type Outlast,
  type OutlastOptions,
  type Source,
} from '../../src/index.ts'
import { CHAIN_ID, resetLab, sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type FaultMode, type Lab, startLab } from '../lab/index.ts'
import { deployAnswer, PING, PING_INIT, sendPing } from '../workload.ts'
import type { Header } from './forger.ts'
import { hostile } from './hostile.ts'
import { flap, forgedChain, honestOf, MARK } from './proxiedLiar.ts'

type Log = {
  blockHash: string
  blockNumber: string
  logIndex: string
  transactionHash: string
  data: string
  removed?: boolean
}

let lab: Lab
let emitter: string
beforeAll(async () => {
  // The chain makes a block a second; the liar's proxy adds no latency: it answers first.
  lab = await startLab({ sources: [...threeDomains, { name: 'liar', domain: 'liar-host' }] })
  emitter = (await deployAnswer(lab.anvil, PING_INIT)).toLowerCase()
}, 30_000)
afterAll(() => lab.stop())

const hex = (n: number) => `0x${n.toString(16)}`
const chainHead = async () => Number(await lab.anvil.rpc<string>('eth_blockNumber'))
const ADDRESS = devAccounts[2]!.address

const honest = (names: string[], timeout = 1_000) => honestOf(lab, names, timeout)

/**
 * The liar, over its lab proxy (so `refused` and `blackhole` reach every call, forged ones too:
 * each first waits for the real answer). Its balances are `MARK`; with `forge`, its `latest` is
 * the tip of a chain it forges on the real head, `forge` blocks a second (correctly hashed,
 * linked, fresh), served by number and hash; with `logs`, its `eth_getLogs` drops every log
 * (`'drop'`) or adds one made up from a real one (`'add'`).
 */
function liar(o: { forge?: number; logs?: 'drop' | 'add'; later?: boolean } = {}) {
  let on = !o.later
  const inner = http(lab.proxy('liar').url, {
    name: 'liar',
    domain: 'liar-host',
    fetchFn: lab.proxy('liar').fetch,
    timeout: 1_000,
  })
  const { extend, byHash, byNumber, tip } = forgedChain(o.forge ?? 0)
  const source: Source = hostile(inner, async (method, params, answer) => {
    const real = await answer()
    if (!on) return real
    if (method === 'eth_getBalance') return MARK
    if (o.forge) {
      if (method === 'eth_blockNumber') return tip()?.number ?? real
      if (method === 'eth_getBlockByHash')
        return byHash.get(String(params[0]).toLowerCase()) ?? real
      if (method === 'eth_getBlockByNumber')
        return params[0] === 'latest'
          ? extend(real as Header)
          : (byNumber.get(String(params[0])) ?? real)
    }
    if (method === 'eth_getLogs' && o.logs === 'drop') return []
    if (method === 'eth_getLogs' && o.logs === 'add') {
      const logs = real as Log[]
      const last = logs.at(-1)
      return last ? [...logs, { ...last, logIndex: hex(Number(last.logIndex) + 1) }] : logs
    }
    return real
  })
  return {
    source,
    forged: byHash,
    start() {
      on = true
    },
  }
}

/** Flapping timed against the breaker's 1 s cool-off, presumed lost (1 s) and the polls. */
const SCHEDULES: [FaultMode['kind'], number][][] = [
  [
    ['refused', 1_100],
    ['ok', 400],
  ],
  [
    ['blackhole', 1_300],
    ['ok', 700],
  ],
  [
    ['ok', 250],
    ['refused', 300],
  ],
]

async function warm(rpc: Outlast) {
  for (let i = 0; i < 10; i++) {
    await rpc.request({ method: 'eth_blockNumber' }).catch(() => {})
    await sleep(150)
  }
}

describe('a. the liar out just long enough not to count, then first to answer', () => {
  it('Fixed: its balance is never returned: one honest domain up beside it, another out', async () => {
    await resetLab(lab)
    await lab.proxy('gcp').setMode({ kind: 'refused' })
    const l = liar()
    const block = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
    const real = await lab.anvil.rpc<string>('eth_getBalance', [ADDRESS, block.hash])
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      // A wallet that hedges early: the honest home node (60 ms away) is "late" after 30 ms.
      hedge: { min: 10, max: 30, initial: 30 },
      sources: [l.source, ...honest(['home', 'gcp'])],
    })
    const seen = new Map<string, number>()
    try {
      await warm(rpc)
      for (const schedule of SCHEDULES.slice(0, 2)) {
        const stop = flap(lab, schedule)
        const end = Date.now() + 9_000
        while (Date.now() < end) {
          const r = await rpc
            .requestWithMeta({
              method: 'eth_getBalance',
              params: [ADDRESS, { blockHash: block.hash }],
            })
            .catch(() => undefined)
          const key = r
            ? `${r.result === MARK ? 'LIE' : r.result === real ? 'real' : r.result}/${r.meta.consistency}`
            : 'error'
          seen.set(key, (seen.get(key) ?? 0) + 1)
          await sleep(40)
        }
        await stop()
      }
      const summary = [...seen].map(([k, n]) => `${k}×${n}`).join(' ')
      // The test needs the honest answer to have come back at times (it is up).
      assert.ok(
        [...seen.keys()].some((k) => k.startsWith('real')),
        summary,
      )
      assert.ok(
        ![...seen.keys()].some((k) => k.startsWith('LIE')),
        `the liar's balance came back: ${summary}`,
      )
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 40_000)
})

describe('c/d. two honest domains up and agreeing, the liar flapping and forging heads', () => {
  it('reads stay agreed, eth_blockNumber stays on the chain, the head confirmed', async () => {
    await resetLab(lab)
    const l = liar({ forge: 1.8 })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      sources: [l.source, ...honest(['aws', 'gcp'])],
    })
    const bad: string[] = []
    const labels = new Map<string, number>()
    const count = (k: string) => labels.set(k, (labels.get(k) ?? 0) + 1)
    try {
      await warm(rpc)
      assert.ok(rpc.status().headConfirmed)
      for (const schedule of SCHEDULES) {
        const stop = flap(lab, schedule)
        const end = Date.now() + 7_000
        while (Date.now() < end) {
          const read = await rpc
            .requestWithMeta({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] })
            .catch((e: Error) => e)
          if (read instanceof Error) count(`read error: ${read.message.slice(0, 80)}`)
          else {
            count(`read ${read.meta.consistency}`)
            if (read.result === MARK) bad.push(`the liar's balance (${read.meta.consistency})`)
          }
          const n = await rpc.requestWithMeta({ method: 'eth_blockNumber' }).catch((e: Error) => e)
          const now = await chainHead()
          if (n instanceof Error) count(`blockNumber error: ${n.message.slice(0, 80)}`)
          else {
            count(`blockNumber ${n.meta.consistency}`)
            if (Number(n.result) > now + 1)
              bad.push(
                `eth_blockNumber ${Number(n.result)} (${n.meta.consistency}), chain at ${now}`,
              )
          }
          if (!rpc.status().headConfirmed) count('head unconfirmed')
          if (!rpc.status().quorum.met) count('quorum not met')
          await sleep(100)
        }
        await stop()
      }
      const summary = [...labels].map(([k, n]) => `${k}×${n}`).join('; ')
      assert.deepEqual(bad, [], summary)
      // Two honest domains up and agreeing: never degraded, never an error, never unconfirmed.
      assert.deepEqual(
        [...labels.keys()].filter(
          (k) => !['read agreed', 'read cached', 'blockNumber head'].includes(k),
        ),
        [],
        summary,
      )
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 60_000)
})

describe('a/d. one honest domain out, the liar up on a chain of its own, then out', () => {
  it('Fixed: the honest domain left is not made unconfirmed, nor the head frozen behind the chain', async () => {
    await resetLab(lab)
    await lab.proxy('gcp').setMode({ kind: 'refused' })
    const l = liar({ forge: 1.8, later: true })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      sources: [l.source, ...honest(['aws', 'gcp'])],
    })
    const seen: string[] = []
    const bad: string[] = []
    try {
      await warm(rpc)
      // A stream open (its polls make the head tracker refresh often).
      const heads: number[] = []
      await rpc.subscribe(['newHeads'], (x) => heads.push(Number((x as Header).number)))
      l.start()
      // Up: its forged chain and the honest one agree on nothing above the confirmed head.
      await sleep(5_000)
      // Out (refused, its breaker open): the honest domain is the last one standing.
      await lab.proxy('liar').setMode({ kind: 'refused' })
      await sleep(2_000)
      const end = Date.now() + 8_000
      while (Date.now() < end) {
        const n = await rpc.requestWithMeta({ method: 'eth_blockNumber' }).catch((e: Error) => e)
        const now = await chainHead()
        const aws = rpc.status().sources.find((s) => s.name === 'aws')!
        const shown = n instanceof Error ? 'error' : `${Number(n.result)} ${n.meta.consistency}`
        seen.push(`${shown}/chain ${now}/aws ${aws.condition}`)
        if (aws.condition === 'unconfirmed')
          bad.push(`aws unconfirmed at #${aws.head}, chain at ${now}`)
        if (!(n instanceof Error) && n.meta.consistency === 'head' && Number(n.result) < now - 3)
          bad.push(`eth_blockNumber ${Number(n.result)} labelled head, chain at ${now}`)
        await sleep(250)
      }
      assert.deepEqual(bad.slice(0, 3), [], seen.join(' | '))
      // Not by failing: the last reads follow the honest domain (degraded: it stands alone).
      assert.ok(
        seen.slice(-5).every((x) => x.includes('degraded')),
        seen.slice(-5).join(' | '),
      )
    } finally {
      await rpc.close()
      await resetLab(lab)
    }
  }, 40_000)
})

/** One ping sent to the node (mined with the next block); its transaction hash. */
const ping = (n: number) => sendPing(lab.anvil, emitter, n)

/**
 * newHeads and a logs subscription through `createOutlast` while the liar flaps; then every
 * delivered head must be the chain's, linked, and the logs exactly the chain's pings in the
 * blocks delivered (none missed, none made up).
 */
async function subscribeThrough(options: Partial<OutlastOptions>, l: ReturnType<typeof liar>) {
  const rpc = createOutlast({
    chainId: CHAIN_ID,
    pollingInterval: 200,
    ...options,
  } as OutlastOptions)
  const heads: Header[] = []
  const logs: Log[] = []
  const errors: string[] = []
  rpc.on('streamError', (e) => errors.push(e.message))
  try {
    await warm(rpc)
    const h = await rpc.subscribe(['newHeads'], (x) => heads.push(x as Header))
    const g = await rpc.subscribe(['logs', { address: emitter, topics: [PING] }], (x) =>
      logs.push(x as Log),
    )
    let i = 0
    for (const schedule of SCHEDULES) {
      const stop = flap(lab, schedule)
      const end = Date.now() + 6_000
      while (Date.now() < end) {
        await ping(++i)
        await sleep(700)
      }
      await stop()
    }
    // The liar stays out (refused) while the stream catches up with the honest domains.
    await lab.proxy('liar').setMode({ kind: 'refused' })
    await sleep(4_000)
    await h.unsubscribe()
    await g.unsubscribe()
  } finally {
    await rpc.close()
  }
  // Every delivered head is the chain's block at its height, and they link.
  const wrong: string[] = []
  for (const x of heads) {
    if (l.forged.has(x.hash.toLowerCase())) wrong.push(`forged head #${Number(x.number)}`)
    const onChain = await lab.anvil.rpc<Header | null>('eth_getBlockByNumber', [x.number, false])
    if (onChain?.hash !== x.hash)
      wrong.push(`head #${Number(x.number)} ${x.hash} is not the chain's`)
  }
  for (let k = 1; k < heads.length; k++)
    if (heads[k]!.parentHash !== heads[k - 1]!.hash)
      wrong.push(`head #${Number(heads[k]!.number)} does not link`)
  assert.ok(
    heads.length > 10,
    `heads delivered: ${heads.length}; ${errors.slice(0, 3).join(' | ')}`,
  )
  // Logs: exactly the chain's pings in the blocks delivered (none removed: no reorg here).
  const first = Number(heads[0]!.number)
  const last = Number(heads.at(-1)!.number)
  const real = await lab.anvil.rpc<Log[]>('eth_getLogs', [
    { address: emitter, topics: [PING], fromBlock: hex(first), toBlock: hex(last) },
  ])
  const key = (x: Log) => `${x.blockHash}:${Number(x.logIndex)}:${x.transactionHash}:${x.data}`
  const got = new Set(logs.filter((x) => !x.removed).map(key))
  const want = new Set(real.map(key))
  const missed = [...want].filter((k) => !got.has(k))
  // A log outside those blocks (the logs subscription began a little later): the chain's at its block.
  const madeUp: string[] = []
  for (const k of [...got].filter((k) => !want.has(k))) {
    const there = await lab.anvil.rpc<Log[]>('eth_getLogs', [{ blockHash: k.split(':')[0] }])
    if (!there.some((x) => key(x) === k)) madeUp.push(k)
  }
  assert.deepEqual(wrong, [], `heads: ${wrong.slice(0, 5).join('; ')}`)
  assert.deepEqual(madeUp, [], 'logs delivered that the chain does not have')
  assert.deepEqual(missed, [], `real logs never delivered (${real.length} in #${first}..#${last})`)
  assert.ok(real.length > 5, `pings on chain: ${real.length}`)
  return { heads, logs, errors }
}

describe('b. subscriptions while the liar flaps', () => {
  it('two honest domains up: no forged head or log, no real log missed', async () => {
    await resetLab(lab)
    const l = liar({ forge: 1.8, logs: 'drop' })
    try {
      await subscribeThrough({ sources: [l.source, ...honest(['aws', 'gcp'])] }, l)
    } finally {
      await resetLab(lab)
    }
  }, 60_000)

  it('one honest domain out, one up: no forged head or log, no real log missed', async () => {
    await resetLab(lab)
    await lab.proxy('gcp').setMode({ kind: 'refused' })
    const l = liar({ forge: 1.8, logs: 'add' })
    try {
      await subscribeThrough({ sources: [l.source, ...honest(['aws', 'gcp'])] }, l)
    } finally {
      await resetLab(lab)
    }
  }, 60_000)

  it('one honest domain out, the other hedged early: no real log missed', async () => {
    await resetLab(lab)
    await lab.proxy('gcp').setMode({ kind: 'refused' })
    const l = liar({ logs: 'drop' })
    try {
      await subscribeThrough(
        {
          hedge: { min: 10, max: 30, initial: 30 },
          sources: [l.source, ...honest(['home', 'gcp'])],
        },
        l,
      )
    } finally {
      await resetLab(lab)
    }
  }, 60_000)
})
