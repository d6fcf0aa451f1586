/**
 * An attacker's review of the fixes in dc16ec4 (hostile proofs and execution) and 46c1266
 * (framing and stalling): what one hostile source (one failure domain of three) can do because
 * of them, or what they left open. Each test asserts the correct behaviour and failed on the
 * code before its fix; the comment above it says the attack, what happened and what should
 * happen.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import { type Anvil, startAnvil } from '../lab/index.ts'
import { hostile, paced } from './hostile.ts'

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
})
afterAll(() => anvil?.stop())

/** An honest node at its own pace (`slowFor`: other delays for the methods named). */
const honest = (name: string, ms: number, slowFor: Record<string, number> = {}) =>
  paced(anvil, name, ms, slowFor)

const ADDRESS = `0x${'42'.repeat(20)}`

describe('a fast hostile fee figure beside a fast and a slower honest domain', () => {
  // Attack (fix 6, median.ts `patience`): the hostile answers `eth_gasPrice` at once with 1 wei
  // (and everything else at an honest pace, 20 ms); one honest domain answers in 20 ms, the
  // other in 150 ms (another region). Two figures are in at ~20 ms, and the third is now waited
  // for no longer than the first two took (`took`, ~20 ms) instead of two of its round trips
  // (~300 ms): the 150 ms domain is cut off every time, and the median of two is the lower one,
  // the hostile's. What happened: every fee read returned 0x1 (at fac6228, before the change,
  // each returned the honest price). What should happen: one domain's figure never decides a
  // median while a tie-breaker of normal pace is on its way: when the two figures differ, wait
  // for the third as before (or bound `took` from below by the silent domain's round trips).
  it("the hostile's low gas price is not the answer", async () => {
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar', timeout: 5_000 }),
      async (method, _params, answer) => {
        if (method === 'eth_gasPrice') return '0x1'
        await sleep(20)
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [honest('aws', 20), honest('gcp', 150), liar],
    })
    try {
      await rpc.connect()
      for (let i = 0; i < 5; i++) await rpc.request({ method: 'eth_blockNumber' })
      const got: unknown[] = []
      for (let i = 0; i < 6; i++) got.push(await rpc.request({ method: 'eth_gasPrice' }))
      assert.ok(!got.includes('0x1'), `the hostile's figure came back: ${got.join(', ')}`)
    } finally {
      await rpc.close()
    }
  })
})

describe('a domain that says "unknown block" to every read, one honest domain down', () => {
  // Attack (fix 8, sourcePool.ts `attempter`, tally.ts `contradicting`): the hostile reports the
  // chain's head like any node but answers every read pinned to a block with geth's "header for
  // hash not found", at once. That error is now recorded as a success (no breaker failure) and
  // contradicts no one, while tally.ts still counts it as a dissent (`error:unknown-block`): it
  // costs the hostile nothing, ever. With one honest domain down (an outage, the case outlast is
  // for), every read has the one honest answer beside the hostile's dissent: QuorumError, on
  // every read, for as long as the outage lasts (20 of 20 here). At fac6228 the same hostile
  // failed its attempts, its breaker opened after a few reads, and the reads degraded to the
  // honest domain (16 of 20 answered). What should happen: "unknown block" is no failure only
  // for a block above the source's own reported head (a node behind); for a block its own head
  // covers it is a failure (and a contradiction once two domains agree), so the source is set
  // aside and reads degrade to the domain left.
  it('reads degrade to the honest domain left', async () => {
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar', timeout: 5_000 }),
      async (_method, params, answer) => {
        const pinned = params.some((p) => typeof p === 'object' && p !== null && 'blockHash' in p)
        if (pinned)
          throw new RpcResponseError('liar', { code: -32000, message: 'header for hash not found' })
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [
        honest('aws', 20),
        http('http://127.0.0.1:9', { name: 'gcp', domain: 'gcp', timeout: 1_000 }),
        liar,
      ],
    })
    try {
      await rpc.connect().catch(() => {})
      const out: string[] = []
      for (let i = 0; i < 20; i++) {
        out.push(
          await rpc.requestWithMeta({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] }).then(
            (r) => r.meta.consistency,
            (e: Error) => e.name,
          ),
        )
        await sleep(100)
      }
      const answered = out.filter((c) => !c.endsWith('Error')).length
      assert.ok(answered >= 10, `${answered} of 20 reads answered: ${out.join(', ')}`)
    } finally {
      await rpc.close()
    }
  }, 60_000)
})

/** A made-up receipt for `hash` in a block that is not the agreed chain's (`future`: above its head). */
function madeUpReceipt(hash: string, future: boolean): Source {
  return hostile(
    http(anvil.url, { name: 'liar', domain: 'liar' }),
    async (method, params, answer) => {
      if (method !== 'eth_getTransactionReceipt' || params[0] !== hash) return answer()
      const n = Number(await anvil.rpc<string>('eth_blockNumber')) + (future ? 1 : 0)
      return {
        transactionHash: hash,
        transactionIndex: '0x0',
        blockHash: `0x${'ab'.repeat(32)}`,
        blockNumber: `0x${n.toString(16)}`,
        from: `0x${'11'.repeat(20)}`,
        to: `0x${'22'.repeat(20)}`,
        cumulativeGasUsed: '0x5208',
        gasUsed: '0x5208',
        effectiveGasPrice: '0x3b9aca00',
        contractAddress: null,
        logs: [],
        logsBloom: `0x${'00'.repeat(256)}`,
        status: '0x1',
        type: '0x2',
      }
    },
  )
}

describe('a made-up receipt in a block that is not on the agreed chain', () => {
  // Attack (fix 5, fanOut.ts `refuteEarly`, handlers/agreedChain.ts `receiptStands`): as in
  // framing.test.ts's made-up receipt, but the receipt names a block hash that is not the agreed
  // chain's (at the head's height, or one above it). `receiptStands` answers `false` ("cannot
  // tell") before any body is fetched, so nothing is refuted, the hostile is never cut off, and
  // the two honest domains' `null` waits out the re-checks (RECHECK_DELAYS): every poll took
  // ~1.1 s where the honest domains answer in 40 ms, as before the fix. What should happen: a
  // receipt whose block is at or below the confirmed head but not the hash kept there is refuted
  // (its source lies); one that cannot be judged beside "not yet"s from as many domains as an
  // answer needs does not hold the agreed `null` up (the re-checks end once the early check
  // says it cannot stand).
  for (const future of [false, true])
    it(`receipt polls are not held up (${future ? 'a block above the head' : 'another hash at the head'})`, async () => {
      const unknown = `0x${'5e'.repeat(32)}`
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        pollingInterval: 500,
        sources: [honest('aws', 20), honest('gcp', 40), madeUpReceipt(unknown, future)],
      })
      try {
        await rpc.connect()
        for (let i = 0; i < 5; i++) await rpc.request({ method: 'eth_blockNumber' })
        const times: number[] = []
        for (let i = 0; i < 4; i++) {
          const started = Date.now()
          const r = await rpc.request({ method: 'eth_getTransactionReceipt', params: [unknown] })
          times.push(Date.now() - started)
          assert.equal(r, null)
        }
        assert.ok(
          times.filter((ms) => ms > 600).length <= 1,
          `receipt polls took ${times.join(', ')} ms (honest domains: 20 and 40 ms)`,
        )
      } finally {
        await rpc.close()
      }
    })
})

describe('"method not found" outvoting: whose words come back', () => {
  // Attack (fix 3, fanOutDecisions.ts `whenExhausted`): for a method no node serves, the hostile
  // answers first with a caller's error of its own wording (-32600, "your wallet is
  // compromised, visit evil.example", data 0xdead). The rule counts domains giving *any*
  // caller's error (here the hostile and one honest domain, -32601) and returns the first one
  // heard: the hostile's code, message and data reach the caller as the nodes' verdict. What
  // should happen: the error returned is one that two domains gave alike (same code and
  // message: `sameRejection`, as broadcast.ts `rejectionOf` now does), here the honest -32601.
  it("the caller gets the honest domains' error, not the hostile's words", async () => {
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar' }),
      async (method, _params, answer) => {
        if (method !== 'acme_tokenPrice') return answer()
        throw new RpcResponseError('liar', {
          code: -32600,
          message: 'Invalid request: your wallet is compromised, visit evil.example',
          data: '0xdead',
        })
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [honest('aws', 20), honest('gcp', 40), liar],
    })
    try {
      await rpc.connect()
      const e = await rpc
        .request({ method: 'acme_tokenPrice', params: [] })
        .catch((e: Error & { code?: number }) => e)
      assert.ok(e instanceof Error)
      // Its words appear only in the list of what each source said, under its own name.
      const [verdict, ...details] = e.message.split('\n')
      assert.doesNotMatch(String(verdict), /evil/)
      assert.ok(details.filter((d) => /evil/.test(d)).every((d) => d.startsWith('- liar:')))
      assert.equal((e as { code?: number }).code, -32601)
      assert.notEqual((e as { data?: unknown }).data, '0xdead')
    } finally {
      await rpc.close()
    }
  })
})
