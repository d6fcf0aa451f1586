/** Health: 429 and Retry-After, breakers opening and closing, the retry budget, partial failures. */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { balanceCall, clientFor, resetLab, sleep, threeDomains } from './helpers.ts'
import { devAccounts, type Lab, startLab } from './lab/index.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
})
afterAll(() => lab.stop())

const reset = () => resetLab(lab)
const balance = balanceCall

describe('source health', () => {
  it('429 with Retry-After: the source gets no traffic until the time has passed', async () => {
    await reset()
    await lab.proxy('aws').setMode({ kind: 'rateLimit', retryAfter: 3 })
    const rpc = clientFor(lab)
    try {
      await rpc.request(balance(0))
      const after429 = lab.proxy('aws').stats.calls
      const started = Date.now()
      while (Date.now() - started < 2_000) await rpc.request(balance(Date.now()))
      assert.equal(lab.proxy('aws').stats.calls, after429, 'no calls while rate-limited')
      assert.equal(rpc.status().sources.find((s) => s.name === 'aws')?.condition, 'rate-limited')
      await lab.proxy('aws').setMode({ kind: 'ok' })
      await sleep(1_100)
      for (let i = 0; i < 10; i++) await rpc.request(balance(i))
      assert.ok(lab.proxy('aws').stats.calls > after429, 'traffic resumes after Retry-After')
    } finally {
      await rpc.close()
    }
  })

  it('a blackholed source trips its breaker and is probed, not flooded; it recovers', async () => {
    await reset()
    const rpc = clientFor(lab, { breaker: { cooldown: 300 } })
    const changes: string[] = []
    rpc.on('source', (e) => e.source === 'aws' && changes.push(e.to))
    try {
      for (let i = 0; i < 10; i++) await rpc.request(balance(i))
      await lab.proxy('aws').setMode({ kind: 'blackhole' })
      lab.proxy('aws').resetStats()
      for (let i = 0; i < 60; i++) await rpc.request(balance(i))
      const sent = lab.proxy('aws').stats.calls
      assert.ok(sent < 15, `${sent} calls to a blackholed source over 60 requests`)
      assert.ok(changes.includes('down'), changes.join())
      await lab.proxy('aws').setMode({ kind: 'ok' })
      const deadline = Date.now() + 10_000
      while (rpc.status().sources.find((s) => s.name === 'aws')?.condition !== 'healthy') {
        assert.ok(Date.now() < deadline, `aws never recovered: ${changes.join()}`)
        await rpc.request(balance(1))
        await sleep(50)
      }
      assert.equal(rpc.status().sources.find((s) => s.name === 'aws')?.breaker, 'closed')
    } finally {
      await rpc.close()
    }
  })

  it('flapping 5xx: amplification stays bounded (retry budget, breakers)', async () => {
    await reset()
    await lab.proxy('aws').setMode({ kind: 'http5xx', flapMs: 100 })
    await lab.proxy('gcp').setMode({ kind: 'http5xx', flapMs: 170 })
    const rpc = clientFor(lab)
    try {
      let ok = 0
      for (let i = 0; i < 100; i++) {
        try {
          await rpc.request(balance(i))
          ok++
        } catch {}
      }
      const calls = lab.proxies.reduce((n, p) => n + (p.stats.byMethod.eth_getBalance ?? 0), 0)
      assert.ok(ok >= 95, `${ok}/100 succeeded`)
      assert.ok(calls <= 300, `${calls} source calls for 100 requests`)
    } finally {
      await rpc.close()
    }
  })

  it('only eth_call failing on the fastest source: calls still answer, other methods use it', async () => {
    await reset()
    await lab.proxy('aws').setMode({ kind: 'methods', failing: ['eth_call'] })
    const rpc = clientFor(lab)
    try {
      for (let i = 0; i < 10; i++) {
        const r = await rpc.requestWithMeta({
          method: 'eth_call',
          params: [{ to: devAccounts[1].address, data: '0x' }, 'latest'],
        })
        assert.equal(r.result, '0x')
        assert.ok(!r.meta.sources.includes('aws'))
      }
      const b = await rpc.requestWithMeta(balance(0))
      assert.ok(b.meta.sources.length >= 2)
    } finally {
      await rpc.close()
    }
  })
})
