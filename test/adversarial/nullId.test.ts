/**
 * Hostile class: a node that answers `id: null` ("I could not read your request") with its own
 * error. Property: whatever the code and message, the caller gets that error (its code and
 * message, or a `body` failure that quotes it), never an anonymous "id mismatch"; and a client
 * with honest sources beside it still answers correctly.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, it } from 'vitest'
import WS, { WebSocketServer } from 'ws'
import { createOutlast, http, webSocket } from '../../src/index.ts'
import { RpcResponseError, SourceError } from '../../src/shared/errors.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'

const CHAIN_ID = 31337
/** Methods the hostile nodes answer honestly, so that they stay in use (chain id, head). */
const HONEST = new Set(['eth_chainId', 'net_version', 'eth_blockNumber', 'eth_getBlockByNumber'])

type Call = { jsonrpc: '2.0'; id: number; method: string; params?: unknown[] }
/** What the node says when it "cannot read" a call. */
type NodeError = { code: number; message: string }
/**
 * How the HTTP node answers: `single` an `id: null` error to each unreadable call (and to a
 * whole batch), `element` a batch with one element answered `id: null`.
 */
type Mode = 'single' | 'element'

let anvil: Anvil
let nodeError: NodeError = { code: -32700, message: 'parse error' }
let mode: Mode = 'single'
/** WebSocket node: answer `id: null` once this many unreadable calls are waiting (1 or 2). */
let gather = 1

const forward = async (calls: Call | Call[]) =>
  (
    await fetch(anvil.url, {
      method: 'POST',
      body: JSON.stringify(calls),
      headers: { 'content-type': 'application/json' },
    })
  ).json()
const nullReply = () => ({ jsonrpc: '2.0', id: null, error: nodeError })
const readable = (c: Call) => HONEST.has(c.method)

async function httpAnswer(body: Call | Call[]): Promise<unknown> {
  if (!Array.isArray(body)) return readable(body) ? forward(body) : nullReply()
  if (body.every(readable)) return forward(body)
  if (mode === 'single') return nullReply()
  const answers = (await forward(body)) as { id: number }[]
  const unread = body.find((c) => !readable(c))!
  return answers.map((a) => (a.id === unread.id ? nullReply() : a))
}

const nodeMessage = (e: unknown) => e instanceof Error && `${e.message}`.includes(nodeError.message)

let httpUrl: string
let wsUrl: string
let stop: () => Promise<void>

beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
  const server = createServer(async (req, res) => {
    try {
      let body = ''
      for await (const chunk of req) body += chunk
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(await httpAnswer(JSON.parse(body))))
    } catch {
      res.destroy() // anvil gone (the file is ending): drop the call, never an unhandled rejection
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.once('listening', r))
  wsUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
  wss.on('connection', (socket) => {
    let waiting = 0
    socket.on('message', async (data) => {
      const call = JSON.parse(String(data)) as Call
      if (readable(call))
        return forward(call).then(
          (answer) => socket.send(JSON.stringify(answer)),
          () => socket.terminate(),
        )
      // With several calls waiting, the node's `id: null` cannot say which it could not read.
      if (++waiting < gather) return
      waiting = 0
      socket.send(JSON.stringify(nullReply()))
    })
  })
  stop = async () => {
    for (const c of wss.clients) c.terminate()
    await new Promise((r) => wss.close(r))
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
})
afterAll(async () => {
  await stop()
  await anvil.stop()
})

const nodeErrors = fc.record({
  code: fc.constantFrom(-32700, -32600, -32603, -32000, 3),
  message: fc.string({ minLength: 4, maxLength: 40 }).map((s) => `cannot read it: ${s}`),
})
const balance = { method: 'eth_getBalance', params: [devAccounts[0].address, 'latest'] }

/** An RpcResponseError with the node's code and message. */
const isNodeError = (e: unknown) => {
  assert.ok(e instanceof RpcResponseError, `expected the node's error, got ${e}`)
  assert.equal(e.code, nodeError.code)
  assert.ok(nodeMessage(e), e.message)
  return true
}

describe('a node answering id: null', () => {
  it('http: a single call gets the node error, not an id mismatch', async () => {
    mode = 'single'
    const s = http(httpUrl, { name: 'null-id', timeout: 2_000 })
    await fc.assert(
      fc.asyncProperty(nodeErrors, async (e) => {
        nodeError = e
        await assert.rejects(s.request(balance), isNodeError)
      }),
      { numRuns: 30 },
    )
  })

  it('http: a batch refused with one id: null error fails each call with it', async () => {
    mode = 'single'
    const s = http(httpUrl, { name: 'null-id', timeout: 2_000, batch: true })
    await fc.assert(
      fc.asyncProperty(nodeErrors, async (e) => {
        nodeError = e
        const calls = [balance, { method: 'eth_chainId' }, { method: 'eth_gasPrice' }]
        const results = await Promise.allSettled(calls.map((c) => s.request(c)))
        for (const r of results) {
          assert.equal(r.status, 'rejected')
          isNodeError(r.reason)
        }
      }),
      { numRuns: 20 },
    )
  })

  it('http: a batch element answered id: null is the one unanswered call', async () => {
    mode = 'element'
    const s = http(httpUrl, { name: 'null-id', timeout: 2_000, batch: true })
    nodeError = { code: -32600, message: 'invalid request: cannot read it' }
    const [chainId, bad] = await Promise.allSettled([
      s.request({ method: 'eth_chainId' }),
      s.request(balance),
    ])
    assert.deepEqual(chainId, { status: 'fulfilled', value: '0x7a69' })
    assert.equal(bad.status, 'rejected')
    isNodeError((bad as PromiseRejectedResult).reason)
  })

  it('webSocket: one call in flight gets the node error; several fail quoting it', async () => {
    const s = webSocket(wsUrl, {
      name: 'null-id-ws',
      timeout: 2_000,
      webSocketImpl: WS,
      heartbeat: false, // a heartbeat in flight would be a second call
    })
    try {
      await fc.assert(
        fc.asyncProperty(nodeErrors, async (e) => {
          nodeError = e
          gather = 1
          await assert.rejects(s.request(balance), isNodeError)
          gather = 2
          const both = await Promise.allSettled([s.request(balance), s.request(balance)])
          for (const r of both) {
            assert.equal(r.status, 'rejected')
            const error = (r as PromiseRejectedResult).reason
            assert.ok(error instanceof SourceError && error.kind === 'body', String(error))
            assert.ok(nodeMessage(error), error.message)
          }
        }),
        { numRuns: 15 },
      )
    } finally {
      gather = 1
      s.close()
    }
  })

  it('a client names the node error, and with honest sources beside it answers right', async () => {
    mode = 'single'
    const expected = await anvil.rpc('eth_getBalance', balance.params)
    const hostile = () => [
      http(httpUrl, { name: 'null-http', domain: 'evil-a', timeout: 1_000 }),
      webSocket(wsUrl, { name: 'null-ws', domain: 'evil-b', timeout: 1_000, webSocketImpl: WS }),
    ]
    await fc.assert(
      fc.asyncProperty(nodeErrors, async (e) => {
        nodeError = e
        const alone = createOutlast({ chainId: CHAIN_ID, sources: hostile(), timeout: 3_000 })
        try {
          await assert.rejects(alone.request(balance), (error: unknown) => {
            assert.ok(nodeMessage(error), String(error))
            return true
          })
        } finally {
          await alone.close()
        }
        const mixed = createOutlast({
          chainId: CHAIN_ID,
          timeout: 3_000,
          sources: [
            ...hostile(),
            http(anvil.url, { name: 'honest-a', domain: 'a' }),
            http(anvil.url, { name: 'honest-b', domain: 'b' }),
          ],
        })
        try {
          assert.equal(await mixed.request(balance), expected)
        } finally {
          await mixed.close()
        }
      }),
      { numRuns: 5 },
    )
  })
})
