/** The call matching of a WebSocket source alone, on a fake connection: no socket, no network. */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { RpcResponseError, SourceError } from '../shared/errors.ts'
import { jsonRpc } from './jsonRpc.ts'
import { scrubberFor } from './secrets.ts'
import type { ResubscribeEvent } from './webSocketTypes.ts'
import { Calls, type Link } from './wsCalls.ts'
import type { Socket } from './wsConnection.ts'

type Sent = { id: number; method: string; params: unknown[] }

function setup(state: Link['state'] = 'open') {
  const sent: Sent[] = []
  const dropped: string[] = []
  const socket = { send: (frame: string) => sent.push(JSON.parse(frame)) } as unknown as Socket
  const link: { -readonly [K in keyof Link]: Link[K] } = {
    socket,
    state,
    closed: false,
    use: () => undefined,
    drop: (error) => void dropped.push(error.reason),
  }
  const calls = new Calls(jsonRpc('s', scrubberFor('ws://127.0.0.1/')), link, {
    timeout: 1_000,
    maxResponseBytes: 10_000,
  })
  const answer = (...items: unknown[]) =>
    calls.message(JSON.stringify(items.length === 1 ? items[0] : items))
  return { sent, link, calls, answer, socket, dropped }
}

const kindOf = (p: Promise<unknown>) =>
  p.then(
    () => 'answered',
    (e: SourceError) => `${e.kind}: ${e.reason}`,
  )

describe('Calls: answers matched to calls', () => {
  it('by id, in any order, one frame or a batch frame; late and unknown answers are ignored', async () => {
    const { sent, calls, answer } = setup()
    const a = calls.call({ method: 'm', params: ['a'] }, undefined, 1_000)
    const b = calls.call({ method: 'm' }, undefined, 1_000)
    const c = calls.call({ method: 'm' }, undefined, 1_000)
    assert.deepEqual(
      sent.map((s) => [s.id, s.method, s.params]),
      [
        [1, 'm', ['a']],
        [2, 'm', []],
        [3, 'm', []],
      ],
    )
    answer({ id: 99, result: 'nobody' }, { id: 3, result: 'c' }, { id: 1, result: 'a' })
    answer({ id: 2, error: { code: 3, message: 'execution reverted' } })
    answer({ id: 1, result: 'late' })
    assert.equal(await a, 'a')
    await assert.rejects(b, (e) => e instanceof RpcResponseError && e.code === 3)
    assert.equal(await c, 'c')
  })

  it('a frame it cannot attribute fails every call sent, not those still waiting to go out', async () => {
    const { calls, link, answer } = setup()
    const sentCall = kindOf(calls.call({ method: 'm' }, undefined, 1_000))
    link.state = 'connecting'
    const unsent = calls.call({ method: 'm' }, undefined, 1_000)
    calls.message('<html>502</html>')
    answer(7)
    assert.equal(await sentCall, 'body: malformed frame (16 characters of non-JSON)')
    link.state = 'open'
    calls.opened() // the socket opened: what waited goes out
    answer({ id: 2, result: 'ok' })
    assert.equal(await unsent, 'ok')
  })

  it('a frame past maxResponseBytes fails its call and drops the socket (no honest node sends one)', async () => {
    const { calls, answer, dropped } = setup()
    const big = kindOf(calls.call({ method: 'm' }, undefined, 1_000))
    answer({ id: 1, result: 'x'.repeat(20_000) })
    assert.match(await big, /^body: a frame of \d+ bytes exceeds maxResponseBytes \(10000\)$/)
    assert.equal(dropped.length, 1)
    answer({ id: 2, result: 'small' }) // an ordinary frame drops nothing
    assert.equal(dropped.length, 1)
  })

  it('id null: the one call in flight gets the node error; with two, each fails quoting it', async () => {
    const { calls, answer } = setup()
    const refused = { id: null, error: { code: -32700, message: 'parse error' } }
    const one = calls.call({ method: 'm' }, undefined, 1_000)
    answer(refused)
    await assert.rejects(one, (e) => e instanceof RpcResponseError && e.code === -32700)
    const two = [1, 2].map(() => kindOf(calls.call({ method: 'm' }, undefined, 1_000)))
    answer(refused)
    for (const p of two)
      assert.equal(
        await p,
        'body: a call the node could not read got JSON-RPC error -32700: parse error',
      )
  })

  it('fails a call on timeout, on abort, and when the socket is lost', async () => {
    const { calls, socket } = setup()
    const slow = kindOf(calls.call({ method: 'm' }, undefined, 20))
    const controller = new AbortController()
    const aborted = kindOf(calls.call({ method: 'm' }, controller.signal, 1_000))
    controller.abort()
    const lost = kindOf(calls.call({ method: 'm' }, undefined, 1_000))
    assert.equal(await aborted, 'aborted: attempt cancelled')
    assert.equal(await slow, 'timeout: no answer within 20 ms')
    calls.lost(socket, new SourceError('s', 'network', 'connection lost (code 1006)'), Date.now())
    assert.equal(await lost, 'network: connection lost (code 1006)')
  })
})

describe('Calls: subscriptions', () => {
  it('routes notifications by subscription id, resubscribes on a new socket, stops on unsubscribe', async () => {
    const { calls, sent, answer, link, socket } = setup()
    const seen: unknown[] = []
    const resubscribed: ResubscribeEvent[] = []
    const subscribing = calls.subscribe(['newHeads'], (h) => seen.push(h), {
      onResubscribe: (e) => resubscribed.push(e),
    })
    answer({ id: 1, result: '0xa' })
    const sub = await subscribing
    const notify = (subscription: unknown, result: unknown) =>
      answer({ method: 'eth_subscription', params: { subscription, result } })
    notify('0xa', 1)
    notify('0xb', 'not ours')
    const nested = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`
    calls.message(`{"method":"eth_subscription","params":{"subscription":${nested},"result":0}}`)
    assert.deepEqual(seen, [1])

    const lostAt = Date.now()
    calls.lost(socket, new SourceError('s', 'network', 'lost'), lostAt)
    notify('0xa', 'after the loss')
    const fresh = { send: socket.send } as unknown as Socket
    link.socket = fresh
    calls.opened()
    assert.deepEqual(sent.at(-1)?.method, 'eth_subscribe')
    answer({ id: sent.at(-1)!.id, result: '0xc' })
    assert.equal(sub.id, '0xc')
    assert.deepEqual(
      resubscribed.map((e) => [e.id, e.previousId, e.lostAt]),
      [['0xc', '0xa', lostAt]],
    )
    notify('0xc', 2)
    const unsubscribing = sub.unsubscribe()
    answer({ id: sent.at(-1)!.id, result: true })
    await unsubscribing
    assert.equal(sent.at(-1)?.method, 'eth_unsubscribe')
    notify('0xc', 3)
    assert.deepEqual(seen, [1, 2])
  })
})
