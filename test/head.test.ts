/** The head tracker, chain id checks, lagging and forked sources. */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type OutlastEvents } from '../src/index.ts'
import { CHAIN_ID, clientFor, threeDomains } from './helpers.ts'
import {
  type Anvil,
  devAccounts,
  type Lab,
  startAnvil,
  startForkedNode,
  startLab,
  startLaggingNode,
} from './lab/index.ts'

let lab: Lab
let other: Anvil
beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
  other = await startAnvil({ chainId: 1 })
  for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
})
afterAll(async () => {
  await other.stop()
  await lab.stop()
})

describe('chain id', () => {
  it('a source on another chain is excluded, with an event naming it', async () => {
    const events: OutlastEvents['source'][] = []
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        http(other.url, { name: 'mainnet-by-mistake', domain: 'x' }),
        ...lab.sources.map((s) => http(s.proxy.url, { name: s.name, domain: s.domain })),
      ],
    })
    rpc.on('source', (e) => events.push(e))
    try {
      await rpc.connect()
      const balance = await rpc.request({
        method: 'eth_getBalance',
        params: [devAccounts[0].address],
      })
      assert.equal(
        balance,
        await lab.anvil.rpc('eth_getBalance', [devAccounts[0].address, 'latest']),
      )
      const wrong = events.find((e) => e.source === 'mainnet-by-mistake' && e.to === 'wrong-chain')
      assert.ok(wrong, 'wrong-chain event')
      assert.match(wrong.reason ?? '', /on chain 1, expected 31337/)
      const status = rpc.status().sources.find((s) => s.name === 'mainnet-by-mistake')
      assert.equal(status?.condition, 'wrong-chain')
      assert.equal(await rpc.request({ method: 'eth_chainId' }), '0x7a69')
      assert.equal(await rpc.request({ method: 'net_version' }), '31337')
    } finally {
      await rpc.close()
    }
  })
})

describe('head', () => {
  it('eth_blockNumber never goes backwards, even when the fastest source falls behind', async () => {
    const lagging = await startLaggingNode(lab.anvil)
    const rpc = clientFor(lab, { pollingInterval: 0 })
    try {
      let last = -1
      for (let i = 0; i < 30; i++) {
        if (i === 10) lab.proxy('aws').setUpstream(lagging.url)
        if (i === 20) lab.proxy('gcp').setUpstream(lagging.url)
        const n = Number(await rpc.request({ method: 'eth_blockNumber' }))
        assert.ok(n >= last, `went back from ${last} to ${n}`)
        last = n
        await new Promise((r) => setTimeout(r, 100))
      }
    } finally {
      lab.proxy('aws').setUpstream(lab.anvil.url)
      lab.proxy('gcp').setUpstream(lab.anvil.url)
      await rpc.close()
      await lagging.stop()
    }
  })

  it('lagging and forked sources are flagged and kept out of state reads', async () => {
    const lagging = await startLaggingNode(lab.anvil)
    const forked = await startForkedNode(lab.anvil, { depth: 2 })
    const who = devAccounts[1].address
    await lab.anvil.rpc('eth_sendTransaction', [
      { from: devAccounts[0].address, to: who, value: '0x1000' },
    ])
    await new Promise((r) => setTimeout(r, 3_500))
    lab.proxy('aws').setUpstream(lagging.url)
    lab.proxy('gcp').setUpstream(forked.url)
    // Four sources: two honest ones in two domains plus the lagging and the forked one.
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      pollingInterval: 200,
      sources: [
        ...lab.sources.map((s) => http(s.proxy.url, { name: s.name, domain: s.domain })),
        http(lab.anvil.url, { name: 'direct', domain: 'colo' }),
      ],
    })
    try {
      await rpc.connect()
      for (let i = 0; i < 10; i++) {
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [who, 'latest'],
        })
        assert.equal(
          result,
          await lab.anvil.rpc('eth_getBalance', [who, meta.block?.hash ? 'latest' : 'latest']),
        )
        assert.ok(
          !meta.sources.includes('aws') && !meta.sources.includes('gcp'),
          meta.sources.join(),
        )
      }
      const byName = Object.fromEntries(rpc.status().sources.map((s) => [s.name, s]))
      assert.equal(byName.aws?.condition, 'lagging')
      assert.ok((byName.aws?.lag ?? 0) > 2)
      assert.equal(byName.gcp?.condition, 'forked')
      assert.equal(byName.home?.condition, 'healthy')
    } finally {
      lab.proxy('aws').setUpstream(lab.anvil.url)
      lab.proxy('gcp').setUpstream(lab.anvil.url)
      await rpc.close()
      await forked.stop()
      await lagging.stop()
    }
  })
})

describe('a cold start slower than a head poll usually takes (a first dial, a peer’s first stream)', () => {
  const slow = (ms: number) => {
    for (const name of ['aws', 'gcp']) lab.proxy(name).setLatency(ms)
  }
  const twoSlowDomains = (timeout?: number) =>
    createOutlast({
      chainId: CHAIN_ID,
      ...(timeout ? { timeout } : {}),
      sources: lab.sources
        .filter((s) => s.name !== 'home')
        .map((s) => http(s.proxy.url, { name: s.name, domain: s.domain })),
    })

  it('the first read waits for sources that never answered yet, up to the request timeout', async () => {
    // 1.3 s a round trip: past the second a head poll gives a source whose pace it knows.
    slow(1_300)
    const rpc = twoSlowDomains()
    try {
      const before = Number(await lab.anvil.rpc('eth_blockNumber'))
      const n = Number(await rpc.request({ method: 'eth_blockNumber' }))
      // The chain mines a block a second: the head the slow sources gave, or one after.
      assert.ok(n >= before && n <= Number(await lab.anvil.rpc('eth_blockNumber')), `${n}`)
    } finally {
      slow(0)
      await rpc.close()
    }
  })

  it('past the timeout, the error says each source was too slow (not "no agreed head")', async () => {
    slow(2_000)
    const rpc = twoSlowDomains(1_000)
    try {
      const error = await rpc.request({ method: 'eth_blockNumber' }).then(
        () => assert.fail('answered'),
        (e: Error) => e,
      )
      assert.match(error.message, /aws: no answer within the poll's time limit/)
      assert.match(error.message, /gcp: no answer within the poll's time limit/)
    } finally {
      slow(0)
      await rpc.close()
    }
  })
})
