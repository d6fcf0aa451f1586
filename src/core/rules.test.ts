import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import type { Head, HeadTracker } from './head.ts'
import { checkedParams } from './params.ts'
import { classify } from './policy.ts'
import { pinBlock } from './rules.ts'

const HEAD = { number: 0x20, hash: `0x${'cd'.repeat(32)}` } as Head
const head = {
  peek: () => HEAD,
  get: async () => HEAD,
  hashAt: (n: number) => (n === HEAD.number ? HEAD.hash : undefined),
  holds: (hash: string, at: number) => at === HEAD.number && hash === HEAD.hash,
  shownAbove: () => undefined,
  contested: () => false,
} as unknown as HeadTracker
const SAFE = { number: 0x10, hash: `0x${'ef'.repeat(32)}` } as Head
const WHO = '0x00000000000000000000000000000000000b0b01'
const HASH = `0x${'ab'.repeat(32)}`

/** The request as requestWithMeta hands it on: params spelled one way, then pinned. */
const pin = (method: string, params: unknown[], byHash = true) => {
  const policy = classify(method)
  return pinBlock(
    method,
    checkedParams(method, params, policy),
    policy,
    head,
    byHash,
    async () => SAFE,
  )
}

describe('pinBlock', () => {
  it('pins `latest` however it is spelled: the agreed head, lagging sources left out', async () => {
    for (const tag of [undefined, null, 'latest', 'LATEST', { blockNumber: 'latest' }]) {
      const pinned = await pin('eth_getBalance', tag === undefined ? [WHO] : [WHO, tag])
      assert.deepEqual(pinned.params, [WHO, { blockHash: HEAD.hash }], JSON.stringify(tag))
      assert.equal(pinned.headDependent, true)
      assert.equal(pinned.expectedHash, HEAD.hash)
      assert.equal(pinned.tracked, undefined, 'a confirmed head: no later check')
    }
    const lone = await pinBlock(
      'eth_getBalance',
      [WHO, 'latest'],
      classify('eth_getBalance'),
      { ...head, holds: () => false },
      true,
    )
    assert.equal(lone.tracked, HEAD.number, 'a head not confirmed as it was pinned')
    const byNumber = await pin('eth_getBalance', [WHO, null], false)
    assert.deepEqual(byNumber.params, [WHO, '0x20'])
  })

  it('pins state reads at `latest` to a block the caller was shown above the agreed head, by its agreed hash (reviewOfSession39c)', async () => {
    const SHOWN = { number: 0x21, hash: `0x${'5e'.repeat(32)}` }
    const ahead = { ...head, shownAbove: () => SHOWN } as unknown as HeadTracker
    const at = (method: string, params: unknown[], byHash = true) =>
      pinBlock(method, params, classify(method), ahead, byHash)
    const balance = await at('eth_getBalance', [WHO, 'latest'])
    assert.deepEqual(balance.params, [WHO, { blockHash: SHOWN.hash }])
    assert.equal(balance.expectedHash, SHOWN.hash)
    assert.equal(balance.block, SHOWN)
    assert.deepEqual((await at('eth_getBalance', [WHO, 'latest'], false)).params, [WHO, '0x21'])
    // A block lookup is the agreed head's (reviewOfSession39j: below the shown block, nodes have none).
    const block = await at('eth_getBlockByNumber', ['latest', false])
    assert.deepEqual([block.params, block.expectedHash], [['0x20', false], HEAD.hash])
    const logs = await at('eth_getLogs', [{ fromBlock: '0x1' }])
    assert.deepEqual(logs.params, [{ fromBlock: '0x1', toBlock: '0x21' }])
    // A block named by number is read as named.
    assert.deepEqual((await at('eth_getBalance', [WHO, '0x20'])).params, [WHO, '0x20'])
  })

  it('refuses state reads and log ranges at `latest` while the domains are split over the shown block (reviewOfSession40e 1, 40g 1)', async () => {
    const SHOWN = { number: 0x21, hash: `0x${'5e'.repeat(32)}` }
    const split = {
      ...head,
      shownAbove: () => SHOWN,
      contested: () => true,
    } as unknown as HeadTracker
    const at = (method: string, params: unknown[]) =>
      pinBlock(method, params, classify(method), split, true)
    await assert.rejects(at('eth_getBalance', [WHO, 'latest']), { name: 'QuorumError' })
    await assert.rejects(at('eth_getLogs', [{ fromBlock: '0x1' }]), { name: 'QuorumError' })
    // Reads at a block named are not held to it.
    assert.deepEqual((await at('eth_getBalance', [WHO, '0x20'])).params, [WHO, '0x20'])
  })

  it('leaves out lagging sources for every read not at a block named by its hash', async () => {
    for (const [method, params] of [
      ['eth_getBalance', [WHO, '0x1']],
      ['eth_getBalance', [WHO, 'earliest']],
      ['eth_getBalance', [WHO, 'PENDING']],
      ['eth_getBlockByNumber', ['finalized', false]],
      ['eth_getBlockByNumber', ['0x01', false]],
      ['eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x2' }]],
      // Not in the table: the strictest rule, whatever its params.
      ['eth_getAccount', [WHO, 'latest']],
      ['anvil_nodeInfo', []],
      ['debug_traceTransaction', [HASH]],
    ] as const) {
      const pinned = await pin(method, [...params])
      assert.equal(pinned.headDependent, true, `${method} ${JSON.stringify(params)}`)
    }
    // `safe` by number is a height: a node on a fork has another block there.
    const safe = await pin('eth_getBalance', [WHO, 'safe'], false)
    assert.deepEqual([safe.params[1], safe.headDependent], ['0x10', true])
  })

  it('lets lagging sources answer lookups by hash and reads at a block hash', async () => {
    for (const [method, params] of [
      ['eth_getBalance', [WHO, { blockHash: HASH }]],
      ['eth_getBalance', [WHO, HASH]],
      ['eth_getBalance', [WHO, 'safe']],
      ['eth_getBlockByHash', [HASH, false]],
      ['eth_getRawTransactionByHash', [HASH]],
      ['eth_getLogs', [{ blockHash: HASH }]],
    ] as const) {
      const pinned = await pin(method, [...params])
      assert.equal(pinned.headDependent, false, `${method} ${JSON.stringify(params)}`)
    }
  })

  it('leaves out lagging and forked sources from a transaction or receipt by its hash', async () => {
    // Where it was mined is the chain's, not the hash's (test/adversarial/forkedInclusion.test.ts).
    for (const method of ['eth_getTransactionByHash', 'eth_getTransactionReceipt'] as const)
      assert.equal((await pin(method, [HASH])).headDependent, true, method)
  })

  it('leaves out lagging and forked sources at a block hash with requireCanonical (EIP-1898)', async () => {
    // It asks about the chain as it is now: two domains still on the fork that held the block
    // would agree on state of a dropped block, while up-to-date nodes say it is not canonical.
    for (const method of ['eth_getBalance', 'eth_getCode', 'eth_call'] as const) {
      const at = { blockHash: HASH, requireCanonical: true }
      const pinned = await pin(method, method === 'eth_call' ? [{ to: WHO }, at] : [WHO, at])
      assert.equal(pinned.headDependent, true, method)
    }
    const pinned = await pin('eth_getBalance', [WHO, { blockHash: HASH, requireCanonical: false }])
    assert.equal(pinned.headDependent, false, 'requireCanonical: false')
  })

  it('expects the hash a block or transaction is looked up by, in lower case', async () => {
    const upper = `0x${'AB'.repeat(32)}`
    assert.equal((await pin('eth_getBlockByHash', [upper, false])).expectedHash, HASH)
    assert.equal((await pin('eth_getRawTransactionByHash', [upper])).expectedHash, HASH)
    assert.equal((await pin('eth_getTransactionReceipt', [upper])).expectedHash, undefined)
  })

  it('leaves node-local answers to any source', async () => {
    assert.equal((await pin('web3_clientVersion', [])).headDependent, false)
    assert.equal((await pin('eth_syncing', [])).headDependent, false)
  })
})
