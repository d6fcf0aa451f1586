import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, it, vi } from 'vitest'
import { type Lab, startLab } from '../../test/lab/index.ts'
import { ConfigError, RpcResponseError, SourceError } from '../shared/errors.ts'
import { http } from './http.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ blockTime: 0, sources: [{ name: 'p', domain: 'd' }] })
})
afterAll(() => lab.stop())

const source = (extra = {}) => {
  const p = lab.proxy('p')
  return http(p.url, { name: 'p', fetchFn: p.fetch, timeout: 500, ...extra })
}

const failsWith = async (promise: Promise<unknown>, kind: string, pattern?: RegExp) => {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof SourceError, `expected SourceError, got ${e}`)
    assert.equal(e.kind, kind, e.message)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
}

describe('http source against a real node behind a fault proxy', () => {
  it('answers and carries metadata', async () => {
    await lab.proxy('p').setMode({ kind: 'ok' })
    const s = source({ domain: 'aws-us-east-1', kind: 'self-hosted', weight: 2 })
    assert.equal(await s.request({ method: 'eth_chainId' }), '0x7a69')
    assert.deepEqual(
      { ...s.config, label: undefined, redact: undefined },
      {
        name: 'p',
        kind: 'self-hosted',
        domain: 'aws-us-east-1',
        weight: 2,
        untrusted: false,
        label: undefined,
        redact: undefined,
      },
    )
  })

  it('classifies every fault', async () => {
    const p = lab.proxy('p')
    const s = source()
    const call = () => s.request({ method: 'eth_blockNumber' })
    const cases: [Parameters<typeof p.setMode>[0], string, RegExp?][] = [
      [{ kind: 'blackhole' }, 'timeout', /500 ms/],
      [{ kind: 'refused' }, 'refused'],
      [{ kind: 'dns' }, 'dns', /ENOTFOUND/],
      [{ kind: 'http5xx' }, 'http', /HTTP 503 \(HTML error page\)/],
      [{ kind: 'rateLimit', retryAfter: 7 }, 'rate-limited'],
      [{ kind: 'quota' }, 'unavailable', /402/],
      [{ kind: 'rpcError' }, 'rpc', /-32603/],
      [{ kind: 'garbage', variant: 'truncated' }, 'body', /malformed JSON/],
      [{ kind: 'garbage', variant: 'html200' }, 'body', /HTML/],
      [{ kind: 'garbage', variant: 'binary' }, 'body'],
      [{ kind: 'garbage', variant: 'wrongId' }, 'body', /does not match/],
      [{ kind: 'garbage', variant: 'empty' }, 'body'],
      [{ kind: 'garbage', variant: 'notJson' }, 'body'],
      [{ kind: 'methods', failing: ['eth_blockNumber'] }, 'rpc', /-32601/],
      [{ kind: 'trickle', bytes: 1, interval: 100 }, 'timeout', /below the floor/],
    ]
    for (const [mode, kind, pattern] of cases) {
      await p.setMode(mode)
      await failsWith(call(), kind, pattern)
    }
    await p.setMode({ kind: 'rateLimit', retryAfter: 7 })
    await assert.rejects(call(), (e: SourceError) => e.retryAfter === 7000)
    await p.setMode({ kind: 'ok' })
  })

  it('honours the abort signal', async () => {
    await lab.proxy('p').setMode({ kind: 'blackhole' })
    const controller = new AbortController()
    const pending = source({ timeout: 10_000 }).request(
      { method: 'eth_blockNumber' },
      { signal: controller.signal },
    )
    setTimeout(() => controller.abort(), 50)
    await failsWith(pending, 'aborted')
    await lab.proxy('p').setMode({ kind: 'ok' })
  })

  it('batches calls made in one tick into one HTTP request', async () => {
    const p = lab.proxy('p')
    await p.setMode({ kind: 'ok' })
    p.resetStats()
    const s = source({ batch: true })
    const [id, n, bad] = await Promise.allSettled([
      s.request({ method: 'eth_chainId' }),
      s.request({ method: 'eth_blockNumber' }),
      s.request({ method: 'eth_getBalance', params: ['0xnotanaddress', 'latest'] }),
    ])
    assert.deepEqual(id, { status: 'fulfilled', value: '0x7a69' })
    assert.equal(n.status, 'fulfilled')
    assert.ok(bad.status === 'rejected' && bad.reason instanceof RpcResponseError)
    assert.equal(p.stats.requests, 1)
    assert.equal(p.stats.calls, 3)
  })
})

describe('http source limits and secrets', () => {
  it('refuses oversized bodies, declared or streamed', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, result: `0x${'ab'.repeat(5000)}` })
    const server = createServer((req, res) => {
      req.resume()
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write(big.slice(0, 4000))
        res.end(big.slice(4000))
      } else res.writeHead(200, { 'content-type': 'application/json' }).end(big)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    try {
      for (const path of ['/declared', '/chunked']) {
        const s = http(`http://127.0.0.1:${port}${path}`, { maxResponseBytes: 1000 })
        await failsWith(
          s.request({ method: 'eth_call' }),
          'body',
          /exceeds maxResponseBytes \(1000\)/,
        )
      }
    } finally {
      server.close()
    }
  })

  it('never shows the API key in errors', async () => {
    const p = lab.proxy('p')
    await p.setMode({ kind: 'http5xx' })
    const s = http(`${p.url}/v3/TOPSECRETKEY42`, { name: 'keyed' })
    await assert.rejects(s.request({ method: 'eth_chainId' }), (e: Error) => {
      assert.doesNotMatch(`${e.message} ${JSON.stringify(e)}`, /TOPSECRETKEY42/)
      return true
    })
    const dns = http('http://user:pw-SECRET@outlast-test.invalid/key/TOPSECRETKEY42')
    await assert.rejects(dns.request({ method: 'eth_chainId' }), (e: Error) => {
      assert.match(e.message, /DNS lookup failed/)
      assert.doesNotMatch(e.message, /TOPSECRETKEY42|pw-SECRET/)
      return true
    })
    await p.setMode({ kind: 'ok' })
  })
})

/** How `promise` stands once the microtasks queued now have run, before the event loop turns. */
const settledWithinATurn = (promise: Promise<unknown>) =>
  Promise.race([
    promise.then(
      () => 'answered',
      () => 'failed',
    ),
    new Promise((resolve) => setImmediate(resolve, 'pending')),
  ])

/**
 * Starts a read (`start`, given the fetch to use) with its rate check on fake timers
 * (`setTimeout` and `performance`; the sockets, the server's pace and the attempt's timeout stay
 * real) and checks that the check cuts the body exactly `grace` ms after the headers: still
 * reading 1 ms before, failed at `grace`. A busy machine cannot make it late, as a time bound
 * would. Returns the read (failed), for its reason to be checked.
 */
async function cutAtTheGrace(grace: number, start: (fetchFn: typeof fetch) => Promise<unknown>) {
  let headers = false
  const noting: typeof fetch = async (...args) => {
    const response = await fetch(...args)
    headers = true
    return response
  }
  const real = async (what: string, ok: () => boolean) => {
    for (let i = 0; !ok(); i++) {
      assert.ok(i < 500, `waited 5 s (real) for ${what}`)
      await sleep(10)
    }
  }
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
  try {
    let settled = false
    const pending = start(noting)
    pending.then(
      () => (settled = true),
      () => (settled = true),
    )
    // The rate check is armed as the body's read begins, right after the headers.
    await real('the headers', () => headers)
    await sleep(20)
    vi.advanceTimersByTime(grace - 1)
    await sleep(20)
    assert.equal(settled, false, `still reading ${grace - 1} ms after the headers`)
    vi.advanceTimersByTime(1)
    await real('the cut', () => settled)
    return { read: pending }
  } finally {
    vi.useRealTimers()
  }
}

/** A JSON-RPC answer to `req` whose result is `size` hex characters. */
const answerOf = (size: number) => (req: IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const calls = JSON.parse(Buffer.concat(chunks).toString()) as { id: number }[]
      const one = ({ id }: { id: number }) => ({
        jsonrpc: '2.0',
        id,
        result: `0x${'a'.repeat(size)}`,
      })
      resolve(Buffer.from(JSON.stringify(Array.isArray(calls) ? calls.map(one) : one(calls))))
    })
  })

type Serve = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>

type Served = { url: string; cut: number }

/** Runs `fn` against a local server answering every call with `serve`; `cut` counts responses the client hung up on. */
async function withServer(size: number, serve: Serve, fn: (srv: Served) => Promise<void>) {
  const state: Served = { url: '', cut: 0 }
  const srv = createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) state.cut++
    })
    answerOf(size)(req)
      .then((body) => serve(req, res, body))
      .catch(() => res.destroy())
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  state.url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
  try {
    await fn(state)
  } finally {
    srv.closeAllConnections()
    await new Promise<void>((r) => srv.close(() => r()))
  }
}

/** Headers at once, then `bytes` bytes every `interval` ms until the client hangs up. */
const trickle =
  (bytes: number, interval: number): Serve =>
  async (_req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
    res.flushHeaders()
    for (let i = 0; i < body.length && !res.destroyed; i += bytes) {
      if (i > 0) await sleep(interval)
      if (!res.destroyed) res.write(body.subarray(i, i + bytes))
    }
    res.end()
  }

describe('http source: a body that trickles is cut by the byte-rate floor', () => {
  it('cuts a trickling body soon after the grace second, as a timeout naming the rate', async () => {
    // 2 bytes every 100 ms: 20 B/s; the whole 1,050-byte body would take ~50 s.
    await withServer(1_000, trickle(2, 100), async (srv) => {
      // Cut at the grace second exactly, on fake timers (not timed: a busy machine delays timers).
      const { read } = await cutAtTheGrace(1_000, (fetchFn) =>
        http(srv.url, { name: 't', fetchFn }).request({ method: 'eth_call' }),
      )
      await failsWith(
        read,
        'timeout',
        /^t: body arrived at \d+ B\/s, below the floor of 16384 B\/s \(\d+ bytes in 1000 ms\)$/,
      )
      // The connection is dropped at once: the server sees its response cut.
      await sleep(50)
      assert.equal(srv.cut, 1)
    })
  })

  it('a short timeout shortens the grace to half of it; a floor of 0 leaves only the timeout', async () => {
    await withServer(100, trickle(1, 50), async (srv) => {
      // A timeout of 1.8 s: the grace is 900 ms, cut exactly then on fake timers (the attempt's
      // own timeout stays real, far off).
      const { read } = await cutAtTheGrace(900, (fetchFn) =>
        http(srv.url, { timeout: 1_800, fetchFn }).request({ method: 'eth_call' }),
      )
      await failsWith(read, 'timeout', /below the floor .*\(\d+ bytes in 900 ms\)$/)
      const started = performance.now()
      await failsWith(
        http(srv.url, { timeout: 600, minBytesPerSecond: 0 }).request({ method: 'eth_call' }),
        'timeout',
        /no answer within 600 ms/,
      )
      const ms = performance.now() - started
      assert.ok(ms >= 590, `cut after ${ms} ms`)
    })
  })

  it('a body above the floor is not cut, however long it takes within the timeout', async () => {
    // 64 KiB/s for ~1.6 s: slower than any real node, four times the floor.
    await withServer(100_000, trickle(4_096, 62), async (srv) => {
      const result = await http(srv.url).request({ method: 'eth_call' })
      assert.equal((result as string).length, 100_002)
    })
  })

  it('slow headers then a fast body: the clock starts with the body', async () => {
    await withServer(
      1_000,
      async (_req, res, body) => {
        await sleep(1_500)
        res.writeHead(200, { 'content-type': 'application/json' }).end(body)
      },
      async (srv) => {
        const result = await http(srv.url).request({ method: 'eth_call' })
        assert.equal((result as string).length, 1_002)
      },
    )
  })

  it('a large body sent fast is not cut', async () => {
    const size = 8 * 1024 * 1024
    await withServer(
      size,
      async (_req, res, body) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        for (let i = 0; i < body.length; i += 65_536) {
          if (!res.write(body.subarray(i, i + 65_536)))
            await new Promise((r) => res.once('drain', r))
        }
        res.end()
      },
      async (srv) => {
        const result = await http(srv.url).request({ method: 'eth_call' })
        assert.equal((result as string).length, size + 2)
      },
    )
  })

  it('a body that stops after the first bytes is cut at the grace too', async () => {
    await withServer(
      1_000,
      async (_req, res, body) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
        res.write(body.subarray(0, 10))
      },
      async (srv) => {
        const { read } = await cutAtTheGrace(1_000, (fetchFn) =>
          http(srv.url, { fetchFn }).request({ method: 'eth_call' }),
        )
        await failsWith(read, 'timeout', /body arrived at \d+ B\/s, below the floor .* 1000 ms\)$/)
      },
    )
  })

  it('the caller cancelling ends the read at once', async () => {
    await withServer(1_000, trickle(2, 100), async (srv) => {
      const controller = new AbortController()
      const pending = http(srv.url).request({ method: 'eth_call' }, { signal: controller.signal })
      await sleep(300)
      controller.abort()
      // At once: failed before the event loop turns (no timer, no socket event needed), which a
      // busy machine cannot delay, where a time bound would flake.
      assert.equal(await settledWithinATurn(pending), 'failed')
      await failsWith(pending, 'aborted')
      await sleep(50)
      assert.equal(srv.cut, 1)
    })
  })

  it('a batch that trickles is cut the same way', async () => {
    await withServer(1_000, trickle(2, 100), async (srv) => {
      const s = http(srv.url, { batch: true })
      const calls = [s.request({ method: 'eth_call' }), s.request({ method: 'eth_call' })]
      for (const call of calls) await failsWith(call, 'timeout', /below the floor/)
    })
  })

  it('its timer goes with the read; the caller cancelling ends it even when fetch ignores the signal', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    await sleep(300) // the earlier tests' servers wind down
    const baseline = timers()
    const cancelled: unknown[] = []
    /** A fetch that answers at once with a body that stops after its first bytes, deaf to signals. */
    const stalling: typeof fetch = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start: (c) => c.enqueue(new TextEncoder().encode('{"jsonrpc":"2.0",')),
          pull: () => new Promise(() => {}),
          cancel: (reason) => void cancelled.push(reason),
        }),
        { headers: { 'content-type': 'application/json' } },
      )
    const s = http('http://127.0.0.1:1', { fetchFn: stalling })
    const controller = new AbortController()
    const pending = s.request({ method: 'eth_call' }, { signal: controller.signal })
    pending.catch(() => {}) // asserted below
    await sleep(200)
    assert.equal(timers(), baseline + 1) // the rate check
    controller.abort()
    // At once, though fetch ignores the signal: failed before the event loop turns.
    assert.equal(await settledWithinATurn(pending), 'failed')
    await failsWith(pending, 'aborted')
    assert.equal(cancelled.length, 1)
    assert.equal(timers(), baseline)
    await failsWith(s.request({ method: 'eth_call' }), 'timeout', /below the floor/)
    assert.equal(cancelled.length, 2)
    assert.equal(timers(), baseline)
    const whole: typeof fetch = async (_url, init) => {
      const { id } = JSON.parse(String(init?.body)) as { id: number }
      return Response.json({ jsonrpc: '2.0', id, result: '0x1' })
    }
    assert.equal(
      await http('http://127.0.0.1:1', { fetchFn: whole }).request({ method: 'x' }),
      '0x1',
    )
    assert.equal(timers(), baseline)
  })

  it('minBytesPerSecond is checked at construction', () => {
    for (const bad of [-1, Number.NaN, Infinity, '16384', null, 1n])
      assert.throws(
        () => http('http://127.0.0.1:1', { name: 'n', minBytesPerSecond: bad as never }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.startsWith('http(n): minBytesPerSecond must be') &&
          e.message.includes(String(bad)),
      )
    http('http://127.0.0.1:1', { minBytesPerSecond: 0 })
    http('http://127.0.0.1:1', { minBytesPerSecond: 1_000_000.5 })
  })
})

describe('http source: what a hostile node or an impatient caller cannot break', () => {
  const nested = `${'['.repeat(200_000)}1${']'.repeat(200_000)}`
  const answering =
    (text: (ids: number[]) => string): typeof fetch =>
    async (_url, init) => {
      const body = JSON.parse(String(init?.body)) as { id: number } | { id: number }[]
      const ids = Array.isArray(body) ? body.map((c) => c.id) : [body.id]
      return new Response(text(ids), { headers: { 'content-type': 'application/json' } })
    }

  it('an id nested 200,000 deep is a body failure (showing it overflowed the stack)', async () => {
    const s = http('http://127.0.0.1:8545', {
      name: 'n',
      fetchFn: answering(() => `{"jsonrpc":"2.0","id":${nested},"result":"0x1"}`),
    })
    await failsWith(
      s.request({ method: 'eth_chainId' }),
      'body',
      /^n: response id \[…\] does not match \d+$/,
    )
    const batched = http('http://127.0.0.1:8545', {
      name: 'b',
      batch: true,
      // Two answers to two calls: the nested one is no one's, the other call is answered.
      fetchFn: answering((ids) => `[{"id":${nested},"result":1},{"id":${ids[1]},"result":7}]`),
    })
    const [a, b] = [batched.request({ method: 'x' }), batched.request({ method: 'y' })]
    await failsWith(a, 'body', /batch answer lacks id/)
    assert.equal(await b, 7)
  })

  it('a batched call cancelled before its batch goes out leaves no unhandled rejection when the batch fails', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => void unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      const failing: typeof fetch = async () => {
        throw new TypeError('fetch failed')
      }
      const s = http('http://127.0.0.1:8545', { fetchFn: failing, batch: true })
      const cancelled = s.request({ method: 'eth_chainId' }, { signal: AbortSignal.abort() })
      const waiting = s.request({ method: 'eth_chainId' })
      await failsWith(cancelled, 'aborted')
      await failsWith(waiting, 'network', /network error/)
      await sleep(50)
      assert.deepEqual(unhandled, [])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})
