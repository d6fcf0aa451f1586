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

/** One step of a wallet-like workload; returns false for a wrong answer. */
async function step(rpc: Outlast, lab: Lab, contract: string, i: number): Promise<boolean> {
  const who = devAccounts[i % devAccounts.length]!.address
  switch (i % 5) {
    case 0:
      return (
        (await rpc.request({ method: 'eth_getBalance', params: [who, 'latest'] })) ===
        (await lab.anvil.rpc('eth_getBalance', [who, 'latest']))
      )
    case 1:
      return (
        (await rpc.request({ method: 'eth_call', params: [{ to: contract }, 'latest'] })) ===
        `0x${'2a'.padStart(64, '0')}`
      )
    case 2:
      return /^0x[0-9a-f]+$/.test((await rpc.request({ method: 'eth_blockNumber' })) as string)
    case 3:
      return (
        (await rpc.request({ method: 'eth_getTransactionCount', params: [who, 'latest'] })) ===
        (await lab.anvil.rpc('eth_getTransactionCount', [who, 'latest']))
      )
    default: {
      const n = Number(await lab.anvil.rpc('eth_blockNumber')) - (i % 3)
      const block = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [
        `0x${n.toString(16)}`,
        false,
      ])
      const got = (await rpc.request({
        method: 'eth_getBlockByHash',
        params: [block.hash, false],
      })) as { hash: string }
      return got.hash === block.hash
    }
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
      await step(healthy, healthyLab, c1, i)
      await step(outage, outageLab, c2, i).catch(() => {})
    }
    for (let i = 0; i < REQUESTS; i++) {
      await timed(h, () => step(healthy, healthyLab, c1, i))
      await timed(o, () => step(outage, outageLab, c2, i))
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

console.log(
  `outlast bench — ${new Date().toISOString()} — node ${process.version} — ${REQUESTS} requests per client\n`,
)
const { h, o, v, sentToFirst } = await blackholeScenario()
const lie = await lyingScenario()
console.log(
  table([
    ['scenario (3 sources, 20/40/60 ms, 3 domains)', 'client', 'success', 'wrong', 'p50', 'p99'],
    ['all healthy', 'outlast', ...fmt(h)],
    ['first source blackholed', 'outlast', ...fmt(o)],
    ['first source blackholed (10 reqs)', 'viem fallback', ...fmt(v)],
    ['second source lying (200 balances)', 'outlast', ...fmt(lie)],
  ]),
)
const ratio = percentile(o.ms, 99) / percentile(h.ms, 99)
console.log(`\np99 blackholed / p99 healthy = ${ratio.toFixed(2)} (target <= 1.5)`)
console.log(
  `viem fallback p99 / outlast p99 = ${(percentile(v.ms, 99) / percentile(o.ms, 99)).toFixed(0)}x`,
)
console.log(
  `calls sent to the blackholed source: ${sentToFirst} (breaker keeps it out after a few)`,
)
