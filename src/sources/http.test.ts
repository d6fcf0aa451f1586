import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { type Lab, startLab } from '../../test/lab/index.ts'
import { RpcResponseError, SourceError } from '../core/errors.ts'
import { http } from './http.ts'

let lab: Lab
before(async () => {
  lab = await startLab({ blockTime: 0, sources: [{ name: 'p', domain: 'd' }] })
})
after(() => lab.stop())

const source = (extra = {}) => {
  const p = lab.proxy('p')
  return http(p.url, { name: 'p', fetchFn: p.fetch, timeout: 500, ...extra })
}

const failsWith = async (promise: Promise<unknown>, kind: string, pattern?: RegExp) => {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof SourceError, `expected SourceError, got ${e}`)
    assert.equal(e.kind, kind, e.message)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
}

describe('http source against a real node behind a fault proxy', () => {
  it('answers and carries metadata', async () => {
    await lab.proxy('p').setMode({ kind: 'ok' })
    const s = source({ domain: 'aws-us-east-1', kind: 'self-hosted', weight: 2 })
    assert.equal(await s.request({ method: 'eth_chainId' }), '0x7a69')
    assert.deepEqual(
      { ...s.config, label: undefined, redact: undefined },
      {
        name: 'p',
        kind: 'self-hosted',
        domain: 'aws-us-east-1',
        weight: 2,
        label: undefined,
        redact: undefined,
      },
    )
  })

  it('classifies every fault', async () => {
    const p = lab.proxy('p')
    const s = source()
    const call = () => s.request({ method: 'eth_blockNumber' })
    const cases: [Parameters<typeof p.setMode>[0], string, RegExp?][] = [
      [{ kind: 'blackhole' }, 'timeout', /500 ms/],
      [{ kind: 'refused' }, 'refused'],
      [{ kind: 'dns' }, 'dns', /ENOTFOUND/],
      [{ kind: 'http5xx' }, 'http', /HTTP 503 \(HTML error page\)/],
      [{ kind: 'rateLimit', retryAfter: 7 }, 'rate-limited'],
      [{ kind: 'quota' }, 'unavailable', /402/],
      [{ kind: 'rpcError' }, 'rpc', /-32603/],
      [{ kind: 'garbage', variant: 'truncated' }, 'body', /malformed JSON/],
      [{ kind: 'garbage', variant: 'html200' }, 'body', /HTML/],
      [{ kind: 'garbage', variant: 'binary' }, 'body'],
      [{ kind: 'garbage', variant: 'wrongId' }, 'body', /does not match/],
      [{ kind: 'garbage', variant: 'empty' }, 'body'],
      [{ kind: 'garbage', variant: 'notJson' }, 'body'],
      [{ kind: 'methods', failing: ['eth_blockNumber'] }, 'rpc', /-32601/],
    ]
    for (const [mode, kind, pattern] of cases) {
      await p.setMode(mode)
      await failsWith(call(), kind, pattern)
    }
    await p.setMode({ kind: 'rateLimit', retryAfter: 7 })
    await assert.rejects(call(), (e: SourceError) => e.retryAfter === 7000)
    await p.setMode({ kind: 'ok' })
  })

  it('honours the abort signal', async () => {
    await lab.proxy('p').setMode({ kind: 'blackhole' })
    const controller = new AbortController()
    const pending = source({ timeout: 10_000 }).request(
      { method: 'eth_blockNumber' },
      { signal: controller.signal },
    )
    setTimeout(() => controller.abort(), 50)
    await failsWith(pending, 'aborted')
    await lab.proxy('p').setMode({ kind: 'ok' })
  })

  it('batches calls made in one tick into one HTTP request', async () => {
    const p = lab.proxy('p')
    await p.setMode({ kind: 'ok' })
    p.resetStats()
    const s = source({ batch: true })
    const [id, n, bad] = await Promise.allSettled([
      s.request({ method: 'eth_chainId' }),
      s.request({ method: 'eth_blockNumber' }),
      s.request({ method: 'eth_getBalance', params: ['0xnotanaddress', 'latest'] }),
    ])
    assert.deepEqual(id, { status: 'fulfilled', value: '0x7a69' })
    assert.equal(n.status, 'fulfilled')
    assert.ok(bad.status === 'rejected' && bad.reason instanceof RpcResponseError)
    assert.equal(p.stats.requests, 1)
    assert.equal(p.stats.calls, 3)
  })
})

describe('http source limits and secrets', () => {
  it('refuses oversized bodies, declared or streamed', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, result: `0x${'ab'.repeat(5000)}` })
    const server = createServer((req, res) => {
      req.resume()
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write(big.slice(0, 4000))
        res.end(big.slice(4000))
      } else res.writeHead(200, { 'content-type': 'application/json' }).end(big)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    try {
      for (const path of ['/declared', '/chunked']) {
        const s = http(`http://127.0.0.1:${port}${path}`, { maxResponseBytes: 1000 })
        await failsWith(
          s.request({ method: 'eth_call' }),
          'body',
          /exceeds maxResponseBytes \(1000\)/,
        )
      }
    } finally {
      server.close()
    }
  })

  it('never shows the API key in errors', async () => {
    const p = lab.proxy('p')
    await p.setMode({ kind: 'http5xx' })
    const s = http(`${p.url}/v3/TOPSECRETKEY42`, { name: 'keyed' })
    await assert.rejects(s.request({ method: 'eth_chainId' }), (e: Error) => {
      assert.doesNotMatch(`${e.message} ${JSON.stringify(e)}`, /TOPSECRETKEY42/)
      return true
    })
    const dns = http('http://user:pw-SECRET@outlast-test.invalid/key/TOPSECRETKEY42')
    await assert.rejects(dns.request({ method: 'eth_chainId' }), (e: Error) => {
      assert.match(e.message, /DNS lookup failed/)
      assert.doesNotMatch(e.message, /TOPSECRETKEY42|pw-SECRET/)
      return true
    })
    await p.setMode({ kind: 'ok' })
  })
})
