import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { type Anvil, startAnvil, startWsProxy, type WsProxy } from './index.ts'

type Message = { id?: unknown; method?: string; result?: unknown; params?: { result?: unknown } }

/** A plain WebSocket client (the platform's), recording what it sees. */
function client(url: string) {
  const ws = new WebSocket(url)
  const messages: Message[] = []
  const waiters: (() => void)[] = []
  let nextId = 0
  ws.onmessage = (event) => {
    messages.push(JSON.parse(String(event.data)) as Message)
    for (const wake of waiters.splice(0)) wake()
  }
  const opened = new Promise<'open' | 'error'>((resolve) => {
    ws.addEventListener('open', () => resolve('open'))
    ws.addEventListener('error', () => resolve('error'))
  })
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', resolve))
  /** The first recorded message (from `from` on) that matches, or undefined after `ms`. */
  async function find(match: (m: Message) => boolean, ms: number, from = 0) {
    const deadline = performance.now() + ms
    for (;;) {
      const found = messages.slice(from).find(match)
      if (found) return found
      const left = deadline - performance.now()
      if (left <= 0) return undefined
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }
  return {
    ws,
    messages,
    opened,
    closed,
    find,
    /** Sends a call; returns its id. */
    send(method: string, params: unknown[] = []) {
      const id = ++nextId
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
      return id
    },
    async call(method: string, params: unknown[] = [], ms = 2000) {
      const id = this.send(method, params)
      const reply = await find((m) => m.id === id, ms)
      assert.ok(reply, `no reply to ${method} within ${ms} ms`)
      return reply.result
    },
  }
}

const isHead = (m: Message) => m.method === 'eth_subscription'

/** Resolves with the close event, or fails when the socket is still open after `ms`. */
async function closesWithin(c: ReturnType<typeof client>, ms: number) {
  const event = await Promise.race([c.closed, sleep(ms, undefined)])
  assert.ok(
    event,
    `socket still ${c.ws.readyState === WebSocket.OPEN ? 'open' : 'not closed'} after ${ms} ms`,
  )
  return event
}

let anvil: Anvil
let proxy: WsProxy
const open: ReturnType<typeof client>[] = []
const dial = (url = proxy.url) => {
  const c = client(url)
  open.push(c)
  return c
}

beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 })
  proxy = await startWsProxy(`ws://127.0.0.1:${anvil.port}`, { name: 'ws-a' })
})
afterAll(async () => {
  for (const c of open) c.ws.close()
  await proxy.stop()
  await anvil.stop()
})

describe('WebSocket fault proxy', () => {
  it('ok: forwards calls and notifications both ways and counts them', async () => {
    await proxy.setMode({ kind: 'ok' })
    proxy.resetStats()
    const c = dial(`${proxy.url}/v3/any-path`)
    assert.equal(await c.opened, 'open')
    assert.equal(await c.call('eth_chainId'), '0x7a69')
    const sub = await c.call('eth_subscribe', ['newHeads'])
    assert.match(String(sub), /^0x[0-9a-f]+$/)
    const head = await c.find(isHead, 2500)
    assert.ok(head, 'no newHeads notification within 2.5 s (block time 1 s)')
    assert.equal(proxy.stats.connections, 1)
    assert.equal(proxy.stats.open, 1)
    assert.equal(proxy.stats.byMethod.eth_chainId, 1)
    assert.equal(proxy.stats.byMethod.eth_subscribe, 1)
    assert.equal(proxy.stats.framesUp, 2)
    assert.ok(proxy.stats.framesDown >= 3, `framesDown ${proxy.stats.framesDown}`)
    assert.ok(proxy.stats.notifications >= 1)
    c.ws.close()
    await closesWithin(c, 1000)
    await sleep(20)
    assert.equal(proxy.stats.open, 0)
  })

  it('ok: latency delays each direction', async () => {
    const c = dial()
    assert.equal(await c.opened, 'open')
    const fast = performance.now()
    await c.call('eth_chainId')
    const base = performance.now() - fast
    proxy.setLatency(300)
    try {
      const started = performance.now()
      await c.call('eth_chainId', [], 5_000)
      const ms = performance.now() - started
      assert.ok(ms >= 595, `round trip ${ms.toFixed(0)} ms with 300 ms each way`)
      // Once each way, not twice: under the 1.2 s a latency counted twice would take at least,
      // by a margin of 600 ms a busy machine cannot eat, where a bound near 600 ms could flake.
      assert.ok(ms < 4 * 300, `round trip ${ms.toFixed(0)} ms (${base.toFixed(0)} ms without)`)
    } finally {
      proxy.setLatency(0)
    }
  })

  it('drop: sockets die without a close frame (1006), new ones right after the upgrade', async () => {
    await proxy.setMode({ kind: 'ok' })
    const c = dial()
    assert.equal(await c.opened, 'open')
    await proxy.setMode({ kind: 'drop' })
    // Closed by the drop (the platform's WebSocket has no heartbeat: left alone it would stay
    // open), so no tight time bound, which a busy machine could break: 5 s only ends the wait.
    const event = await closesWithin(c, 5_000)
    assert.equal(event.code, 1006)
    assert.equal(event.wasClean, false)

    const late = dial()
    assert.equal(await late.opened, 'open')
    assert.equal((await closesWithin(late, 5_000)).code, 1006)

    await proxy.setMode({ kind: 'ok' })
    const again = dial()
    assert.equal(await again.opened, 'open')
    assert.equal(await again.call('eth_chainId'), '0x7a69')
  })

  it('blackhole: sockets stay open but nothing passes either way; held frames flow when back', async () => {
    await proxy.setMode({ kind: 'ok' })
    const c = dial()
    assert.equal(await c.opened, 'open')
    await c.call('eth_subscribe', ['newHeads'])
    assert.ok(await c.find(isHead, 2500), 'no head before the blackhole')

    await proxy.setMode({ kind: 'blackhole' })
    const mark = c.messages.length
    const id = c.send('eth_chainId')
    const late = dial()
    await sleep(1500)
    assert.equal(c.ws.readyState, WebSocket.OPEN, 'a half-open socket looks open')
    assert.equal(c.messages.length, mark, 'no reply and no notification through a blackhole')
    assert.equal(late.ws.readyState, WebSocket.CONNECTING, 'a new upgrade gets no answer')

    await proxy.setMode({ kind: 'ok' })
    assert.ok(await c.find((m) => m.id === id, 1000, mark), 'held call answered when back')
    assert.ok(await c.find(isHead, 2500, mark), 'notifications resume')
    assert.equal(await late.opened, 'open')
    assert.equal(await late.call('eth_chainId'), '0x7a69')
  })

  it('refused: open sockets die, the port refuses, then listens again on the same port', async () => {
    await proxy.setMode({ kind: 'ok' })
    const c = dial()
    assert.equal(await c.opened, 'open')
    await proxy.setMode({ kind: 'refused' })
    assert.equal((await closesWithin(c, 500)).code, 1006)

    const port = Number(new URL(proxy.url).port)
    const code = await new Promise<string | undefined>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(undefined)
      })
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code))
    })
    assert.equal(code, 'ECONNREFUSED')
    const refused = dial()
    // Node 22's WebSocket fires `error` but never `close` for a failed connection.
    assert.equal(await refused.opened, 'error')

    await proxy.setMode({ kind: 'ok' })
    const back = dial()
    assert.equal(await back.opened, 'open')
    assert.equal(await back.call('eth_chainId'), '0x7a69')
  })

  it('close: a proper close frame, on open sockets and right after new upgrades', async () => {
    await proxy.setMode({ kind: 'ok' })
    const c = dial()
    assert.equal(await c.opened, 'open')
    await proxy.setMode({ kind: 'close' })
    const event = await closesWithin(c, 1000)
    assert.equal(event.code, 1001)
    assert.equal(event.wasClean, true)

    await proxy.setMode({ kind: 'close', code: 4000, reason: 'maintenance' })
    const late = dial()
    assert.equal(await late.opened, 'open')
    const lateEvent = await closesWithin(late, 1000)
    assert.deepEqual(
      [lateEvent.code, lateEvent.reason, lateEvent.wasClean],
      [4000, 'maintenance', true],
    )
    await proxy.setMode({ kind: 'ok' })
  })

  it('answers the upgrade with 502 when the node is unreachable', async () => {
    await proxy.setMode({ kind: 'ok' })
    proxy.setUpstream('ws://127.0.0.1:1')
    try {
      const c = dial()
      assert.equal(await c.opened, 'error')
    } finally {
      proxy.setUpstream(`ws://127.0.0.1:${anvil.port}`)
    }
    const back = dial()
    assert.equal(await back.opened, 'open')
  })
})
