/**
 * What `outlast proxy` adds per request: the same reads through the library directly and through
 * the proxy (HTTP on loopback, a plain JSON-RPC client), interleaved request by request on one
 * lab (two sources, no added latency, no cache) so that machine noise hits both.
 *
 * Usage: node bench/proxy.ts [--requests 500] [--json]   (`npm run bench` runs it in a child process)
 */
import { createOutlast, http } from '../src/index.ts'
import { startProxy } from '../src/proxy/index.ts'
import { CHAIN_ID } from '../test/helpers.ts'
import { devAccounts, startLab } from '../test/lab/index.ts'
import { percentile } from './stats.ts'

export type ProxyResult = {
  requests: number
  direct: { p50: number; p99: number }
  proxy: { p50: number; p99: number }
  addedP50: number
  addedP99: number
}

const argv = process.argv.slice(2)
const arg = (name: string, fallbackValue: number) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : fallbackValue
}

export async function proxyBench(requests: number): Promise<ProxyResult> {
  const lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'a', domain: 'a' },
      { name: 'b', domain: 'b' },
    ],
  })
  const sources = lab.sources.map((s) => ({
    type: 'http',
    url: s.proxy.url,
    name: s.name,
    domain: s.domain,
  }))
  const options = { cacheSize: 0 }
  const proxy = await startProxy({
    config: JSON.stringify({ chainId: CHAIN_ID, sources, options, proxy: { port: 0 } }),
    env: {},
  })
  const direct = createOutlast({
    chainId: CHAIN_ID,
    sources: lab.sources.map((s) => http(s.proxy.url, { name: s.name, domain: s.domain })),
    ...options,
  })
  const body = (i: number) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id: i,
      method: 'eth_getBalance',
      params: [devAccounts[i % 4]!.address, 'latest'],
    })
  const viaProxy = async (i: number) => {
    const r = await fetch(proxy.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(i),
    })
    const answer = (await r.json()) as { result?: unknown }
    if (answer.result === undefined) throw new Error(JSON.stringify(answer))
  }
  const viaLibrary = (i: number) =>
    direct.request({ method: 'eth_getBalance', params: [devAccounts[i % 4]!.address, 'latest'] })
  try {
    for (let i = 0; i < 50; i++) await Promise.all([viaProxy(i), viaLibrary(i)])
    const times = { direct: [] as number[], proxy: [] as number[] }
    for (let i = 0; i < requests; i++) {
      let t = performance.now()
      await viaLibrary(i)
      times.direct.push(performance.now() - t)
      t = performance.now()
      await viaProxy(i)
      times.proxy.push(performance.now() - t)
    }
    const of = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) })
    const d = of(times.direct)
    const p = of(times.proxy)
    return { requests, direct: d, proxy: p, addedP50: p.p50 - d.p50, addedP99: p.p99 - d.p99 }
  } finally {
    await direct.close()
    await proxy.close()
    await lab.stop()
  }
}

const f = (ms: number) => `${ms.toFixed(2)} ms`

export function proxyMarkdown(r: ProxyResult): string {
  return [
    '| path | p50 | p99 |',
    '| --- | ---: | ---: |',
    `| the library, in the process | ${f(r.direct.p50)} | ${f(r.direct.p99)} |`,
    `| through \`outlast proxy\` (HTTP on loopback) | ${f(r.proxy.p50)} | ${f(r.proxy.p99)} |`,
    `| added by the proxy | ${f(r.addedP50)} | ${f(r.addedP99)} |`,
    '',
    `${r.requests} \`eth_getBalance\` reads agreed by two sources, interleaved, no cache.`,
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await proxyBench(arg('requests', 500))
  if (argv.includes('--json')) console.log(JSON.stringify(r))
  else console.log(proxyMarkdown(r))
}
