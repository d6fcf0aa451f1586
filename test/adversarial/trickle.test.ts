/**
 * Time against hostile sources, part two (issue 16 §4): a source whose answers trickle in a few
 * bytes a second, and one that answered once slowly and then went silent, against real anvil
 * through the lab. Neither may hold a read up for long: the trickle is cut by the http source's
 * byte-rate floor (`minBytesPerSecond`) and counted against its source; the slow answer does not
 * become the measure of how long the source's silence is waited out (the hedge ceiling).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Outlast } from '../../src/index.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'

/**
 * Each read must come back well inside the sources' 10 s attempt timeout: at half of it, a bound
 * a busy machine cannot reach where one near the reads' design times (up to the 1 s grace of
 * the byte-rate floor, or the 2 s hedge ceiling) would flake. Waiting for the trickle itself is
 * told by what the reads return (agreed with the trickler, or cut at the floor), not by time.
 */
const FAST = 5_000

const anvilCall = (lab: Lab, method: string, params: unknown[]) => lab.anvil.rpc(method, params)

/** Sources over the lab's proxies with the factory's defaults (10 s timeout, 16 KiB/s floor). */
const client = (lab: Lab, extra: Partial<Parameters<typeof createOutlast>[0]> = {}): Outlast =>
  createOutlast({
    chainId: CHAIN_ID,
    pollingInterval: 500,
    sources: lab.sources.map((s) =>
      http(s.proxy.url, {
        name: s.name,
        domain: s.domain,
        fetchFn: s.proxy.fetch,
        // The trickler looks best: it is asked first, not left idle at the back.
        weight: s.name === 'trickler' ? 10 : 1,
      }),
    ),
    ...extra,
  })

describe('a source that trickles every answer (three domains)', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({
      sources: [
        { name: 'aws', domain: 'aws-us-east-1', latency: 20 },
        { name: 'gcp', domain: 'gcp-europe-west1', latency: 40 },
        { name: 'trickler', domain: 'trickle-host' },
      ],
    })
    // Ten blocks to read by number.
    await anvilCall(lab, 'anvil_mine', ['0xa'])
    // 4 bytes every 250 ms: 16 B/s. eth_chainId's answer takes ~2.5 s, a block ~40 s.
    await lab.proxy('trickler').setMode({ kind: 'trickle', bytes: 4, interval: 250 })
  })
  afterAll(() => lab.stop())

  it('reads stay fast and correct; the trickler is cut and counted failing at its rate', async () => {
    const rpc = client(lab)
    try {
      await rpc.connect()
      const balance = await anvilCall(lab, 'eth_getBalance', [devAccounts[0].address, 'latest'])
      for (let i = 0; i < 20; i++) {
        const started = Date.now()
        if (i % 2 === 0) {
          const address = devAccounts[(i / 2) % devAccounts.length]!.address
          const got = await rpc.request({ method: 'eth_getBalance', params: [address, 'latest'] })
          assert.equal(got, balance, `balance of ${address}`)
        } else {
          const number = `0x${((i - 1) / 2 + 1).toString(16)}`
          const got = (await rpc.request({
            method: 'eth_getBlockByNumber',
            params: [number, false],
          })) as { hash: string }
          const real = (await anvilCall(lab, 'eth_getBlockByNumber', [number, false])) as {
            hash: string
          }
          assert.equal(got.hash, real.hash, `block ${number}`)
        }
        const ms = Date.now() - started
        assert.ok(ms < FAST, `read ${i} took ${ms} ms`)
      }
      const trickler = rpc.status().sources.find((s) => s.name === 'trickler')!
      assert.match(
        trickler.lastError ?? '',
        /^body arrived at \d+ B\/s, below the floor of 16384 B\/s/,
        String(rpc.status()),
      )
      assert.ok(trickler.failures >= 1, String(rpc.status()))
      assert.ok(!['healthy', 'unknown'].includes(trickler.condition), String(rpc.status()))
    } finally {
      await rpc.close()
    }
  })
})

describe('a trickler is all that is left beside one domain', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({
      sources: [
        { name: 'aws', domain: 'aws-us-east-1', latency: 20 },
        { name: 'gcp', domain: 'gcp-europe-west1', latency: 40 },
        { name: 'trickler', domain: 'trickle-host' },
      ],
    })
    await anvilCall(lab, 'anvil_mine', ['0xa'])
    await lab.proxy('gcp').setMode({ kind: 'refused' })
    await lab.proxy('trickler').setMode({ kind: 'trickle', bytes: 4, interval: 250 })
  })
  afterAll(() => lab.stop())

  it('reads are answered by the one domain left, flagged, without waiting for the trickle', async () => {
    const rpc = client(lab)
    try {
      await rpc.connect().catch(() => {}) // no quorum to check: it gives up, the reads go on
      for (let i = 0; i < 10; i++) {
        const address = devAccounts[i % devAccounts.length]!.address
        const block = `0x${(i + 1).toString(16)}`
        const balance = await anvilCall(lab, 'eth_getBalance', [address, block])
        const started = Date.now()
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [address, block],
        })
        const ms = Date.now() - started
        assert.ok(ms < FAST, `read ${i} took ${ms} ms`)
        assert.equal(result, balance)
        assert.equal(meta.consistency, 'degraded')
      }
      const trickler = rpc.status().sources.find((s) => s.name === 'trickler')!
      assert.match(trickler.lastError ?? '', /below the floor/)
    } finally {
      await rpc.close()
    }
  })
})

describe('a source that answered once slowly, then went silent', () => {
  let lab: Lab
  beforeAll(async () => {
    lab = await startLab({
      sources: [
        { name: 'aws', domain: 'aws-us-east-1', latency: 20 },
        { name: 'gcp', domain: 'gcp-europe-west1', latency: 40 },
        { name: 'fickle', domain: 'fickle-host' },
      ],
    })
  })
  afterAll(() => lab.stop())

  // A source's slow answers make neither a hedge, nor a probe, nor a head poll wait longer than
  // the hedge ceiling allows (fanOut.ts, createOutlast.ts `roundTrips`).
  it('its silence is not waited out to the deadline on the next request', async () => {
    const fickle = lab.proxy('fickle')
    // gcp is out, so every quorum read needs fickle; fickle answers, but in 5 s.
    await lab.proxy('gcp').setMode({ kind: 'refused' })
    fickle.setLatency(5_000)
    // A 1 s hedge ceiling: a silent source is presumed lost after 4 of them, 4 s.
    const rpc = client(lab, { hedge: { max: 1_000 } })
    try {
      await rpc.connect()
      const status = () => rpc.status().sources.find((s) => s.name === 'fickle')!
      assert.ok((status().latency.ewma ?? 0) >= 4_500, String(rpc.status()))
      // Then silent; its answers already on the way come in first.
      await fickle.setMode({ kind: 'blackhole' })
      fickle.setLatency(0)
      await sleep(5_200)
      // A block by number: no head to pin, so only the fan-out's patience is measured.
      const params = [devAccounts[3].address, '0x1']
      const balance = await anvilCall(lab, 'eth_getBalance', params)
      const started = Date.now()
      const { result, meta } = await rpc.requestWithMeta({ method: 'eth_getBalance', params })
      const ms = Date.now() - started
      // The deadline is 10 s; the source's own 5 s answer would make 4 × 7.5 s look normal. Its
      // ceiling makes it 4 × 1 s: well under the deadline, by a margin no busy machine eats.
      assert.ok(ms < 9_000, `waited ${ms} ms for a silent source\n${rpc.status()}`)
      assert.equal(result, balance)
      assert.equal(meta.consistency, 'degraded')
    } finally {
      await rpc.close()
    }
  })
})
