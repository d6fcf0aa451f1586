/**
 * Hostile class, second pass over `outlast proxy`: callers that split a batch's headers from its
 * body, flood a WebSocket, race a subscription against their own close, or stall a body while
 * the proxy shuts down; and config files (or a command line) whose bad values start a proxy
 * silently instead of failing. A stub client and raw sockets: fast and deterministic.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { networkInterfaces } from 'node:os'
import { promisify } from 'node:util'
import { afterEach, describe, it } from 'vitest'
import WebSocket from 'ws'
import { ConfigError, type Outlast } from '../../src/index.ts'
import { callSlots, SlotsBusy } from '../../src/proxy/callSlots.ts'
import { resolveProxyConfig } from '../../src/proxy/config.ts'
import { startProxy } from '../../src/proxy/index.ts'
import { startProxyServer } from '../../src/proxy/server.ts'
import { CHAIN_ID } from '../helpers.ts'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A stand-in client: `request` runs `onRequest`; `subscribe` may be replaced. */
function stubClient(
  onRequest: (method: string) => Promise<unknown>,
  subscribe?: () => Promise<{ id: string; unsubscribe: () => Promise<boolean> }>,
) {
  const stats = { calls: 0, inFlight: 0 }
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
    subscribe: subscribe ?? (async () => ({ id: '0x1', unsubscribe: async () => true })),
    on() {},
    removeListener() {},
    close: async () => {},
  }
  return { rpc: rpc as unknown as Outlast, stats }
}

/** A gate the stub's calls wait at until `open()`. */
function gate() {
  let open!: () => void
  const shut = new Promise<void>((r) => {
    open = r
  })
  return { shut, open }
}

async function proxyFor(rpc: Outlast, o: { maxConcurrent?: number; maxBodyBytes?: number } = {}) {
  const proxy = await startProxyServer(rpc, {
    port: 0,
    host: '127.0.0.1',
    cors: [],
    maxBodyBytes: o.maxBodyBytes ?? 1_048_576,
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

const batchOf = (n: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId', ...extra }))

async function openSocket(url: string) {
  const ws = new WebSocket(url.replace('http', 'ws'))
  cleanups.push(async () => void ws.terminate())
  await new Promise((r, j) => ws.once('open', r).once('error', j))
  return ws
}

const base = { chainId: CHAIN_ID, sources: [{ type: 'http', url: 'http://127.0.0.1:1' }] }

describe('callers that hold the proxy', () => {
  it('a batch whose body completes while every slot is taken is turned away (503), like a single call', async () => {
    const g = gate()
    const { rpc, stats } = stubClient(async () => {
      await g.shut
      return '0x1'
    })
    const proxy = await proxyFor(rpc, { maxConcurrent: 1 })
    const body = JSON.stringify(batchOf(100))
    // Headers while the proxy is idle (the busy check passes), the body once it is full.
    let answer = ''
    const sock = connect(proxy.port, '127.0.0.1', () =>
      sock.write(
        `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      ),
    )
    sock.on('data', (d) => {
      answer += d
    })
    sock.on('error', () => {})
    cleanups.push(async () => void sock.destroy())
    await sleep(200)
    const holder = post(proxy.url, { jsonrpc: '2.0', id: 'holder', method: 'eth_chainId' })
    for (let i = 0; i < 40 && stats.inFlight < 1; i++) await sleep(25)
    assert.equal((await post(proxy.url, batchOf(1))).status, 503, 'the proxy is full')
    sock.write(body)
    await sleep(300)
    g.open()
    await holder
    for (let i = 0; i < 80 && !answer.includes('\r\n\r\n'); i++) await sleep(25)
    assert.match(
      answer,
      /^HTTP\/1\.1 503/,
      `a batch of 100 sent while every slot was taken was queued past maxConcurrent: ${answer.slice(0, 40)} (${stats.calls} calls ran)`,
    )
  })

  it('one WebSocket cannot queue unbounded calls: frames beyond a bound are answered busy (-32005) at once', async () => {
    const g = gate()
    const { rpc } = stubClient(async () => {
      await g.shut
      return '0x1'
    })
    const proxy = await proxyFor(rpc, { maxConcurrent: 2 })
    const ws = await openSocket(proxy.url)
    const replies: unknown[] = []
    ws.on('message', (d) => replies.push(JSON.parse(String(d))))
    for (let f = 0; f < 20; f++) ws.send(JSON.stringify(batchOf(100)))
    await sleep(500)
    // Meanwhile every other client is turned away, for as long as the 2,000 calls take.
    const other = (await post(proxy.url, { jsonrpc: '2.0', id: 1, method: 'eth_chainId' })).status
    const early = replies.length
    g.open()
    assert.ok(
      early > 0 && JSON.stringify(replies).includes('-32005'),
      `2,000 calls of one socket all queued (0 of 20 frames answered while the upstream was held); another client got HTTP ${other}`,
    )
  })

  it('an eth_subscribe still pending when its socket closes is unsubscribed once it resolves', async () => {
    const sub = gate()
    let unsubscribed = 0
    const { rpc } = stubClient(
      async () => '0x1',
      async () => {
        await sub.shut
        return {
          id: '0xabc',
          unsubscribe: async () => {
            unsubscribed++
            return true
          },
        }
      },
    )
    const proxy = await proxyFor(rpc)
    const ws = await openSocket(proxy.url)
    ws.send(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }),
    )
    await sleep(100)
    ws.close()
    await new Promise((r) => ws.once('close', r))
    await sleep(100)
    sub.open()
    for (let i = 0; i < 40 && unsubscribed === 0; i++) await sleep(25)
    assert.equal(unsubscribed, 1, 'the subscription outlived its socket: never unsubscribed')
  })

  it('close() finishes while a client stalls its body (SIGTERM ends the CLI)', async () => {
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await startProxyServer(rpc, {
      port: 0,
      host: '127.0.0.1',
      cors: [],
      maxBodyBytes: 1_048_576,
      maxConcurrent: 4,
    })
    const sock = connect(proxy.port, '127.0.0.1', () =>
      sock.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"jsonrpc"`),
    )
    sock.on('error', () => {})
    await sleep(200)
    const closing = proxy.close().then(() => 'closed')
    cleanups.push(async () => {
      sock.destroy()
      await closing
    })
    // The proxy's own body timeout is 10 s; server.close() stops Node's timer that enforces it.
    const outcome = await Promise.race([closing, sleep(12_000).then(() => 'still closing')])
    assert.equal(outcome, 'closed', 'close() waits forever for a body that never comes')
  }, 30_000)

  it('a WebSocket frame is bounded by maxBodyBytes, as an HTTP body is', async () => {
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc, { maxBodyBytes: 1_000 })
    const big = batchOf(100, { params: ['x'.repeat(100)] }) // about 14 KB
    assert.equal((await post(proxy.url, big)).status, 413, 'over HTTP: refused')
    const ws = await openSocket(proxy.url)
    const first = new Promise<string>((r) => {
      ws.once('message', (d) => r(`answered: ${String(d).slice(0, 60)}`))
      ws.once('close', (code) => r(`closed ${code}`))
    })
    ws.send(JSON.stringify(big))
    const outcome = await Promise.race([first, sleep(2_000).then(() => 'nothing')])
    assert.ok(
      !outcome.startsWith('answered: ['),
      `a 14 KB frame past maxBodyBytes 1000 was ${outcome}`,
    )
  })
})

describe('settings that start a proxy silently', () => {
  it('an empty --host is refused, not read as "every interface"', async () => {
    const outcome = await startProxy({
      config: JSON.stringify({ ...base, proxy: { port: 0 } }),
      env: {},
      server: { host: '' }, // `outlast proxy --host "$HOST"` with HOST unset
    }).then(
      async (p) => {
        const outside = Object.values(networkInterfaces())
          .flat()
          .find((a) => a && !a.internal && a.family === 'IPv4')?.address
        const reach = async (host: string) =>
          fetch(`http://${host}:${p.port}/status`).then(
            (r) => r.status,
            () => 'refused',
          )
        const seen = `url ${p.url}; [::1] ${await reach('[::1]')}${outside ? `; ${outside} ${await reach(outside)}` : ''}`
        await p.close()
        return seen
      },
      (e: unknown) => e,
    )
    assert.ok(
      outcome instanceof ConfigError,
      `started, listening on every interface (${String(outcome)})`,
    )
  })

  it('a cors entry no browser Origin can equal is a config error (trailing slash, no scheme, uppercase)', async () => {
    const accepted: string[] = []
    for (const origin of ['https://app.example/', 'app.example', 'https://App.example'])
      await resolveProxyConfig(JSON.stringify({ ...base, proxy: { cors: [origin] } }), {}).then(
        () => accepted.push(origin),
        () => {},
      )
    assert.deepEqual(accepted, [], `accepted origins that never match: ${accepted.join(', ')}`)
  })

  it('cors "null" is refused: it admits every sandboxed iframe and data: page on the web', async () => {
    const outcome = await resolveProxyConfig(
      JSON.stringify({ ...base, proxy: { cors: ['null'] } }),
      {},
    ).then(
      (c) => `accepted: ${JSON.stringify(c.server.cors)}`,
      (e: unknown) => e,
    )
    assert.ok(outcome instanceof ConfigError, String(outcome))
    assert.match(outcome.message, /proxy\.cors\[0\] "null" .*sandboxed iframe/)
  })

  it('proofs: null, proxy: [] and options: null are config errors, not silent defaults', async () => {
    const accepted: string[] = []
    for (const extra of [{ proofs: null }, { proxy: [] }, { options: null }])
      await resolveProxyConfig(JSON.stringify({ ...base, ...extra }), {}).then(
        () => accepted.push(JSON.stringify(extra)),
        () => {},
      )
    assert.deepEqual(accepted, [], `accepted silently: ${accepted.join(', ')}`)
  })
})

describe('bounds and replies the review asked for beside', () => {
  it('the queue of calls waiting for a slot is bounded: a call past it is refused, not queued', async () => {
    const g = gate()
    const slots = callSlots(1, 2)
    const ran = [1, 2, 3].map(() => slots.run(() => g.shut))
    const fourth = slots
      .run(async () => {})
      .then(
        () => 'queued, then ran',
        (e: unknown) => (e instanceof SlotsBusy ? 'refused' : String(e)),
      )
    const outcome = await Promise.race([fourth, sleep(200).then(() => 'queued')])
    g.open()
    assert.equal(outcome, 'refused', 'one slot, two waiting: a fourth call was queued as well')
    await Promise.all(ran)
  })

  it('one WebSocket is capped on its own, well below the slots shared by every client', async () => {
    const g = gate()
    const { rpc } = stubClient(async () => {
      await g.shut
      return '0x1'
    })
    const proxy = await proxyFor(rpc, { maxConcurrent: 256 })
    const ws = await openSocket(proxy.url)
    const replies: { id: number; error?: { code: number } }[][] = []
    ws.on('message', (d) => replies.push(JSON.parse(String(d))))
    // 300 calls fit the shared slots and their queue; one socket may have 200 going.
    for (let f = 0; f < 3; f++) ws.send(JSON.stringify(batchOf(100)))
    for (let t = 0; t < 40 && replies.length === 0; t++) await sleep(25)
    const early = replies.flat()
    g.open()
    assert.equal(early.length, 100, `${early.length} calls answered while the upstream was held`)
    assert.ok(early.every((r) => r.error?.code === -32005))
  })

  it('one WebSocket holds a bounded number of subscriptions, past it a clear error', async () => {
    let n = 0
    const { rpc } = stubClient(
      async () => '0x1',
      async () => ({ id: `0x${(++n).toString(16)}`, unsubscribe: async () => true }),
    )
    const proxy = await proxyFor(rpc)
    const ws = await openSocket(proxy.url)
    const replies: { id: number; error?: { code: number; message: string } }[] = []
    ws.on('message', (d) => replies.push(JSON.parse(String(d))))
    for (let i = 0; i < 101; i++) {
      ws.send(
        JSON.stringify({ jsonrpc: '2.0', id: i, method: 'eth_subscribe', params: ['newHeads'] }),
      )
      for (let t = 0; t < 40 && replies.length <= i; t++) await sleep(5)
    }
    for (let t = 0; t < 40 && replies.length < 101; t++) await sleep(25)
    const refused = replies.filter((r) => r.error)
    assert.equal(refused.length, 1, `${refused.length} of 101 subscriptions refused`)
    assert.equal(refused[0]!.id, 100)
    assert.equal(refused[0]!.error!.code, -32005)
    assert.match(refused[0]!.error!.message, /too many subscriptions on this socket/)
  })

  it('a notification (no id) is run but never answered, over HTTP and WebSocket, alone or in a batch', async () => {
    const { rpc, stats } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc)
    const single = await post(proxy.url, { jsonrpc: '2.0', method: 'eth_chainId' })
    assert.equal(single.status, 204)
    assert.equal(await single.text(), '')
    const mixed = await post(proxy.url, [
      { jsonrpc: '2.0', method: 'eth_chainId' },
      { jsonrpc: '2.0', id: 7, method: 'eth_chainId' },
    ])
    assert.deepEqual(await mixed.json(), [{ jsonrpc: '2.0', id: 7, result: '0x1' }])
    const none = await post(proxy.url, [{ jsonrpc: '2.0', method: 'eth_chainId' }])
    assert.equal(none.status, 204)
    // A malformed call with no id is no notification: it is answered, with id null.
    const bad = await (await post(proxy.url, { jsonrpc: '2.0', method: 1 })).json()
    assert.equal(bad.id, null)
    assert.equal(bad.error.code, -32600)
    const ws = await openSocket(proxy.url)
    const frames: unknown[] = []
    ws.on('message', (d) => frames.push(JSON.parse(String(d))))
    ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'eth_chainId' }))
    ws.send(JSON.stringify([{ jsonrpc: '2.0', method: 'eth_chainId' }]))
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'eth_chainId' }))
    for (let t = 0; t < 40 && frames.length === 0; t++) await sleep(25)
    await sleep(100)
    assert.deepEqual(frames, [{ jsonrpc: '2.0', id: 9, result: '0x1' }])
    assert.equal(stats.calls, 7, 'every notification was still run')
  })

  it('a Host with anything past a numeric port is refused (localhost:80@evil, 127.0.0.1:1,evil)', async () => {
    const { rpc } = stubClient(async () => '0x1')
    const proxy = await proxyFor(rpc)
    const statusFor = (host: string) =>
      new Promise<string>((resolve) => {
        let answer = ''
        const sock = connect(proxy.port, '127.0.0.1', () =>
          sock.write(`GET /status HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
        )
        sock.on('data', (d) => {
          answer += d
        })
        sock.on('error', () => resolve('error'))
        sock.on('close', () => resolve(answer.slice(9, 12)))
      })
    for (const host of ['localhost:80@evil.example', '127.0.0.1:1,evil.example', 'localhost:x'])
      assert.equal(await statusFor(host), '421', host)
    for (const host of ['localhost', `127.0.0.1:${proxy.port}`, `[::1]:${proxy.port}`])
      assert.equal(await statusFor(host), '200', host)
  })

  it('the CLI refuses an empty --host before reading anything', async () => {
    const cli = new URL('../../src/cli/outlast.ts', import.meta.url).pathname
    const outcome = await promisify(execFile)(process.execPath, [
      cli,
      'proxy',
      '--config',
      '/nonexistent/outlast.config.json',
      '--host',
      '',
    ]).then(
      () => 'exited 0',
      (e: { code: number; stderr: string }) => `${e.code} ${e.stderr}`,
    )
    assert.match(outcome, /^1 outlast: --host is empty/)
  })
})
