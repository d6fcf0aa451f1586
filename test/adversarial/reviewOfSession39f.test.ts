/**
 * Attacker's review of a56b106 and 262e5e8 (answering reviewOfSession39d and 39e): read-your-writes
 * (requestWithMeta.ts `shownBlock`/`PLACED`; head.ts `shown`, `shownAbove`, `forgetShown`,
 * `#confirmAt`; rules.ts `pinBlock` `shown`; handlers/read.ts `atShown`; handlers/prove.ts
 * `trustedHeaderFor('latest')`) and log ranges past `latest` (rules.ts `pinLogs` `empty`, params.ts
 * backwards ranges). Real anvil (no mining but ours), each source in its own domain, quorum 2; the
 * lagging domain is 39c's/39d's `behind` (its `latest` held a block back, "header for hash not
 * found" above it), honest or a liar; a forged block is `forgeHeader`'s (correctly hashed, empty).
 *
 * Found (each first an `it.fails('correct behaviour: …')`, checked failing as a plain `it` for the
 * hole's own reason; both fixed the same stop, renamed "Fixed: …"): 1, head.ts keeps the highest
 * placed block (`#placed`) apart from the floor by number: a block shown by number only raises
 * the floor, never clears it, and one placed at the same height or above replaces it; 2,
 * handlers/read.ts `atShown` forgets the shown block only when the domains agree it is none
 * (eth_getBlockByHash `null`, `agreed`), else the read's error stands.
 * 1. Medium. Any later, higher block shown without a hash wipes the shown block's hash, and
 *    read-your-writes is 39c's hole again: the caller's own payment missing, labelled `agreed`.
 *    gcp a block behind; the caller's receipt is `agreed` at #n (shown, with its hash: reads of
 *    `latest` pinned there, ETHER `degraded` at #n, right). The caller then looks up the next
 *    block, empty, by its hash (from a newHeads push, an explorer link): `verified` alone, so
 *    `shownBlock` calls `shown(n+1, undefined)` (not `PLACED`), and head.ts `shown` sets
 *    `[#shown, #shownHash] = [n+1, undefined]`: `shownAbove` is none, and
 *    eth_getBalance(payee, 'latest') is "0x0 agreed at #1 (receipt #2, the block looked up #3)".
 *    No liar needed; a liar in its own domain (two domains, its `latest` held a block back) does
 *    it with a forged sibling at the chain's height served by hash: "0x0 agreed at #1 (receipt #2,
 *    forged #3)". And with `pinLogs` `empty`, eth_getLogs({ address, fromBlock: the receipt's
 *    block }) is then "[] head at #5 (receipt #6)" though the receipt shows the log (before
 *    262e5e8 that range was an error, not an empty answer). Code: head.ts `shown` (a higher
 *    hash-less block replaces the hash; a later agreed receipt below the raised floor is never
 *    recorded either), requestWithMeta.ts `shownBlock`. Fix: keep the highest *placed* block and
 *    its hash apart from the floor by number: a hash-less height raises only the floor, never
 *    clears a placed hash; `shownAbove` is the highest placed block above the agreed head; a
 *    log range from past `latest` that is not past the shown floor is not `[]` (ask, or degrade).
 * 2. Medium. One slow answer forgets the shown block for good. Same setup (gcp a block behind says
 *    "header for hash not found" at #n, by hash; aws honest): aws's next eth_getBalance outlasts
 *    its 1 s attempt timeout once. The read pinned at the shown block ends in
 *    AllSourcesFailedError (aws: timeout, gcp: not found), `atShown` takes that for a reorg,
 *    calls `forgetShown`, and reads again at the agreed head: "0x0 agreed at #7, then 0x0 agreed
 *    at #7 (receipt #8)": the balance before the caller's own payment, agreed, now and after.
 *    A liar holding its `latest` back can say the same "not found", so one liar plus one slow
 *    honest moment gets the same. Code: handlers/read.ts `atShown` (any AllSourcesFailedError,
 *    whatever the failures were). Fix: forget only when domains enough said the block is not
 *    theirs ("unknown block"/null by hash, from `quorum.domains` domains) or the confirmed chain
 *    holds another block at its height; else throw (or answer `degraded` at the shown block);
 *    never relabel the retry at the lower head `agreed` while the caller was shown a later block.
 *
 * Held (tested below):
 * - eth_newFilter({ address, fromBlock: head+1 }): eth_getFilterLogs is [] at once, the log once
 *   mined; eth_getFilterChanges has it; no breaker opens.
 * - eth_getLogs({ fromBlock: head+1 }) is `[]` labelled `head`, asked of no one;
 *   { fromBlock: head+1, toBlock: head } the caller's -32602; repeated, no breaker opens.
 * Held (read, not tested): a liar's lone receipt beside "not found"s (`beatsNotYet`, inclusion
 *   checked) settles `degraded` (fanOut.ts `#checkInclusion` → `#finish(…, true)`), never `agreed`,
 *   so never `PLACED`; eth_getTransactionByHash has no `standsAlone` and keys its block and index
 *   (txRules.ts `unhashed`): needs two domains; a block by hash stands alone only `verified`.
 *   agreeOn labels by the fan-out's domains, so a read at the shown block that one domain answered
 *   is `degraded` (39c's and 39d's "ETHER degraded at #n" seen above).
 *
 * Suspected, not tested:
 * - `shown(n, hash)` at an equal height keeps the first hash (`??=`): a block shown at #n with hash
 *   A, then the chain's B at #n after a reorg at the edge, stays pinned to A; a liar that still
 *   serves A by hash answers every `latest` read alone (`degraded`) and keeps `atShown` from ever
 *   seeing AllSourcesFailedError, until the agreed head reaches #n.
 * - `pinLogs` takes `h = shownAbove() ?? head.get()`: with a hash-less floor above the head (1),
 *   a log poll from the floor is `[]` `head`; an indexer moving its cursor to `meta.block` is
 *   fine, one moving it past its fromBlock loses logs.
 * - With proofs(), finding 1's wipe makes `trustedHeaderFor('latest')` the agreed head's header:
 *   the pre-payment balance then `proven` (39d 4 again), by the same route.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { http } from '../../src/index.ts'
import { sleep } from '../helpers.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'
import {
  type Block,
  behind,
  breakers,
  deployLogger,
  type Meta,
  outcome,
  paidBehind,
  pay,
  quorumOfTwo,
  shown,
} from './behind.ts'
import { ETHER, hex } from './fleet.ts'

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil({ noMining: true })
  await anvil.rpc('evm_mine')
}, 60_000)
afterAll(() => anvil?.stop())

/**
 * An honest source in its own domain. `slow.on`: its next eth_getBalance takes 1.5 s, past its
 * 1 s attempt timeout (a farther node, a cloud endpoint's slow moment), once. `byHashMs`: each
 * eth_getBlockByHash that much later (39d's farther node: the liar answers first).
 */
function honest(name: string, byHashMs = 0) {
  const slow = { on: false }
  const fetchFn: typeof fetch = async (input, init) => {
    if (byHashMs && String(init?.body).includes('"eth_getBlockByHash"')) await sleep(byHashMs)
    if (slow.on && String(init?.body).includes('"eth_getBalance"')) {
      slow.on = false
      await sleep(1_500)
    }
    return fetch(input, init)
  }
  const source = http(anvil.url, { name, domain: name, timeout: 1_000, fetchFn })
  return { source, slow }
}

/**
 * aws honest, `other` a block behind from now on (39c's setup): the caller paid `payee`, its
 * receipt agreed at #n while the agreed head is #n-1.
 */
async function paidOneBehind(from: number, payee: string, extra: Record<string, unknown> = {}) {
  const aws = honest('aws')
  const gcp = behind(anvil, 'gcp')
  const rpc = quorumOfTwo([aws.source, gcp.source], extra)
  const paid = await paidBehind(anvil, rpc, [gcp], from, payee)
  return { rpc, paid, aws, gcp }
}

describe('finding 1: a newer block verified by its hash alone wipes the shown hash', () => {
  it('Fixed: one domain a block behind, after the caller’s receipt and a verified lookup of the next (empty) block by hash, eth_getBalance(latest) still counts the caller’s payment', async () => {
    const payee = `0x${'e1'.repeat(20)}`
    const { rpc, paid } = await paidOneBehind(1, payee)
    try {
      const before = await outcome(
        rpc.requestWithMeta({ method: 'eth_getBalance', params: [payee, 'latest'] }),
      )
      assert.equal(BigInt((before as { result: string }).result), ETHER, shown(before))
      // The next block, empty (its hash from a newHeads push, an explorer's link): verified alone.
      await anvil.rpc('evm_mine')
      const next = await anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
      const byHash = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [next.hash, false],
      })
      assert.equal(byHash.meta.consistency, 'verified')
      const got = await outcome(
        rpc.requestWithMeta({ method: 'eth_getBalance', params: [payee, 'latest'] }),
      )
      if ('error' in got) return // an error is no wrong answer
      assert.equal(
        BigInt(got.result as string),
        ETHER,
        `${shown(got)} (receipt #${paid.block}, the block looked up #${Number(next.number)})`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Fixed: a liar a block behind serves a forged block by hash (two domains): eth_getBalance(latest) after the caller’s receipt still counts the caller’s payment', async () => {
    const payee = `0x${'e3'.repeat(20)}`
    const aws = honest('aws', 300)
    const liar = behind(anvil, 'liar')
    const rpc = quorumOfTwo([aws.source, liar.source])
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      liar.view.frozen = Number(await anvil.rpc<string>('eth_blockNumber'))
      const paid = await pay(anvil, 3, payee)
      const receipt = await rpc.requestWithMeta({
        method: 'eth_getTransactionReceipt',
        params: [paid.hash],
      })
      assert.equal(receipt.meta.consistency, 'agreed')
      const forged = await liar.forge(0)
      const byHash = await outcome(
        rpc.requestWithMeta({ method: 'eth_getBlockByHash', params: [forged.hash, false] }),
      )
      assert.equal((byHash as { meta?: Meta }).meta?.consistency, 'verified', shown(byHash))
      const got = await outcome(
        rpc.requestWithMeta({ method: 'eth_getBalance', params: [payee, 'latest'] }),
      )
      if ('error' in got) return
      assert.equal(
        BigInt(got.result as string),
        ETHER,
        `${shown(got)} (receipt #${paid.block}, forged #${forged.number})`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Fixed: after the wipe, eth_getLogs from the caller’s own receipt’s block is not [] (its log is there)', async () => {
    const logger = await deployLogger(anvil)
    const aws = honest('aws')
    const gcp = behind(anvil, 'gcp')
    const rpc = quorumOfTwo([aws.source, gcp.source])
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      gcp.view.frozen = Number(await anvil.rpc<string>('eth_blockNumber'))
      const hash = await anvil.rpc<string>('eth_sendTransaction', [
        { from: devAccounts[0]!.address, to: logger },
      ])
      await anvil.rpc('evm_mine')
      const receipt = await rpc.requestWithMeta({
        method: 'eth_getTransactionReceipt',
        params: [hash],
      })
      assert.equal(receipt.meta.consistency, 'agreed')
      const { blockNumber, logs } = receipt.result as { blockNumber: string; logs: unknown[] }
      assert.equal(logs.length, 1, 'the receipt shows the log')
      await anvil.rpc('evm_mine')
      const next = await anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
      await rpc.request({ method: 'eth_getBlockByHash', params: [next.hash, false] })
      const got = await outcome(
        rpc.requestWithMeta({
          method: 'eth_getLogs',
          params: [{ address: logger, fromBlock: blockNumber }],
        }),
      )
      if ('error' in got) return
      assert.equal(
        (got.result as unknown[]).length,
        1,
        `${shown(got)} (receipt #${Number(blockNumber)})`,
      )
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('finding 2: one slow answer at the shown block forgets it', () => {
  it('Fixed: one domain a block behind (says "header not found" at the shown block), aws slow once: eth_getBalance(latest) after the caller’s receipt still counts the caller’s payment', async () => {
    const payee = `0x${'e2'.repeat(20)}`
    const { rpc, paid, aws } = await paidOneBehind(2, payee)
    try {
      aws.slow.on = true // its next eth_getBalance outlasts its attempt timeout, once
      const got = await outcome(
        rpc.requestWithMeta({ method: 'eth_getBalance', params: [payee, 'latest'] }),
      )
      const again = await outcome(
        rpc.requestWithMeta({ method: 'eth_getBalance', params: [payee, 'latest'] }),
      )
      const seen = `${shown(got)}, then ${shown(again)} (receipt #${paid.block})`
      for (const r of [got, again])
        if (!('error' in r)) assert.equal(BigInt(r.result as string), ETHER, seen)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})

describe('Held', () => {
  it('Held: a filter from the next block (eth_newFilter, fromBlock head+1): eth_getFilterLogs is [] now, then the log once mined; eth_getFilterChanges has it; no breaker moves', async () => {
    const logger = await deployLogger(anvil)
    const rpc = quorumOfTwo([honest('aws').source, honest('gcp').source])
    try {
      const head = Number(await rpc.request({ method: 'eth_blockNumber' }))
      const id = (await rpc.request({
        method: 'eth_newFilter',
        params: [{ address: logger, fromBlock: hex(head + 1) }],
      })) as string
      const now = await rpc.requestWithMeta({ method: 'eth_getFilterLogs', params: [id] })
      assert.deepEqual(now.result, [])
      await anvil.rpc('eth_sendTransaction', [{ from: devAccounts[0]!.address, to: logger }])
      await anvil.rpc('evm_mine')
      let changes: unknown[] = []
      for (let i = 0; i < 40 && changes.length === 0; i++) {
        await sleep(150)
        changes = (await rpc.request({ method: 'eth_getFilterChanges', params: [id] })) as unknown[]
      }
      assert.equal(changes.length, 1, 'the change')
      const logs = (await rpc.request({ method: 'eth_getFilterLogs', params: [id] })) as unknown[]
      assert.equal(logs.length, 1, 'the filter’s logs')
      assert.doesNotMatch(breakers(rpc), /open/)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it('Held: eth_getLogs from head+1 is [] head-labelled, from head+1 to a number below it the caller’s -32602; repeated, no breaker moves', async () => {
    const rpc = quorumOfTwo([honest('aws').source, honest('gcp').source])
    try {
      const head = Number(await rpc.request({ method: 'eth_blockNumber' }))
      for (let i = 0; i < 4; i++) {
        const got = await rpc.requestWithMeta({
          method: 'eth_getLogs',
          params: [{ fromBlock: hex(head + 1) }],
        })
        assert.deepEqual([got.result, got.meta.consistency], [[], 'head'])
        const back = await outcome(
          rpc.requestWithMeta({
            method: 'eth_getLogs',
            params: [{ fromBlock: hex(head + 1), toBlock: hex(head) }],
          }),
        )
        assert.match(String((back as { error?: string }).error), /^-32602/)
      }
      assert.doesNotMatch(breakers(rpc), /open/)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
