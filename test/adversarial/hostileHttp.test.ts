/**
 * Hostile class: an http() endpoint that misbehaves at the HTTP layer (redirects, odd ids), and
 * callers of `outlast proxy` that misbehave (a DNS-rebound page, batches, slow bodies, methods
 * that spend). Local node:http servers and a stub client: fast and deterministic.
 */
import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { afterEach, describe, it } from 'vitest'
import { createOutlast, http, type Outlast, type Source } from '../../src/index.ts'
import { startProxyServer } from '../../src/proxy/server.ts'
import { SourceError } from '../../src/shared/errors.ts'
import { CHAIN_ID, type Handler, serve as serveOn } from '../helpers.ts'
import { devAccounts, startLab } from '../lab/index.ts'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const serve = (handler: Handler) => serveOn(handler, cleanups)

const json = (res: ServerResponse, body: unknown) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

const KEY = '9f3c2a7be41d08c6a5f2e19d7b3c4a60'
const HEADER_KEY = 'hk_7Qz1xV9pL2mN8rT4'

describe('a hostile http() endpoint', () => {
  it('does not follow a redirect to another origin: the key header never reaches it', async () => {
    const seen: IncomingMessage['headers'][] = []
    const elsewhere = await serve((req, res, body) => {
      seen.push(req.headers)
      json(res, { jsonrpc: '2.0', id: JSON.parse(body).id, result: '0x1' })
    })
    // Another origin: another host name (and port).
    const target = `${elsewhere.replace('127.0.0.1', 'localhost')}/collect`
    const url = await serve((_req, res) => {
      res.writeHead(307, { location: target })
      res.end()
    })
    const source = http(`${url}/v3/${KEY}`, { headers: { 'x-api-key': HEADER_KEY } })
    const outcome = await source.request({ method: 'eth_chainId' }).then(
      (answer) => ({ answer }),
      (error: unknown) => ({ error }),
    )
    assert.deepEqual(
      seen.map((h) => h['x-api-key']),
      [],
      'the redirect target received the request, with the API key header',
    )
    assert.ok('error' in outcome && outcome.error instanceof SourceError, 'a failure of the source')
  })

  it('scrubs a node-chosen id before cutting it short: no part of the key survives', async () => {
    const url = await serve((_req, res) => {
      // An id that quotes the key: cut at 40 characters, only a prefix of it remains.
      json(res, { jsonrpc: '2.0', id: `request ${KEY}`, result: '0x1' })
    })
    const source = http(`${url}/v3/${KEY}`)
    await assert.rejects(source.request({ method: 'eth_chainId' }), (e: unknown) => {
      assert.ok(e instanceof SourceError)
      assert.ok(!e.message.includes(KEY.slice(0, 16)), `the key's first half leaked: ${e.message}`)
      return true
    })
  })
})

/** A stand-in client for the proxy: `request` counts the calls in flight. */
function stubClient(onRequest: (method: string) => Promise<unknown>) {
  const stats = { inFlight: 0, maxInFlight: 0, methods: [] as string[] }
  const rpc = {
    chainId: CHAIN_ID,
    async request({ method }: { method: string }) {
      stats.methods.push(method)
      stats.inFlight++
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
      try {
        return await onRequest(method)
      } finally {
        stats.inFlight--
      }
    },
    status: () => ({
      sources: [{ name: 'home', url: 'http://192.168.1.20:8545/…', domain: 'home' }],
    }),
    subscribe: async () => ({ id: '0x1', unsubscribe: async () => {} }),
    on() {},
    removeListener() {},
    close: async () => {},
  }
  return { rpc: rpc as unknown as Outlast, stats }
}

async function proxyFor(rpc: Outlast, o: { maxConcurrent?: number } = {}) {
  const proxy = await startProxyServer(rpc, {
    port: 0,
    host: '127.0.0.1',
    cors: [],
    maxBodyBytes: 1_048_576,
    maxConcurrent: o.maxConcurrent ?? 256,
  })
  cleanups.push(() => proxy.close())
  return proxy
}

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

/** A raw HTTP/1.1 request, so that the Host header can be what a rebound DNS name makes it. */
function rawGet(port: number, path: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    )
    let text = ''
    socket.on('data', (d) => {
      text += d
    })
    socket.on('end', () => resolve(text))
    socket.on('error', reject)
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('outlast proxy against hostile callers', () => {
  it('refuses a request for another host name (a DNS-rebound web page reading /status)', async () => {
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc)
    // A page at http://rebind.attacker.example:PORT whose name now resolves to 127.0.0.1: a
    // same-origin GET carries no Origin header, only the attacker's Host.
    const answer = await rawGet(proxy.port, '/status', `rebind.attacker.example:${proxy.port}`)
    const status = Number(answer.split(' ')[1])
    assert.ok(status >= 400, `served /status to a foreign Host:\n${answer.slice(0, 400)}`)
  })

  it('counts every call of a batch against maxConcurrent', async () => {
    const { rpc, stats } = stubClient(async () => {
      await sleep(50)
      return '0x1'
    })
    const proxy = await proxyFor(rpc, { maxConcurrent: 2 })
    const batch = Array.from({ length: 50 }, (_, i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'eth_getBalance',
      params: [`0x${i.toString(16).padStart(40, '0')}`, 'latest'],
    }))
    await (await post(proxy.url, batch)).text()
    assert.ok(
      stats.maxInFlight <= 2,
      `one batch ran ${stats.maxInFlight} calls at once past maxConcurrent 2`,
    )
  })

  it('a client whose body never finishes does not hold a slot for long', async () => {
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc, { maxConcurrent: 1 })
    // Slowloris: headers promise 100 bytes, 10 arrive, the rest never do.
    const slow = connect(proxy.port, '127.0.0.1', () =>
      slow.write(
        `POST / HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jsonrpc"`,
      ),
    )
    slow.on('error', () => {})
    cleanups.push(async () => void slow.destroy())
    await sleep(200)
    const started = Date.now()
    let status = 0
    while (Date.now() - started < 5_000) {
      status = (await post(proxy.url, { jsonrpc: '2.0', id: 1, method: 'eth_chainId' })).status
      if (status === 200) break
      await sleep(250)
    }
    assert.equal(status, 200, 'the stalled body still holds the only slot after 5 s')
  })
})

describe('methods that spend, through outlast', () => {
  it('never forwards an unlisted signing method (eth_sendUnsignedTransaction, eth_resend) to a source', async () => {
    const lab = await startLab({
      blockTime: 0,
      sources: [
        { name: 'a', domain: 'a' },
        { name: 'b', domain: 'b' },
      ],
    })
    cleanups.push(() => lab.stop())
    const asked: string[] = []
    const sources: Source[] = lab.sources.map((s) => {
      const inner = http(s.proxy.url, { name: s.name, domain: s.domain, fetchFn: s.proxy.fetch })
      return {
        config: inner.config,
        request: (body, options) => {
          asked.push(body.method)
          return inner.request(body, options)
        },
      }
    })
    const rpc = createOutlast({ chainId: CHAIN_ID, sources })
    cleanups.push(() => rpc.close())
    await rpc.connect()
    const dead = '0x000000000000000000000000000000000000dEaD'
    // anvil signs for its dev accounts (and any impersonated one) without a signature.
    const spend = { from: devAccounts[0].address, to: dead, value: '0xde0b6b3a7640000' }
    for (const method of ['eth_sendUnsignedTransaction', 'eth_resend'])
      await rpc.request({ method, params: [spend] }).catch(() => {})
    assert.equal(
      BigInt(await lab.anvil.rpc('eth_getBalance', [dead, 'latest'])),
      0n,
      'anvil sent 1 ETH from a dev account through outlast',
    )
    assert.deepEqual(
      asked.filter((m) => /send/i.test(m)),
      [],
      'signing methods reached the sources',
    )
  })
})

describe('a __proto__ member in an answer', () => {
  it('is compared like any other member: an answer that adds one does not agree with one that lacks it', async () => {
    const lab = await startLab({
      blockTime: 0,
      sources: [
        { name: 'honest', domain: 'a', latency: 150 },
        { name: 'liar', domain: 'b' },
      ],
    })
    cleanups.push(() => lab.stop())
    const [honest, liar] = lab.sources.map((s) =>
      http(s.proxy.url, { name: s.name, domain: s.domain, fetchFn: s.proxy.fetch }),
    ) as [Source, Source]
    const hostileLiar: Source = {
      config: liar.config,
      async request(body, options) {
        const answer = await liar.request(body, options)
        if (body.method !== 'eth_feeHistory') return answer
        // As JSON.parse makes it from a body: an own data member named __proto__.
        const text = JSON.stringify(answer).replace(
          /^\{/,
          '{"__proto__":{"oldestBlock":"0x0","reward":[["0xdead"]]},',
        )
        return JSON.parse(text)
      },
    }
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [honest, hostileLiar] })
    cleanups.push(() => rpc.close())
    await rpc.connect()
    const outcome = await rpc
      .request({ method: 'eth_feeHistory', params: ['0x1', 'latest', [50]] })
      .then(
        (answer) => ({ answer }),
        (error: unknown) => ({ error }),
      )
    if ('answer' in outcome)
      assert.ok(
        !Object.hasOwn(outcome.answer as object, '__proto__'),
        `agreed on the liar's answer, __proto__ member and all: ${JSON.stringify(outcome.answer)}`,
      )
  })
})
