/**
 * An attacker's review of 7893886 (the fixes after test/adversarial/reviewOfSessionFixes.test.ts):
 * what one hostile source (one failure domain of three) can do because of them, or what they
 * left open. Each test asserts the correct behaviour and failed on the code before its fix; the
 * comment above it says the attack, what happened and what should happen. The last test is
 * coverage the fixes had not: a real receipt at the chain's edge.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'
import { hostile, paced } from './hostile.ts'

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
})
afterAll(() => anvil?.stop())

/** A node at `node`, `ms` late on every call: an honest node at its own pace. */
const honest = (name: string, ms: number, node: Anvil = anvil) => paced(node, name, ms)

const ADDRESS = `0x${'42'.repeat(20)}`
const hex = (n: number) => `0x${n.toString(16)}`
const pinnedByHash = (params: readonly unknown[]) =>
  params.some((p) => typeof p === 'object' && p !== null && 'blockHash' in p)

/**
 * Reports each new head once, as it is (with another domain, that confirms it), then one block
 * back at every later poll until the next block: its `lag` is 1 most of the time. While "behind"
 * it says geth's "header for hash not found" to every read pinned to a block; otherwise it
 * answers honestly.
 */
function dippingLiar(node: Anvil): Source {
  let top = -1
  let behind = false
  const head = async () => {
    const n = Number(await node.rpc<string>('eth_blockNumber'))
    behind = n > 0 && n <= top
    top = Math.max(top, n)
    return behind ? n - 1 : n
  }
  return hostile(
    http(node.url, { name: 'liar', domain: 'liar', timeout: 5_000 }),
    async (method, params, answer) => {
      if (behind && pinnedByHash(params))
        throw new RpcResponseError('liar', { code: -32000, message: 'header for hash not found' })
      if (method === 'eth_getBlockByNumber' && params[0] === 'latest')
        return node.rpc('eth_getBlockByNumber', [hex(await head()), params[1]])
      if (method === 'eth_blockNumber') return hex(await head())
      return answer()
    },
  )
}

describe('a domain that says it is one block behind after confirming each head, one honest domain down', () => {
  let chain: Anvil
  beforeAll(async () => {
    chain = await startAnvil({ blockTime: 3 })
    for (let i = 0; i < 3; i++) await chain.rpc('evm_mine')
  })
  afterAll(() => chain?.stop())

  // Attack (fix 2, sourcePool.ts `attempter` `isUnknownBlock(err) && s.lag > 0`, tally.ts
  // `contradicting`, head.ts `remember` refreshing `s.lag`): the hostile reports every new head
  // as it is at its first poll (so, with the honest domain, the head is confirmed), then the
  // block below at every later poll until the next block. `remember` makes its lag 1 at once
  // (the confirmed head does not move back for a lagging subset), within `maxLag` (2), so it
  // stays a candidate for head-dependent reads; meanwhile it says "unknown block" to every read
  // pinned to the head. With lag 1 that is no failure and contradicts no one, but it is still a
  // dissent: the honest domain's answer is not the last one standing, and the read ends in a
  // QuorumError. What happened: 15 and 16 of 20 reads failed with QuorumError (two runs); the
  // hostile had 0-3 failures, breaker closed, lag 1 (the fix's own test, a hostile that never
  // dips, is cut off and reads degrade). What should happen: a node that reported a block on the agreed
  // chain cannot later be excused for not knowing it (and a behind node's "unknown block" is
  // "not yet", which does not stop the answer left from degrading): reads degrade to the honest
  // domain, as they do with the hostile that never dips.
  it('reads degrade to the honest domain left', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      sources: [
        honest('aws', 20, chain),
        http('http://127.0.0.1:9', { name: 'gcp', domain: 'gcp', timeout: 1_000 }),
        dippingLiar(chain),
      ],
    })
    try {
      await rpc.connect().catch(() => {})
      await sleep(1_500)
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
      const liar = rpc.status().sources.find((s) => s.name === 'liar')
      const answered = out.filter((c) => !c.endsWith('Error')).length
      const seen = `the hostile: ${liar?.failures} failures, breaker ${liar?.breaker}, lag ${liar?.lag}`
      assert.ok(answered >= 10, `${answered} of 20 reads answered (${out.join(', ')}); ${seen}`)
      // It reported the blocks it then says it does not know: not excused as a node behind.
      assert.ok((liar?.failures ?? 0) >= 5, seen)
    } finally {
      await rpc.close()
    }
  }, 60_000)
})

describe('a fast hostile fee figure a fifth below the honest one', () => {
  // Attack (fix 1, median.ts `close` / `patience`): the hostile answers `eth_gasPrice` at once
  // with 81% of the honest figure (everything else at an honest 20 ms); one honest domain
  // answers in 20 ms, the other in 150 ms. The two first figures are within a quarter of each
  // other, so `close` holds and the third is waited for no longer than the two took (~20 ms):
  // the 150 ms domain is cut off every time and the median of two is the lower, the hostile's.
  // What happened: 6 of 6 reads returned the hostile's figure, 19% below the honest one (e.g.
  // 0x608f3d00 for 0x77359400), in every run. What should happen: a figure only one domain gave is never the answer while a
  // tie-breaker of normal pace is on its way (DESIGN.md: nothing one domain says alone becomes
  // agreed, "not a fee figure"): here the median of three, the honest figure.
  it("the hostile's figure is not the answer", async () => {
    const lies = new Set<string>()
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar', timeout: 5_000 }),
      async (method, _params, answer) => {
        if (method === 'eth_gasPrice') {
          const lie = `0x${((BigInt(String(await answer())) * 81n) / 100n).toString(16)}`
          lies.add(lie)
          return lie
        }
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
      const theirs = got.filter((g) => lies.has(String(g)))
      assert.equal(theirs.length, 0, `the hostile's figure came back: ${got.join(', ')}`)
    } finally {
      await rpc.close()
    }
  })
})

describe('a real receipt at the chain edge beside a late importer and a hostile "not yet"', () => {
  let chain: Anvil
  const minedAt = new Map<number, number>()
  const LATE = 700
  const young = (n: number) => Date.now() - (minedAt.get(n) ?? 0) < LATE
  beforeAll(async () => {
    chain = await startAnvil({ noMining: true })
  })
  afterAll(() => chain?.stop())
  const mine = async () => {
    await chain.rpc('evm_mine')
    minedAt.set(Number(await chain.rpc<string>('eth_blockNumber')), Date.now())
  }

  /** An honest node that imports each block LATE ms after it is mined. */
  function lateImporter(name: string): Source {
    const inner = http(chain.url, { name, domain: name, timeout: 5_000 })
    return hostile(inner, async (method, params, answer) => {
      await sleep(30)
      let n = Number(await chain.rpc<string>('eth_blockNumber'))
      while (n > 0 && young(n)) n--
      if (method === 'eth_blockNumber') return hex(n)
      if (method === 'eth_getBlockByNumber' && params[0] === 'latest')
        return chain.rpc('eth_getBlockByNumber', [hex(n), params[1]])
      const r = (await answer()) as { blockNumber?: unknown } | null
      if (typeof r?.blockNumber === 'string' && young(Number(r.blockNumber))) return null
      return r
    })
  }

  // Coverage for fix 3 (fanOut.ts `loneUnplaced`): a wallet polls for its transaction's
  // receipt (as viem's waitForTransactionReceipt does) right after the block is mined. The
  // fast honest domain has it; the late importer (700 ms) and the hostile (always `null` for
  // receipts, honest otherwise) say "not yet". The receipt's block is above the agreed head,
  // so the early check cannot place it at first; the re-checks must not end before the late
  // importer catches up, and the fast honest domain must not be penalized as disagreeing with
  // an agreed `null`. Held: each receipt came back within the first poll (~1.1 s), no penalty.
  it('the receipt comes back and its honest source is not penalized', async () => {
    const liar = hostile(
      http(chain.url, { name: 'liar', domain: 'liar', timeout: 5_000 }),
      async (method, _params, answer) => {
        if (method === 'eth_getTransactionReceipt') return null
        await sleep(10)
        return answer()
      },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 500,
      sources: [honest('aws', 20, chain), lateImporter('gcp'), liar],
    })
    try {
      await rpc.connect()
      for (let i = 0; i < 2; i++) {
        await mine()
        await sleep(LATE + 600)
        await rpc.request({ method: 'eth_blockNumber' })
      }
      for (let t = 0; t < 2; t++) {
        const hash = await chain.rpc<string>('eth_sendTransaction', [
          { from: devAccounts[0]!.address, to: ADDRESS, value: '0x1' },
        ])
        await mine()
        const started = Date.now()
        let receipt: unknown = null
        while (receipt === null && Date.now() - started < 10_000) {
          receipt = await rpc.request({ method: 'eth_getTransactionReceipt', params: [hash] })
          if (receipt === null) await sleep(100)
        }
        assert.equal((receipt as { transactionHash?: string } | null)?.transactionHash, hash)
        await sleep(LATE + 300)
      }
      const aws = rpc.status().sources.find((s) => s.name === 'aws')
      assert.equal(aws?.failures, 0, `the honest source was penalized: ${aws?.lastError}`)
      assert.equal(aws?.breaker, 'closed')
    } finally {
      await rpc.close()
    }
  }, 60_000)
})
