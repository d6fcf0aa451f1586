/**
 * Review of the proxy's third round of fixes (ae33cf0): what they broke or left open ("holes":
 * each failed on that code for its own reason) and attacks that held. A stub
 * client and raw sockets; no timing tighter than hundreds of ms.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import { connect, type Socket } from 'node:net'
import { afterEach, describe, it } from 'vitest'
import WebSocket from 'ws'
import type { Outlast } from '../../src/index.ts'
import { hostAllowed } from '../../src/proxy/access.ts'
import { resolveProxyConfig } from '../../src/proxy/config.ts'
import { startProxyServer } from '../../src/proxy/server.ts'
import { CHAIN_ID } from '../helpers.ts'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function stubClient(onRequest: (method: string) => Promise<unknown>) {
  const stats = { calls: [] as string[], inFlight: 0, closes: 0 }
  const rpc = {
    chainId: CHAIN_ID,
    async request({ method }: { method: string }) {
      stats.calls.push(method)
      stats.inFlight++
      try {
        return await onRequest(method)
      } finally {
        stats.inFlight--
      }
    },
    status: () => ({
      chainId: CHAIN_ID,
      head: undefined,
      headConfirmed: false,
      quorum: { domains: 1, healthyDomains: [], met: false },
      sources: [],
    }),
    subscribe: async () => ({ id: '0x1', unsubscribe: async () => true }),
    on() {},
    removeListener() {},
    close: async () => {
      stats.closes++
    },
  }
  return { rpc: rpc as unknown as Outlast, stats }
}

function gate() {
  let open!: () => void
  const shut = new Promise<void>((r) => {
    open = r
  })
  return { shut, open }
}

async function proxyFor(rpc: Outlast, o: { maxConcurrent?: number; cors?: string[] } = {}) {
  return startProxyServer(rpc, {
    port: 0,
    host: '127.0.0.1',
    cors: o.cors ?? [],
    maxBodyBytes: 1_048_576,
    maxConcurrent: o.maxConcurrent ?? 256,
  })
}

async function rawSocket(port: number) {
  const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  s.on('error', () => {})
  cleanups.push(async () => void s.destroy())
  await new Promise((r) => s.once('connect', r))
  let got = ''
  s.on('data', (d) => {
    got += d.toString('latin1')
  })
  return { socket: s as Socket, got: () => got }
}

/** How long `close()` took, or -1 if it was still pending after `limit` ms. */
async function closeTime(proxy: { close(): Promise<void> }, limit: number) {
  const started = Date.now()
  const closing = proxy.close().then(() => Date.now() - started)
  cleanups.push(() => closing)
  return Promise.race([closing, sleep(limit).then(() => -1)])
}

const base = { chainId: CHAIN_ID, sources: [{ type: 'http', url: 'http://127.0.0.1:1' }] }
const call = (id: number, method = 'eth_chainId') => ({ jsonrpc: '2.0', id, method })

describe('holes', () => {
  it('a refused WebSocket upgrade whose client keeps its half of the connection open does not hold close() forever', async () => {
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc)
    // A rebinding page's upgrade (or any script): refused with 403 and socket.end(); the HTTP
    // server is allowHalfOpen, so the socket stays until the client ends its side, and an upgraded
    // socket is no longer one closeAllConnections() knows.
    const { socket, got } = await rawSocket(proxy.port)
    socket.write(
      'GET / HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    for (let i = 0; i < 80 && !got().includes('\r\n\r\n'); i++) await sleep(25)
    assert.match(got(), /^HTTP\/1.1 403/)
    const took = await closeTime(proxy, 5000)
    socket.destroy() // lets close() end, for the clean-up
    assert.notEqual(
      took,
      -1,
      'close() still pending 5 s later with nothing in flight: the refused upgrade socket (ended, never destroyed) keeps server.close() waiting for as long as its client likes',
    )
  })

  it('pipelined requests whose client left do not hold close() for its whole grace (their responses never emit close)', async () => {
    const { rpc } = stubClient(async () => {
      await sleep(200)
      return '0x1'
    })
    const proxy = await proxyFor(rpc)
    const { socket } = await rawSocket(proxy.port)
    const body = JSON.stringify(call(1))
    const one = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
    socket.write(one + one + one)
    await sleep(100)
    socket.destroy()
    // Every handler has answered by now; only the queued responses' 'close' is awaited.
    await sleep(800)
    const took = await closeTime(proxy, 5000)
    assert.notEqual(
      took,
      -1,
      'close() still pending 5 s later with nothing in flight: a pipelined response queued behind another never emits close when its socket dies, so its entry stays in `settled` (it grows by one per such request) and close() waits out CLOSE_GRACE',
    )
  })

  it('an HTTP batch whose client disconnected does not run its calls still waiting for a slot', async () => {
    const g = gate()
    const { rpc, stats } = stubClient(async () => {
      await g.shut
      return '0x1'
    })
    const proxy = await proxyFor(rpc, { maxConcurrent: 1 })
    cleanups.push(() => proxy.close())
    const ac = new AbortController()
    const batch = Array.from({ length: 20 }, (_, i) => call(i))
    void fetch(proxy.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
      signal: ac.signal,
    }).catch(() => {})
    for (let i = 0; i < 80 && stats.inFlight < 1; i++) await sleep(25)
    ac.abort()
    await sleep(300)
    g.open()
    for (let i = 0; i < 40; i++) await sleep(25)
    assert.ok(
      stats.calls.length <= 2,
      `${stats.calls.length} calls ran for an HTTP client that was gone: the server calls answerInSlot without gone(), so the batch's queued calls held the only slot and went upstream for nobody`,
    )
  })

  it('a request sent on a kept-alive connection after close() began is not run upstream only to have its answer cut', async () => {
    const first = gate()
    const { rpc, stats } = stubClient(async (method) => {
      if (method === 'eth_slow') await first.shut
      if (method === 'eth_fast') await sleep(300)
      if (method === 'eth_sendRawTransaction') await sleep(1500)
      return '0x1'
    })
    const proxy = await proxyFor(rpc)
    // An honest client (viem, ethers: keep-alive) with two connections: one slow call holds
    // close()'s grace; the other connection's answer comes back "keep-alive" meanwhile.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 })
    cleanups.push(async () => agent.destroy())
    const slow = request(proxy.url, 'POST', call(1, 'eth_slow'), {}, agent)
    const quick = request(proxy.url, 'POST', call(2, 'eth_fast'), {}, agent)
    for (let i = 0; i < 80 && stats.inFlight < 2; i++) await sleep(25)
    const closing = proxy.close()
    cleanups.push(() => closing)
    const q = await quick
    // The client's next call goes on the connection the proxy just kept alive.
    const tx = request(proxy.url, 'POST', call(3, 'eth_sendRawTransaction'), {}, agent)
    for (let i = 0; i < 80 && !stats.calls.includes('eth_sendRawTransaction'); i++) await sleep(25)
    first.open()
    await slow
    const second = await tx
    await closing
    const ran = stats.calls.includes('eth_sendRawTransaction')
    assert.ok(
      !ran || second.startsWith('200 '),
      `a transaction sent after close() began was run upstream, then its answer cut (${second}; the call before it got "${q.slice(0, 20)}…" with keep-alive): close() waits only for the requests it saw when it began, then closeAllConnections() cuts the rest; the client retries and sends it twice`,
    )
  })

  it('close() does not keep serving new WebSocket calls while it waits for HTTP answers in flight', async () => {
    const g = gate()
    const { rpc, stats } = stubClient(async (method) => {
      if (method === 'eth_slow') await g.shut
      return '0x1'
    })
    const proxy = await proxyFor(rpc)
    const ws = new WebSocket(proxy.url.replace('http', 'ws'))
    cleanups.push(async () => void ws.terminate())
    await new Promise((r, j) => ws.once('open', r).once('error', j))
    void fetch(proxy.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(call(1, 'eth_slow')),
    }).catch(() => {})
    for (let i = 0; i < 80 && stats.inFlight < 1; i++) await sleep(25)
    const closing = proxy.close()
    cleanups.push(() => closing)
    cleanups.push(async () => g.open())
    await sleep(200)
    ws.send(JSON.stringify(call(7, 'eth_afterClose')))
    await sleep(500)
    assert.ok(
      !stats.calls.includes('eth_afterClose'),
      'a WebSocket call sent after close() began was run: sockets get their close frame only after the HTTP grace (up to 10 s), and until then every new call goes upstream',
    )
  })

  it('a Host with "%" outside brackets is refused, as before ("127.0.0.1%,evil.example")', () => {
    // The zone split (`name.split('%')[0]`) applies to plain names too: anything after a `%`
    // passes. Before ae33cf0 isIP('127.0.0.1%…') refused it.
    assert.equal(
      hostAllowed('127.0.0.1%,evil.example', '127.0.0.1'),
      false,
      'accepted: the zone split (split("%")[0]) runs on every name, so whatever follows a % is ignored',
    )
    assert.equal(
      hostAllowed('127.0.0.1%@evil.example:8545', '127.0.0.1'),
      false,
      'accepted: the zone split (split("%")[0]) runs on every name, so whatever follows a % is ignored',
    )
  })

  it('a zone on an IPv4 address in brackets is refused ("[127.0.0.1%25evil]")', () => {
    assert.equal(
      hostAllowed('[127.0.0.1%25evil]:8545', '127.0.0.1'),
      false,
      'accepted: the bracket form takes any [0-9a-f:.] with a zone and isIP() sees only the part before %',
    )
  })

  it('cors refuses schemes no browser ever sends as an Origin (file://, data://, javascript://, blob://)', async () => {
    // Browsers send "null" for file:, data:, javascript: and blob: documents; the regex for
    // extension schemes takes these too, so the entry is accepted and silently never matches.
    for (const entry of ['file://localhost', 'data://x', 'javascript://x', 'blob://x']) {
      const c = resolveProxyConfig(JSON.stringify({ ...base, proxy: { cors: [entry] } }), {})
      await assert.rejects(c, /cors\[0\]/, `${entry} accepted as a cors origin`)
    }
  })
})

describe('holes (latent)', () => {
  it('a GET /metrics whose status() throws is answered (500) or cut, not left open forever', async () => {
    const { rpc } = stubClient(async () => '0x1')
    ;(rpc as unknown as { status: () => unknown }).status = () => {
      throw new Error('status unavailable')
    }
    const proxy = await proxyFor(rpc)
    cleanups.push(() => proxy.close())
    const got = await Promise.race([
      request(`${proxy.url}/metrics`, 'GET', undefined, {}),
      sleep(3000).then(() => 'pending'),
    ])
    assert.notEqual(
      got,
      'pending',
      'GET /metrics still open 3 s later: writeHead(200) ran before metrics.text() threw, so the catch saw headersSent and neither sent a 500 nor destroyed the response; it stays in `settled`, and close() waits out its grace',
    )
  })
})

describe('attacks that held', () => {
  it('Host: trailing dots only on localhost/own name/IPs; "localhost..", "evil.example.", "localhost.evil." refused', () => {
    assert.equal(hostAllowed('localhost.:8545', '127.0.0.1'), true)
    assert.equal(hostAllowed('LOCALHOST.', '127.0.0.1'), true)
    for (const h of [
      'localhost..',
      'localhost..:8545',
      'evil.example.',
      'localhost.evil.example.',
      'evil.localhost.',
      '.',
      '..',
      'localhost%2e',
      'localhost%25',
      '%6cocalhost',
      'localhost.%00',
      '[localhost]',
      '[::1%]',
      '[::1%25evil/x]',
      '[%25evil]',
    ])
      assert.equal(hostAllowed(h, '127.0.0.1'), false, h)
    // IPv6 with a zone, the IPv4-mapped form included: an address, never a rebinding name.
    assert.equal(hostAllowed('[::ffff:127.0.0.1%25x]', '127.0.0.1'), true)
    assert.equal(hostAllowed('[::1%25]', '127.0.0.1'), false) // an empty zone (RFC 6874's %25 is the %)
    assert.equal(hostAllowed('[fe80::1%25eth0]:8545', 'fe80::1%eth0'), true)
  })

  it('cors: uppercase extension schemes/ids, paths and "null" stay refused; extension and http origins accepted', async () => {
    for (const entry of [
      'Chrome-Extension://abc',
      'chrome-extension://ABC',
      'chrome-extension://abc/',
      'chrome-extension://',
      'null',
      'file://',
    ]) {
      const c = resolveProxyConfig(JSON.stringify({ ...base, proxy: { cors: [entry] } }), {})
      await assert.rejects(c, /cors\[0\]/, entry)
    }
    const ok = ['http://localhost', 'chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn']
    const c = await resolveProxyConfig(JSON.stringify({ ...base, proxy: { cors: ok } }), {})
    assert.deepEqual(c.server.cors, ok)
  })

  it('responses that end at once (204 OPTIONS, GET /status, /metrics, /, refused Host/Origin, 405) do not hold close()', async () => {
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc, { cors: ['http://app.example'] })
    const got: string[] = []
    for (const [method, path, headers] of [
      ['OPTIONS', '/', { origin: 'http://app.example' }],
      ['GET', '/status', {}],
      ['GET', '/metrics', {}],
      ['GET', '/', {}],
      ['POST', '/', { host: 'evil.example' }],
      ['POST', '/', { origin: 'http://evil.example' }],
      ['PUT', '/', {}],
    ] as const)
      got.push((await request(`${proxy.url}${path}`, method, call(1), headers)).slice(0, 3))
    assert.deepEqual(got, ['204', '200', '200', '200', '421', '403', '405'])
    const took = await closeTime(proxy, 5000)
    assert.notEqual(took, -1, 'close() held by answered requests')
  })

  it('close() called twice resolves both; no timer is left behind; the client is closed', async () => {
    const { rpc, stats } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc)
    await post(proxy.url, call(1))
    const [a, b] = await Promise.all([closeTime(proxy, 5000), closeTime(proxy, 5000)])
    assert.ok(a >= 0 && b >= 0)
    assert.ok(stats.closes >= 1)
  })

  it('a disconnected WebSocket client is dropped, not a crash; a client that answers close() is closed well under the grace', async () => {
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc)
    const ws = new WebSocket(proxy.url.replace('http', 'ws'))
    cleanups.push(async () => void ws.terminate())
    await new Promise((r, j) => ws.once('open', r).once('error', j))
    const took = await closeTime(proxy, 5000)
    assert.ok(took >= 0 && took < 3000, `took ${took}`)
  })
})

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => r.json())

/** `status body` of one request over node:http (a Host of one's choosing), or `failed: …`. */
function request(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string>,
  agent?: http.Agent,
) {
  return new Promise<string>((resolve) => {
    const text = body === undefined ? '' : JSON.stringify(body)
    const req = http.request(
      url,
      {
        method,
        agent: agent ?? false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          ...headers,
        },
      },
      (res) => {
        let got = ''
        res.on('data', (d) => {
          got += d
        })
        res.on('end', () => resolve(`${res.statusCode} ${got}`))
        res.on('error', (e) => resolve(`failed: ${e.message}`))
      },
    )
    req.on('error', (e) => resolve(`failed: ${e.message}`))
    req.end(text)
  })
}
