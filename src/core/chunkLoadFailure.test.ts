/**
 * The page's host fails while outlast's code loaded on first use is still to be fetched (a
 * dApp's CDN in an outage; `import()` rejects). No such failure is an unhandled rejection
 * (vitest fails a file that has one; `--unhandled-rejections=throw` ends a Node process), and a
 * chunk that failed is fetched again on its next use, not failed for the rest of the page.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, it, vi } from 'vitest'
import { h32, londonHeader } from '../../test/fixtures/headers.ts'
import { eip1193 } from '../sources/eip1193.ts'
import { http } from '../sources/http.ts'
import { computeBlockHash } from '../verify/block.ts'
import { createOutlast } from './createOutlast.ts'
import type { Prover } from './prover.ts'

const failures = vi.hoisted(() => ({
  preload: Infinity,
  streams: 1,
  trust: 1,
  batch: 1,
  logQuery: 1,
}))
const chunk = (name: keyof typeof failures) => {
  if (failures[name]-- > 0)
    throw new TypeError(`Failed to fetch dynamically imported module: ${name}.js`)
}
vi.mock('./preload.ts', () => {
  chunk('preload')
  return {}
})
vi.mock('./follow/streams.ts', async (actual) => {
  chunk('streams')
  return actual()
})
vi.mock('../sources/batch.ts', async (actual) => {
  chunk('batch')
  return actual()
})
vi.mock('./logQuery.ts', async (actual) => {
  chunk('logQuery')
  return actual()
})
vi.mock('./trust.ts', async (actual) => {
  chunk('trust')
  return actual()
})

/** A fresh header at `n` on `parent`: what both domains report as their head. */
function fresh(n: number, parent = h32('04')): Record<string, unknown> {
  const fields = { ...londonHeader(n, parent), hash: undefined }
  const now = { ...fields, timestamp: `0x${Math.floor(Date.now() / 1_000).toString(16)}` }
  return { ...now, hash: computeBlockHash(now as never) }
}
let head = fresh(5)

const node = {
  request: async ({ method }: { method: string }) => {
    if (method === 'eth_chainId') return '0x1'
    if (method === 'eth_blockNumber') return head.number
    if (method === 'eth_getBlockByNumber' || method === 'eth_getBlockByHash') return head
    if (method === 'eth_getLogs') return []
    throw new Error(`not in this test: ${method}`)
  },
}
const sources = () => [
  eip1193(node, { name: 'a', domain: 'a' }),
  eip1193(node, { name: 'b', domain: 'b' }),
]

const rejections: unknown[] = []
const record = (e: unknown) => rejections.push(e)
beforeEach(() => {
  rejections.length = 0
  process.on('unhandledRejection', record)
})
afterEach(() => {
  process.off('unhandledRejection', record)
})
const settle = () => new Promise((r) => setTimeout(r, 200))

describe('a chunk the host fails to serve', () => {
  it('preload: the client keeps answering; nothing rejects unhandled', async () => {
    const rpc = createOutlast({ chainId: 1, sources: sources(), preload: true })
    assert.equal(await rpc.request({ method: 'eth_chainId' }), '0x1')
    await settle()
    assert.equal(await rpc.request({ method: 'eth_blockNumber' }), '0x5')
    await rpc.close()
    assert.deepEqual(rejections.map(String), [])
  })

  it('subscriptions: the first use fails naming the chunk; the next fetches it again', async () => {
    const rpc = createOutlast({ chainId: 1, sources: sources() })
    // vitest wraps a mock's error; a browser's is a TypeError naming the chunk.
    await assert.rejects(rpc.request({ method: 'eth_newBlockFilter' }), (e: Error) =>
      /streams\.js/.test(String(e.cause)),
    )
    const id = await rpc.request({ method: 'eth_newBlockFilter' })
    assert.match(String(id), /^0x[0-9a-f]+$/)
    await rpc.close()
    assert.deepEqual(rejections.map(String), [])
  })

  it('the trust store (proofs): nothing rejects unhandled; it loads again, and the next agreed head anchors proofs', async () => {
    head = fresh(5)
    let asked = 0
    const prover: Prover = {
      methods: new Set(['eth_getBalance']),
      stateMethods: new Set(['eth_getBalance']),
      answer: async (_method, _params, ctx) => {
        asked++
        // Proven at the agreed head, a header the trust store took once it loaded.
        assert.equal(ctx.header?.hash, head.hash)
        return '0x7'
      },
    }
    const rpc = createOutlast({ chainId: 1, sources: sources(), prover, pollingInterval: 100 })
    assert.equal(await rpc.request({ method: 'eth_blockNumber' }), '0x5')
    await settle()
    // The load begun at construction failed: the head agreed meanwhile anchors nothing. The next
    // one is added to the store, loaded again.
    head = fresh(6, head.hash as string)
    for (let end = Date.now() + 3_000; Date.now() < end; await settle())
      if ((await rpc.request({ method: 'eth_blockNumber' })) === '0x6') break
    assert.equal(await rpc.request({ method: 'eth_blockNumber' }), '0x6')
    const address = h32('aa').slice(0, 42)
    const balance = await rpc.request({ method: 'eth_getBalance', params: [address, 'latest'] })
    assert.deepEqual([balance, asked], ['0x7', 1])
    await rpc.close()
    assert.deepEqual(rejections.map(String), [])
  })

  it('log queries: the first fails on the chunk, which counts against no source; the next loads it again', async () => {
    const rpc = createOutlast({ chainId: 1, sources: sources(), breaker: { threshold: 1 } })
    const query = { method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x5' }] }
    // Each source's attempt names the chunk (vitest's words for a mock that threw).
    await assert.rejects(rpc.request(query), /error when mocking a module/)
    assert.deepEqual(
      rpc.status().sources.map((s) => s.breaker),
      ['closed', 'closed'],
    )
    assert.deepEqual(await rpc.request(query), [])
    await rpc.close()
    assert.deepEqual(rejections.map(String), [])
  })

  it("batching (an http source's batch code): the first batched call fails; the next loads it again", async () => {
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        const calls = JSON.parse(body)
        const answer = (c: { id: number }) => ({ jsonrpc: '2.0', id: c.id, result: '0x1' })
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(Array.isArray(calls) ? calls.map(answer) : answer(calls)))
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const source = http(url, { batch: true })
      const call = () => source.request({ method: 'eth_chainId', params: [] })
      await assert.rejects(call(), (e: Error) => /batch\.js/.test(String(e.cause)))
      assert.equal(await call(), '0x1')
      await source.close?.()
    } finally {
      server.close()
    }
    assert.deepEqual(rejections.map(String), [])
  })
})
