/**
 * `npm run bench`: outlast through lab outages, measured side by side in one run.
 *
 *   1. Three sources at 20/40/60 ms, each in its own failure domain. Two labs run at once, one
 *      all healthy and one with the first source blackholed; requests alternate between them,
 *      so both see the same machine load. Reports success, p50, p99 and the p99 ratio.
 *   2. The same blackholed lab through viem's `fallback` (its default 10 s timeout), bounded.
 *   3. One of three sources lying about balances: wrong answers in 200 balance reads.
 *
 * Usage: npm run bench [-- --requests N]
 */
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { createPublicClient, fallback, http as viemHttp } from 'viem'
import type { Outlast } from '../src/index.ts'
import { clientFor } from '../test/helpers.ts'
import { devAccounts, type Lab, startLab } from '../test/lab/index.ts'
import { deployAnswer } from '../test/workload.ts'
import { percentile, table } from './stats.ts'

const arg = (name: string, fallbackValue: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallbackValue
}
const REQUESTS = arg('requests', 600)
const sources = [
  { name: 'first', domain: 'aws-us-east-1', latency: 20 },
  { name: 'second', domain: 'gcp-europe-west1', latency: 40 },
  { name: 'third', domain: 'azure-westeurope', latency: 60 },
]

type Result = { ok: number; failed: number; wrong: number; ms: number[] }
const newResult = (): Result => ({ ok: 0, failed: 0, wrong: 0, ms: [] })

/**
 * One step of a wallet-like workload: the truth is read straight from the node first, then only
 * the request through outlast is timed.
 */
async function step(rpc: Outlast, lab: Lab, contract: string, i: number, result: Result) {
  const who = devAccounts[i % devAccounts.length]!.address
  let request: { method: string; params?: unknown[] }
  let expect: (answer: unknown) => boolean
  switch (i % 5) {
    case 0: {
      const truth = await lab.anvil.rpc('eth_getBalance', [who, 'latest'])
      request = { method: 'eth_getBalance', params: [who, 'latest'] }
      expect = (a) => a === truth
      break
    }
    case 1:
      request = { method: 'eth_call', params: [{ to: contract }, 'latest'] }
      expect = (a) => a === `0x${'2a'.padStart(64, '0')}`
      break
    case 2:
      request = { method: 'eth_blockNumber' }
      expect = (a) => typeof a === 'string' && /^0x[0-9a-f]+$/.test(a)
      break
    case 3: {
      const truth = await lab.anvil.rpc('eth_getTransactionCount', [who, 'latest'])
      request = { method: 'eth_getTransactionCount', params: [who, 'latest'] }
      expect = (a) => a === truth
      break
    }
    default: {
      const n = Math.max(0, Number(await lab.anvil.rpc('eth_blockNumber')) - (i % 3))
      const block = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [
        `0x${n.toString(16)}`,
        false,
      ])
      request = { method: 'eth_getBlockByHash', params: [block.hash, false] }
      expect = (a) => (a as { hash?: string } | null)?.hash === block.hash
    }
  }
  const started = performance.now()
  try {
    const answer = await rpc.request(request)
    result.ms.push(performance.now() - started)
    if (expect(answer)) result.ok++
    else result.wrong++
  } catch {
    result.failed++
  }
}

async function timed(result: Result, fn: () => Promise<boolean>) {
  const started = performance.now()
  try {
    const right = await fn()
    result.ms.push(performance.now() - started)
    if (right) result.ok++
    else result.wrong++
  } catch {
    result.failed++
  }
}

const fmt = (r: Result) => [
  `${((100 * r.ok) / (r.ok + r.failed + r.wrong)).toFixed(1)}%`,
  String(r.wrong),
  `${percentile(r.ms, 50).toFixed(1)} ms`,
  `${percentile(r.ms, 99).toFixed(1)} ms`,
]

async function blackholeScenario() {
  const [healthyLab, outageLab] = await Promise.all([startLab({ sources }), startLab({ sources })])
  try {
    const [c1, c2] = await Promise.all([
      deployAnswer(healthyLab.anvil),
      deployAnswer(outageLab.anvil),
    ])
    await outageLab.proxy('first').setMode({ kind: 'blackhole' })
    const healthy = clientFor(healthyLab, { pollingInterval: 1_000 })
    const outage = clientFor(outageLab, { pollingInterval: 1_000 })
    const h = newResult()
    const o = newResult()
    // Warm-up: chain checks and first latency samples (not counted).
    for (let i = 0; i < 10; i++) {
      await step(healthy, healthyLab, c1, i, newResult())
      await step(outage, outageLab, c2, i, newResult())
    }
    for (let i = 0; i < REQUESTS; i++) {
      await step(healthy, healthyLab, c1, i, h)
      await step(outage, outageLab, c2, i, o)
    }
    const sentToFirst = outageLab.proxy('first').stats.calls
    await healthy.close()
    await outage.close()

    // viem fallback on the same blackholed lab: 10 requests (each may wait out 10 s).
    const viem = createPublicClient({
      transport: fallback(
        outageLab.sources.map((s) => viemHttp(s.proxy.url, { fetchFn: s.proxy.fetch })),
      ),
    })
    const v = newResult()
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        timed(v, async () => {
          const who = devAccounts[i % devAccounts.length]!.address
          return (
            (await viem.getBalance({ address: who })) ===
            BigInt(await outageLab.anvil.rpc<string>('eth_getBalance', [who, 'latest']))
          )
        }),
      ),
    )
    return { h, o, v, sentToFirst }
  } finally {
    await Promise.all([healthyLab.stop(), outageLab.stop()])
  }
}

async function lyingScenario() {
  const lab = await startLab({ sources })
  try {
    await lab.proxy('second').setMode({ kind: 'lie' })
    const rpc = clientFor(lab)
    const r = newResult()
    for (let i = 0; i < 200; i++)
      await timed(r, async () => {
        const who = devAccounts[i % devAccounts.length]!.address
        return (
          (await rpc.request({ method: 'eth_getBalance', params: [who, 'latest'] })) ===
          (await lab.anvil.rpc('eth_getBalance', [who, 'latest']))
        )
      })
    await rpc.close()
    return r
  } finally {
    await lab.stop()
  }
}

const header = `outlast bench, ${new Date().toISOString()}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${REQUESTS} requests per client`
console.log(`${header}\n`)
const { h, o, v, sentToFirst } = await blackholeScenario()
const lie = await lyingScenario()
const rows = [
  ['scenario (3 sources, 20/40/60 ms, 3 domains)', 'client', 'success', 'wrong', 'p50', 'p99'],
  ['all healthy', 'outlast', ...fmt(h)],
  ['first source blackholed', 'outlast', ...fmt(o)],
  ['first source blackholed (10 requests)', 'viem fallback', ...fmt(v)],
  ['second source lying (200 balances)', 'outlast', ...fmt(lie)],
]
const ratio = percentile(o.ms, 99) / percentile(h.ms, 99)
const notes = [
  `p99 blackholed / p99 healthy = ${ratio.toFixed(2)} (target <= 1.5)`,
  `viem fallback p99 / outlast p99 (blackholed) = ${(percentile(v.ms, 99) / percentile(o.ms, 99)).toFixed(0)}x`,
  `calls sent to the blackholed source: ${sentToFirst} (its breaker keeps it out after a few)`,
]
console.log(`${table(rows)}\n\n${notes.join('\n')}`)
const markdown = [
  '# Benchmark results',
  '',
  `Made by \`npm run bench\`: ${header}.`,
  '',
  `| ${rows[0]!.join(' | ')} |`,
  `|${rows[0]!.map(() => '---').join('|')}|`,
  ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
  '',
  ...notes.map((n) => `- ${n}`),
  '',
].join('\n')
writeFileSync(new URL('./RESULTS.md', import.meta.url), markdown)
