/**
 * The caller's side: what a caller sends or does must not crash the host, hide the real error
 * or count against sources — an unknown method every node refuses, a throwing event listener,
 * an unsubscribe after close(), a caller mutating its answer.
 */
import assert from 'node:assert/strict'
import { createPublicClient } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { outlast } from '../../src/adapters/viem.ts'
import { ProviderRpcError } from '../../src/index.ts'
import { clientFor, resetLab, sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
})
afterAll(() => lab.stop())

/** Unhandled rejections and uncaught exceptions while `fn` runs (they would kill a host). */
async function crashes(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = []
  const record = (e: unknown) => seen.push(e)
  process.on('unhandledRejection', record)
  process.on('uncaughtException', record)
  try {
    await fn()
    await sleep(50)
  } finally {
    process.off('unhandledRejection', record)
    process.off('uncaughtException', record)
  }
  return seen
}

describe('an unknown method that every node refuses', () => {
  const typos = ['eth_getBalanse', 'eth_blockNumbr', 'foo_bar', 'debug_nope', 'x', 'eth_call2']
  for (const method of typos)
    it(`${method}: the node's -32601 reaches the caller; no source is blamed`, async () => {
      await resetLab(lab)
      const rpc = clientFor(lab)
      const events: string[] = []
      rpc.on('disconnect', () => events.push('disconnect'))
      rpc.on('source', (e) => events.push(`${e.source}:${e.to}`))
      try {
        await rpc.request({ method: 'eth_chainId' })
        for (let i = 0; i < 5; i++) {
          const error = await rpc.request({ method, params: [] }).then(
            () => assert.fail('answered'),
            (e: unknown) => e,
          )
          assert.ok(error instanceof ProviderRpcError, String(error))
          assert.equal(error.code, -32601)
          assert.match(error.message, /not (found|exist|supported|available)/i)
        }
        assert.deepEqual(
          events.filter((e) => e === 'disconnect' || /:(down|degraded|lying)$/.test(e)),
          [],
        )
        for (const s of rpc.status().sources) {
          assert.equal(s.breaker, 'closed', `${s.name}'s breaker`)
          assert.equal(s.errorRate, 0, `${s.name}'s error rate`)
        }
        // The sources still answer at once.
        const { meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [devAccounts[0].address, 'latest'],
        })
        assert.equal(meta.consistency, 'agreed')
      } finally {
        await rpc.close()
      }
    })
})

describe('a listener that throws', () => {
  it('breaks neither the request nor the host', async () => {
    const rpc = clientFor(lab)
    const errors: unknown[] = []
    const original = console.error
    console.error = (...args: unknown[]) => errors.push(args)
    try {
      const seen = await crashes(async () => {
        for (const event of ['request', 'head', 'source', 'connect'] as const)
          rpc.on(event, () => {
            throw new Error(`listener of ${event}`)
          })
        await rpc.connect()
        assert.equal(await rpc.request({ method: 'eth_chainId' }), '0x7a69')
        await rpc.request({ method: 'eth_blockNumber' })
      })
      assert.deepEqual(seen, [])
      assert.ok(errors.length > 0, 'the listener error is reported')
    } finally {
      console.error = original
      await rpc.close()
    }
  })
})

describe('unsubscribe after close()', () => {
  it('never rejects: raw subscriptions and viem watchers', async () => {
    const rpc = clientFor(lab)
    const client = createPublicClient({ transport: outlast(rpc) })
    const seen = await crashes(async () => {
      const sub = await rpc.subscribe(['newHeads'], () => {})
      const unwatch = client.watchBlockNumber({ poll: false as never, onBlockNumber: () => {} })
      const unwatchLogs = client.watchEvent({ poll: false as never, onLogs: () => {} })
      await sleep(200)
      await rpc.close()
      assert.equal(await sub.unsubscribe(), false)
      unwatch()
      unwatchLogs()
      await sleep(100)
    })
    assert.deepEqual(seen, [])
  })
})

describe('answers handed to callers', () => {
  it('are never shared: a caller changing its answer changes no one else’s, nor the cache', async () => {
    const rpc = clientFor(lab)
    try {
      const block = (
        await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['latest', false])
      ).hash
      const ask = () =>
        rpc.request({ method: 'eth_getBlockByHash', params: [block, false] }) as Promise<
          Record<string, unknown>
        >
      // Two callers sharing one request in flight, then a cached answer.
      const [a, b] = await Promise.all([ask(), ask()])
      assert.notEqual(a, b)
      a.hash = '0xdead'
      ;(a.transactions as unknown[]).push('0xbeef')
      assert.equal(b.hash, block)
      const c = await ask()
      assert.equal(c.hash, block)
      assert.equal((c.transactions as unknown[]).includes('0xbeef'), false)
      c.number = '0x0'
      assert.notEqual((await ask()).number, '0x0')
    } finally {
      await rpc.close()
    }
  })
})

describe('a block hash the caller made up', () => {
  it('state reads at it fail with the nodes\' "unknown block"; no source is blamed, the next read is agreed', async () => {
    await resetLab(lab)
    const rpc = clientFor(lab)
    const events: string[] = []
    rpc.on('disconnect', () => events.push('disconnect'))
    rpc.on('source', (e) => events.push(`${e.source}:${e.to}`))
    const address = devAccounts[1]!.address
    try {
      await rpc.request({ method: 'eth_blockNumber' })
      for (let i = 0; i < 6; i++) {
        const blockHash = `0x${'ab'.repeat(31)}${i.toString(16).padStart(2, '0')}`
        const error = await rpc
          .request({ method: 'eth_getBalance', params: [address, { blockHash }] })
          .then(
            () => assert.fail('answered'),
            (e: unknown) => e,
          )
        // EIP-1474's "resource not found" (anvil), or a node's "unknown block".
        assert.match(String((error as Error).message), /not found|unknown block/i)
      }
      assert.deepEqual(
        events.filter((e) => e === 'disconnect' || /:(down|degraded|lying)$/.test(e)),
        [],
      )
      for (const s of rpc.status().sources) assert.equal(s.condition, 'healthy', s.name)
      const { meta } = await rpc.requestWithMeta({
        method: 'eth_getBalance',
        params: [address, 'latest'],
      })
      assert.equal(meta.consistency, 'agreed')
    } finally {
      await rpc.close()
    }
  })
})
