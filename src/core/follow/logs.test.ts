/**
 * The shared log request's pure parts: the local filter matcher (geth's rules), the union of
 * several filters, the logsBloom skip, and the block grouping of `logsOf`, on real mainnet logs
 * and blooms (src/verify/fixtures).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { keccak256, toHex } from 'viem'
import { describe, test } from 'vitest'
import { checkedHeader, computeBlockHash, type RpcBlockHeader } from '../../verify/block.ts'
import type { Link } from './chainFollower.ts'
import {
  bloomMayMatch,
  type LogFilter,
  logsOf,
  type Matcher,
  matcherOf,
  matches,
  type RpcLog,
  unionOf,
} from './logs.ts'

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../verify/fixtures/${name}`, import.meta.url), 'utf8'))

/** Mainnet block 21,925,176 and the receipt of its transaction 0x27: one deposit-contract log. */
const block = fixture('block-cancun-21925176.json').block as RpcBlockHeader & { hash: string }
const receipt = fixture('receipt-proof-21925176.json').receipt as {
  logsBloom: string
  logs: RpcLog[]
}
const homestead = fixture('block-homestead-2000004.json').block as { logsBloom: string }
const log = receipt.logs[0]!
const DEPOSIT = log.address // 0x00000000219ab540356cbb839cbe05303d7705fa
const DEPOSIT_EVENT = log.topics[0]! // DepositEvent(bytes,bytes,bytes,bytes,bytes)
const PING = keccak256(toHex('Ping(uint256)'))
const TRANSFER = keccak256(toHex('Transfer(address,address,uint256)'))
const WETH = '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2'
const ZERO = '0x0000000000000000000000000000000000000000'
const EMPTY_BLOOM = `0x${'0'.repeat(512)}`

const m = (filter: LogFilter): Matcher => {
  const matcher = matcherOf(filter)
  assert.ok(matcher, `readable: ${JSON.stringify(filter)}`)
  return matcher
}
const hit = (filter: LogFilter, l: RpcLog = log) => matches(l, m(filter))

describe('matcherOf and matches: the standard address and topic rules', () => {
  test('address: one, an OR-list, any case; an empty list or none takes any address', () => {
    assert.ok(hit({}))
    assert.ok(hit({ address: DEPOSIT.toUpperCase().replace('0X', '0x') }))
    assert.ok(hit({ address: [WETH, DEPOSIT] }))
    assert.ok(hit({ address: [] }))
    assert.ok(!hit({ address: WETH }))
    assert.ok(!hit({ address: [WETH, ZERO] }))
  })

  test('topics: positions, null wildcards, OR-lists, and logs with fewer topics', () => {
    assert.ok(hit({ topics: [] }))
    assert.ok(hit({ topics: null as never }))
    assert.ok(hit({ topics: [DEPOSIT_EVENT] }))
    assert.ok(hit({ topics: [DEPOSIT_EVENT.toUpperCase().replace('0X', '0x')] }))
    assert.ok(hit({ topics: [null] }))
    assert.ok(hit({ topics: [[PING, DEPOSIT_EVENT]] }))
    assert.ok(hit({ topics: [[]] }), 'an empty OR-list is a wildcard')
    assert.ok(hit({ topics: [[PING, null as never]] }), 'null inside an OR-list is a wildcard')
    assert.ok(!hit({ topics: [PING] }))
    assert.ok(!hit({ topics: [[PING, TRANSFER]] }))
    // geth's rule: a log with fewer topics than the filter has positions does not match, even
    // where those positions are wildcards (anvil and reth would match it; nodes differ).
    assert.ok(!hit({ topics: [DEPOSIT_EVENT, null] }))
    assert.ok(!hit({ topics: [null, null] }))
    assert.ok(!hit({ address: DEPOSIT, topics: [PING] }), 'address and topics both apply')
    const transfer = { ...log, topics: [TRANSFER, `0x${'11'.repeat(32)}`, `0x${'22'.repeat(32)}`] }
    assert.ok(hit({ topics: [TRANSFER, null, `0x${'22'.repeat(32)}`] }, transfer))
    assert.ok(!hit({ topics: [TRANSFER, `0x${'22'.repeat(32)}`] }, transfer), 'order matters')
    assert.ok(!hit({ topics: [TRANSFER, null, null, null] }, transfer))
  })

  test('a filter it cannot read is left to the node (undefined)', () => {
    for (const filter of [
      { address: '0x1234' },
      { address: 5 },
      { address: [DEPOSIT, null] },
      { topics: DEPOSIT_EVENT },
      { topics: [null, null, null, null, null] },
      { topics: ['0xabc'] },
      { topics: [[1]] },
      { topics: [{}] },
    ])
      assert.equal(matcherOf(filter as LogFilter), undefined, JSON.stringify(filter))
  })
})

describe('unionOf: one request whose logs hold every subscriber’s', () => {
  test('addresses: all of them, deduplicated; none if one subscriber takes any address', () => {
    assert.deepEqual(
      unionOf([m({ address: DEPOSIT }), m({ address: `0x${DEPOSIT.slice(2).toUpperCase()}` })]),
      {
        address: DEPOSIT,
      },
    )
    assert.deepEqual(unionOf([m({ address: WETH }), m({ address: [DEPOSIT, WETH] })]), {
      address: [DEPOSIT, WETH],
    })
    assert.deepEqual(unionOf([m({ address: WETH, topics: [PING] }), m({ topics: [PING] })]), {
      topics: [PING],
    })
    assert.deepEqual(unionOf([m({ address: WETH }), m({ address: [] })]), {})
  })

  test('topics: a position is constrained only where every subscriber constrains it', () => {
    assert.deepEqual(unionOf([m({ topics: [PING] }), m({ topics: [[TRANSFER, PING]] })]), {
      topics: [[PING, TRANSFER].sort()],
    })
    assert.deepEqual(
      unionOf([m({ topics: [PING, ZERO.padEnd(66, '0')] }), m({ topics: [PING] })]),
      {
        topics: [PING],
      },
    )
    assert.deepEqual(
      unionOf([m({ topics: [null, TRANSFER] }), m({ topics: [PING, TRANSFER, null] })]),
      { topics: [null, TRANSFER] },
      'a wildcard inside stays, trailing wildcards go',
    )
    assert.deepEqual(unionOf([m({ topics: [PING] }), m({})]), {})
  })

  test('property: every log some subscriber matches, the union matches', () => {
    const addresses = [DEPOSIT, WETH, ZERO]
    const topics = [PING, TRANSFER, DEPOSIT_EVENT, `0x${'11'.repeat(32)}`]
    const position = fc.oneof(
      fc.constant(null),
      fc.constantFrom(...topics),
      fc.array(fc.oneof(fc.constantFrom(...topics), fc.constant(null)), { maxLength: 3 }),
    )
    const filter = fc.record(
      {
        address: fc.oneof(
          fc.constantFrom(...addresses),
          fc.subarray(addresses),
          fc.constant(undefined),
        ),
        topics: fc.array(position, { maxLength: 4 }),
      },
      { requiredKeys: [] },
    )
    const aLog = fc.record({
      address: fc.constantFrom(...addresses),
      topics: fc.array(fc.constantFrom(...topics), { maxLength: 4 }),
    })
    fc.assert(
      fc.property(fc.array(filter, { minLength: 1, maxLength: 6 }), aLog, (filters, l) => {
        const matchers = filters.map((f) => m(f as LogFilter))
        const union = m(unionOf(matchers))
        const full = { ...log, ...l } as RpcLog
        if (matchers.some((x) => matches(full, x))) assert.ok(matches(full, union))
        // Nodes that let a short log through trailing wildcards return more, never less.
        if (union.topics.length > 0) assert.ok(union.topics.at(-1) !== undefined)
      }),
      { numRuns: 2_000 },
    )
  })
})

describe('bloomMayMatch: blocks no subscriber can have logs in are not asked', () => {
  test('the logsBloom is a field the kept header holds, and its hash covers it', () => {
    const kept = checkedHeader(block as unknown as Record<string, unknown>)
    assert.equal(kept.logsBloom, block.logsBloom)
    assert.equal(computeBlockHash(block), block.hash)
    const flipped = `0x${(Number.parseInt(block.logsBloom[2]!, 16) ^ 1).toString(16)}${block.logsBloom.slice(3)}`
    assert.notEqual(computeBlockHash({ ...block, logsBloom: flipped as `0x${string}` }), block.hash)
  })

  test('a real block: its log’s address and topic are in, a filter missing one part is out', () => {
    const bloom = block.logsBloom
    assert.ok(bloomMayMatch(bloom, [m({ address: DEPOSIT })]))
    assert.ok(bloomMayMatch(bloom, [m({ topics: [DEPOSIT_EVENT] })]))
    assert.ok(bloomMayMatch(bloom, [m({ address: DEPOSIT, topics: [[PING, DEPOSIT_EVENT]] })]))
    assert.ok(!bloomMayMatch(bloom, [m({ address: ZERO })]))
    assert.ok(!bloomMayMatch(bloom, [m({ topics: [PING] })]))
    assert.ok(!bloomMayMatch(bloom, [m({ address: DEPOSIT, topics: [PING] })]), 'every part')
    assert.ok(!bloomMayMatch(bloom, [m({ address: ZERO }), m({ topics: [null, PING] })]))
    assert.ok(bloomMayMatch(bloom, [m({ address: ZERO }), m({ address: WETH })]), 'any one')
    assert.ok(bloomMayMatch(bloom, [m({})]), 'a filter taking everything, a block with logs')
    assert.ok(bloomMayMatch(bloom, [m({ topics: [null, null] })]))
  })

  test('a receipt’s bloom of one log; a sparse homestead bloom', () => {
    assert.ok(bloomMayMatch(receipt.logsBloom, [m({ address: DEPOSIT, topics: [DEPOSIT_EVENT] })]))
    assert.ok(!bloomMayMatch(receipt.logsBloom, [m({ address: WETH })]))
    assert.ok(!bloomMayMatch(receipt.logsBloom, [m({ topics: [TRANSFER] })]))
    assert.ok(bloomMayMatch(block.logsBloom, [m({ address: WETH, topics: [TRANSFER] })]))
    assert.ok(!bloomMayMatch(homestead.logsBloom, [m({ address: WETH, topics: [TRANSFER] })]))
    assert.ok(bloomMayMatch(homestead.logsBloom, [m({})]))
  })

  test('no false negative: a filter that matches a log passes that log’s blooms', () => {
    for (const filter of [
      {},
      { address: DEPOSIT },
      { address: [WETH, DEPOSIT], topics: [DEPOSIT_EVENT] },
      { topics: [[TRANSFER, DEPOSIT_EVENT]] },
      { topics: [null] },
    ] as LogFilter[]) {
      assert.ok(hit(filter))
      assert.ok(bloomMayMatch(receipt.logsBloom, [m(filter)]), JSON.stringify(filter))
      assert.ok(bloomMayMatch(block.logsBloom, [m(filter)]), JSON.stringify(filter))
    }
  })

  test('an empty bloom skips even a filter taking everything; no usable bloom asks', () => {
    assert.ok(!bloomMayMatch(EMPTY_BLOOM, [m({})]))
    assert.ok(bloomMayMatch(undefined, [m({ address: ZERO })]))
    assert.ok(bloomMayMatch('0x1234', [m({ address: ZERO })]))
    assert.ok(bloomMayMatch(`0x${'z'.repeat(512)}`, [m({ address: ZERO })]))
  })
})

describe('logsOf: which requests a run of blocks costs', () => {
  const links = (from: number, count: number): Link[] =>
    Array.from({ length: count }, (_, i) => {
      const n = from + i
      const hash = `0x${n.toString(16).padStart(64, 'a')}`
      const parentHash = `0x${(n - 1).toString(16).padStart(64, 'a')}`
      return { number: n, hash, parentHash, header: { number: toHex(n), hash, parentHash } }
    })
  const logIn = (b: Link, index = 0, hash = b.hash): RpcLog => ({
    ...log,
    blockHash: hash,
    blockNumber: toHex(b.number),
    logIndex: toHex(index),
  })
  const recorder = (answer: (filter: Record<string, unknown>) => RpcLog[]) => {
    const calls: Record<string, unknown>[] = []
    const getLogs = async (filter: object) => {
      calls.push(filter as Record<string, unknown>)
      return answer(filter as Record<string, unknown>)
    }
    return { calls, getLogs }
  }

  test('blocks turned down cost nothing; one block is asked by hash', async () => {
    const blocks = links(10, 5)
    const none = recorder(() => [])
    const result = await logsOf(blocks, { address: DEPOSIT }, none.getLogs, () => false)
    assert.equal(none.calls.length, 0)
    assert.deepEqual([...result.values()], [[], [], [], [], []])
    const one = recorder(() => [logIn(blocks[2]!)])
    const got = await logsOf(blocks, { address: DEPOSIT }, one.getLogs, (b) => b.number === 12)
    assert.deepEqual(one.calls, [{ address: DEPOSIT, blockHash: blocks[2]!.hash }])
    assert.equal(got.get(blocks[2]!.hash)!.length, 1)
  })

  test('several blocks: one range from the first asked to the last, logs of skipped ones dropped', async () => {
    const blocks = links(10, 5)
    const r = recorder(() => [logIn(blocks[1]!), logIn(blocks[2]!), logIn(blocks[3]!, 1)])
    const got = await logsOf(blocks, { topics: [PING] }, r.getLogs, (b) => b.number % 2 === 1)
    assert.deepEqual(r.calls, [{ topics: [PING], fromBlock: '0xb', toBlock: '0xd' }])
    assert.deepEqual(
      blocks.map((b) => got.get(b.hash)!.length),
      [0, 1, 0, 1, 0],
    )
  })

  test('ranges hold at most 100 blocks; a block that moved under the range is asked by hash', async () => {
    const blocks = links(1, 250)
    const moved = blocks[120]!
    const r = recorder((f) =>
      f.fromBlock === '0x65' ? [logIn(moved, 0, `0x${'ee'.repeat(32)}`)] : [],
    )
    await logsOf(blocks, {}, r.getLogs)
    assert.deepEqual(r.calls, [
      { fromBlock: '0x1', toBlock: '0x64' },
      { fromBlock: '0x65', toBlock: '0xc8' },
      { fromBlock: '0xc9', toBlock: '0xfa' },
      { blockHash: moved.hash },
    ])
  })
  test('a range’s last few blocks after its last log are asked again by hash (a lagging logs index leaves them out)', async () => {
    const blocks = links(1, 20)
    const r = recorder((f) => (f.fromBlock ? [logIn(blocks[14]!)] : []))
    await logsOf(blocks, {}, r.getLogs)
    assert.deepEqual(r.calls, [
      { fromBlock: '0x1', toBlock: '0x14' },
      ...blocks.slice(15).map((b) => ({ blockHash: b.hash })),
    ])
    const none = recorder(() => [])
    await logsOf(blocks, {}, none.getLogs)
    assert.equal(none.calls.length, 1, 'a range without logs: its `[]` is checked as one')
  })
})
