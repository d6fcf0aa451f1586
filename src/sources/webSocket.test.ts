import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, it, vi } from 'vitest'
import WS, { WebSocketServer } from 'ws'
import { type Anvil, startAnvil, startWsProxy, type WsProxy } from '../../test/lab/index.ts'
import { RpcResponseError, SourceError } from '../shared/errors.ts'
import {
  type ResubscribeEvent,
  type WebSocketSource,
  type WebSocketSourceOptions,
  type WebSocketStateEvent,
  webSocket,
} from './webSocket.ts'

type Head = { number: string; hash: string; parentHash: string }

let anvil: Anvil
let proxy: WsProxy
const sources: WebSocketSource[] = []

beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
})
afterAll(() => anvil.stop())
afterEach(async () => {
  for (const s of sources.splice(0)) s.close()
  await proxy?.stop()
})

async function lab(latency = 0) {
  proxy = await startWsProxy(`ws://127.0.0.1:${anvil.port}`, { name: 'ws', latency })
  return proxy
}

const source = (options: WebSocketSourceOptions = {}, url = proxy.url) => {
  const s = webSocket(url, { name: 'ws', timeout: 2000, ...options })
  sources.push(s)
  return s
}

/** Records the source's state events. */
function track(s: WebSocketSource) {
  const events: (WebSocketStateEvent & { t: number })[] = []
  s.onState((e) => events.push({ ...e, t: performance.now() }))
  return events
}

/** Collects heads from a newHeads subscription, with arrival times. */
async function heads(s: WebSocketSource, onResubscribe?: (e: ResubscribeEvent) => void) {
  const seen: (Head & { t: number })[] = []
  const errors: SourceError[] = []
  const sub = await s.subscribe(
    ['newHeads'],
    (h) => seen.push({ ...(h as Head), t: performance.now() }),
    {
      onError: (e) => errors.push(e),
      onResubscribe,
    },
  )
  return { sub, seen, errors }
}

async function until<T>(what: string, ms: number, fn: () => T | undefined | false): Promise<T> {
  const deadline = performance.now() + ms
  for (;;) {
    const value = fn()
    if (value) return value
    if (performance.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

const failsWith = async (promise: Promise<unknown>, kind: string, pattern?: RegExp) => {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof SourceError, `expected SourceError, got ${e}`)
    assert.equal(e.kind, kind, e.message)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
}

/** The platform's WebSocket, recording the method of each call sent on it, in order. */
function recordingSends() {
  const sent: string[] = []
  class Recording extends WebSocket {
    override send(data: Parameters<WebSocket['send']>[0]) {
      sent.push(String((JSON.parse(String(data)) as { method?: unknown }).method))
      super.send(data)
    }
  }
  return { sent, Recording }
}

const numbers = (seen: Head[]) => seen.map((h) => Number(h.number))

describe('webSocket source against anvil through the WebSocket fault proxy', () => {
  it('connects lazily, answers calls matched by id, and carries metadata', async () => {
    const p = await lab()
    const s = source({ domain: 'aws-us-east-1', kind: 'self-hosted', weight: 2 })
    const events = track(s)
    assert.equal(s.state, 'closed')
    await sleep(50)
    assert.equal(p.stats.connections, 0, 'no connection before the first call')
    assert.deepEqual(
      { ...s.config, label: undefined, redact: undefined },
      {
        name: 'ws',
        kind: 'self-hosted',
        domain: 'aws-us-east-1',
        weight: 2,
        untrusted: false,
        label: undefined,
        redact: undefined,
      },
    )
    assert.equal(await s.request({ method: 'eth_chainId' }), '0x7a69')
    assert.equal(s.state, 'open')
    assert.deepEqual(
      events.map((e) => e.state),
      ['connecting', 'open'],
    )
    const latest = Number(await s.request({ method: 'eth_blockNumber' }))
    const wanted = Array.from({ length: 12 }, (_, i) => i % (latest + 1))
    const [version, ...blocks] = await Promise.all([
      s.request({ method: 'net_version' }),
      ...wanted.map((n) =>
        s.request({ method: 'eth_getBlockByNumber', params: [`0x${n.toString(16)}`, false] }),
      ),
    ])
    assert.equal(version, '31337')
    assert.deepEqual(
      blocks.map((b) => Number((b as Head).number)),
      wanted,
    )
    await assert.rejects(
      s.request({ method: 'eth_getBalance', params: ['0xnotanaddress', 'latest'] }),
      (e: unknown) => e instanceof RpcResponseError && e.code === -32602,
    )
    assert.equal(p.stats.connections, 1, 'one socket for every call')
  })

  it('delivers newHeads in order and stops after unsubscribe', async () => {
    const p = await lab()
    const s = source()
    const { sub, seen } = await heads(s)
    assert.match(sub.id, /^0x[0-9a-f]+$/)
    await until('two heads', 3500, () => seen.length >= 2)
    const [a, b] = seen
    assert.equal(Number(b!.number), Number(a!.number) + 1)
    assert.equal(b!.parentHash, a!.hash)
    await sub.unsubscribe()
    assert.equal(p.stats.byMethod.eth_unsubscribe, 1)
    const count = seen.length
    await sleep(1500)
    assert.equal(seen.length, count, 'no notification after unsubscribe')
  })

  it('drop without a close frame: pending calls fail fast, then it reconnects and resubscribes', async (t) => {
    const p = await lab()
    const s = source({ reconnect: { delay: 250 } })
    const events = track(s)
    const resubscribed: (ResubscribeEvent & { t: number; at: number })[] = []
    const { sub, seen, errors } = await heads(s, (e) =>
      resubscribed.push({ ...e, t: performance.now(), at: Date.now() }),
    )
    const firstId = sub.id
    await until('a head', 2500, () => seen.length >= 1)

    p.setLatency(400) // holds the next call in the proxy
    const pendingCall = s.request({ method: 'eth_blockNumber' })
    await sleep(50)
    const before = seen.length
    const dropped = performance.now()
    const droppedAt = Date.now()
    await p.setMode({ kind: 'drop' })
    p.setLatency(0)
    await p.setMode({ kind: 'ok' })
    const failure = await pendingCall.then(
      () => assert.fail('the pending call was answered'),
      (e: unknown) => e,
    )
    await failsWith(
      Promise.reject(failure),
      'network',
      /connection lost \(code 1006.*no close frame\)/,
    )
    const failedAfter = performance.now() - dropped
    // Failed fast: by the loss itself, as it was seen (the very error of the socket's `closed`
    // event), not by its 2 s timeout or a later answer. Shown by identity, not timed (a busy
    // machine makes any time bound flaky); the time is reported below.
    const lost = events.find((e) => e.state === 'closed')
    assert.equal(failure, lost?.error, 'the pending call failed with the loss, as it happened')

    const resub = await until('the resubscribe', 2000, () => resubscribed[0])
    const resumed = await until('a head on the new subscription', 3500, () =>
      seen.find((h, i) => i >= before && h.t >= resub.t),
    )
    const toResubscribe = resub.t - dropped
    const toNotification = resumed.t - dropped
    await t.annotate(
      `drop → pending call failed ${failedAfter.toFixed(0)} ms, → resubscribed ${toResubscribe.toFixed(0)} ms, → first new notification ${toNotification.toFixed(0)} ms (block time 1 s)`,
    )
    // Promptness is the reconnect's schedule (retryIn <= 250 below, one resubscribe) and the
    // waits above, not a time bound: the measured times are reported, not asserted.
    assert.equal(resubscribed.length, 1, 'resubscribed once')
    assert.notEqual(resub.id, firstId, 'a new server-side id')
    assert.equal(resub.previousId, firstId)
    assert.equal(sub.id, resub.id, 'the same handle carries the new id')
    // The downtime the source reports lies within the drop → resubscribe span seen from here.
    assert.ok(
      resub.downtime >= 0 && resub.downtime <= resub.at - droppedAt,
      `downtime ${resub.downtime}, drop → resubscribe ${resub.at - droppedAt} ms`,
    )
    assert.deepEqual(errors, [])
    const ns = numbers(seen)
    assert.ok(
      ns.every((n, i) => i === 0 || n > ns[i - 1]!),
      `heads strictly increase: ${ns}`,
    )
    assert.equal(p.stats.byMethod.eth_subscribe, 2)

    const closed = events.find((e) => e.state === 'closed')
    assert.equal(closed?.error?.kind, 'network')
    assert.ok(closed.retryIn !== undefined && closed.retryIn <= 250, `retryIn ${closed.retryIn}`)
    const reopened = events.findLast((e) => e.state === 'open')
    assert.ok(reopened?.downtime !== undefined, 'the reopen says how long the socket was down')
  })

  it('blackhole (half-open): the heartbeat notices within interval + timeout, then it reconnects', async (t) => {
    const p = await lab()
    const heartbeat = { interval: 500, timeout: 250 }
    const { sent, Recording } = recordingSends()
    const s = source({
      heartbeat,
      timeout: 1000,
      reconnect: { delay: 50, maxDelay: 200 },
      webSocketImpl: Recording,
    })
    const events = track(s)
    const resubscribed: ResubscribeEvent[] = []
    const { seen } = await heads(s, (e) => resubscribed.push(e))
    await until('a head', 2500, () => seen.length >= 1)
    assert.ok((p.stats.byMethod.eth_chainId ?? 0) >= 1, 'a heartbeat went out on open')

    // Cut right after a heartbeat was answered: the worst case, a full interval + timeout.
    const beats = p.stats.byMethod.eth_chainId ?? 0
    await until('the next heartbeat', 1000, () => (p.stats.byMethod.eth_chainId ?? 0) > beats)
    await sleep(20)
    const pendingCall = failsWith(s.request({ method: 'eth_blockNumber' }), 'network', /heartbeat/)
    const cut = performance.now()
    const sentBefore = sent.length
    await p.setMode({ kind: 'blackhole' })
    const dead = await until('the heartbeat to declare the socket dead', 2000, () =>
      events.find((e) => e.state === 'closed'),
    )
    const detected = dead.t - cut
    await t.annotate(`half-open socket detected after ${detected.toFixed(0)} ms (bound 750 ms)`)
    // Within interval + timeout, counted rather than timed (a busy machine delays timers): the
    // first heartbeat after the cut (or the one then in flight) is the one whose silence ends
    // the socket, so at most one more went out, and it waited its 250 ms timeout.
    const unanswered = sent.slice(sentBefore).filter((m) => m === 'eth_chainId').length
    assert.ok(unanswered <= 1, `${unanswered} heartbeats sent after the cut before the drop`)
    assert.match(dead.error?.message ?? '', /heartbeat unanswered for 250 ms/)
    await pendingCall

    await sleep(300) // a reconnect attempt is now held by the blackhole
    const before = seen.length
    await p.setMode({ kind: 'ok' })
    await until('the resubscribe', 2500, () => resubscribed.length === 1)
    await until('a head after the blackhole', 3500, () => seen.length > before)
    assert.equal(s.state, 'open')
  })

  it('refused: backs off with full jitter until the listener is back', async () => {
    const p = await lab()
    const s = source({ reconnect: { delay: 50, maxDelay: 400 } })
    const events = track(s)
    const resubscribed: ResubscribeEvent[] = []
    const { seen } = await heads(s, (e) => resubscribed.push(e))
    await until('a head', 2500, () => seen.length >= 1)

    await p.setMode({ kind: 'refused' })
    await until(
      'a lost socket and three failed attempts',
      3000,
      () => events.filter((e) => e.state === 'closed').length >= 4,
    )
    // While it waits, calls fail at once with the last reason instead of hanging: settled
    // before the event loop turns (no timer, no socket event needed), which a busy machine
    // cannot delay, where a time bound would flake.
    await until('a reconnect to be waiting', 3000, () => s.state === 'closed')
    const call = s.request({ method: 'eth_chainId' })
    const outcome = await Promise.race([
      call.then(
        () => 'answered',
        () => 'failed',
      ),
      new Promise((resolve) => setImmediate(resolve, 'still pending after a turn of the loop')),
    ])
    assert.equal(outcome, 'failed')
    await failsWith(call, 'network', /not connected, next attempt in \d+ ms \(could not connect/)
    await sleep(600)
    const connectsWhileDown = p.stats.connections

    await p.setMode({ kind: 'ok' })
    await until('the resubscribe', 1500, () => resubscribed.length === 1)
    const closes = events.filter((e) => e.state === 'closed')
    assert.ok(closes.length >= 4, `${closes.length} closes`)
    for (const [i, e] of closes.entries()) {
      const failures = i // the first close ends a healthy socket
      assert.ok(e.retryIn! <= Math.min(400, 50 * 2 ** failures), `wait ${i}: ${e.retryIn} ms`)
      if (i > 0) assert.match(e.error!.message, /could not connect/)
    }
    assert.ok(
      closes.some((e, i) => i > 2 && e.retryIn! > 50),
      `waits grow: ${closes.map((e) => e.retryIn)}`,
    )
    assert.equal(connectsWhileDown, 1, 'no upgrade got through while refused')
    await until('a head after the outage', 3500, () => seen.length > 1 && resubscribed.length === 1)
  })

  it('tells refused and DNS failures apart when the WebSocket class gives a cause (ws)', async () => {
    const p = await lab()
    await p.setMode({ kind: 'refused' })
    await failsWith(source({ webSocketImpl: WS }).request({ method: 'eth_chainId' }), 'refused')
    // Node's built-in WebSocket reports no cause: a plain network failure.
    await failsWith(source().request({ method: 'eth_chainId' }), 'network', /could not connect/)
    const dns = source({ webSocketImpl: WS }, 'ws://outlast-test.invalid/')
    await failsWith(dns.request({ method: 'eth_chainId' }), 'dns', /outlast-test\.invalid/)
  })

  it('times out and aborts calls; late answers are ignored', async () => {
    const p = await lab()
    const s = source({ heartbeat: false, timeout: 300 })
    assert.equal(await s.request({ method: 'eth_chainId' }), '0x7a69')
    await p.setMode({ kind: 'blackhole' })
    // Ends at its timeout, neither before nor after: the call's timer runs on fake timers (the
    // socket stays real), so a busy machine cannot make it late as a time bound would.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    let unanswered: Promise<unknown>
    let settled = false
    try {
      unanswered = s.request({ method: 'eth_blockNumber' })
      unanswered.then(
        () => (settled = true),
        () => (settled = true),
      )
      vi.advanceTimersByTime(299)
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(settled, false, 'still waiting 1 ms before its timeout')
      vi.advanceTimersByTime(1)
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(settled, true, 'failed at its timeout')
    } finally {
      vi.useRealTimers()
    }
    await failsWith(unanswered, 'timeout', /no answer within 300 ms/)

    const controller = new AbortController()
    const aborted = s.request({ method: 'eth_blockNumber' }, { signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    await failsWith(aborted, 'aborted')
    await failsWith(
      s.request({ method: 'eth_chainId' }, { signal: AbortSignal.abort() }),
      'aborted',
    )

    await p.setMode({ kind: 'ok' }) // the held calls are answered now, to no one
    assert.equal(await s.request({ method: 'eth_chainId' }), '0x7a69')
    assert.equal(s.state, 'open')

    // A connection attempt that gets no answer is bounded by the same timeout.
    const fresh = source({ heartbeat: false, timeout: 300 })
    await p.setMode({ kind: 'blackhole' })
    await failsWith(
      fresh.request({ method: 'eth_chainId' }),
      'timeout',
      /no (connection|answer) within 300 ms/,
    )
    await p.setMode({ kind: 'ok' })
  })

  it('close() fails pending calls, ends subscriptions and stops reconnecting', async () => {
    const p = await lab()
    const s = source({ reconnect: { delay: 10, maxDelay: 20 } })
    const events = track(s)
    const { seen } = await heads(s)
    await until('a head', 2500, () => seen.length >= 1)
    p.setLatency(500)
    const pendingCall = s.request({ method: 'eth_blockNumber' })
    await sleep(20)
    s.close()
    await failsWith(pendingCall, 'unavailable', /source closed/)
    await failsWith(s.request({ method: 'eth_chainId' }), 'unavailable')
    assert.equal(s.state, 'closed')
    assert.equal(events.at(-1)?.state, 'closed')
    assert.equal(events.at(-1)?.retryIn, undefined)
    const count = seen.length
    const connections = p.stats.connections
    await sleep(1300)
    assert.equal(seen.length, count, 'no notification after close')
    assert.equal(p.stats.connections, connections, 'no reconnect after close')
  })
})

/** Runs a source in a child process; resolves with its output and how long it took to exit after close(). */
async function childExit(impl: 'global' | 'ws', halfOpen: boolean) {
  const p = proxy
  const file = fileURLToPath(new URL('./webSocket.ts', import.meta.url))
  const code = `
    import { webSocket } from ${JSON.stringify(file)}
    const impl = process.argv[2] === 'ws' ? (await import('ws')).default : undefined
    const s = webSocket(process.argv[1], { webSocketImpl: impl, heartbeat: { interval: 30000 } })
    await new Promise((resolve) => s.subscribe(['newHeads'], resolve))
    console.log('ready')
    process.stdin.once('data', async () => {
      s.close()
      const after = await s.request({ method: 'eth_chainId' }).catch((e) => e.kind)
      console.log('closed ' + s.state + ' ' + after)
    })
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, p.url, impl], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  try {
    await until('the child to get a head', 8000, () => out.includes('ready'))
    if (halfOpen) await p.setMode({ kind: 'blackhole' })
    const started = performance.now()
    child.stdin.end('close\n')
    const code = await Promise.race([exited, sleep(3000, 'hung' as const)])
    return { out, code, ms: performance.now() - started }
  } finally {
    child.kill('SIGKILL')
  }
}

describe('webSocket source close() lets the process exit', () => {
  it('exits by itself after close()', async () => {
    await lab()
    const { out, code, ms } = await childExit('global', false)
    assert.equal(code, 0, out)
    assert.match(out, /closed closed unavailable/)
    assert.ok(ms < 1500, `exit took ${ms.toFixed(0)} ms`)
  })

  it('exits by itself after close() on a half-open socket, with ws as the WebSocket class', async () => {
    await lab()
    const { out, code, ms } = await childExit('ws', true)
    assert.equal(code, 0, out)
    assert.ok(ms < 1500, `exit took ${ms.toFixed(0)} ms`)
  })
})

describe('webSocket source against a misbehaving server (what no node does)', () => {
  let server: WebSocketServer
  let url: string
  /** How the server answers each call on the nth connection (0-based). */
  let answer: (
    call: { id: number; method: string; params: unknown[] },
    connection: number,
  ) => unknown
  let connections = 0
  beforeAll(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise<void>((resolve) => server.once('listening', () => resolve()))
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v3/TOPSECRETKEY42`
    server.on('connection', (ws) => {
      const n = connections++
      ws.on('message', (data) => {
        const call = JSON.parse(String(data)) as { id: number; method: string; params: unknown[] }
        const reply = answer(call, n)
        if (reply === 'close') ws.close(4001, 'bad key TOPSECRETKEY42')
        else if (typeof reply === 'string') ws.send(reply)
        else if (reply !== undefined) ws.send(JSON.stringify(reply))
      })
    })
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const ok = (call: { id: number }, result: unknown) => ({ jsonrpc: '2.0', id: call.id, result })

  it('fails calls with `body` for malformed and oversized frames', async () => {
    answer = (call) => {
      const [kind] = call.params as [string]
      if (call.method === 'eth_chainId') return ok(call, '0x7a69')
      if (kind === 'garbage') return '<html>502 Bad Gateway</html>'
      if (kind === 'big') return ok(call, `0x${'ab'.repeat(2000)}`)
      if (kind === 'empty') return { jsonrpc: '2.0', id: call.id }
      return ok(call, kind)
    }
    const s = webSocket(url, { name: 'mock', maxResponseBytes: 1000, heartbeat: false })
    sources.push(s)
    const call = (kind: string) => s.request({ method: 'test_echo', params: [kind] })
    await failsWith(call('garbage'), 'body', /malformed frame/)
    await failsWith(call('empty'), 'body', /neither result nor error/)
    assert.equal(await call('fine'), 'fine')
    // An oversized frame also drops the socket (no honest node sends one); a new one opens.
    const before = connections
    await failsWith(call('big'), 'body', /exceeds maxResponseBytes \(1000\)/)
    await until('a new socket', 2000, () => connections > before)
    let again = ''
    for (let i = 0; i < 100 && again !== 'fine'; i++)
      again = String(await call('fine').catch(() => sleep(20, '')))
    assert.equal(again, 'fine', 'answered on the new socket')
  })

  it('matches answers sent out of order', async () => {
    const held: { id: number; params: unknown[] }[] = []
    answer = (call) => {
      held.push(call)
      return undefined
    }
    const s = webSocket(url, { name: 'mock', heartbeat: false })
    sources.push(s)
    const calls = ['a', 'b', 'c'].map((x) => s.request({ method: 'test_echo', params: [x] }))
    await until('three calls at the server', 2000, () => held.length === 3)
    const [client] = [...server.clients]
    for (const c of held.reverse()) client!.send(JSON.stringify(ok(c, c.params[0])))
    assert.deepEqual(await Promise.all(calls), ['a', 'b', 'c'])
  })

  it('ends a subscription whose resubscribe is refused, with onError', async () => {
    connections = 0
    answer = (call, n) => {
      if (call.method === 'eth_chainId') return ok(call, '0x7a69')
      if (call.method === 'eth_subscribe' && n === 0) return ok(call, '0xabc')
      if (call.method === 'eth_subscribe')
        return {
          jsonrpc: '2.0',
          id: call.id,
          error: { code: -32601, message: 'subscriptions disabled' },
        }
      return undefined
    }
    const s = webSocket(url, { name: 'mock', reconnect: { delay: 10 } })
    sources.push(s)
    const errors: SourceError[] = []
    const sub = await s.subscribe(
      ['newHeads'],
      () => {},
      (e) => errors.push(e),
    )
    assert.equal(sub.id, '0xabc')
    for (const client of server.clients) client.terminate()
    await until('onError', 2000, () => errors.length === 1)
    assert.ok(errors[0] instanceof RpcResponseError)
    assert.match(errors[0].message, /subscriptions disabled/)
  })

  it('never shows the API key or basic-auth in errors, events or the label', async () => {
    answer = (call) => {
      if (call.method === 'eth_chainId') return ok(call, '0x7a69')
      if (call.method === 'test_close') return 'close'
      return {
        jsonrpc: '2.0',
        id: call.id,
        error: { code: -32000, message: 'unknown key TOPSECRETKEY42' },
      }
    }
    const keyed = `ws://user:pw-SECRET@${url.slice('ws://'.length)}`
    const s = webSocket(keyed, { name: 'keyed', reconnect: { delay: 5000 } })
    sources.push(s)
    const seen: string[] = []
    s.onState((e) => seen.push(`${e.error?.message ?? ''} ${JSON.stringify(e)}`))
    const show = (e: unknown) => `${(e as Error).message} ${JSON.stringify(e)}`
    await s.request({ method: 'test_key' }).catch((e) => seen.push(show(e)))
    await s.request({ method: 'test_close' }).catch((e) => seen.push(show(e)))
    await s.request({ method: 'eth_chainId' }).catch((e) => seen.push(show(e)))
    const p = await lab()
    await p.setMode({ kind: 'refused' })
    const refused = webSocket(`${p.url}/v3/TOPSECRETKEY42`, { name: 'refused' })
    sources.push(refused)
    await refused.request({ method: 'eth_chainId' }).catch((e) => seen.push(show(e)))
    assert.equal(seen.length >= 4, true, seen.join('\n'))
    assert.match(seen.join('\n'), /unknown key …/)
    assert.match(seen.join('\n'), /code 4001: bad key …/)
    for (const text of [...seen, s.config.label, refused.config.label])
      assert.doesNotMatch(text, /TOPSECRETKEY42|pw-SECRET/)
  })

  it('survives a notification whose subscription id is nested 200,000 deep (it threw in the socket handler)', async () => {
    const nested = `${'['.repeat(200_000)}1${']'.repeat(200_000)}`
    const hostile = `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":${nested},"result":1}}`
    answer = (call) => {
      if (call.method !== 'test_after') return undefined
      for (const client of server.clients) client.send(hostile)
      return ok(call, 'still here')
    }
    for (const webSocketImpl of [undefined, WS]) {
      const s = webSocket(url, { name: 'mock', heartbeat: false, webSocketImpl })
      sources.push(s)
      assert.equal(await s.request({ method: 'test_after' }), 'still here')
      assert.equal(s.state, 'open')
    }
  })

  it('refuses headers the platform WebSocket cannot send', () => {
    const headers = { 'x-api-key': 'k' }
    assert.throws(() => webSocket(url, { headers }), /headers need a webSocketImpl/)
    sources.push(webSocket(url, { headers, webSocketImpl: WS }))
  })
})
