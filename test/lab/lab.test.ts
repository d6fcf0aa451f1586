import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest'
import {
  type Anvil,
  devAccounts,
  type FaultProxy,
  type Lab,
  startForkedNode,
  startLab,
  startLaggingNode,
  withLab,
} from './index.ts'

type Reply = {
  jsonrpc: '2.0'
  id: unknown
  result?: unknown
  error?: { code: number; message: string }
}

const alice = devAccounts[0].address
let nextId = 0
const call = (method: string, params: unknown[] = []) => ({
  jsonrpc: '2.0',
  id: ++nextId,
  method,
  params,
})

async function post(url: string, body: unknown, init: RequestInit = {}, fetchFn = fetch) {
  const started = performance.now()
  const res = await fetchFn(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  })
  const bytes = Buffer.from(await res.arrayBuffer())
  return { res, text: bytes.toString('utf8'), bytes, ms: performance.now() - started }
}

async function rpc(url: string, body: unknown) {
  const { res, text } = await post(url, body)
  assert.equal(res.status, 200, text)
  return JSON.parse(text) as Reply & Reply[]
}

/** The error code (ECONNREFUSED, ENOTFOUND…) or name (TimeoutError) a request fails with. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause
    return cause?.code ?? (error as Error).name
  }
  return assert.fail('expected the request to fail')
}

describe('fault proxy', () => {
  let lab: Lab
  let proxy: FaultProxy
  beforeAll(async () => {
    lab = await startLab({ sources: [{ name: 'cloud-a', domain: 'aws-us-east-1' }] })
    proxy = lab.proxy('cloud-a')
  })
  afterAll(() => lab.stop())
  afterEach(async () => {
    await proxy.setMode({ kind: 'ok' })
    proxy.setLatency(0)
  })

  it('forwards single calls and batches, counting requests, calls and methods', async () => {
    proxy.resetStats()
    const single = await rpc(proxy.url, call('eth_chainId'))
    assert.equal(single.result, '0x7a69')
    const batch = await rpc(proxy.url, [
      call('eth_chainId'),
      call('eth_blockNumber'),
      call('eth_getBalance', [alice, 'latest']),
    ])
    assert.equal(batch.length, 3)
    assert.ok(batch.every((reply) => 'result' in reply))
    assert.deepEqual(proxy.stats, {
      requests: 2,
      calls: 4,
      byMethod: { eth_chainId: 2, eth_blockNumber: 1, eth_getBalance: 1 },
    })
    proxy.resetStats()
    assert.deepEqual(proxy.stats, { requests: 0, calls: 0, byMethod: {} })
  })

  it('adds the latency before answering, and latency × factor when slow', async () => {
    proxy.setLatency(150)
    assert.ok((await post(proxy.url, call('eth_chainId'))).ms >= 145)
    proxy.setLatency(20)
    await proxy.setMode({ kind: 'slow', factor: 25 })
    assert.ok((await post(proxy.url, call('eth_chainId'))).ms >= 495)
    // Back to ok: its 20 ms, well under the 500 ms the slow mode took (a margin a busy machine
    // cannot eat, where a bound near the 20 ms could flake).
    await proxy.setMode({ kind: 'ok' })
    const { ms } = await post(proxy.url, call('eth_chainId'))
    assert.ok(ms < 495, `${ms} ms`)
  })

  it('trickle: headers at once, then the real body a few bytes per interval', async () => {
    await proxy.setMode({ kind: 'trickle', bytes: 4, interval: 100 })
    const started = performance.now()
    const res = await fetch(proxy.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(call('eth_chainId')),
    })
    const headersAt = performance.now() - started
    assert.equal(res.status, 200)
    const declared = Number(res.headers.get('content-length'))
    // ceil(declared / 4) slices, one interval apart: the body takes at least this long.
    const expected = (Math.ceil(declared / 4) - 1) * 100
    // At once: well before the body could be through (~1 s), not after it or trickled like it.
    // Tied to the trickle's own time rather than a tight bound a busy machine could break.
    assert.ok(headersAt < expected, `headers after ${headersAt} ms, the body takes ${expected}`)
    const slices: Uint8Array[] = []
    const reader = res.body!.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read()) slices.push(r.value)
    const ms = performance.now() - started
    const text = Buffer.concat(slices).toString('utf8')
    assert.equal(Buffer.byteLength(text), declared)
    assert.equal((JSON.parse(text) as Reply).result, '0x7a69')
    assert.ok(slices.length > 1 && slices.every((s) => s.length <= 4), `${slices.length} slices`)
    assert.ok(ms >= expected - 10, `body in ${ms} ms, expected >= ${expected}`)
  })

  it('trickle: a client that hangs up ends it, and the body it got is the real answer', async () => {
    await proxy.setMode({ kind: 'trickle', bytes: 16, interval: 10 })
    const { res, text } = await post(proxy.url, call('eth_chainId'))
    assert.equal(res.status, 200)
    assert.equal((JSON.parse(text) as Reply).result, '0x7a69')
    await proxy.setMode({ kind: 'trickle', bytes: 1, interval: 1_000 })
    const controller = new AbortController()
    const pending = fetch(proxy.url, {
      method: 'POST',
      body: JSON.stringify(call('eth_chainId')),
      signal: controller.signal,
    })
    const reader = (await pending).body!.getReader()
    assert.equal((await reader.read()).value?.length, 1)
    controller.abort()
    await assert.rejects(reader.read(), { name: 'AbortError' })
    await proxy.setMode({ kind: 'ok' })
    assert.equal((await rpc(proxy.url, call('eth_chainId'))).result, '0x7a69')
  })

  it('blackhole: accepts and never answers, counts, and drops the socket on mode change', async () => {
    await proxy.setMode({ kind: 'blackhole' })
    proxy.resetStats()
    const started = performance.now()
    const code = await failure(
      post(proxy.url, call('eth_chainId'), { signal: AbortSignal.timeout(300) }),
    )
    assert.equal(code, 'TimeoutError')
    assert.ok(performance.now() - started >= 290)
    assert.equal(proxy.stats.requests, 1)
    const pending = post(proxy.url, [call('eth_chainId'), call('eth_blockNumber')])
    await sleep(50)
    assert.equal(proxy.stats.calls, 3)
    await proxy.setMode({ kind: 'ok' })
    assert.equal(await failure(pending), 'UND_ERR_SOCKET')
  })

  it('refused: connections fail with ECONNREFUSED, then the same port serves again', async () => {
    await rpc(proxy.url, call('eth_chainId')) // leave a keep-alive connection open
    await proxy.setMode({ kind: 'refused' })
    assert.equal(await failure(post(proxy.url, call('eth_chainId'))), 'ECONNREFUSED')
    await proxy.setMode({ kind: 'ok' })
    assert.equal((await rpc(proxy.url, call('eth_chainId'))).result, '0x7a69')
  })

  it('dns: proxy.fetch fails with ENOTFOUND quickly; the server itself stays up', async () => {
    await proxy.setMode({ kind: 'dns' })
    const started = performance.now()
    const code = await failure(post(proxy.url, call('eth_chainId'), {}, proxy.fetch))
    assert.equal(code, 'ENOTFOUND')
    assert.ok(performance.now() - started < 2_000)
    assert.equal((await rpc(proxy.url, call('eth_chainId'))).result, '0x7a69')
    await proxy.setMode({ kind: 'ok' })
    const { text } = await post(proxy.url, call('eth_chainId'), {}, proxy.fetch)
    assert.equal(JSON.parse(text).result, '0x7a69')
  })

  it('http5xx: an HTML error page with the status', async () => {
    await proxy.setMode({ kind: 'http5xx' })
    const { res, text } = await post(proxy.url, call('eth_chainId'))
    assert.equal(res.status, 503)
    assert.match(res.headers.get('content-type') ?? '', /text\/html/)
    assert.match(text, /<h1>503 Service Temporarily Unavailable<\/h1>/)
    await proxy.setMode({ kind: 'http5xx', status: 502 })
    assert.equal((await post(proxy.url, call('eth_chainId'))).res.status, 502)
  })

  it('http5xx with flapMs: alternates between failing and forwarding', async () => {
    await proxy.setMode({ kind: 'http5xx', flapMs: 200 })
    const since = performance.now()
    const statuses: number[] = []
    for (const at of [100, 300, 500, 700]) {
      await sleep(since + at - performance.now())
      statuses.push((await post(proxy.url, call('eth_chainId'))).res.status)
    }
    assert.deepEqual(statuses, [503, 200, 503, 200])
  })

  it('rateLimit: HTTP 429 with a JSON-RPC-ish body and Retry-After when set', async () => {
    await proxy.setMode({ kind: 'rateLimit', retryAfter: 2 })
    const limited = await post(proxy.url, call('eth_chainId'))
    assert.equal(limited.res.status, 429)
    assert.equal(limited.res.headers.get('retry-after'), '2')
    assert.equal(JSON.parse(limited.text).error.code, -32005)
    await proxy.setMode({ kind: 'rateLimit' })
    const bare = await post(proxy.url, call('eth_chainId'))
    assert.equal(bare.res.status, 429)
    assert.equal(bare.res.headers.get('retry-after'), null)
  })

  it('quota: HTTP 402 quota exhausted', async () => {
    await proxy.setMode({ kind: 'quota' })
    const { res, text } = await post(proxy.url, call('eth_chainId'))
    assert.equal(res.status, 402)
    assert.match(text, /quota exhausted/)
  })

  it('CORS: for requests with an Origin only; preflights answered, faults keep the headers', async () => {
    const origin = { origin: 'http://127.0.0.1:1', 'content-type': 'application/json' }
    const plain = await post(proxy.url, call('eth_chainId'))
    assert.equal(plain.res.headers.get('access-control-allow-origin'), null)
    proxy.resetStats()
    const preflight = await fetch(proxy.url, {
      method: 'OPTIONS',
      headers: {
        origin: origin.origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-api-key',
      },
    })
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*')
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'POST')
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'content-type,x-api-key')
    assert.equal(proxy.stats.requests, 0, 'a preflight is not counted')
    const cors = await post(proxy.url, call('eth_chainId'), { headers: origin })
    assert.equal(JSON.parse(cors.text).result, '0x7a69')
    assert.equal(cors.res.headers.get('access-control-allow-origin'), '*')
    await proxy.setMode({ kind: 'rateLimit', retryAfter: 2 })
    const limited = await post(proxy.url, call('eth_chainId'), { headers: origin })
    assert.equal(limited.res.status, 429)
    assert.equal(limited.res.headers.get('access-control-allow-origin'), '*')
    assert.equal(limited.res.headers.get('access-control-expose-headers'), 'retry-after')
    await proxy.setMode({ kind: 'blackhole' })
    const held = fetch(proxy.url, {
      method: 'OPTIONS',
      headers: { origin: origin.origin, 'access-control-request-method': 'POST' },
      signal: AbortSignal.timeout(300),
    })
    assert.equal(await failure(held), 'TimeoutError')
  })

  it('rpcError: HTTP 200 with an error object per call, same ids', async () => {
    await proxy.setMode({ kind: 'rpcError', code: -32000, message: 'header not found' })
    const single = call('eth_blockNumber')
    assert.deepEqual(await rpc(proxy.url, single), {
      jsonrpc: '2.0',
      id: single.id,
      error: { code: -32000, message: 'header not found' },
    })
    const batch = [call('eth_chainId'), call('eth_blockNumber')]
    const replies = await rpc(proxy.url, batch)
    assert.deepEqual(
      replies.map((reply) => [reply.id, reply.error?.code]),
      batch.map((c) => [c.id, -32000]),
    )
    await proxy.setMode({ kind: 'rpcError' })
    assert.equal((await rpc(proxy.url, call('eth_chainId'))).error?.code, -32603)
  })

  it('garbage: HTTP 200 with each kind of broken body', async () => {
    const parses = (text: string) => {
      try {
        JSON.parse(text)
        return true
      } catch {
        return false
      }
    }
    const bodies: Record<string, string> = {}
    for (const variant of ['truncated', 'binary', 'notJson', 'html200', 'empty'] as const) {
      await proxy.setMode({ kind: 'garbage', variant })
      const { res, text } = await post(proxy.url, call('eth_getBalance', [alice, 'latest']))
      assert.equal(res.status, 200, variant)
      assert.equal(parses(text), false, variant)
      bodies[variant] = `${res.headers.get('content-type')} ${text}`
    }
    assert.equal(bodies.empty, 'application/json ')
    assert.match(bodies.html200!, /^text\/html <!DOCTYPE html>/)
    assert.match(bodies.truncated!, /^application\/json \{"jsonrpc":"2.0"/)
    await proxy.setMode({ kind: 'garbage', variant: 'wrongId' })
    const sent = call('eth_chainId')
    const reply = await rpc(proxy.url, sent)
    assert.equal(reply.result, '0x7a69')
    assert.notEqual(reply.id, sent.id)
  })

  it('methods: only the listed methods fail, also inside a batch', async () => {
    await proxy.setMode({ kind: 'methods', failing: ['eth_getBalance'] })
    assert.equal(
      (await rpc(proxy.url, call('eth_getBalance', [alice, 'latest']))).error?.code,
      -32601,
    )
    assert.equal((await rpc(proxy.url, call('eth_chainId'))).result, '0x7a69')
    const batch = [
      call('eth_chainId'),
      call('eth_getBalance', [alice, 'latest']),
      call('eth_chainId'),
    ]
    const replies = await rpc(proxy.url, batch)
    assert.deepEqual(
      replies.map((reply) => reply.id),
      batch.map((c) => c.id),
    )
    assert.deepEqual(
      replies.map((reply) => (reply.error ? 'error' : reply.result)),
      ['0x7a69', 'error', '0x7a69'],
    )
    await proxy.setMode({ kind: 'methods', failing: ['eth_getBalance'], with: 'http5xx' })
    assert.equal((await post(proxy.url, batch)).res.status, 503)
    assert.equal((await post(proxy.url, call('eth_chainId'))).res.status, 200)
  })

  it('lie: alters balances, nonces and call results, and stays well-formed', async () => {
    const contract = '0x00000000000000000000000000000000000c0de1'
    // PUSH1 0x2a PUSH1 0 MSTORE PUSH1 0x20 PUSH1 0 RETURN: returns uint256(42)
    await lab.anvil.rpc('anvil_setCode', [contract, '0x602a60005260206000f3'])
    const calls = () => [
      call('eth_getBalance', [alice, 'latest']),
      call('eth_getTransactionCount', [alice, 'latest']),
      call('eth_call', [{ to: contract, data: '0x' }, 'latest']),
      call('eth_call', [{ to: alice, data: '0x' }, 'latest']),
      call('eth_chainId'),
    ]
    const honest = (await rpc(proxy.url, calls())).map((reply) => reply.result as string)
    await proxy.setMode({ kind: 'lie' })
    const lies = (await rpc(proxy.url, calls())).map((reply) => reply.result as string)
    assert.equal(BigInt(lies[0]!), BigInt(honest[0]!) + 10n ** 18n)
    assert.equal(BigInt(lies[1]!), BigInt(honest[1]!) + 5n)
    assert.equal(honest[2]!.slice(-2), '2a')
    assert.equal(lies[2], `${honest[2]!.slice(0, -2)}d5`)
    assert.deepEqual([honest[3], lies[3]], ['0x', '0x01'])
    assert.equal(lies[4], honest[4])
    await proxy.setMode({ kind: 'lie', methods: ['eth_call'] })
    const single = await rpc(proxy.url, call('eth_getBalance', [alice, 'latest']))
    assert.equal(single.result, honest[0])
  })
})

describe('head-fault nodes', () => {
  let lab: Lab
  const nodes: Anvil[] = []
  const block = async (node: Anvil, n: number) =>
    (
      await node.rpc<{ hash: string } | null>('eth_getBlockByNumber', [
        `0x${n.toString(16)}`,
        false,
      ])
    )?.hash
  beforeAll(async () => {
    lab = await startLab({ sources: [{ name: 'home', domain: 'home', kind: 'self-hosted' }] })
    await lab.anvil.rpc('anvil_mine', ['0x5'])
  })
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop())) // forks read from main: stop them first
    await lab.stop()
  })

  it('a lagging node keeps main’s history and stops following it', async () => {
    const lagging = await startLaggingNode(lab.anvil)
    nodes.push(lagging)
    const head = Number(await lagging.rpc<string>('eth_blockNumber'))
    assert.equal(await block(lagging, head), await block(lab.anvil, head))
    await lab.anvil.rpc('anvil_mine', ['0x3'])
    assert.equal(Number(await lagging.rpc<string>('eth_blockNumber')), head)
    assert.ok(Number(await lab.anvil.rpc<string>('eth_blockNumber')) >= head + 3)
    assert.equal(await lagging.rpc('eth_chainId'), await lab.anvil.rpc('eth_chainId'))
    const proxy = lab.proxy('home')
    proxy.setUpstream(lagging.url)
    assert.equal(Number((await rpc(proxy.url, call('eth_blockNumber'))).result), head)
    proxy.setUpstream(lab.anvil.url)
  })

  it('a forked node shares history up to head − depth and has its own blocks above', async () => {
    const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    const forked = await startForkedNode(lab.anvil, { depth: 2 })
    nodes.push(forked)
    assert.equal(await forked.rpc('eth_chainId'), await lab.anvil.rpc('eth_chainId'))
    assert.ok(Number(await forked.rpc<string>('eth_blockNumber')) >= head)
    assert.equal(await block(forked, head - 2), await block(lab.anvil, head - 2))
    const ours = await block(forked, head - 1)
    assert.ok(ours)
    assert.notEqual(ours, await block(lab.anvil, head - 1))
  })
})

describe('lab', () => {
  it('puts one proxy per source in front of the same chain and always stops', async () => {
    let urls: string[] = []
    let held: Promise<string> | undefined
    await withLab(
      {
        sources: [
          { name: 'cloud-a', domain: 'aws-us-east-1', latency: 10 },
          { name: 'home', domain: 'home', kind: 'self-hosted' },
        ],
      },
      async (lab) => {
        urls = lab.proxies.map((proxy) => proxy.url)
        assert.deepEqual(
          lab.sources.map((s) => [s.name, s.domain, s.kind, s.latency]),
          [
            ['cloud-a', 'aws-us-east-1', 'cloud', 10],
            ['home', 'home', 'self-hosted', 0],
          ],
        )
        assert.equal(lab.proxy('home'), lab.proxies[1])
        assert.throws(() => lab.proxy('nope'), /no source named/)
        const heads = await Promise.all(
          urls.map((url) => rpc(url, call('eth_getBlockByNumber', ['0x0', false]))),
        )
        assert.equal(
          (heads[0]!.result as { hash: string }).hash,
          (heads[1]!.result as { hash: string }).hash,
        )
        await lab.proxy('home').setMode({ kind: 'blackhole' })
        held = failure(post(urls[1]!, call('eth_chainId')))
        await sleep(20)
      },
    )
    assert.equal(await held, 'UND_ERR_SOCKET') // stop() drops blackholed requests
    assert.equal(await failure(post(urls[0]!, call('eth_chainId'))), 'ECONNREFUSED')
  })
})
