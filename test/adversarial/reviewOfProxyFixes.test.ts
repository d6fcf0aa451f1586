/**
 * Review of the proxy's second-review fixes (6842f71): what they broke or left open ("holes":
 * each failed on that code for its own reason) and attacks that held. A stub client, raw
 * sockets, and one child process (for a crash, which would otherwise take the test runner down
 * with it).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createPublicClient, http as viemHttp, webSocket as viemWebSocket } from 'viem'
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

function stubClient(
  onRequest: (method: string) => Promise<unknown>,
  subscribe?: () => Promise<{ id: string; unsubscribe: () => Promise<boolean> }>,
) {
  const stats = { calls: 0, inFlight: 0, subscribed: 0, unsubscribed: 0 }
  const rpc = {
    chainId: CHAIN_ID,
    async request({ method }: { method: string }) {
      stats.calls++
      stats.inFlight++
      try {
        return await onRequest(method)
      } finally {
        stats.inFlight--
      }
    },
    // The proxy asks with meta (its reply header says how far an answer was checked).
    async requestWithMeta(args: { method: string }) {
      return { result: await rpc.request(args), meta: { consistency: 'agreed' } }
    },
    status: () => ({ sources: [] }),
    subscribe:
      subscribe ??
      (async () => {
        const id = `0x${(++stats.subscribed).toString(16)}`
        return {
          id,
          unsubscribe: async () => {
            stats.unsubscribed++
            return true
          },
        }
      }),
    on() {},
    removeListener() {},
    close: async () => {},
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

async function proxyFor(
  rpc: Outlast,
  o: { maxConcurrent?: number; maxBodyBytes?: number; cors?: string[] } = {},
  autoClose = true,
) {
  const proxy = await startProxyServer(rpc, {
    port: 0,
    host: '127.0.0.1',
    cors: o.cors ?? [],
    maxBodyBytes: o.maxBodyBytes ?? 1_048_576,
    maxConcurrent: o.maxConcurrent ?? 256,
  })
  if (autoClose) cleanups.push(() => proxy.close())
  return proxy
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

async function openSocket(url: string) {
  const ws = new WebSocket(url.replace('http', 'ws'))
  cleanups.push(async () => void ws.terminate())
  await new Promise((r, j) => ws.once('open', r).once('error', j))
  return ws
}

/** A raw TCP client that completes a WebSocket upgrade, then does nothing at all. */
async function rawUpgrade(port: number, host = '127.0.0.1') {
  const s = connect(port, '127.0.0.1')
  s.on('error', () => {})
  cleanups.push(async () => void s.destroy())
  await new Promise((r) => s.once('connect', r))
  let got = ''
  s.on('data', (d) => {
    got += d.toString('latin1')
  })
  s.write(
    `GET / HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  for (let i = 0; i < 80 && !got.includes('\r\n\r\n'); i++) await sleep(25)
  return { socket: s as Socket, head: got.split('\r\n')[0] ?? '' }
}

const base = { chainId: CHAIN_ID, sources: [{ type: 'http', url: 'http://127.0.0.1:1' }] }

describe('holes', () => {
  it('a refused WebSocket upgrade whose client resets its connection does not crash the proxy', async () => {
    // The proxy in a child process: an uncaught 'error' would otherwise end the test runner.
    const server = fileURLToPath(new URL('../../src/proxy/server.ts', import.meta.url))
    const script = `
      import { startProxyServer } from ${JSON.stringify(server)}
      const rpc = { chainId: 1, request: async () => '0x1',
        requestWithMeta: async () => ({ result: '0x1', meta: { consistency: 'agreed' } }),
        status: () => ({ sources: [] }),
        subscribe: async () => ({ id: '0x1', unsubscribe: async () => true }),
        on() {}, removeListener() {}, close: async () => {} }
      const p = await startProxyServer(rpc, { port: 0, host: '127.0.0.1', cors: [],
        maxBodyBytes: 1048576, maxConcurrent: 8 })
      process.stdout.write('port ' + p.port + '\\n')
      setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    cleanups.push(async () => void child.kill('SIGKILL'))
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    for (let i = 0; i < 400 && !/port \d+/.test(out) && child.exitCode === null; i++)
      await sleep(25)
    const port = Number(/port (\d+)/.exec(out)?.[1])
    assert.ok(port > 0, `the child proxy did not start: ${err.slice(0, 300)}`)
    // A local process (or a LAN peer, with --host 0.0.0.0): an upgrade the proxy refuses (a
    // Host it does not serve), the connection reset as soon as the request is written.
    for (let i = 0; i < 30 && child.exitCode === null; i++) {
      const s = connect(port, '127.0.0.1')
      s.on('error', () => {})
      await new Promise((r) => s.once('connect', r))
      s.write(
        'GET / HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        () => s.resetAndDestroy(),
      )
      await sleep(20)
    }
    await sleep(300)
    const crash = /Error: .*/.exec(err)?.[0]
    assert.equal(
      child.exitCode,
      null,
      `the proxy died (exit ${child.exitCode}): ${crash} (the refused upgrade's socket has no 'error' listener)`,
    )
  })

  it('close() lets a large answer it is finishing reach its client whole', async () => {
    const g = gate()
    // 16 MiB of hex: an honest eth_getLogs over a wide range, or a big debug_trace answer.
    const big = `0x${'ab'.repeat(8 * 1024 * 1024)}`
    const { rpc, stats } = stubClient(async () => {
      await g.shut
      return big
    })
    const proxy = await proxyFor(rpc, {}, false)
    const answer = post(proxy.url, { jsonrpc: '2.0', id: 1, method: 'eth_getLogs' }).then(
      async (r) => `ok ${((await r.json()) as { result: string }).result.length}`,
      (e: { cause?: { code?: string }; message: string }) =>
        `failed: ${e.cause?.code ?? e.message}`,
    )
    for (let i = 0; i < 80 && stats.inFlight < 1; i++) await sleep(25)
    const closing = proxy.close()
    await sleep(100)
    g.open()
    const got = await answer.catch((e: Error) => `failed: ${e.message}`)
    await closing
    assert.equal(
      got,
      `ok ${big.length}`,
      `a call in flight when close() began lost its answer (${got.slice(0, 40)}): closeAllConnections() ran as soon as the handler returned, before the response was written out`,
    )
  })

  it('close() is not held by a WebSocket client that never answers the close frame', async () => {
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc, {}, false)
    const { socket, head } = await rawUpgrade(proxy.port)
    assert.match(head, /101/)
    const started = Date.now()
    const closed = proxy.close().then(() => Date.now() - started)
    const took = await Promise.race([closed, sleep(5000).then(() => -1)])
    socket.destroy()
    await closed
    assert.notEqual(
      took,
      -1,
      'close() still pending 5 s later: one silent WebSocket holds it for ws closeTimeout (30 s), the client and its subscriptions with it',
    )
  })

  it("a closed socket's calls still waiting for a slot are dropped, not run", async () => {
    const g = gate()
    const { rpc, stats } = stubClient(async () => {
      await g.shut
      return '0x1'
    })
    const proxy = await proxyFor(rpc, { maxConcurrent: 1 })
    const ws = await openSocket(proxy.url)
    ws.send(
      JSON.stringify(
        Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId' })),
      ),
    )
    for (let i = 0; i < 80 && stats.inFlight < 1; i++) await sleep(25)
    ws.terminate()
    await sleep(200)
    g.open()
    for (let i = 0; i < 40; i++) await sleep(25)
    assert.ok(
      stats.calls <= 2,
      `${stats.calls} calls ran for a socket that was gone: its 99 queued calls held the only slot (HTTP got 503) and went upstream for nobody`,
    )
  })

  it("MetaMask's own origin (chrome-extension://…) and Firefox's (moz-extension://…) can be listed in cors", async () => {
    // MetaMask's background sends Origin: chrome-extension://<id> with its POSTs (geth users list
    // it in --http.corsdomain); Node's URL gives such origins as "null", so the check refuses them.
    const cors = [
      'chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn',
      'moz-extension://2f5e8c1a-0b6d-4b8e-9c3f-6a1d2e3f4a5b',
    ]
    const c = await resolveProxyConfig(JSON.stringify({ ...base, proxy: { cors } }), {})
    assert.deepEqual(c.server.cors, cors)
  })

  it('Host "localhost." (the FQDN spelling a browser sends for http://localhost.:8545) is served', () => {
    assert.equal(hostAllowed('localhost.:8545', '127.0.0.1'), true)
    assert.equal(hostAllowed('localhost.', '127.0.0.1'), true)
  })

  it("a proxy listening on a link-local address with a zone id serves that address's Host", () => {
    // `--host fe80::1%eth0`: Python's http.client (web3.py) sends the zone id in Host.
    assert.equal(hostAllowed('[fe80::1%eth0]:8545', 'fe80::1%eth0'), true)
  })
})

describe('attacks that held', () => {
  it('a batch of notifications only gets 204; a mixed batch gets the calls only, ids 0, "" and null kept', async () => {
    const { rpc, stats } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc)
    const none = await post(proxy.url, [
      { jsonrpc: '2.0', method: 'eth_chainId' },
      { jsonrpc: '2.0', method: 'eth_blockNumber' },
    ])
    assert.equal(none.status, 204)
    assert.equal(await none.text(), '')
    const mixed = await post(proxy.url, [
      { jsonrpc: '2.0', id: 0, method: 'eth_chainId' },
      { jsonrpc: '2.0', method: 'eth_chainId' },
      { jsonrpc: '2.0', id: '', method: 'eth_chainId' },
      { jsonrpc: '2.0', id: null, method: 'eth_chainId' },
    ])
    const replies = (await mixed.json()) as { id: unknown; result: unknown }[]
    assert.deepEqual(
      replies.map((r) => r.id),
      [0, '', null],
    )
    assert.equal(stats.calls, 6)
    const single = await post(proxy.url, { jsonrpc: '2.0', id: 0, method: 'eth_chainId' })
    assert.deepEqual(await single.json(), { jsonrpc: '2.0', id: 0, result: '0x1' })
  })

  it('Host spellings honest clients send are served; rebinding spellings are not', () => {
    for (const h of [
      '127.0.0.1:8545',
      'localhost:8545',
      'LOCALHOST',
      '[::1]:8545',
      '[::FFFF:7F00:1]:8545',
      '[::1]',
    ])
      assert.equal(hostAllowed(h, '127.0.0.1'), true, h)
    for (const h of [
      'evil.example',
      'localhost:80@evil',
      '127.0.0.1:1,evil',
      'localhost.evil',
      '[::1]x',
    ])
      assert.equal(hostAllowed(h, '127.0.0.1'), false, h)
  })

  it('cors: dev servers and exact origins accepted; a default port gets a clear correction', async () => {
    const ok = await resolveProxyConfig(
      JSON.stringify({
        ...base,
        proxy: { cors: ['http://localhost:5173', 'http://[::1]:5173', 'https://app.example'] },
      }),
      {},
    )
    assert.equal(ok.server.cors.length, 3)
    await assert.rejects(
      resolveProxyConfig(
        JSON.stringify({ ...base, proxy: { cors: ['https://app.example:443'] } }),
        {},
      ),
      /write "https:\/\/app\.example"/,
    )
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc, { cors: ['http://localhost:5173'] })
    const r = await post(
      proxy.url,
      { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
      { origin: 'http://localhost:5173' },
    )
    assert.equal(r.status, 200)
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://localhost:5173')
  })

  it('viem over HTTP (batched) and WebSocket works through the proxy', async () => {
    const { rpc } = stubClient(async (m) => (m === 'eth_chainId' ? '0x1' : '0x10'))
    const proxy = await proxyFor(rpc)
    const overHttp = createPublicClient({
      transport: viemHttp(proxy.url, { batch: true, retryCount: 0 }),
    })
    const [a, b] = await Promise.all([
      overHttp.getChainId(),
      overHttp.getBlockNumber({ cacheTime: 0 }),
    ])
    assert.equal(a, 1)
    assert.equal(b, 16n)
    const transport = viemWebSocket(proxy.url.replace('http', 'ws'), { retryCount: 0 })
    const overWs = createPublicClient({ transport })
    assert.equal(await overWs.getChainId(), 1)
    const { socket } = await overWs.transport.getRpcClient()
    socket.close()
  })

  it('WebSocket: the 201st call is answered busy with its own id, and the counter comes back (errors included)', async () => {
    const g = gate()
    let fail = true
    const { rpc } = stubClient(async () => {
      await g.shut
      if (fail) throw Object.assign(new Error('node down'), { code: -32000 })
      return '0x1'
    })
    const proxy = await proxyFor(rpc, { maxConcurrent: 256 })
    const ws = await openSocket(proxy.url)
    const replies: { id: unknown; error?: { code: number } }[] = []
    ws.on('message', (d) => replies.push(JSON.parse(String(d))))
    for (let i = 0; i < 201; i++)
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'eth_chainId' }))
    for (let i = 0; i < 80 && replies.length < 1; i++) await sleep(25)
    assert.deepEqual(replies, [
      {
        jsonrpc: '2.0',
        id: 200,
        error: { code: -32005, message: 'too many requests in flight; try again in a second' },
      },
    ])
    g.open()
    for (let i = 0; i < 80 && replies.length < 201; i++) await sleep(25)
    assert.equal(replies.length, 201)
    assert.equal(replies.filter((r) => r.error?.code === -32000).length, 200)
    fail = false
    replies.length = 0
    for (let i = 0; i < 200; i++)
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'eth_chainId' }))
    for (let i = 0; i < 80 && replies.length < 200; i++) await sleep(25)
    assert.equal(replies.filter((r) => r.error === undefined).length, 200, 'the counter drifted')
  })

  it('subscriptions end on terminate, on an oversized frame, and on close()', async () => {
    const { rpc, stats } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc, { maxBodyBytes: 4096 }, false)
    const subscribe = async (ws: WebSocket, n: number) => {
      const got: unknown[] = []
      ws.on('message', (d) => got.push(d))
      for (let i = 0; i < n; i++)
        ws.send(
          JSON.stringify({ jsonrpc: '2.0', id: i, method: 'eth_subscribe', params: ['newHeads'] }),
        )
      for (let i = 0; i < 80 && got.length < n; i++) await sleep(25)
    }
    const a = await openSocket(proxy.url)
    await subscribe(a, 3)
    a.terminate()
    const b = await openSocket(proxy.url)
    await subscribe(b, 2)
    b.send('x'.repeat(8192))
    const c = await openSocket(proxy.url)
    await subscribe(c, 4)
    await proxy.close()
    for (let i = 0; i < 80 && stats.unsubscribed < 9; i++) await sleep(25)
    assert.equal(stats.subscribed, 9)
    assert.equal(stats.unsubscribed, 9)
  })
})
