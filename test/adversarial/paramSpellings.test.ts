/**
 * Params spelled otherwise than the rules read them: a hash without `0x` (anvil reads it),
 * `latest` as `null`, `{ blockNumber: 'latest' }` or `LATEST` (anvil reads all three, geth the
 * first two). A hash that is not `0x` and 64 hex digits is the caller's error, asked of no source;
 * a block is spelled one way before the rules, the request's key and the sources see it, so
 * `latest` is pinned however it is written; a method outside the table leaves lagging sources
 * out too.
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
import { ProviderRpcError } from '../../src/shared/errors.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import { type Anvil, devAccounts, mined, startAnvil, startLaggingNode } from '../lab/index.ts'
import { forgeHeader, hostile } from './hostile.ts'

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
})
afterAll(() => anvil?.stop())

type Block = Record<string, unknown> & { hash: string; number: string }

/** An honest source over anvil, 150 ms slow (so the liar answers first), its calls counted. */
function slow(name: string, url: string, asked: Map<string, unknown[][]>): Source {
  return hostile(
    http(url, { name, domain: name, timeout: 2_000 }),
    async (method, params, answer) => {
      asked.set(method, [...(asked.get(method) ?? []), [...params]])
      await sleep(150)
      return answer()
    },
  )
}

describe('a lookup by hash is bound to the hash asked for', () => {
  let real: Block
  let forged: Block
  const asked = new Map<string, unknown[][]>()
  /** The fastest source: a correctly hashed block of its own under any hash. */
  const liar = () =>
    hostile(
      http(anvil.url, { name: 'liar', domain: 'liar-host', timeout: 2_000 }),
      async (method, params, answer) => {
        asked.set(method, [...(asked.get(method) ?? []), [...params]])
        return method === 'eth_getBlockByHash' ? forged : answer()
      },
    )
  const client = (policies: OutlastOptions['policies'] = {}) =>
    createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      policies,
      sources: [slow('aws', anvil.url, asked), slow('gcp', anvil.url, asked), liar()],
    })

  beforeAll(async () => {
    real = await anvil.rpc<Block>('eth_getBlockByNumber', ['latest', false])
    // Empty, so a checked one stands alone; its `size` left out (it would be the forged one's).
    const { size: _size, ...header } = real
    forged = forgeHeader(header, Number(real.number), 7) as Block
  })

  it('a hash without 0x (which anvil reads) is the caller’s -32602, asked of no source', async () => {
    const bare = real.hash.slice(2)
    assert.equal((await anvil.rpc<Block>('eth_getBlockByHash', [bare, false])).hash, real.hash)
    const rpc = client()
    try {
      await rpc.connect()
      asked.clear()
      for (const [method, params] of [
        ['eth_getBlockByHash', [bare, false]],
        ['eth_getTransactionByBlockHashAndIndex', [bare, '0x0']],
        ['eth_getBlockTransactionCountByHash', [bare]],
        ['eth_getTransactionByHash', [`0x${'ab'.repeat(31)}`]],
        ['eth_getRawTransactionByHash', [bare]],
        ['eth_getTransactionReceipt', [`${real.hash}00`]],
      ] as const)
        await assert.rejects(
          rpc.requestWithMeta({ method, params: [...params] }),
          (e: unknown) => e instanceof ProviderRpcError && e.code === -32602,
          method,
        )
      assert.deepEqual([...asked.keys()], [], 'no source was asked')
      // Spelled as a hash, the liar's block is its lie and the real one stands alone; cached,
      // it is the answer to any case of the same hash.
      const read = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [real.hash, false],
      })
      assert.equal((read.result as Block).hash, real.hash)
      assert.equal(read.meta.consistency, 'verified')
      const upper = `0x${bare.toUpperCase()}`
      const again = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [upper, false],
      })
      assert.equal((again.result as Block).hash, real.hash)
      assert.equal(again.meta.consistency, 'cached')
    } finally {
      await rpc.close()
    }
  })

  it('a lookup whose policy names no hash to expect needs agreement, never the fastest block', async () => {
    // A user's policy without `hashParam`: the hash goes to the sources as it is, unchecked.
    const rpc = client({ eth_getBlockByHash: { class: 'verified' } })
    try {
      await rpc.connect()
      const read = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [real.hash.slice(2), false],
      })
      assert.equal((read.result as Block).hash, real.hash)
      assert.equal(read.meta.consistency, 'agreed')
      assert.ok(!read.meta.sources.includes('liar'))
    } finally {
      await rpc.close()
    }
  })
})

describe('a transaction by its block and index', () => {
  it('an index spelled with leading zeros is answered, never held against the sources', async () => {
    const hash = await anvil.rpc<string>('eth_sendTransaction', [
      { from: devAccounts[1].address, to: devAccounts[2].address, value: '0x1' },
    ])
    const block = await mined<{ blockHash: string; blockNumber: string }>(anvil, hash)
    const asked = new Map<string, unknown[][]>()
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [slow('aws', anvil.url, asked), slow('gcp', anvil.url, asked)],
    })
    try {
      for (const [method, at] of [
        [
          'eth_getTransactionByBlockHashAndIndex',
          block.blockHash.toUpperCase().replace('0X', '0x'),
        ],
        ['eth_getTransactionByBlockNumberAndIndex', block.blockNumber.replace('0x', '0x00')],
      ] as const) {
        const { result, meta } = await rpc.requestWithMeta({ method, params: [at, '0x00'] })
        assert.equal((result as { hash: string }).hash, hash, method)
        assert.equal(meta.consistency, 'agreed')
      }
      // Sources were asked as geth reads it (no leading zeros); none was blamed.
      for (const params of asked.get('eth_getTransactionByBlockHashAndIndex') ?? [])
        assert.equal(params[1], '0x0')
      assert.deepEqual(
        rpc.status().sources.map((s) => s.lastError),
        [undefined, undefined],
      )
    } finally {
      await rpc.close()
    }
  })
})

describe('`latest` however it is spelled: lagging sources left out', () => {
  const WHO = '0x00000000000000000000000000000000000b0b01'
  let lagging: Anvil
  let rpc: Outlast
  let fresh: string
  const asked = new Map<string, unknown[][]>()
  const homeAsked: string[] = []

  beforeAll(async () => {
    await anvil.rpc('anvil_setBalance', [WHO, '0x1'])
    await sleep(1_100)
    lagging = await startLaggingNode(anvil)
    await sleep(1_100)
    // The chain moves on; the lagging node keeps the old balance.
    await anvil.rpc('anvil_setBalance', [WHO, '0xde0b6b3a7640000'])
    fresh = await anvil.rpc<string>('eth_getBalance', [WHO, 'latest'])
    assert.notEqual(await lagging.rpc('eth_getBalance', [WHO, 'latest']), fresh)
    // The fastest liar follows the chain's heads (it is not lagging) but answers old state.
    const liar = hostile(
      http(anvil.url, { name: 'liar', domain: 'liar-host', timeout: 2_000 }),
      async (method, params, answer) =>
        method === 'eth_getBalance' || method === 'eth_getAccount'
          ? lagging.rpc(method, [params[0], 'latest'])
          : answer(),
    )
    const home = hostile(
      http(lagging.url, { name: 'home', domain: 'home', kind: 'self-hosted', timeout: 2_000 }),
      async (method, _params, answer) => {
        homeAsked.push(method)
        return answer()
      },
    )
    rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 300,
      sources: [slow('aws', anvil.url, asked), slow('gcp', anvil.url, asked), home, liar],
    })
    await rpc.connect()
    // The chain moves past `maxLag`: the home node is lagging (seen by the head polls).
    const until = Date.now() + 15_000
    while (rpc.status().sources.find((s) => s.name === 'home')?.condition !== 'lagging') {
      assert.ok(Date.now() < until, 'home never fell behind')
      await rpc.request({ method: 'eth_blockNumber' })
      await sleep(300)
    }
  }, 30_000)
  afterAll(async () => {
    await rpc?.close()
    await lagging?.stop()
  })

  it('eth_getBalance at null, { blockNumber: "latest" }, "LATEST": the chain’s balance, pinned', async () => {
    asked.clear()
    for (const tag of [
      'latest',
      null,
      { blockNumber: 'latest' },
      'LATEST',
      { blockNumber: 'Latest' },
    ]) {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBalance',
        params: [WHO, tag],
      })
      assert.equal(result, fresh, JSON.stringify(tag))
      assert.equal(meta.consistency, 'agreed')
      assert.ok(meta.block, 'pinned to the agreed head')
    }
    // Sources see `latest` pinned to a block hash, never the caller's spelling.
    for (const params of asked.get('eth_getBalance') ?? [])
      assert.ok(typeof params[1] === 'object' && params[1] && 'blockHash' in params[1])
    assert.ok(!homeAsked.includes('eth_getBalance'), 'the lagging node was not asked')
  })

  it('two spellings asked at once share one request', async () => {
    asked.clear()
    const answers = await Promise.all(
      [null, 'LATEST', { blockNumber: 'latest' }].map((tag) =>
        rpc.request({ method: 'eth_getBalance', params: [WHO, tag] }),
      ),
    )
    assert.deepEqual(answers, [fresh, fresh, fresh])
    assert.equal(asked.get('eth_getBalance')?.length, 2, 'aws and gcp, each asked once')
  })

  it('a block spelled as no block is the caller’s -32602, asked of no source', async () => {
    asked.clear()
    for (const tag of ['newest', 1, { blockNumber: null }, { blockHash: 'ab'.repeat(32) }])
      await assert.rejects(
        rpc.request({ method: 'eth_getBalance', params: [WHO, tag] }),
        (e: unknown) => e instanceof ProviderRpcError && e.code === -32602,
        JSON.stringify(tag),
      )
    assert.equal(asked.size, 0)
  })

  it('a method outside the table (eth_getAccount) leaves the lagging node out too', async () => {
    const { result, meta } = await rpc.requestWithMeta({
      method: 'eth_getAccount',
      params: [WHO, 'latest'],
    })
    assert.equal((result as { balance: string }).balance, fresh)
    assert.equal(meta.consistency, 'agreed')
    assert.ok(!homeAsked.includes('eth_getAccount'), 'the lagging node was not asked')
  })
})
