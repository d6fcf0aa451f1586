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
