/**
 * A sweep of log subscriptions and filters: three honest domains (aws, gcp, home) and a liar in
 * its own domain (proxiedLiar.ts, fastest, so asked first). aws and gcp take an honest fault for
 * 800 ms around each new block, after 600 ms of answering (or, `steady`, for the whole run, lifted
 * after the last block); home stays up. The liar rewrites its eth_getLogs answers, everything else
 * the node's. A subscription to the ping contract's logs (or an eth_newFilter polled every 500 ms)
 * sees 3 blocks of 2 pings each (two per block, so order and duplicates inside a block show),
 * and must get exactly the node's logs, once each, in order, none made up or `removed`, within
 * 15 s of the last fault lifting (5-6 s here at most). Each case prints its per-block delays (block mined to its first
 * log delivered).
 *
 * Honest faults: -32603 (lab `rpcError`), -32005 "limit exceeded" (every method), eth_getLogs
 * alone -32005 "query returned more than 10000 results", HTTP 503, 429 with Retry-After 1 s,
 * slow (1.2-2.4 s: past the second opinion's 1 s patience, within the sources' 3 s timeout),
 * aws and gcp as WebSocket sources whose sockets drop (lab wsProxy `drop`), HTTP 503 for the whole
 * run, and a logs index lagging 1.5 s behind the node (eth_getLogs answers `[]` for a block mined
 * less than 1.5 s ago), on aws and gcp or on aws alone.
 * Liar strategies: made-up `data`, the last log omitted, no logs at all, the logs reversed with
 * their logIndex renumbered to match, a log duplicated, `removed: true`, the logs of the block
 * asked before relabelled as this block's.
 * Swept (26 runs, ~175 s): every fault × made-up (subscription); every lie × -32603
 * (subscription); lagging index × made-up / none, lagging on aws alone × none, aws lagging with
 * gcp and home 503 around each block × none, WebSocket drop ×
 * duplicated (subscription); -32603, 429, WebSocket drop, lagging index × made-up and 503
 * steady × removed (filter).
 * Skipped (the liar is never alone while home is up, so its strategies differ only in what it
 * disputes; each is covered once against a fault that makes the others fail, see above): the
 * other 5 lies × the faults other than -32603; filters for most lies (a filter takes the same
 * logs from the same `deliver` as a subscription, only buffered); garbage and blackhole (read
 * as failures, like 503 and slow: reviewOfFlapping, reviewOfSession36).
 *
 * Found:
 * 1. Fixed (follow/streams.ts `getLogs`): a node lagging its own logs index (it answers `[]` for a
 *    block it has not indexed yet, as some providers' load-balanced log backends do) is taken as
 *    "this block has no logs". With aws and gcp lagging 1.5 s, their `[]` for each ping's block
 *    was agreed by two domains before home (which had the logs) was asked, the stream took it as
 *    the block's logs, and the block was never asked again: 0 of 6 logs delivered, to the
 *    subscription and to the filter, whatever the liar did. Worse, one lagging provider is enough
 *    with a liar answering `[]` (aws alone lagging, the liar omitting every log): 0 of 6 (test
 *    "unindexedOne × none"). Severity high: real logs silently lost (missed trades), and a liar
 *    needs only one honest provider's lag to hide any log. Now an agreed `[]` (weak evidence: the
 *    stream asks only blocks whose bloom admits the filter) is asked of every domain the request
 *    did not hear (secondOpinion.ts); one answering logs makes the block owed, asked again at the
 *    next poll, for at most 6 s since first disputed (then the `[]` stands: a liar answering
 *    made-up logs for empty blocks delays the stream, never stops it). With the fix every log
 *    once, in order, 0.9-2.0 s after its block. Without it (the old streams.ts copied back) the
 *    four `unindexed*` cases fail with `got []`.
 * 2. Fixed (secondOpinion.ts `need`, streams.ts): with fix 1, a held-back domain that could not
 *    answer the direct ask left the agreed `[]` standing. aws lagging its logs index, gcp and home
 *    answering 503 for 800 ms around each block, the liar answering `[]`: the liar and aws
 *    agreed on none, gcp and home failed the ask, and 0 of 6 logs were delivered (test
 *    "unindexedBeside503 × none"; fails on the code of fix 1 alone, commit aad9706, files copied
 *    back). Severity
 *    high (as 1: a liar plus one lagging provider and a routine 503 blip). Now every other domain
 *    must confirm an agreed `[]`: one that cannot answer now but answered lately makes it owed
 *    too (the rule the second opinion already had for one domain's logs), within the same 6 s:
 *    every log once, 1.5-3.0 s after its block (2 blocks; with 3, the first waited 5.2 s, near
 *    the bound: a [] disputed past 6 s stands, so a lag plus blips longer than that still loses
 *    the log: bounded by design, not fixed).
 * 3. Fixed (streams.ts `getLogs`, the dispute's key), a hole of fix 1 itself: the 6 s bound was
 *    kept per filter, and blocks owed are asked again joined with the blocks added since, as one
 *    range whose `toBlock` grows with each block: a new filter, a new 6 s. A liar failing the
 *    request (-32603) and answering each second opinion with a made-up match held an agreed `[]`
 *    (topics [PING, PING]: the bloom admits each ping block, no log matches) for the whole run:
 *    the first block's dispute lasted 16.8 s, and lasts as long as blocks keep coming faster
 *    than 6 s (an L2). Severity medium (logs delayed without bound, never made up). Now the
 *    bound is kept per first block: 6.3-6.8 s (test "the fix's bound"; fails with the key of
 *    commit f95dad7, files copied back).
 *    Size after 1-3: 31.45 kB / 57,610 B: the second entry is 10 B over its 57.6 kB limit (the
 *    guard bounding the disputed `[]`s kept costs 8 B: without it a reorg or an unsubscribe while
 *    owed would leave entries behind for good; the stable key 8 B).
 * 4. Fixed (follow/logs.ts `logsOf`, `TRAILING`): with aws and gcp lagging 2.5 s and blocks 1.4 s
 *    apart, an owed block is asked again joined with the next one as a range; once the older is
 *    indexed the range's answer holds its logs and not the newer's, it is not `[]`, the two
 *    agree, and the newer block was taken as having none: pings 3 and 4 of 6 lost (test "a logs
 *    index lagging longer than a block", it.fails at commit 61a83e3). Severity high (real logs
 *    lost). Now a range's last 8 blocks after its last log are asked again by hash, where an
 *    agreed `[]` is checked (fixes 1-3): every log once, 0.9-3.7 s after its block. Costs at most
 *    8 more requests per range that has logs (ranges come with owed blocks and backfills). Tried
 *    first: every agreed range answer checked like `[]`: it delivered all 6 too, but a liar
 *    disputing every range then held the stream ~6 s per range (8 s delays).
 *    Size after 1-4: 31.45 kB / 57,644 B: the second entry is 44 B over its 57.6 kB limit.
 *
 * Held (the other 20 runs):
 * - No made-up, duplicated, reordered, `removed` or other-block log reached a subscriber or a
 *   filter in any run: the liar never stood alone while home was up, and the second opinion asked
 *   the held-back domains whenever it would have.
 * - Delays while aws and gcp fail 800 ms of every 1.4 s (home up, the liar disputing home):
 *   -32603, -32005, 503 release each run of blocks at once, up to ~4.2 s after a block (8 blocks:
 *   4069, 2655, 1235, 4192, 2777, 1365, 4193, 2781 ms: bounded, it does not grow); 429 1.4-2.8 s;
 *   slow 0.9-3.6 s; eth_getLogs-only -32005 ~1 s (the head polls answer, so aws and gcp stay up
 *   for the rest). After 503 for the whole run, the owed logs come ~4 s after it ends.
 * - WebSocket drops: logs held while the drops go on (the reconnect backoff keeps both sockets
 *   out of the 600 ms windows, and home against the liar is one domain against one: owed, never
 *   delivered as anyone's), released ~4.3 s after the last drop (3 blocks: 7.9, 6.5, 5.1 s after
 *   each). With 8 blocks of drops none came within 5 s of the last one: the delay lasts as long as
 *   the flapping, which is the price of two of three honest domains being out while a liar
 *   disputes the third (not a finding: nothing can be agreed meanwhile).
 * - A liar that answers the request with its made-up match (rather than failing it) is outvoted
 *   there, disputes the agreed `[]` twice and is set aside (asked about a block for ~0.3 s).
 * - Noticed, not tested: after 6 s a disputed `[]` stands, so an index lagging longer than that
 *   still loses logs (by design of the bound).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest'
import type { RpcLog } from '../../src/core/follow/logs.ts'
import { createOutlast, http, RpcResponseError, type Source, webSocket } from '../../src/index.ts'
import { sleep } from '../helpers.ts'
import { type FaultMode, type Lab, startWsProxy, type WsProxy } from '../lab/index.ts'
import { deployAnswer, PING, PING_INIT, sendPing } from '../workload.ts'
import { hostile } from './hostile.ts'
import { liarOf, MARK, startLiarLab } from './proxiedLiar.ts'

type Obj = Record<string, unknown>
const hex = (n: number) => `0x${n.toString(16)}`

let lab: Lab
let emitter: `0x${string}`
const ws = new Map<string, WsProxy>()
beforeAll(async () => {
  lab = await startLiarLab()
  emitter = await deployAnswer(lab.anvil, PING_INIT)
  for (const name of ['aws', 'gcp'])
    ws.set(name, await startWsProxy(`ws://127.0.0.1:${lab.anvil.port}`, { name: `${name}-ws` }))
}, 60_000)
afterAll(async () => {
  for (const p of ws.values()) await p.stop()
  await lab.stop()
})
beforeEach(async () => {
  for (const p of lab.proxies) await p.setMode({ kind: 'ok' })
  for (const p of ws.values()) await p.setMode({ kind: 'ok' })
})

// --- The honest side's faults -------------------------------------------------------------

/**
 * How the two faulted honest domains (aws, gcp) fail around each block: a proxy mode (every
 * method), a fault of their eth_getLogs alone (`logs`), or their WebSocket sockets dropped.
 */
type HonestFault = {
  name: string
  proxy?: FaultMode
  logs?: 'limit' | 'unindexed'
  ws?: true
  /** On for the whole run, not only around each block. */
  steady?: true
  /** The honest domains faulted. @default aws and gcp */
  only?: string[]
  /** Honest domains whose logs index lags INDEX_LAG throughout, besides the fault. */
  lagging?: string[]
  /** Milliseconds the logs index lags (`unindexed`). @default INDEX_LAG */
  lag?: number
}

const FAULTS: Record<string, HonestFault> = {
  internal: { name: '-32603 internal error', proxy: { kind: 'rpcError' } },
  limitExceeded: {
    name: '-32005 limit exceeded',
    proxy: { kind: 'rpcError', code: -32005, message: 'limit exceeded' },
  },
  tooManyResults: {
    name: 'eth_getLogs -32005 more than 10000 results',
    logs: 'limit',
  },
  http503: { name: 'HTTP 503', proxy: { kind: 'http5xx', status: 503 } },
  rateLimited: { name: '429 Retry-After 1 s', proxy: { kind: 'rateLimit', retryAfter: 1 } },
  // aws and gcp have 20 and 40 ms latency: x 60 is 1.2 and 2.4 s, past the 1 s patience,
  // within their own 3 s timeout.
  slow: { name: 'slow (1.2-2.4 s)', proxy: { kind: 'slow', factor: 60 } },
  wsDrop: { name: 'WebSocket dropped', ws: true },
  http503Steady: {
    name: 'HTTP 503 for the whole run',
    proxy: { kind: 'http5xx', status: 503 },
    steady: true,
  },
  unindexed: {
    name: 'eth_getLogs [] for blocks not indexed yet (1.5 s)',
    logs: 'unindexed',
    steady: true,
  },
  unindexedLonger: {
    name: 'eth_getLogs [] for blocks not indexed yet (2.5 s: longer than a block)',
    logs: 'unindexed',
    steady: true,
    lag: 2_500,
  },
  unindexedBeside503: {
    name: 'aws lagging its logs index (1.5 s), gcp and home HTTP 503 around each block',
    proxy: { kind: 'http5xx', status: 503 },
    only: ['gcp', 'home'],
    lagging: ['aws'],
  },
  unindexedOne: {
    name: 'aws alone: eth_getLogs [] for blocks not indexed yet (1.5 s)',
    logs: 'unindexed',
    steady: true,
    only: ['aws'],
  },
}

/** Milliseconds a node lagging its own logs index answers `[]` for a new block's logs. */
const INDEX_LAG = 1_500

/** The blocks mined lately (number → when), for the `unindexed` fault. */
const minedAt = new Map<number, number>()

/** `logs` without those of blocks mined less than `lag` ms ago (not indexed yet). */
function unindexed(logs: RpcLog[], lag = INDEX_LAG): RpcLog[] {
  const fresh = (n: number) => Date.now() - (minedAt.get(n) ?? 0) < lag
  return logs.filter((l) => !fresh(Number(l.blockNumber)))
}

/** Per run: which honest domains are faulted now. */
const faulted = new Set<string>()

/** An honest source (over its lab proxy or its WebSocket path), its eth_getLogs faults applied. */
function honest(name: string, fault: HonestFault): Source {
  const s = lab.sources.find((x) => x.name === name)!
  const inner =
    fault.ws && ws.has(name)
      ? webSocket(ws.get(name)!.url, { name, domain: s.domain, timeout: 3_000 })
      : http(s.proxy.url, { name, domain: s.domain, fetchFn: s.proxy.fetch, timeout: 3_000 })
  return hostile(inner, async (method, _params, answer) => {
    if (method === 'eth_getLogs' && fault.lagging?.includes(name))
      return unindexed((await answer()) as RpcLog[], fault.lag)
    if (method !== 'eth_getLogs' || !fault.logs || !faulted.has(name)) return answer()
    if (fault.logs === 'limit')
      throw new RpcResponseError(name, {
        code: -32005,
        message: 'query returned more than 10000 results',
      })
    return unindexed((await answer()) as RpcLog[], fault.lag)
  })
}

// --- The liar's strategies on its eth_getLogs ----------------------------------------------

type Lie = (logs: Obj[], filter: Obj) => Promise<Obj[]> | Obj[]

let lastOther: Obj[] = []
const LIES: Record<string, Lie> = {
  madeUp: (logs) => logs.map((l) => ({ ...l, data: `0x${MARK.slice(2).padStart(64, '0')}` })),
  omitted: (logs) => logs.slice(0, -1),
  none: () => [],
  reordered: (logs) =>
    // Reversed, and each log's logIndex renumbered to its new place: order is the lie.
    [...logs]
      .reverse()
      .map((l, i) => ({ ...l, logIndex: hex(Number(logs[0]?.logIndex ?? 0) + i) })),
  duplicated: (logs) => (logs.length ? [...logs, { ...logs[0]! }] : logs),
  removed: (logs) => logs.map((l) => ({ ...l, removed: true })),
  otherBlock: (logs) => {
    // The logs of the block asked before, relabelled as this block's.
    const asked = logs[0]
    const other = lastOther
    if (asked) lastOther = logs
    if (!asked || other.length === 0 || other[0]!.blockHash === asked.blockHash) return logs
    return other.map((l) => ({
      ...l,
      blockHash: asked.blockHash,
      blockNumber: asked.blockNumber,
      transactionHash: asked.transactionHash,
    }))
  },
}

const liar = (lie: Lie): Source =>
  liarOf(lab, async (method, params, real) => {
    const a = await real()
    return method === 'eth_getLogs' && Array.isArray(a) ? lie(a as Obj[], params[0] as Obj) : a
  })

// --- One run ---------------------------------------------------------------------------------

/** Pings per block: two, so order and duplicates within a block are seen. */
const PER_BLOCK = 2

/** Mines one block holding pings `first` and `first + 1`; its number. */
async function mineBlock(first: number): Promise<number> {
  await lab.anvil.rpc('evm_setAutomine', [false])
  try {
    for (let i = 0; i < PER_BLOCK; i++) await sendPing(lab.anvil, emitter, first + i)
    await lab.anvil.rpc('evm_mine')
  } finally {
    await lab.anvil.rpc('evm_setAutomine', [true])
  }
  const n = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
  minedAt.set(n, Date.now())
  return n
}

/** A log as compared: its ping, block, index, removed flag (MADE-UP for the liar's data). */
const shown = (l: RpcLog) =>
  `${BigInt(l.data) === BigInt(MARK) ? 'MADE-UP' : Number(l.data)}@${Number(l.blockNumber)}#${Number(l.logIndex)}${l.removed ? ' removed' : ''}`

type Run = { got: string[]; want: string[]; lateMs: number; delays: number[] }

/**
 * outlast over the liar and aws, gcp, home; a log subscription (or a filter polled every 500
 * ms) to the ping contract; `blocks` blocks of PER_BLOCK pings, aws and gcp faulted for 800 ms
 * around each (steady faults: throughout). What it got, the node's truth, and how long after
 * the last block the last log came.
 */
async function run(
  fault: HonestFault,
  lie: Lie,
  via: 'subscription' | 'filter',
  blocks = Number(process.env.SWEEP_BLOCKS ?? 3),
) {
  faulted.clear()
  minedAt.clear()
  lastOther = []
  const rpc = createOutlast({
    chainId: 31337,
    sources: [liar(lie), ...['aws', 'gcp', 'home'].map((n) => honest(n, fault))],
    pollingInterval: 250,
  })
  const got: RpcLog[] = []
  let lastAt = 0
  /** When each block's first log came, by number. */
  const cameAt = new Map<number, number>()
  const take = (l: RpcLog) => {
    got.push(l)
    lastAt = Date.now()
    if (!cameAt.has(Number(l.blockNumber))) cameAt.set(Number(l.blockNumber), lastAt)
  }
  const on = async (yes: boolean) => {
    for (const name of fault.only ?? ['aws', 'gcp']) {
      if (yes) faulted.add(name)
      else faulted.delete(name)
      if (fault.proxy) await lab.proxy(name).setMode(yes ? fault.proxy : { kind: 'ok' })
      if (fault.ws) await ws.get(name)!.setMode({ kind: yes ? 'drop' : 'ok' })
    }
  }
  let poller: Promise<void> | undefined
  let polling = true
  const numbers: number[] = []
  let lastMined = 0
  try {
    await rpc.request({ method: 'eth_blockNumber' })
    const filter = { address: emitter, topics: [PING] }
    if (via === 'subscription') await rpc.subscribe(['logs', filter], (l) => take(l as RpcLog))
    else {
      const id = await rpc.request({ method: 'eth_newFilter', params: [filter] })
      poller = (async () => {
        while (polling) {
          await sleep(500)
          const changes = (await rpc
            .request({ method: 'eth_getFilterChanges', params: [id] })
            .catch(() => [])) as RpcLog[]
          for (const l of changes) take(l)
        }
      })()
    }
    if (fault.steady) await on(true)
    for (let b = 0; b < blocks; b++) {
      await sleep(600) // the honest domains answer head polls: they answered lately
      if (!fault.steady) await on(true)
      numbers.push(await mineBlock(b * PER_BLOCK + 1))
      lastMined = Date.now()
      await sleep(800)
      if (!fault.steady || b === blocks - 1) await on(false) // a steady fault ends with the last block
    }
    // Generous: a loaded CI machine once took longer than 8 s after WebSocket drops (none delivered by then).
    const deadline = Date.now() + 15_000
    while (got.length < blocks * PER_BLOCK && Date.now() < deadline) await sleep(100)
    await sleep(via === 'filter' ? 700 : 300) // anything late, duplicated, removed
  } finally {
    polling = false
    await poller
    await on(false)
    await rpc.close()
  }
  const truth = (await lab.anvil.rpc<RpcLog[]>('eth_getLogs', [
    { address: emitter, fromBlock: hex(numbers[0]!), toBlock: hex(numbers.at(-1)!) },
  ])) as RpcLog[]
  return {
    got: got.map(shown),
    want: truth.map(shown),
    lateMs: lastAt - lastMined,
    delays: numbers.map((n) => (cameAt.get(n) ?? Number.NaN) - minedAt.get(n)!),
  } satisfies Run
}

type Case = [
  fault: keyof typeof FAULTS,
  lie: keyof typeof LIES,
  via: 'subscription' | 'filter',
  blocks?: number,
]

const CASES: Case[] = [
  // Every honest fault against the worst lie (made-up data), to a subscription.
  ['internal', 'madeUp', 'subscription'],
  ['limitExceeded', 'madeUp', 'subscription'],
  ['tooManyResults', 'madeUp', 'subscription'],
  ['http503', 'madeUp', 'subscription'],
  ['rateLimited', 'madeUp', 'subscription'],
  ['slow', 'madeUp', 'subscription'],
  ['wsDrop', 'madeUp', 'subscription'],
  ['unindexed', 'madeUp', 'subscription'],
  ['http503Steady', 'madeUp', 'subscription'],
  // Every lie against a brief node error, to a subscription.
  ['internal', 'omitted', 'subscription'],
  ['internal', 'none', 'subscription'],
  ['internal', 'reordered', 'subscription'],
  ['internal', 'duplicated', 'subscription'],
  ['internal', 'removed', 'subscription'],
  ['internal', 'otherBlock', 'subscription'],
  // Lies that an empty or short answer helps.
  ['unindexed', 'none', 'subscription'],
  ['unindexedOne', 'none', 'subscription'],
  // Two blocks: the first is held until the 503s stop, well within the 6 s a [] is held back.
  ['unindexedBeside503', 'none', 'subscription', 2],
  ['wsDrop', 'duplicated', 'subscription'],
  // Filters: buffered, polled.
  ['internal', 'madeUp', 'filter'],
  ['rateLimited', 'madeUp', 'filter'],
  ['wsDrop', 'madeUp', 'filter'],
  ['unindexed', 'madeUp', 'filter'],
  ['http503Steady', 'removed', 'filter'],
]

describe('log sweep: three honest domains, two faulted around each block, and a liar', () => {
  it.each(CASES)(
    '%s × %s via %s: every real log once, in order, none made up',
    async (f, l, via, blocks) => {
      const r = await run(FAULTS[f]!, LIES[l]!, via, blocks)
      console.log(`# ${f} × ${l} via ${via}: got [${r.got}] want [${r.want}] delays ${r.delays} ms`)
      assert.deepEqual(r.got, r.want)
    },
    40_000,
  )
})

describe('a logs index lagging longer than a block: a range’s answer short of its newest block', () => {
  it('Fixed: aws and gcp lagging 2.5 s (blocks 1.4 s apart), the liar answering []: every log once, in order', async () => {
    const r = await run(FAULTS.unindexedLonger!, LIES.none!, 'subscription')
    console.log(`# unindexedLonger × none: got [${r.got}] want [${r.want}] delays ${r.delays} ms`)
    assert.deepEqual(r.got, r.want)
  }, 40_000)
})

describe('the fix’s bound: an agreed [] a liar disputes is held back for at most 6 s', () => {
  it('Fixed: a filter no log matches though the bloom admits it (topics [PING, PING]), a block every ~0.7 s; the liar fails the request (-32603) and disputes each second opinion with a made-up match: nothing delivered, no block held past ~6 s', async () => {
    faulted.clear()
    /** Asks per filter (the request's fails a moment, the second opinion's is disputed). */
    const asks = new Map<string, number>()
    /** When the liar disputed an agreed [] starting at each block, first and last. */
    const disputed = new Map<number, [number, number]>()
    const disputer = liarOf(lab, async (method, params, real) => {
      const filter = params[0] as Obj
      if (method !== 'eth_getLogs') return real()
      const key = JSON.stringify(filter)
      asks.set(key, (asks.get(key) ?? 0) + 1)
      if (asks.get(key)! % 2 === 1)
        throw new RpcResponseError('liar', { code: -32603, message: 'internal error' })
      const range = filter.blockHash
        ? { blockHash: filter.blockHash }
        : { fromBlock: filter.fromBlock, toBlock: filter.toBlock }
      const logs = await lab.anvil.rpc<Obj[]>('eth_getLogs', [{ ...range, address: emitter }])
      const first = Number(logs[0]?.blockNumber ?? Number.NaN)
      disputed.set(first, [disputed.get(first)?.[0] ?? Date.now(), Date.now()])
      return logs.map((l) => ({ ...l, topics: [PING, PING] }))
    })
    const rpc = createOutlast({
      chainId: 31337,
      sources: [disputer, ...['aws', 'gcp', 'home'].map((n) => honest(n, { name: 'none' }))],
      pollingInterval: 250,
    })
    const got: unknown[] = []
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      await rpc.subscribe(['logs', { address: emitter, topics: [PING, PING] }], (l) => got.push(l))
      for (let b = 0; b < 16; b++) {
        await mineBlock(100 + b * PER_BLOCK)
        await sleep(700)
      }
      await sleep(7_000)
    } finally {
      await rpc.close()
    }
    const spans = [...disputed.values()].map(([first, last]) => last - first)
    console.log(
      `# disputed []: delivered ${got.length}; disputes starting at ${disputed.size} blocks, each for ${spans} ms`,
    )
    assert.equal(got.length, 0)
    assert.ok(disputed.size >= 1, 'the liar disputed')
    for (const span of spans) assert.ok(span < 10_000, `a block held ${span} ms`)
  }, 60_000)
})
