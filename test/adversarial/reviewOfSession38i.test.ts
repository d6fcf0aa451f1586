/**
 * Attacker's review, session 38i: today's rule that a trusted node's JSON-RPC error to a read is
 * its answer (666787f, a8c1bad, 237f1e5, 1df35a0, a0e2599: nodeErrors.ts `isNodeAnswer`, tally.ts
 * `judgeTrusted`, sourcePool.ts attempter: recorded as success), seen from the parts that call
 * the engine in the background where no caller catches a QuorumError: the chain follower behind
 * `newHeads` / `logs` subscriptions and filters (follow/subscriptions.ts `followerOptions`,
 * chainFollower.ts), the head tracker (head.ts, per-source `pool.attempt`), `safe` / `finalized`
 * (handlers/agreedChain.ts `resolveTag`), proofs' header fetches (handlers/prove.ts,
 * agreedChain.ts `headerFrom`), fee reads (handlers/fees.ts) and `eth_blockNumber`. One hostile
 * source in its own domain (the lab's `liar` proxy to real anvil, rewritten: `hostile`) beside one
 * or two honest domains. Each finding is an `it.fails('correct behaviour: …')` (each checked to
 * fail as a plain `it`, for the hole's own reason); `Held: …` are attacks that failed.
 *
 * Found (all three fixed the same stop by one rule, their tests renamed "Fixed: …"):
 * 1. (high) One source stalls every stream for good with a well-formed error. Two domains
 *    (quorum 2: the honest `aws` and the liar). The liar answers `eth_getBlockByNumber('latest')`
 *    honestly (its head polls back every head, so the head is confirmed and no stream is held)
 *    and -32000 "boom" to every other `eth_getBlockByNumber` / `eth_getBlockByHash` /
 *    `eth_getBlockReceipts`. The follower asks the engine for the head pinned to its number
 *    (rules.ts: `latest` becomes `0x…`), and for missed blocks by number and by hash: each read of
 *    a block that carries a transaction (blockRules `standsAlone` is for empty blocks only) now has
 *    a lone error group beside aws's header, a split, QuorumError, `streamError` "No answer to
 *    eth_getBlockByNumber was agreed by 2 failure domains.", the tip never moves. Observed: a
 *    `newHeads` subscription, a `logs` subscription and a log filter get nothing while 8 blocks
 *    (4 with logs) are mined; a streamError at every poll; the liar `healthy`, breaker closed
 *    (never charged: an answer is a success). Before 666787f the errors were failures and aws's
 *    header stood, degraded: exactly what still happens when the same liar also errors `latest`
 *    (it then has no head, so `oldFor` makes its errors failures: Held below). A liar that makes
 *    up a *result* instead (a correctly hashed forged header at that height) contradicts the head
 *    it reported: `lying`, breaker open at once (Held below). So the error path is both cheaper
 *    and worse than a lie: undetectable, uncharged, permanent (until a gap past `maxGap`
 *    restarts the stream and drops 2,048 blocks of logs). Nor must the source be hostile: any
 *    provider that answers block reads with a steady -32000 in words outside NOT_NOW (a broken
 *    index, a proxy's own error text) does the same. With three domains the two honest ones
 *    agree and nothing stalls (Held). Expected: the honest domain's blocks delivered (degraded, as
 *    before), and the erring source charged. Responsible: nodeErrors.ts `isNodeAnswer` (any
 *    -32000 not NOT_NOW is an answer, whatever the method), tally.ts `judgeTrusted`,
 *    sourcePool.ts attempter (`answered` → `recordSuccess`); reached through
 *    follow/subscriptions.ts `followerOptions` (`blockByNumber`, `blockByHash`). Fix: a node
 *    error is an answer only for methods whose errors are part of the chain's answer (execution
 *    and simulation: eth_call, eth_estimateGas, eth_createAccessList, eth_simulateV1, sends);
 *    for reads of chain data (eth_getBlockBy*, eth_getBlockReceipts, eth_getTransactionBy*,
 *    eth_feeHistory, eth_getUncle*, …) an existing block has no error answer and a missing one is
 *    `null` or "unknown block": any other error is that source's failure, as before. At least: a
 *    node error never contradicts an answer that hashes to the head tracker's confirmed hash for
 *    that height (`expectedHash`), and is charged when it does. Fixed: nodeErrors.ts `chainData`
 *    (blocks, transactions, receipts, logs, fee history: no error is an answer there, a revert's
 *    and invalid params' neither, tally.ts `judgeTrusted`) and `EXECUTES` (only execution and
 *    simulation take other node errors as answers); the liar's errors are its failures again.
 * 2. (medium) Same liar, same two domains: `safe` and `finalized` fail. `resolveTag`
 *    (agreedChain.ts) asks `eth_getBlockByNumber('safe')` through the engine: the liar's error
 *    splits it, so `eth_getBlockByNumber('safe')` and every read at `safe` / `finalized`
 *    (`eth_getBalance(a, 'finalized')`, a dApp's or bridge's confirmation check) throw QuorumError.
 *    Before: aws's answer, degraded. A made-up block there is refused by its hash and aws's
 *    answer stands degraded (run while reviewing). Responsible and fix: as 1 (`resolveTag` and
 *    the read of `safe`/`finalized` are chain-data reads). Fixed by 1's fix.
 * 3. (medium) Same class, a caller's read, found while testing proofs: a lone -32000 "boom" to
 *    `eth_getTransactionByHash` beside the honest domain's transaction (two domains) is a split:
 *    QuorumError for a transaction just mined, 5 of 5, with `prover: proofs()` too (the split
 *    ends the read before a proof lands). viem's `waitForTransactionReceipt` (replacement check)
 *    and ethers' `getTransaction` / `tx.wait` flows fail. The receipt of the same transaction
 *    stands, degraded (fanOutDecisions.ts `whenExhausted` inclusion-checks a lone receipt beside
 *    node errors: 38e 7); a made-up transaction is refused by its hash (txRules.ts). Before:
 *    aws's transaction, degraded. Responsible: as 1 (nodeErrors.ts `isNodeAnswer` for a chain-data
 *    read), fanOutDecisions.ts `whenExhausted` (inclusion check for receipts only). Fix: as 1; at
 *    least let a transaction that hashes to the hash asked for stand alone beside node errors (a
 *    node error cannot contradict a locally checked answer), and let a proof under way finish
 *    before a split is thrown. Fixed by 1's fix.
 *
 * Held (asserted below):
 * - Three domains (aws, gcp, the liar erroring every numbered / by-hash block read): newHeads
 *   gets every block in order; `safe`, `finalized` and `eth_feeHistory` agreed.
 * - The liar erroring every block read, `latest` too: it has no head, so `oldFor` makes its
 *   errors failures and the stream flows from aws (the pre-666787f behaviour, for contrast).
 * - A forger (correctly hashed made-up headers by number, honest `latest`): marked lying,
 *   breaker open (contrast with finding 1's uncharged error).
 * - The head is not frozen: under finding 1's liar `eth_blockNumber` follows anvil (head polls
 *   are per source: the liar's honest `latest` counts, its errors elsewhere touch nothing there).
 * - Fees: `eth_maxPriorityFeePerGas` and `eth_gasPrice` answered; `eth_feeHistory` is split by
 *   the liar's error exactly as by a made-up history (it already split: no worse than a lie).
 * - Proofs: finding 1's liar also erring -32000 to `eth_getProof` (two domains):
 *   `eth_getBalance(latest)` is `proven` (proofs' header fetches stand alone once hashed,
 *   agreedChain.ts `headerFrom`; a proof stands alone: prove.ts); a balance at an older block,
 *   `eth_getLogs` and `eth_getTransactionByHash`, which the liar answers, are answered (agreed or
 *   proven).
 * - A liar's -32000 to `eth_getTransactionReceipt` (two domains): the receipt stands, degraded.
 * - An honest node's transient error at the first ask of a fresh block (geth "header not
 *   found", Erigon "block not found", and words no rule reads, "leveldb: not found"): the split
 *   is asked again and the stream gets every block, none dropped.
 *
 * Read, not tested:
 * - `eth_getBlockReceipts` with proofs on, two domains: a lone error splits it by number (by
 *   hash it stood, degraded), but a made-up receipts list splits it too in this lab: no worse
 *   than a lie.
 * - The forger of Held 3, once cut off, leaves aws `unconfirmed`, and the stream moved only two
 *   blocks in the run's 3 s: a lie's cost to streams, not today's change.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { deployAnswer, minePing, PING_INIT } from '../workload.ts'
import { forgeHeader, hostile, type Rewrite } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'

let lab: Lab
let emitter: string
beforeAll(async () => {
  lab = await startLiarLab()
  emitter = await deployAnswer(lab.anvil, PING_INIT)
  await lab.anvil.rpc('anvil_mine', ['0x20'])
}, 60_000)
afterAll(() => lab.stop())

/** Lab proxy `proxy` as a source `name` in its own domain `name`, its answers via `rewrite`. */
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

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error: error as Error }),
  )

const RICH = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'
const BLOCK_READS = /^eth_getBlockBy(?:Number|Hash)$|^eth_getBlockReceipts$|^eth_feeHistory$/

/** -32000 "boom" to `methods`; `latest` answered honestly when `keepLatest`. */
const boom =
  (methods: RegExp, keepLatest: boolean): Rewrite =>
  async (m, params, answer) => {
    if (methods.test(m) && !(keepLatest && params[0] === 'latest'))
      throw new RpcResponseError('liar', { code: -32000, message: 'boom' })
    return answer()
  }

/** Finding 1's liar: honest `latest` (it backs every head), "boom" to every other block read. */
const backsHeadErrsBlocks = () => boom(BLOCK_READS, true)

const fleet = (sources: Source[], extra: object = {}) =>
  createOutlast({
    chainId: CHAIN_ID,
    quorum: { domains: 2 },
    sources,
    timeout: 10_000,
    pollingInterval: 100,
    ...extra,
  })

type Header = { number: string; hash: string; parentHash: string }

/**
 * A newHeads and a logs subscription and a log filter on `rpc`; four pings mined (8 blocks, 4
 * logs). What each got, waiting up to `ms` for every block.
 */
async function streams(rpc: ReturnType<typeof fleet>, ms = 8_000) {
  const errors: string[] = []
  rpc.on('streamError', (e) => errors.push(e.message))
  await rpc.connect()
  const heads: Header[] = []
  const logs: unknown[] = []
  const sub = await rpc.subscribe(['newHeads'], (h) => heads.push(h as Header))
  const lsub = await rpc.subscribe(['logs', { address: emitter }], (l) => logs.push(l))
  const filter = (await rpc.request({
    method: 'eth_newFilter',
    params: [{ address: emitter }],
  })) as string
  const from = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
  for (let i = 0; i < 4; i++) {
    await minePing(lab.anvil, emitter, i)
    await sleep(250)
  }
  const to = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
  await until(() => heads.some((h) => Number(h.number) >= to) && logs.length >= 4, ms)
  const filtered = (await rpc.request({
    method: 'eth_getFilterChanges',
    params: [filter],
  })) as unknown[]
  await sub.unsubscribe()
  await lsub.unsubscribe()
  return { heads, logs, filtered, errors, blocks: to - from }
}

/** Blocks delivered are consecutive and linked: no gap, no duplicate. */
function assertChain(headers: Header[]) {
  for (let i = 1; i < headers.length; i++) {
    const [a, b] = [headers[i - 1]!, headers[i]!]
    assert.equal(Number(b.number), Number(a.number) + 1, `gap or duplicate after ${a.number}`)
    assert.equal(b.parentHash, a.hash, `block ${b.number} does not link to ${a.number}`)
  }
}

const standing = (rpc: ReturnType<typeof fleet>, name: string) => {
  const s = rpc.status().sources.find((x) => x.name === name)!
  return { breaker: s.breaker, condition: s.condition }
}

describe('finding 1: one source stalls newHeads, logs and filters with an error', () => {
  it('Fixed: two domains, a source backing the head but answering -32000 to other block reads: newHeads, logs and filters get every block from the honest domain', async () => {
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', backsHeadErrsBlocks())])
    try {
      const got = await streams(rpc)
      const detail = `heads ${got.heads.length}, logs ${got.logs.length}, filter ${got.filtered.length}; stream errors ${got.errors.length}: ${got.errors[0]}`
      assert.ok(got.heads.length >= got.blocks, detail)
      assertChain(got.heads)
      assert.ok(got.logs.length >= 4, detail)
      assert.ok(got.filtered.length >= 4, detail)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Fixed: the source whose errors split every block read (two domains) is charged, as a forger is', async () => {
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', backsHeadErrsBlocks())])
    try {
      await rpc.connect()
      const h = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      for (let i = 0; i < 6; i++)
        await settle(
          rpc.request({
            method: 'eth_getBlockByNumber',
            params: [`0x${(h - i).toString(16)}`, false],
          }),
        )
      const liar = standing(rpc, 'liar')
      assert.ok(
        liar.breaker !== 'closed' || liar.condition !== 'healthy',
        `liar ${JSON.stringify(liar)}`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('finding 2: safe and finalized', () => {
  it("Fixed: two domains, a source's -32000 to eth_getBlockByNumber('safe') does not fail safe and finalized reads: the honest domain's answer, degraded", async () => {
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', backsHeadErrsBlocks())])
    try {
      await rpc.connect()
      for (const [method, params] of [
        ['eth_getBlockByNumber', ['safe', false]],
        ['eth_getBlockByNumber', ['finalized', false]],
        ['eth_getBalance', [RICH, 'finalized']],
      ] as const) {
        const got = await settle(rpc.requestWithMeta({ method, params: [...params] }))
        assert.ok(got.value, `${method} ${params[0]}: ${got.error?.name}: ${got.error?.message}`)
        assert.equal(got.value.meta.consistency, 'degraded')
      }
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('held', () => {
  it('Held: three domains, the liar erroring every numbered and by-hash block read: every block reaches newHeads, logs and filters; safe, finalized, eth_feeHistory agreed', async () => {
    const rpc = fleet([
      node('aws', 'aws'),
      node('gcp', 'gcp'),
      node('liar', 'liar', backsHeadErrsBlocks()),
    ])
    try {
      const got = await streams(rpc, 15_000)
      assert.ok(got.heads.length >= got.blocks, `heads ${got.heads.length}: ${got.errors[0]}`)
      assertChain(got.heads)
      assert.equal(got.logs.length, 4)
      assert.equal(got.filtered.length, 4)
      for (const [method, params] of [
        ['eth_getBlockByNumber', ['safe', false]],
        ['eth_getBlockByNumber', ['finalized', false]],
        ['eth_feeHistory', ['0x4', 'latest', [50]]],
      ] as const) {
        const a = await rpc.requestWithMeta({ method, params: [...params] })
        assert.equal(a.meta.consistency, 'agreed', method)
      }
    } finally {
      await rpc.close()
    }
  }, 40_000)

  it('Held (contrast): two domains, the liar erroring every block read, latest too: it has no head, its errors are failures, the streams flow from the honest domain', async () => {
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', boom(BLOCK_READS, false))])
    try {
      const got = await streams(rpc, 15_000)
      assert.ok(got.heads.length >= got.blocks, `heads ${got.heads.length}: ${got.errors[0]}`)
      assertChain(got.heads)
      assert.equal(got.logs.length, 4)
      assert.equal(got.filtered.length, 4)
    } finally {
      await rpc.close()
    }
  }, 40_000)

  it('Held (contrast): two domains, a forger of correctly hashed headers by number (honest latest) is marked lying, its breaker opened', async () => {
    const forging: Rewrite = async (m, params, answer) => {
      const r = await answer()
      if (m === 'eth_getBlockByNumber' && params[0] !== 'latest' && r && typeof r === 'object')
        return forgeHeader(r as Record<string, unknown>, Number((r as Header).number), 7)
      return r
    }
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', forging)])
    try {
      await rpc.connect()
      const h = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      for (let i = 0; i < 3; i++)
        await settle(
          rpc.request({
            method: 'eth_getBlockByNumber',
            params: [`0x${(h - i).toString(16)}`, false],
          }),
        )
      const liar = standing(rpc, 'liar')
      assert.equal(liar.condition, 'lying', JSON.stringify(liar))
      assert.notEqual(liar.breaker, 'closed')
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: the head is not frozen: under finding 1's liar (two domains) eth_blockNumber follows the chain", async () => {
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', backsHeadErrsBlocks())])
    try {
      await rpc.connect()
      await lab.anvil.rpc('anvil_mine', ['0x3'])
      const want = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      let got = 0
      const end = Date.now() + 10_000
      while (got < want && Date.now() < end) {
        got = Number(await rpc.request({ method: 'eth_blockNumber' }))
        if (got < want) await sleep(100)
      }
      assert.equal(got, want)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it("Held: fees under finding 1's liar (two domains): eth_maxPriorityFeePerGas and eth_gasPrice answered; eth_feeHistory split by a made-up history, and (since the fix) not by an error: the honest history, degraded", async () => {
    const madeUp: Rewrite = async (m, _p, answer) => {
      const r = await answer()
      return m === 'eth_feeHistory' ? { ...(r as object), gasUsedRatio: [0.5, 0.5, 0.5, 0.5] } : r
    }
    for (const [label, rewrite] of [
      ['error', backsHeadErrsBlocks()],
      ['made-up', madeUp],
    ] as const) {
      const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', rewrite)])
      try {
        await rpc.connect()
        for (const method of ['eth_maxPriorityFeePerGas', 'eth_gasPrice'])
          assert.match(String(await rpc.request({ method })), /^0x[0-9a-f]+$/, `${label} ${method}`)
        const history = await settle(
          rpc.request({ method: 'eth_feeHistory', params: ['0x4', 'latest', [50]] }),
        )
        // An error to chain data is that source's failure (nodeErrors.ts `chainData`).
        if (label === 'error') assert.ok(history.value, `${label}: ${history.error?.message}`)
        else assert.equal(history.error?.name, 'QuorumError', `${label}: ${history.error?.message}`)
      } finally {
        await rpc.close()
      }
    }
  }, 40_000)

  it('Held: proofs beside a liar erroring eth_getProof and block reads (two domains): the latest balance proven, an older balance, logs and a transaction answered', async () => {
    const { proofs } = await import('../../src/proofs/index.ts')
    const errs = boom(/^eth_getBlockBy(?:Number|Hash)$|^eth_getBlockReceipts$|^eth_getProof$/, true)
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', errs)], { prover: proofs() })
    try {
      await rpc.connect()
      const tx = await lab.anvil.rpc<string>('eth_sendTransaction', [
        { from: RICH, to: RICH, value: '0x1' },
      ])
      const pinged = await minePing(lab.anvil, emitter, 9)
      await lab.anvil.rpc('anvil_mine', ['0x1'])
      const h = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      const hex = (n: number) => `0x${n.toString(16)}`
      for (const [method, params] of [
        ['eth_getBalance', [RICH, 'latest']],
        ['eth_getBalance', [RICH, hex(h - 2)]],
        ['eth_getLogs', [{ address: emitter, fromBlock: hex(pinged), toBlock: hex(pinged) }]],
        ['eth_getTransactionByHash', [tx]],
      ] as const) {
        const got = await settle(rpc.requestWithMeta({ method, params: [...params] }))
        assert.ok(got.value, `${method}: ${got.error?.message}`)
        // Where the liar answers the read itself honestly, agreement may come before a proof.
        const want =
          method === 'eth_getBalance' && params[1] === 'latest' ? ['proven'] : ['proven', 'agreed']
        assert.ok(
          want.includes(got.value.meta.consistency),
          `${method}: ${got.value.meta.consistency}`,
        )
      }
    } finally {
      await rpc.close()
    }
  }, 30_000)

  for (const message of ['header not found', 'block not found', 'leveldb: not found'])
    it(`Held: two honest domains, one says -32000 "${message}" at the first ask of each block: newHeads gets every block`, async () => {
      const seen = new Set<string>()
      const fresh: Rewrite = async (m, params, answer) => {
        const key = `${m}:${String(params[0])}`
        if (/^eth_getBlockBy/.test(m) && params[0] !== 'latest' && !seen.has(key)) {
          seen.add(key)
          throw new RpcResponseError('gcp', { code: -32000, message })
        }
        return answer()
      }
      const rpc = fleet([node('aws', 'aws'), node('gcp', 'gcp', fresh)])
      try {
        const got = await streams(rpc, 15_000)
        assert.ok(got.heads.length >= got.blocks, `heads ${got.heads.length}: ${got.errors[0]}`)
        assertChain(got.heads)
        assert.equal(got.logs.length, 4)
      } finally {
        await rpc.close()
      }
    }, 40_000)
})

describe('finding 3: transaction lookups', () => {
  it("Fixed: two domains, a source's -32000 to eth_getTransactionByHash does not stand against the honest domain's transaction (checked by its hash)", async () => {
    const errs = boom(/^eth_getTransactionByHash$/, true)
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', errs)])
    try {
      await rpc.connect()
      const tx = await lab.anvil.rpc<string>('eth_sendTransaction', [
        { from: RICH, to: RICH, value: '0x1' },
      ])
      const got = await settle(
        rpc.requestWithMeta({ method: 'eth_getTransactionByHash', params: [tx] }),
      )
      assert.ok(got.value, `${got.error?.name}: ${got.error?.message}`)
      assert.equal((got.value.result as { hash: string }).hash, tx)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: the same liar erring eth_getTransactionReceipt: the receipt stands, degraded (inclusion-checked)', async () => {
    const errs = boom(/^eth_getTransactionReceipt$/, true)
    const rpc = fleet([node('aws', 'aws'), node('liar', 'liar', errs)])
    try {
      await rpc.connect()
      const tx = await lab.anvil.rpc<string>('eth_sendTransaction', [
        { from: RICH, to: RICH, value: '0x1' },
      ])
      // Mined first (anvil's automine may answer the hash before its block: a `null` receipt).
      for (let i = 0; i < 100; i++) {
        if ((await lab.anvil.rpc('eth_getTransactionReceipt', [tx])) !== null) break
        await sleep(50)
      }
      const got = await rpc.requestWithMeta({ method: 'eth_getTransactionReceipt', params: [tx] })
      assert.equal((got.result as { transactionHash: string } | null)?.transactionHash, tx)
      assert.equal(got.meta.consistency, 'degraded')
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
