/**
 * OutlastProvider's subscribers, on a stand-in outlast client: a subscription that fails for a
 * reason outlast can get past (its stream's code not fetched while the page's host was down) is
 * tried again, so `on('block')` is not dropped for good in silence; the caller's own error and a
 * closed client are not retried. (test/ethers.test.ts runs the provider against real nodes.)
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import type { Outlast } from '../core/createOutlast.ts'
import { ProviderRpcError } from '../shared/errors.ts'
import { OutlastProvider } from './ethers.ts'

/** A client whose `subscribe` fails with `failures` in turn, then feeds `push`. */
function standIn(failures: unknown[]) {
  let push: ((result: unknown) => void) | undefined
  let calls = 0
  const rpc = {
    chainId: 1,
    request: async () => {
      throw new Error('not in this test')
    },
    subscribe: async (_params: readonly unknown[], onData: (result: unknown) => void) => {
      calls++
      const failure = failures.shift()
      if (failure) throw failure
      push = onData
      return { id: '0x1', unsubscribe: async () => true }
    },
  } as unknown as Outlast
  return { rpc, push: (r: unknown) => push?.(r), calls: () => calls }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('OutlastProvider subscribers', () => {
  it("on('block') after a subscription that failed to load: tried again, then delivers", async () => {
    const chunk = new TypeError('Failed to fetch dynamically imported module: streams.js')
    const client = standIn([chunk])
    const provider = new OutlastProvider(client.rpc)
    const blocks: number[] = []
    await provider.on('block', (n: number) => void blocks.push(n))
    await sleep(1_200) // the retry waits 1 s
    assert.equal(client.calls(), 2)
    client.push({ number: '0x2a' })
    await sleep(20)
    assert.deepEqual(blocks, [42])
    provider.destroy()
  })

  it('the caller’s own error (-32602) and a closed client (4900) are not tried again', async () => {
    for (const failure of [
      new ProviderRpcError(-32602, 'invalid filter'),
      new ProviderRpcError(4900, 'This outlast client is closed.'),
    ]) {
      const client = standIn([failure])
      const provider = new OutlastProvider(client.rpc)
      await provider.on('block', () => {})
      await sleep(1_200)
      assert.equal(client.calls(), 1, String(failure.code))
      provider.destroy()
    }
  })
})
