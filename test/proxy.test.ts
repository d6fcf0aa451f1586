/**
 * `outlast proxy` against the outage lab: Foundry's `cast` (the real binary, from
 * `@foundry-rs/cast`) and viem through it while sources fail; `/metrics` read by a Prometheus
 * text parser; a browser origin refused; a WebSocket subscriber that outlives a source; keys
 * from the environment never shown; bad config files named; the shipped command.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createPublicClient, http as viemHttp } from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, it } from 'vitest'
import WebSocket from 'ws'
import { ConfigError } from '../src/index.ts'
import { type ProxyServer, startProxy } from '../src/proxy/index.ts'
import { CHAIN_ID, resetLab } from './helpers.ts'
import { devAccounts, type Lab, startLab } from './lab/index.ts'

const run = promisify(execFile)
const CAST = new URL('../node_modules/@foundry-rs/cast-linux-amd64/bin/cast', import.meta.url)
  .pathname
const KEY = 'k3y0123456789abcdefsecret'

let lab: Lab
let proxy: ProxyServer & { rpc: import('../src/index.ts').Outlast }
beforeAll(async () => {
  lab = await startLab({
    blockTime: 1,
    sources: [
      { name: 'aws', domain: 'aws-us-east-1', latency: 10 },
      { name: 'gcp', domain: 'gcp-europe-west1', latency: 20 },
      { name: 'home', domain: 'home', latency: 30 },
    ],
  })
  // Heads polled each second, as the chain moves (a block a second): `cast block-number` below
  // is then at most a block or two behind, with cast's own time on a loaded machine.
  proxy = await startProxy({
    config: configText({ options: { pollingInterval: 1_000 } }),
    env: { LAB_KEY: KEY },
  })
})
afterAll(async () => {
  await proxy?.close()
  await lab?.stop()
})

/** The config file: each source's URL carries the key, from the environment. */
const configText = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    chainId: CHAIN_ID,
    sources: lab.sources.map((s) => ({
      type: 'http',
      url: `${s.proxy.url}/v3/\${LAB_KEY}`,
      name: s.name,
      domain: s.domain,
    })),
    proxy: { port: 0 },
    ...extra,
  })

const cast = async (...args: string[]) =>
  (await run(CAST, [...args, '--rpc-url', proxy.url], { timeout: 30_000 })).stdout.trim()

describe('outlast proxy', () => {
  it("serves Foundry's cast, right while the first source is blackholed", async () => {
    await resetLab(lab)
    const who = devAccounts[1]!.address
    assert.equal(await cast('chain-id'), String(CHAIN_ID))
    assert.equal(
      await cast('balance', who),
      BigInt(await lab.anvil.rpc('eth_getBalance', [who, 'latest'])).toString(),
    )
    await lab.proxy('aws').setMode({ kind: 'blackhole' })
    for (let i = 0; i < 3; i++) {
      const n = Number(await cast('block-number'))
      const truth = Number(await lab.anvil.rpc('eth_blockNumber'))
      assert.ok(n <= truth && n >= truth - 3, `cast block-number ${n}, anvil ${truth}`)
      assert.equal(
        await cast('nonce', who),
        String(Number(await lab.anvil.rpc('eth_getTransactionCount', [who, 'latest']))),
      )
    }
    await lab.proxy('aws').setMode({ kind: 'ok' })
  })

  it('serves viem over HTTP, batches included', async () => {
    await resetLab(lab)
    const client = createPublicClient({
      chain: foundry,
      transport: viemHttp(proxy.url, { batch: true }),
    })
    const [chainId, balance, code] = await Promise.all([
      client.getChainId(),
      client.getBalance({ address: devAccounts[2]!.address }),
      client.getCode({ address: devAccounts[2]!.address }),
    ])
    assert.equal(chainId, CHAIN_ID)
    assert.equal(
      balance,
      BigInt(await lab.anvil.rpc('eth_getBalance', [devAccounts[2]!.address, 'latest'])),
    )
    assert.equal(code, undefined)
    await assert.rejects(
      client.request({ method: 'eth_madeUp' as never }),
      /not found|does not exist/i,
    )
  })

  it('exposes /metrics in the Prometheus text format, /status as JSON, a status page', async () => {
    const text = await (await fetch(`${proxy.url}/metrics`)).text()
    const samples = parsePrometheus(text)
    const attempts = samples.filter((s) => s.name === 'outlast_source_attempts_total')
    assert.ok(
      attempts.some((s) => s.labels.source === 'aws' && s.labels.outcome === 'ok' && s.value > 0),
    )
    assert.ok(
      samples.some((s) => s.name === 'outlast_source_latency_ms_bucket' && s.labels.le === '+Inf'),
    )
    assert.ok(
      samples.some(
        (s) => s.name === 'outlast_requests_total' && s.labels.method === 'eth_getBalance',
      ),
    )
    assert.ok(samples.some((s) => s.name === 'outlast_request_duration_ms_count'))
    for (const name of [
      'outlast_source_breaker_state',
      'outlast_source_up',
      'outlast_source_head_lag_blocks',
    ])
      assert.equal(samples.filter((s) => s.name === name).length, 3, name)
    assert.equal(samples.find((s) => s.name === 'outlast_quorum_met')?.value, 1)
    assert.ok(!text.includes(KEY))
    const status = await (await fetch(`${proxy.url}/status`)).json()
    assert.deepEqual(
      status.sources.map((s: { name: string }) => s.name),
      ['aws', 'gcp', 'home'],
    )
    assert.ok(!JSON.stringify(status).includes(KEY), 'the key is never shown')
    const page = await fetch(`${proxy.url}/`)
    assert.match(page.headers.get('content-type') ?? '', /text\/html/)
    assert.match(await page.text(), /fetch\('\/status'\)/)
  })

  it('refuses browser origins it was not told of, and answers those it was', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' })
    const headers = { 'content-type': 'application/json', origin: 'https://evil.example' }
    const refused = await fetch(proxy.url, { method: 'POST', headers, body })
    assert.equal(refused.status, 403)
    assert.match((await refused.json()).error.message, /proxy\.cors/)
    const open = await startProxy({
      config: configText({ proxy: { port: 0, cors: ['https://app.example'] } }),
      env: { LAB_KEY: KEY },
    })
    try {
      const ok = await fetch(open.url, {
        method: 'POST',
        headers: { ...headers, origin: 'https://app.example' },
        body,
      })
      assert.equal(ok.status, 200)
      assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example')
      const preflight = await fetch(open.url, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      })
      assert.equal(preflight.status, 204)
    } finally {
      await open.close()
    }
  })

  it('bounds bodies and requests in flight', async () => {
    const big = await fetch(proxy.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(2 * 1024 * 1024),
    })
    assert.equal(big.status, 413)
    const busy = await startProxy({
      config: configText({ proxy: { port: 0, maxConcurrent: 1 } }),
      env: { LAB_KEY: KEY },
    })
    try {
      await lab.proxy('aws').setMode({ kind: 'slow', factor: 20 })
      await lab.proxy('gcp').setMode({ kind: 'slow', factor: 20 })
      await lab.proxy('home').setMode({ kind: 'slow', factor: 20 })
      const call = () =>
        fetch(busy.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'eth_getBalance',
            params: [devAccounts[3]!.address, 'latest'],
          }),
        })
      const [first, second] = await Promise.all([
        call(),
        new Promise((r) => setTimeout(r, 20)).then(call),
      ])
      assert.equal(first.status, 200)
      assert.equal(second.status, 503)
      assert.equal(second.headers.get('retry-after'), '1')
    } finally {
      await resetLab(lab)
      await busy.close()
    }
  })

  it('a WebSocket subscriber keeps getting every head while a source is lost', async () => {
    await resetLab(lab)
    const ws = new WebSocket(proxy.url.replace('http', 'ws'))
    await new Promise((r, j) => ws.once('open', r).once('error', j))
    const heads: number[] = []
    let subscription: string | undefined
    ws.on('message', (data) => {
      const m = JSON.parse(String(data))
      if (m.id === 1) subscription = m.result
      if (m.method === 'eth_subscription' && m.params.subscription === subscription)
        heads.push(Number(m.params.result.number))
    })
    ws.send(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }),
    )
    const until = async (n: number) => {
      for (let i = 0; i < 200 && heads.length < n; i++) await new Promise((r) => setTimeout(r, 50))
    }
    await until(2)
    await lab.proxy('aws').setMode({ kind: 'refused' })
    await until(heads.length + 3)
    ws.close()
    assert.ok(heads.length >= 5, `${heads.length} heads`)
    for (let i = 1; i < heads.length; i++)
      assert.equal(heads[i], heads[i - 1]! + 1, `no gap, no repeat: ${heads}`)
    await lab.proxy('aws').setMode({ kind: 'ok' })
  })

  it('names what is wrong with a config file, never a secret', async () => {
    const bad: [string, Record<string, string>, RegExp][] = [
      ['{', {}, /not valid JSON/],
      [JSON.stringify({ chainId: 1, sources: [] }), {}, /sources must be a non-empty array/],
      [
        JSON.stringify({ chainId: 1, sources: [{ type: 'ftp', url: 'x' }] }),
        {},
        /sources\[0\]\.type must be/,
      ],
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own syntax
        JSON.stringify({ chainId: 1, sources: [{ type: 'http', url: 'http://h/${NOPE}' }] }),
        {},
        /sources\[0\]\.url uses \$\{NOPE\}, which is not set/,
      ],
      [
        JSON.stringify({
          chainId: 1,
          sources: [{ type: 'http', url: 'http://h' }],
          proxy: { port: 70000 },
        }),
        {},
        /proxy\.port must be a port number/,
      ],
      [
        JSON.stringify({ chainId: 1, sources: [{ type: 'http', url: 'http://h' }], extra: 1 }),
        {},
        /unknown field "extra"/,
      ],
      [
        JSON.stringify({ chainId: 1, sources: [{ type: 'http', url: 'http://h', weight: -1 }] }),
        {},
        /weight must be > 0/,
      ],
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own syntax
        JSON.stringify({ chainId: 0, sources: [{ type: 'http', url: 'http://h/${K}' }] }),
        { K: KEY },
        /chainId/,
      ],
    ]
    for (const [text, env, message] of bad) {
      const error = await startProxy({ config: text, env }).then(
        (p) => p.close().then(() => undefined),
        (e: Error) => e,
      )
      assert.ok(error instanceof ConfigError, `${text}: ${error}`)
      assert.match(error.message, message)
      assert.ok(!error.message.includes(KEY))
    }
  })

  it('the shipped command serves, prints no secret, and finishes requests in flight on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outlast-proxy-'))
    const file = join(dir, 'outlast.config.json')
    await writeFile(file, configText())
    const cli = new URL('../src/cli/outlast.ts', import.meta.url).pathname
    const child = spawn(process.execPath, [cli, 'proxy', '--config', file, '--port', '0'], {
      env: { ...process.env, LAB_KEY: KEY },
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      out += d
    })
    try {
      for (let i = 0; i < 200 && !/outlast proxy on chain/.test(out); i++)
        await new Promise((r) => setTimeout(r, 50))
      const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1]
      assert.ok(url, out)
      await lab.proxy('aws').setMode({ kind: 'slow', factor: 30 })
      await lab.proxy('gcp').setMode({ kind: 'slow', factor: 30 })
      await lab.proxy('home').setMode({ kind: 'slow', factor: 30 })
      const pending = fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 9,
          method: 'eth_getBalance',
          params: [devAccounts[0]!.address, 'latest'],
        }),
      })
      await new Promise((r) => setTimeout(r, 100))
      child.kill('SIGTERM')
      const answer = await (await pending).json()
      assert.equal(answer.id, 9)
      assert.ok(answer.result, JSON.stringify(answer))
      const code = await new Promise((r) => child.once('exit', r))
      assert.equal(code, 0)
      assert.ok(!out.includes(KEY), 'the key is never printed')
    } finally {
      child.kill('SIGKILL')
      await resetLab(lab)
      await rm(dir, { recursive: true, force: true })
    }
  })
})

type Sample = { name: string; labels: Record<string, string>; value: number }

/** A parser of the Prometheus text format (0.0.4): comments, names, labels with escapes, values. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ')
      assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type!), line)
      types.set(name!, type!)
      continue
    }
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+]+|\+Inf|NaN)$/.exec(line)
    assert.ok(m, `not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '')
    assert.ok(types.has(m[1]!) || types.get(family) === 'histogram', `no TYPE for ${m[1]}`)
    samples.push({ name: m[1]!, labels, value: Number(m[4]) })
  }
  return samples
}
