/**
 * Attacker's review of 99ab20f (errors and pins, answering reviewOfSession39b): sourceState.ts
 * `recordFailure` no longer skips a -32602 or a revert (the attempter's `working` decides what is
 * an answer); policy.ts `isCallersError` is false for -32602 in "unknown block" or pruned words;
 * pruned.ts reads anvil's "block height is N but requested was M" above N as "unknown block"
 * (`pastHead`), excused at a block above the source's own head (`aboveHeadOf`), and "unknown
 * block" to a lookup by transaction hash as a failure (`namesNoBlock`); params.ts refuses log
 * filters and fee-history params nodes cannot read. Real anvil behind the lab's proxies, each
 * source its own domain; the caller is honest unless a test says so. Each finding was first an
 * `it.fails('correct behaviour: …')`, checked to fail as a plain `it` for the hole's own reason.
 *
 * Three fixed the same stop, one in part (tests renamed "Fixed: …"): 1 and 3, `aboveHeadOf` reads a log
 * filter's `fromBlock` and a lookup by block number's first param; 2, a log range that starts
 * past `latest` is `[]` at the agreed head, asked of no source (rules.ts `pinLogs` `empty`,
 * consistency `head`), and one whose numbers run backwards the caller's -32602 (params.ts); 4, a
 * caller's error is no success of its source (sourcePool.ts attempter: neither success nor
 * failure), and a -32602 to params domains enough agreed on an answer to is charged when the
 * read settles (fanOut.ts `#finish`). 4 is left with two domains (`it.fails`): charged beside a
 * lone or degraded answer, the honest domains were framed by a liar answering params they all
 * refuse (reviewOfSession39g); beside three domains the liar is charged. Its reads still stand,
 * degraded.
 *
 * Found:
 * 1. (high) An honest caller's `eth_getLogs` over a range above every node's head (an indexer's
 *    next page, a range computed from a faster view of the chain: fromBlock head+5, toBlock
 *    head+9). Every honest anvil says -32602 "BlockOutOfRangeError: block height is N but
 *    requested was M"; `pastHead` makes that "unknown block", so `isCallersError` is false, and
 *    `working` excuses it only through `aboveHeadOf(s, blockOfRead(params, policy.blockParam))`:
 *    eth_getLogs has no `blockParam` (its blocks are in the filter), so nothing excuses it and
 *    `recordFailure`, which skipped a -32602 until today, charges each honest source. The caller
 *    gets the nodes' -32602 (right), and within a few calls every breaker is open: a
 *    self-inflicted outage of the whole fleet. Observed: "aws open down, gcp open down, home
 *    open down". Responsible: sourcePool.ts `working` / pruned.ts `aboveHeadOf` (the filter's
 *    bounds are not read) with sourceState.ts `recordFailure`. Fix: read the lowest block a
 *    read names, the filter's `fromBlock` (and `toBlock`) included, for `aboveHeadOf`; more
 *    generally, a -32602 every domain gives (the tally's caller's answer) is charged to no one.
 * 2. (high) `eth_getLogs({ fromBlock: head+1 })` (toBlock `latest`): the "any logs since the
 *    last block I read?" poll, as viem's `getLogs({ fromBlock })`, ethers' `getLogs` and
 *    `eth_newFilter` + `eth_getFilterLogs` send it. `latest` is pinned to the agreed head (rules.ts
 *    `pinLogs`), so every node gets fromBlock above toBlock, above its head, and says the -32602
 *    above; the tally takes a pinned read's "unknown block" as each source's failure (tally.ts
 *    `judgeTrusted`, `pinnedAt`), so the caller gets 4900 "All sources failed" (viem:
 *    ProviderDisconnectedError, "disconnected from all chains") where the answer is `[]` (no log
 *    yet) or at worst the nodes' -32602, and every source is charged: within three calls (one
 *    head poll a second) every breaker is open. Observed: "AllSourcesFailedError 4900 ×3; aws
 *    open down, gcp open down, home open down" (viem: "ProviderDisconnectedError 4900 ×3").
 *    Responsible: rules.ts `pinLogs` (a fromBlock above the pinned head), tally.ts
 *    `judgeTrusted`, sourcePool.ts `working` (as in 1). Fix: a filter whose fromBlock is above
 *    the agreed head has no logs yet: answer `[]` without asking (or pin toBlock no lower than
 *    fromBlock and take the nodes' agreed -32602 as the caller's, uncharged).
 * 3. (medium) `eth_getUncleByBlockNumberAndIndex` at a block above the head: outside the table
 *    (no `blockParam`) yet chain data by `chainData`'s `getUncle\w*`, so anvil's -32602
 *    past-head words are neither the caller's nor excused: every honest breaker opens.
 *    Observed: "aws open down, gcp open down, home open down". The same read in the table
 *    (`eth_getBlockTransactionCountByNumber`) is excused (Held). Fix: as 1; or give the uncle
 *    lookups their policies (`blockParam: 0` / `hashParam: 0`).
 * 4. (medium; today's fix 1 narrowed by words) A liar in its own domain, two domains, answers
 *    every `eth_getBlockReceipts` with -32602 in any words but "unknown block" or pruned
 *    ("invalid params"): `isCallersError` takes it as the caller's, so it is never charged; every
 *    read stands on the honest domain's word alone, for good, while status shows the liar
 *    "closed healthy". Observed: "ok ×10; aws closed healthy, liar closed healthy".
 *    Responsible: policy.ts `isCallersError` checked in the attempter whatever the tally makes of
 *    it. Fix: charge by the tally's verdict: a -32602 that no other domain agrees with, beside a
 *    result that stood, is that source's failure.
 *
 * Held: a liar's anvil past-head words ("block height is 1 but requested was 2", -32602) to
 * eth_getLogs over a confirmed range and to eth_getBlockReceipts by number, two domains: charged,
 * its breaker opens, aws's answers stand after two splits. eth_getBlockTransactionCountByNumber
 * above the head: the nodes' -32602, no breaker moves (`aboveHeadOf`). viem's `getLogs` with an
 * event and args, `getFeeHistory`, `estimateFeesPerGas`; ethers' `getLogs` (topics `[null]`),
 * `getFeeData`; `topics: []` with `address: []`, nested nulls `[[null], null, [null, null]]`:
 * answered, nothing charged. Five topic positions: refused locally, as anvil refuses them. A fee
 * history with `null` percentiles (accepted by params.ts, refused by anvil): the nodes' -32602,
 * nothing charged.
 * Not kept as tests: params.ts refuses percentiles falling ([50, 25]) or above 100 that anvil
 * answers (geth and reth refuse them: fine). Suspected, untested (no geth here): params.ts takes
 * equal percentiles ([50, 50]) that geth refuses as -32000 "invalid reward percentile" (strictly
 * rising), and geth refuses a log range with fromBlock above toBlock as -32000 "invalid block
 * range params": -32000 to chain data is each source's failure, so with geth sources such a
 * caller's request opens every breaker and answers 4900.
 */
import assert from 'node:assert/strict'
import { createPublicClient, parseAbiItem } from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { OutlastProvider } from '../../src/adapters/ethers.ts'
import { outlast } from '../../src/adapters/viem.ts'
import { RpcResponseError, type Source } from '../../src/index.ts'
import type { Lab } from '../lab/index.ts'
import { deployAnswer, PING_INIT, sendPing } from '../workload.ts'
import { labNode, loop, type Polled, polled, standing } from './fleet.ts'
import type { Rewrite } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'

let lab: Lab
let emitter: `0x${string}`
beforeAll(async () => {
  lab = await startLiarLab()
  emitter = await deployAnswer(lab.anvil, PING_INIT)
  await sendPing(lab.anvil, emitter, 7)
  await lab.anvil.rpc('anvil_mine', ['0x20'])
}, 60_000)
afterAll(() => lab.stop())

const fleet = (sources: Source[], domains = 2) => polled(sources, domains, 1_000)
type Fleet = Polled
const hx = (n: number) => `0x${n.toString(16)}`
const honest3 = () =>
  fleet([labNode(lab, 'aws', 'aws'), labNode(lab, 'gcp', 'gcp'), labNode(lab, 'home', 'home')])

const untouched = (rpc: Fleet) =>
  rpc.status().sources.every((s) => s.breaker === 'closed' && s.condition === 'healthy')

describe("finding 1: an honest caller's log range above the head charges every honest source", () => {
  it('Fixed: the nodes agree on -32602; no honest breaker opens', async () => {
    const rpc = honest3()
    try {
      const out = await loop(rpc, 12, (h) =>
        rpc.request({
          method: 'eth_getLogs',
          params: [{ fromBlock: hx(h + 5), toBlock: hx(h + 9) }],
        }),
      )
      assert.ok(
        out.every((o) => o === 'RpcResponseError -32602') && untouched(rpc),
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('finding 2: logs since the next block (fromBlock head+1, toBlock latest)', () => {
  it("Fixed: no logs yet ([]) or the nodes' -32602, never 4900, nothing charged", async () => {
    const rpc = honest3()
    try {
      const out = await loop(rpc, 6, (h) =>
        rpc.request({ method: 'eth_getLogs', params: [{ fromBlock: hx(h + 1) }] }),
      )
      assert.ok(
        out.every((o) => o === 'ok' || o === 'RpcResponseError -32602') && untouched(rpc),
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Fixed: viem's getLogs({ fromBlock: head + 1n }) is no ProviderDisconnectedError", async () => {
    const rpc = honest3()
    try {
      const client = createPublicClient({ chain: foundry, transport: outlast(rpc) })
      const out = await loop(rpc, 3, (h) => client.getLogs({ fromBlock: BigInt(h + 1) }))
      assert.ok(
        out.every((o) => !/Disconnected|4900/.test(o)),
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Fixed: eth_getFilterLogs of a filter from the next block is no 4900', async () => {
    const rpc = honest3()
    try {
      const out = await loop(rpc, 3, async (h) => {
        const id = await rpc.request({
          method: 'eth_newFilter',
          params: [{ fromBlock: hx(h + 1) }],
        })
        return rpc.request({ method: 'eth_getFilterLogs', params: [id] })
      })
      assert.ok(
        out.every((o) => !/4900/.test(o)),
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('finding 3: an uncle by number above the head (outside the table, yet chain data)', () => {
  it('Fixed: the nodes agree on -32602; no honest breaker opens', async () => {
    const rpc = honest3()
    try {
      const out = await loop(rpc, 12, (h) =>
        rpc.request({ method: 'eth_getUncleByBlockNumberAndIndex', params: [hx(h + 5), '0x0'] }),
      )
      assert.ok(
        out.every((o) => o === 'RpcResponseError -32602') && untouched(rpc),
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: eth_getBlockTransactionCountByNumber above the head: the nodes' -32602, nothing charged", async () => {
    const rpc = honest3()
    try {
      const out = await loop(rpc, 12, (h) =>
        rpc.request({ method: 'eth_getBlockTransactionCountByNumber', params: [hx(h + 5)] }),
      )
      assert.ok(
        out.every((o) => o === 'RpcResponseError -32602') && untouched(rpc),
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

const refusing =
  (message: string, methods: RegExp): Rewrite =>
  async (m, _p, answer) => {
    if (methods.test(m)) throw new RpcResponseError('liar', { code: -32602, message })
    return answer()
  }

describe('finding 4: a liar\'s -32602 in other words than "unknown block" is never charged', () => {
  it.fails("correct behaviour: its breaker opens (as for the past-head words), aws's receipts stand", async () => {
    const rpc = fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'liar', 'liar', refusing('invalid params', /^eth_getBlockReceipts$/)),
    ])
    try {
      const out = await loop(rpc, 10, (h) =>
        rpc.request({ method: 'eth_getBlockReceipts', params: [hx(h - 2)] }),
      )
      assert.equal(
        standing(rpc)[1],
        'liar open down',
        `${out.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("Held: a liar's anvil past-head words about confirmed blocks", () => {
  const pastWords = refusing(
    'BlockOutOfRangeError: block height is 1 but requested was 2',
    /^eth_(getLogs|getBlockReceipts)$/,
  )
  for (const [method, params] of [
    ['eth_getLogs', (h: number) => [{ fromBlock: '0x1', toBlock: hx(h - 2) }]],
    ['eth_getBlockReceipts', (h: number) => [hx(h - 2)]],
  ] as const)
    it(`Held: ${method}: charged, its breaker opens, aws's answer stands`, async () => {
      const rpc = fleet([labNode(lab, 'aws', 'aws'), labNode(lab, 'liar', 'liar', pastWords)])
      try {
        const out = await loop(rpc, 10, (h) => rpc.request({ method, params: params(h) }))
        assert.deepEqual(
          [out.at(-1), standing(rpc)[1]],
          ['ok', 'liar open down'],
          `${out.join(', ')}; ${standing(rpc).join(', ')}`,
        )
      } finally {
        await rpc.close()
      }
    }, 30_000)
})

describe('Held: what viem and ethers send, and unusual filters and fee params', () => {
  const cases: [string, (rpc: Fleet) => Promise<unknown>, RegExp][] = [
    [
      "viem's getLogs with an event and args",
      (rpc) =>
        createPublicClient({ chain: foundry, transport: outlast(rpc) }).getLogs({
          address: [emitter],
          event: parseAbiItem(
            'event Transfer(address indexed from, address indexed to, uint256 v)',
          ),
          args: { to: emitter },
          fromBlock: 0n,
        }),
      /^ok$/,
    ],
    [
      "viem's getFeeHistory",
      (rpc) =>
        createPublicClient({ chain: foundry, transport: outlast(rpc) }).getFeeHistory({
          blockCount: 4,
          rewardPercentiles: [25, 75],
        }),
      /^ok$/,
    ],
    [
      "viem's estimateFeesPerGas",
      (rpc) => createPublicClient({ chain: foundry, transport: outlast(rpc) }).estimateFeesPerGas(),
      /^ok$/,
    ],
    [
      "ethers' getLogs with topics [null]",
      (rpc) =>
        new OutlastProvider(rpc, { cacheTimeout: -1 }).getLogs({
          address: emitter,
          fromBlock: 0,
          topics: [null],
        }),
      /^ok$/,
    ],
    [
      "ethers' getFeeData",
      (rpc) => new OutlastProvider(rpc, { cacheTimeout: -1 }).getFeeData(),
      /^ok$/,
    ],
    [
      'topics [] and address []',
      (rpc) =>
        rpc.request({
          method: 'eth_getLogs',
          params: [{ address: [], topics: [], fromBlock: '0x0' }],
        }),
      /^ok$/,
    ],
    [
      'nested null topics',
      (rpc) =>
        rpc.request({
          method: 'eth_getLogs',
          params: [{ topics: [[null], null, [null, null]], fromBlock: '0x0' }],
        }),
      /^ok$/,
    ],
    [
      'five topic positions (refused locally, as anvil does)',
      (rpc) =>
        rpc.request({
          method: 'eth_getLogs',
          params: [{ topics: [null, null, null, null, null] }],
        }),
      /-32602/,
    ],
    [
      'fee history with null percentiles (the nodes refuse it)',
      (rpc) => rpc.request({ method: 'eth_feeHistory', params: ['0x2', 'latest', null] }),
      /-32602/,
    ],
  ]
  for (const [name, ask, want] of cases)
    it(`Held: ${name}: ${want.source === '^ok$' ? 'answered' : 'refused'}, nothing charged`, async () => {
      const rpc = honest3()
      try {
        const out = await loop(rpc, 4, () => ask(rpc))
        assert.ok(
          out.every((o) => want.test(o)) && untouched(rpc),
          `${out.join(', ')}; ${standing(rpc).join(', ')}`,
        )
      } finally {
        await rpc.close()
      }
    }, 30_000)
})
