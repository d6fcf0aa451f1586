/**
 * followChain on fake timers: a pusher whose socket closes again and again (a hostile WebSocket
 * source, test/adversarial/hostileSocket.test.ts) makes the head refresh at most once per
 * polling interval, not once per drop.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test, vi } from 'vitest'
import { followChain, type HeadPusher, type RpcHeader } from './chainFollower.ts'

const header: RpcHeader = {
  number: '0x1',
  hash: `0x${'11'.repeat(32)}`,
  parentHash: `0x${'00'.repeat(32)}`,
}

/** A pusher that pushes nothing; `close()` tells the follower its socket closed. */
function closingPusher() {
  const listeners: ((e: { state: string }) => void)[] = []
  const pusher: HeadPusher = {
    name: 'storm',
    subscribe: async () => ({ unsubscribe: async () => {} }),
    onState: (listener) => {
      listeners.push(listener)
      return () => listeners.splice(listeners.indexOf(listener), 1)
    },
  }
  const close = () => {
    for (const l of listeners) l({ state: 'closed' })
  }
  return { pusher, close }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('followChain: a pusher whose socket keeps closing', () => {
  test('one head refresh per polling interval, however many drops', async () => {
    const { pusher, close } = closingPusher()
    const refreshes: number[] = []
    const follower = followChain({
      blockByNumber: async () => header,
      blockByHash: async () => header,
      pollingInterval: 1_000,
      pushers: [pusher],
      confirmHead: async () => undefined,
      refreshHead: async () => {
        refreshes.push(Date.now())
      },
      onChange: async () => {},
      onError: () => {},
    })
    const start = Date.now()
    // A drop every 30 ms for 3.5 s: 116 drops.
    for (let t = 0; t < 3_500; t += 30) {
      close()
      await vi.advanceTimersByTimeAsync(30)
    }
    await follower.stop()
    const at = refreshes.map((t) => t - start)
    assert.ok(at.length >= 3, `the first drop of each interval refreshes: ${at.join(', ')}`)
    assert.ok(at.length <= 4, `${at.length} refreshes in 3.5 s at 1 s: ${at.join(', ')}`)
    for (let i = 1; i < at.length; i++)
      assert.ok(at[i]! - at[i - 1]! >= 1_000, `refreshes ${at[i - 1]} and ${at[i]} ms apart`)
  })
})

describe('followChain: a pusher that leaves eth_subscribe or eth_unsubscribe unanswered', () => {
  for (const silent of ['subscribe', 'unsubscribe'] as const)
    test(`stop() does not wait for its ${silent}; it is undone behind`, async () => {
      let answer: (() => void) | undefined
      let unsubscribed = 0
      let changes = 0
      let push: ((h: unknown) => void) | undefined
      const subscription = {
        unsubscribe: () => {
          unsubscribed++
          return silent === 'unsubscribe' ? new Promise<void>(() => {}) : Promise.resolve()
        },
      }
      const pusher: HeadPusher = {
        name: 'mute',
        subscribe: (_params, onMessage) => {
          push = onMessage
          if (silent === 'unsubscribe') return Promise.resolve(subscription)
          return new Promise((resolve) => {
            answer = () => resolve(subscription)
          })
        },
      }
      const follower = followChain({
        blockByNumber: async () => header,
        blockByHash: async () => header,
        pollingInterval: 1_000,
        pushers: [pusher],
        confirmHead: async (_p, h) => h as RpcHeader,
        onChange: async () => {
          changes++
        },
        onError: () => {},
      })
      await follower.started
      let stopped = false
      void follower.stop().then(() => {
        stopped = true
      })
      await vi.advanceTimersByTimeAsync(0)
      assert.ok(stopped, 'stop() settled at once')
      // A push after stop() reaches no one.
      push!(header)
      await vi.advanceTimersByTimeAsync(0)
      assert.equal(changes, 0)
      answer?.()
      await vi.advanceTimersByTimeAsync(0)
      assert.equal(unsubscribed, 1, 'unsubscribed once its subscription is there')
    })
})

describe('followChain: a pusher flooding pushes', () => {
  test('one push confirmed at a time; of those pushed meanwhile only the newest', async () => {
    let push: ((h: unknown) => void) | undefined
    const confirmed: unknown[] = []
    const pusher: HeadPusher = {
      name: 'flood',
      subscribe: async (_params, onMessage) => {
        push = onMessage
        return { unsubscribe: async () => {} }
      },
    }
    const follower = followChain({
      blockByNumber: async () => header,
      blockByHash: async () => header,
      pollingInterval: 1_000,
      pushers: [pusher],
      confirmHead: async (_p, h) => {
        confirmed.push(h)
        await new Promise((r) => setTimeout(r, 10))
        return undefined
      },
      onChange: async () => {},
      onError: () => {},
    })
    await follower.started
    await vi.advanceTimersByTimeAsync(0)
    // 2,000 pushes in one frame (dispatched synchronously), then one more after a while.
    for (let i = 0; i < 2_000; i++) push!(i)
    await vi.advanceTimersByTimeAsync(50)
    push!('later')
    await vi.advanceTimersByTimeAsync(50)
    assert.deepEqual(confirmed, [0, 1_999, 'later'])
    await follower.stop()
  })
})

describe('followChain: a confirmed push the follower cannot take', () => {
  test('a push that throws in the follower neither ends that pusher’s pushes nor rejects unhandled', async () => {
    let push: ((h: unknown) => void) | undefined
    const confirmed: unknown[] = []
    const pusher: HeadPusher = {
      name: 'odd',
      subscribe: async (_params, onMessage) => {
        push = onMessage
        return { unsubscribe: async () => {} }
      },
    }
    const follower = followChain({
      blockByNumber: async () => header,
      blockByHash: async () => header,
      pollingInterval: 1_000,
      pushers: [pusher],
      // The first "confirmed" header has no hash: taking it throws (toLink).
      confirmHead: async (_p, h) => {
        confirmed.push(h)
        return (h === 'odd' ? { number: '0x2' } : undefined) as RpcHeader | undefined
      },
      onChange: async () => {},
      onError: () => {},
    })
    await follower.started
    await vi.advanceTimersByTimeAsync(0)
    push!('odd')
    await vi.advanceTimersByTimeAsync(10)
    push!('next')
    await vi.advanceTimersByTimeAsync(10)
    assert.deepEqual(confirmed, ['odd', 'next'])
    await follower.stop()
  })
})
