/**
 * Attacker's review of e9257cc (policy.ts `isCallersError`: a node's -32602 to a read of the
 * chain's own data, nodeErrors.ts `chainData`, is the caller's failure: charged to no source,
 * sourcePool.ts attempter; thrown when the domains agree, fanOutDecisions.ts `whenExhausted`,
 * `callersAnswer`). Real anvil behind the lab's proxies; the liar is the `liar` proxy rewritten
 * (`hostile`), in its own domain, beside one or two honest domains; the caller is honest unless
 * a test says it sends junk. Each finding was first an `it.fails('correct behaviour: …')`,
 * checked to fail as a plain `it` for the hole's own reason (the observed message quoted below).
 *
 * All five fixed the same stop (2 in part; their tests renamed "Fixed: …"): 1, `isCallersError`
 * is false for "unknown block" and pruned words, and `recordFailure` no longer skips a -32602 or
 * a revert (the attempter's `working` decides what is an answer: to chain data neither is);
 * 2, in part, a confirmed head's parent is kept as its header names it (head.ts `#descendFrom`,
 * the first head's too), so a block mined between two polls is held and the liar charged (its
 * "unknown block" stays a dissent, so reads split until its breaker opens: 39l); two or more blocks
 * between polls still leave the lower ones unheld (a liar's "unknown block" to them, two
 * domains, is an uncharged split, a denial as a made-up answer is); 3, "unknown block" is no
 * answer and excuses nothing to a lookup by transaction hash (pruned.ts `namesNoBlock`); 4,
 * anvil's "block height is N but requested was M" above N is "unknown block", not pruned state,
 * and excused at a block above the source's own head (`aboveHeadOf`): the nodes' -32602 comes
 * back; 5, eth_feeHistory's count and percentiles and eth_getLogs' address and topics (and a
 * blockHash beside a bound) are checked before any source is asked (params.ts), as nodes check
 * them. Also: `chainData` no longer matches eth_getTransactionCount (a state read) by prefix.
 *
 * Found:
 * 1. (high) The liar answers -32602 "unknown block" to every read that names a block by hash
 *    (`eth_getLogs({ blockHash })`, `eth_getBlockReceipts`, `eth_getBlockTransactionCountByHash`),
 *    two domains, about the confirmed head itself. The tally takes the words (tally.ts
 *    `judgeTrusted`, pruned.ts `isUnknownBlock`) as a dissent from aws's answer: a split; the
 *    attempter takes the code as the caller's (`isCallersError`: any -32602 to chain data) and
 *    records a success. So the liar is never charged, and every such read is a QuorumError for
 *    good. Observed: "receipts: QuorumError ×8; logs: QuorumError ×4; aws closed healthy, liar
 *    closed healthy". The same words as -32000 are charged (sourcePool.ts `working`: not "not
 *    yet", the block is confirmed): breaker open after two, the receipts stand, degraded (Held).
 *    Responsible: policy.ts `isCallersError`, checked in the sourcePool.ts attempter beside
 *    `working` whatever the words the tally reads. Fix: a -32602 whose words are "unknown block"
 *    or pruned state is not the caller's (`isCallersError` false when `isUnknownBlock(e) ||
 *    isPruned(e)`), so `working` decides it as for any code; more generally, charge by the
 *    tally's verdict, not by a second reading of the error.
 * 2. (medium; not from e9257cc, any code) "Unknown block" about a block the head tracker never
 *    saw as the head (two blocks mined within one poll: the tx's block, then one above it) is
 *    excused for good: head.ts `#descendFrom` rewrites only heights already kept, so a confirmed
 *    head's parent is never recorded and `holds(parentHash)` is false; sourcePool.ts `working`
 *    → pruned.ts `unconfirmedBlock` counts the liar's error against no one, while the tally
 *    still takes it as a dissent. Two domains, -32000 "unknown block": `eth_getBlockReceipts`
 *    and `eth_getBlockTransactionCountByHash` of that block fail every time. Observed: "receipts:
 *    QuorumError ×8; count: QuorumError ×4; aws closed healthy, liar closed healthy". On a chain
 *    whose blocks come faster than `pollingInterval` (L2s) that is most blocks. Fix: record a
 *    confirmed head's ancestors by parent hash (the kept headers) at heights not kept yet, or let
 *    `holds` follow the parent links down from the confirmed head.
 * 3. (medium; not from e9257cc, any code) The liar answers "unknown block" (-32000) to
 *    `eth_getTransactionByHash`, a method that names no block. The hash of a transaction mined in
 *    the confirmed head is read as a block's (pruned.ts `hashesIn` takes any 32-byte param), so
 *    `unconfirmedBlock` is always true and the liar is never charged; the tally takes its words
 *    as a dissent (tally.ts `judgeTrusted`, no `pinnedAt`): aws's transaction never stands. A
 *    wallet's lookup of its own mined transaction (viem's `getTransaction`, the replacement check
 *    in `waitForTransactionReceipt`) fails. Observed: "QuorumError ×8; aws closed healthy, liar
 *    closed healthy". Fix: "unknown block" is a dissent (and excusable) only to methods whose
 *    params name a block (policy.ts `blockParam`, a block's `hashParam`), never to a lookup by
 *    transaction hash; there it is that source's failure.
 * 4. (low; noticed in 39a for eth_getLogs, general) A read at a block past every node's head
 *    (`eth_getBalance`, `eth_call`, `eth_getTransactionCount` at 0xffffff): every node says -32602
 *    "BlockOutOfRangeError: block height is N but requested was M"; outlast says "All sources
 *    failed" (4900, "disconnected" to a wallet). Observed: "eth_getBalance: 4900
 *    AllSourcesFailedError; eth_call: 4900 AllSourcesFailedError; eth_getTransactionCount: 4900
 *    AllSourcesFailedError". No breaker opens (held). Responsible: pruned.ts `PRUNED`
 *    (`BlockOutOfRangeError` read as pruned state) → sourcePool.ts `failureOf` (`unserved`) →
 *    fanOutDecisions.ts `allFailed`. Fix: a block above the agreed head is "not yet", not pruned
 *    state; or all failures `unserved` is the nodes' error, not 4900.
 * 5. (low) Params the honest domain refuses (-32602: a fee history of 'zz' blocks, a 19-byte log
 *    address), two domains: the liar's made-up answer is returned, degraded, as the last domain
 *    standing: a fee history no node gave, and `[]`. Observed: "eth_feeHistory:
 *    {"oldestBlock":"0x1","baseFeePerGas":["0x1","0x1"],…} degraded; eth_getLogs: [] degraded".
 *    Before e9257cc the logs read was a split. Responsible: fanOutDecisions.ts `whenExhausted`
 *    (one domain's caller's error counts as that domain's failure, so the lone answer degrades).
 *    Fix: a domain's caller's error is its word "the params are wrong": beside another domain's
 *    result it is a split (QuorumError), never a degrade to that result.
 *
 * Held: three domains beside finding 1's liar: agreed. Finding 1's words as -32000: charged,
 * degraded. Three domains, the liar answering params both honest domains refuse: their -32602.
 * A caller's junk to eth_call, eth_estimateGas, eth_getProof, eth_getStorageAt, eth_getBalance,
 * eth_getBlockByNumber/ByHash, eth_getLogs, eth_feeHistory, five times each: the nodes' -32602
 * (anvil's own), no breaker opened. The liar's -32602 in its own words and data beside the
 * node's: the caller gets -32602 without either.
 * Explored, not kept as tests: a liar's -32602 "invalid params" to every chain-data read, two
 * domains: `newHeads` and `logs` subscriptions deliver every head and log, reads degraded, but
 * the liar stays "closed healthy" (uncharged: every read loses its quorum while status shows it
 * healthy); a liar's "unknown block" (either code) to every `eth_getLogs({ blockHash })` delays
 * each log by a block (a streamError each poll) and loses none.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { RpcResponseError } from '../../src/index.ts'
import type { Lab } from '../lab/index.ts'
import { deployAnswer, PING_INIT, sendPing } from '../workload.ts'
import { labNode, type Polled, polled, settle, standing } from './fleet.ts'
import type { Rewrite } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'

let lab: Lab
let emitter: string
beforeAll(async () => {
  lab = await startLiarLab()
  emitter = await deployAnswer(lab.anvil, PING_INIT)
  await lab.anvil.rpc('anvil_mine', ['0x20'])
}, 60_000)
afterAll(() => lab.stop())

const fleet = polled
type Fleet = Polled
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** `method` asked `times` times: each outcome, an error's name or the answer's consistency. */
async function outcomes(rpc: Fleet, method: string, params: unknown[], times: number) {
  const out: string[] = []
  for (let i = 0; i < times; i++) {
    const r = await settle(rpc.requestWithMeta({ method, params }))
    out.push(r.error ? `${r.error.name}` : `${r.value?.meta.consistency}`)
  }
  return out
}

const refuse = (code: number, message: string) => new RpcResponseError('liar', { code, message })
/** "unknown block", as `code`, to `methods` whenever the params name a 32-byte hash. */
const unknownByHash =
  (code: number, methods: RegExp): Rewrite =>
  async (m, p, answer) => {
    if (methods.test(m) && /0x[0-9a-f]{64}/i.test(JSON.stringify(p)))
      throw refuse(code, 'unknown block')
    return answer()
  }
const BY_HASH = /^eth_(getLogs|getBlockReceipts|getBlockTransactionCountByHash)$/

/** A ping mined, then the head confirmed at that block: its hash. */
async function confirmedPingBlock(rpc: Fleet): Promise<string> {
  await sendPing(lab.anvil, emitter, 1) // automined: its own block, the head
  const head = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['latest', false])
  const end = Date.now() + 5_000
  const at = () => rpc.status().headConfirmed && rpc.status().head?.hash === head.hash
  while (!at() && Date.now() < end) {
    await rpc.request({ method: 'eth_blockNumber' })
    await sleep(100)
  }
  assert.ok(at(), JSON.stringify(rpc.status().head))
  return head.hash
}

describe('finding 1: -32602 "unknown block" to a read of a confirmed block', () => {
  it('Fixed: the liar is charged as for -32000, and the honest receipts stand, degraded', async () => {
    const rpc = fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'liar', 'liar', unknownByHash(-32602, BY_HASH)),
    ])
    try {
      await rpc.connect()
      const hash = await confirmedPingBlock(rpc)
      const got = await outcomes(rpc, 'eth_getBlockReceipts', [hash], 8)
      const logs = await outcomes(rpc, 'eth_getLogs', [{ blockHash: hash }], 4)
      assert.deepEqual(
        [got.at(-1), logs.at(-1), standing(rpc)[1]],
        ['degraded', 'degraded', 'liar open down'],
        `receipts: ${got.join(', ')}; logs: ${logs.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: the same words as -32000 are charged: the breaker opens and the receipts stand, degraded', async () => {
    const rpc = fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'liar', 'liar', unknownByHash(-32000, BY_HASH)),
    ])
    try {
      await rpc.connect()
      const hash = await confirmedPingBlock(rpc)
      const got = await outcomes(rpc, 'eth_getBlockReceipts', [hash], 8)
      assert.equal(got.at(-1), 'degraded', `${got.join(', ')}; ${standing(rpc).join(', ')}`)
      assert.equal(standing(rpc)[1], 'liar open down')
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: three domains: the two honest ones agree beside it', async () => {
    const rpc = fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'gcp', 'gcp'),
      labNode(lab, 'liar', 'liar', unknownByHash(-32602, BY_HASH)),
    ])
    try {
      await rpc.connect()
      const hash = await confirmedPingBlock(rpc)
      const got = await outcomes(rpc, 'eth_getBlockReceipts', [hash], 4)
      assert.ok(
        got.every((g) => g === 'agreed' || g === 'cached'),
        got.join(', '),
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('finding 2: "unknown block" about a block the head tracker never saw as the head', () => {
  it("Fixed, in part: a block below the confirmed head is the confirmed chain's: the liar is charged; the reads are the honest receipts or a split", async () => {
    // The ping's block and one above it, mined before the client starts: its first head is
    // above the ping's block, which is never a head it polls.
    const tx = await sendPing(lab.anvil, emitter, 2)
    // The ping's own block, by its receipt (`latest` read at once may be the block before it).
    let receipt: { blockHash: string } | null = null
    for (let i = 0; i < 50 && !receipt; i++) {
      receipt = await lab.anvil.rpc<{ blockHash: string } | null>('eth_getTransactionReceipt', [tx])
      if (!receipt) await sleep(50)
    }
    const hash = receipt!.blockHash
    await lab.anvil.rpc('evm_mine')
    const rpc = fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'liar', 'liar', unknownByHash(-32000, BY_HASH)),
    ])
    try {
      await rpc.connect()
      await rpc.request({ method: 'eth_blockNumber' })
      assert.ok(rpc.status().headConfirmed)
      const got = await outcomes(rpc, 'eth_getBlockReceipts', [hash], 8)
      const count = await outcomes(rpc, 'eth_getBlockTransactionCountByHash', [hash], 4)
      // Charged for it (held: no longer excused). Its "unknown block" stays a dissent (39l: as a
      // failure, a live domain's honest "not yet" left a liar's made-up answer standing), so the
      // reads split until its breaker opens, whenever the head polls' successes let it.
      const liar = rpc.status().sources.find((x) => x.name === 'liar')!
      const seen = `receipts: ${got.join(', ')}; count: ${count.join(', ')}; ${standing(rpc).join(', ')}`
      assert.ok(liar.failures > 0, `liar failures ${liar.failures}; ${seen}`)
      assert.ok(
        [...got, ...count].every((o) => o === 'degraded' || o === 'QuorumError'),
        seen,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('finding 3: "unknown block" to eth_getTransactionByHash, a method that names no block', () => {
  it('Fixed: a transaction mined in the confirmed head is found, degraded, and the liar charged', async () => {
    const rpc = fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'liar', 'liar', unknownByHash(-32000, /^eth_getTransactionByHash$/)),
    ])
    try {
      await rpc.connect()
      const tx = await sendPing(lab.anvil, emitter, 3)
      await rpc.request({ method: 'eth_blockNumber' })
      assert.ok(rpc.status().headConfirmed)
      const got = await outcomes(rpc, 'eth_getTransactionByHash', [tx], 8)
      assert.deepEqual(
        [got.at(-1), standing(rpc)[1]],
        ['degraded', 'liar open down'],
        `${got.join(', ')}; ${standing(rpc).join(', ')}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("finding 4: a read at a block past every node's head", () => {
  it('Fixed: not "All sources failed" (4900, disconnected) where every node said -32602', async () => {
    const rpc = fleet([labNode(lab, 'aws', 'aws'), labNode(lab, 'gcp', 'gcp')])
    try {
      await rpc.connect()
      const got: string[] = []
      for (const [method, params] of [
        ['eth_getBalance', [emitter, '0xffffff']],
        ['eth_call', [{ to: emitter }, '0xffffff']],
        ['eth_getTransactionCount', [emitter, '0xffffff']],
      ] as const) {
        const r = await settle(rpc.request({ method, params: [...params] }))
        got.push(`${method}: ${r.error?.code} ${r.error?.name}`)
      }
      assert.ok(
        got.every((g) => !/ 4900 /.test(`${g} `)),
        got.join('; '),
      )
      assert.deepEqual(standing(rpc), ['aws closed healthy', 'gcp closed healthy'])
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

const FEES = { oldestBlock: '0x1', baseFeePerGas: ['0x1', '0x1'], gasUsedRatio: [0.5], reward: [] }
/** Answers the caller's params that every node refuses: logs for a 19-byte address, fees for 'zz' blocks. */
const answersJunk: Rewrite = async (m, p, answer) => {
  if (m === 'eth_getLogs' && JSON.stringify(p).includes('2222')) return []
  if (m === 'eth_feeHistory' && p[0] === 'zz') return FEES
  return answer()
}
const JUNK_LOGS = [{ address: `0x${'22'.repeat(19)}` }]

describe("finding 5: the liar's answer to params the honest domain refuses (-32602)", () => {
  it("Fixed: two domains: no result (the nodes' -32602 or a split), never the liar's made-up fee history, degraded", async () => {
    const rpc = fleet([labNode(lab, 'aws', 'aws'), labNode(lab, 'liar', 'liar', answersJunk)])
    try {
      await rpc.connect()
      const got: string[] = []
      for (const [method, params] of [
        ['eth_feeHistory', ['zz', 'latest', []]],
        ['eth_getLogs', JUNK_LOGS],
      ] as const) {
        const r = await settle(rpc.requestWithMeta({ method, params: [...params] }))
        got.push(
          r.error
            ? `${method}: ${r.error.code}`
            : `${method}: ${JSON.stringify(r.value?.result)} ${r.value?.meta.consistency}`,
        )
      }
      assert.ok(
        got.every((g) => /: -?\d+$/.test(g)),
        got.join('; '),
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: three domains: the two honest domains' -32602 wins over the liar's answer", async () => {
    const rpc = fleet([
      labNode(lab, 'aws', 'aws'),
      labNode(lab, 'gcp', 'gcp'),
      labNode(lab, 'liar', 'liar', answersJunk),
    ])
    try {
      await rpc.connect()
      for (const [method, params] of [
        ['eth_feeHistory', ['zz', 'latest', []]],
        ['eth_getLogs', JUNK_LOGS],
      ] as const) {
        const r = await settle(rpc.request({ method, params: [...params] }))
        assert.equal(r.error?.code, -32602, `${method}: ${JSON.stringify(r.value)}`)
      }
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe("a caller's malformed params, and a liar's words beside the nodes' -32602", () => {
  const A = `0x${'11'.repeat(20)}`
  const JUNK: [string, unknown[]][] = [
    ['eth_call', [{ to: A, data: '0xzz' }, 'latest']],
    ['eth_estimateGas', [{ to: A, data: '0xzz' }]],
    ['eth_getProof', [A, 'zz', 'latest']],
    ['eth_getStorageAt', [A, `0x${'ff'.repeat(33)}`, 'latest']],
    ['eth_getBalance', ['0x12', 'latest']],
    ['eth_getBlockByNumber', ['latest', 'yes']],
    ['eth_getBlockByHash', [`0x${'ab'.repeat(32)}`, 'yes']],
    ['eth_getLogs', [{ topics: ['0x12'] }]],
    ['eth_feeHistory', ['zz', 'latest', []]],
  ]

  it("Held: each, asked five times of two honest domains, is the nodes' -32602 (as anvil's own), no breaker opened", async () => {
    const rpc = fleet([labNode(lab, 'aws', 'aws'), labNode(lab, 'gcp', 'gcp')])
    try {
      await rpc.connect()
      for (const [method, params] of JUNK)
        for (let i = 0; i < 5; i++) {
          const r = await settle(rpc.request({ method, params }))
          assert.equal(r.error?.code, -32602, `${method}: ${r.error?.message ?? 'a result'}`)
        }
      assert.deepEqual(standing(rpc), ['aws closed healthy', 'gcp closed healthy'])
    } finally {
      await rpc.close()
    }
  }, 60_000)

  it("Held: two domains, the liar's -32602 in its own words and data beside the node's: neither reaches the caller", async () => {
    const words: Rewrite = async (m, p, answer) => {
      if (m === 'eth_getBlockByNumber' && p[1] === 'yes')
        throw new RpcResponseError('liar', {
          code: -32602,
          message: 'invalid params: call eth_getBlockByNumber at https://evil.example',
          data: { see: 'https://evil.example' },
        })
      return answer()
    }
    const rpc = fleet([labNode(lab, 'aws', 'aws'), labNode(lab, 'liar', 'liar', words)])
    try {
      await rpc.connect()
      for (let i = 0; i < 3; i++) {
        const r = await settle(
          rpc.request({ method: 'eth_getBlockByNumber', params: ['latest', 'yes'] }),
        )
        assert.equal(r.error?.code, -32602)
        const shown = `${r.error?.message} ${JSON.stringify(r.error?.data ?? null)}`
        assert.doesNotMatch(shown.split('\n')[0]!, /evil/, shown)
        assert.equal(r.error?.data, undefined, shown)
      }
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
