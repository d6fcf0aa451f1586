/**
 * The two moments users feel most, measured side by side in one lab (three sources at 20, 40
 * and 60 ms in three failure domains, anvil 1 s blocks):
 *
 * - Cold first answer: a fresh client's first `eth_getBalance(…, 'latest')`, outlast (quorum of
 *   two domains) against viem `fallback` (one source), each trial with new clients, the two
 *   interleaved so that machine noise hits both.
 * - The two fastest domains lost at once: warm outlast clients and a direct client to the one
 *   source left read in loops; the first and second sources are blackholed mid-run; every request
 *   started in the window after the loss counts. outlast's p99 is compared with the direct
 *   client's p99 over the same window.
 *
 * Usage: node bench/firstMoments.ts [--trials 15] [--window 5000] [--json]
 * (`npm run bench` runs it in a child process.)
 */
import { createPublicClient, fallback, http as viemHttp } from 'viem'
import { createOutlast, http } from '../src/index.ts'
import { CHAIN_ID } from '../test/helpers.ts'
import { devAccounts, type Lab, startLab } from '../test/lab/index.ts'
import { sources } from './scenarios.ts'
import { percentile } from './stats.ts'

export type FirstMomentsResult = {
  cold: { trials: number; outlastMs: number[]; viemMs: number[]; ratioMedian: number }
  lost: {
    windowMs: number
    outlast: { requests: number; failed: number; p50: number; p99: number; max: number }
    direct: { requests: number; p50: number; p99: number }
    ratioP99: number
    consistency: Record<string, number>
  }
}

const argv = process.argv.slice(2)
const arg = (name: string, fallbackValue: number) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : fallbackValue
}
const account = devAccounts[1]!.address
const balance = { method: 'eth_getBalance', params: [account, 'latest'] } as const

const outlastOver = (lab: Lab) =>
  createOutlast({
    chainId: CHAIN_ID,
    pollingInterval: 500,
    sources: lab.sources.map((s) =>
      http(s.proxy.url, { name: s.name, domain: s.domain, kind: s.kind, fetchFn: s.proxy.fetch }),
    ),
  })

const time = async (fn: () => Promise<unknown>) => {
  const started = performance.now()
  await fn()
  return performance.now() - started
}

/** Fresh clients, first read each: outlast and viem fallback in turn. */
async function cold(lab: Lab, trials: number) {
  const outlastMs: number[] = []
  const viemMs: number[] = []
  for (let i = 0; i < trials; i++) {
    const viem = createPublicClient({
      transport: fallback(
        lab.sources.map((s) => viemHttp(s.proxy.url, { fetchFn: s.proxy.fetch })),
      ),
    })
    viemMs.push(await time(() => viem.request(balance as never)))
    const rpc = outlastOver(lab)
    outlastMs.push(await time(() => rpc.request(balance)))
    await rpc.close()
  }
  const median = (xs: number[]) => percentile(xs, 50)
  return { trials, outlastMs, viemMs, ratioMedian: median(outlastMs) / median(viemMs) }
}

/** Warm clients in loops; the two fastest domains blackholed; the window after counted. */
async function lost(lab: Lab, windowMs: number) {
  const rpc = outlastOver(lab)
  const third = lab.proxy('third')
  let id = 0
  const direct = async () => {
    const res = await third.fetch(third.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, ...balance }),
    })
    const body = (await res.json()) as { result?: unknown }
    if (body.result === undefined) throw new Error('direct: no result')
  }
  const consistency: Record<string, number> = {}
  const viaOutlast = async () => {
    const { meta } = await rpc.requestWithMeta(balance)
    consistency[meta.consistency] = (consistency[meta.consistency] ?? 0) + 1
  }
  for (let i = 0; i < 10; i++) await viaOutlast() // warm: latencies known, head agreed
  let measuring = false
  let stopAt = Number.POSITIVE_INFINITY
  const samples = { outlast: [] as number[], direct: [] as number[], failed: 0 }
  const loop = async (fn: () => Promise<void>, into: number[]) => {
    while (performance.now() < stopAt) {
      const started = performance.now()
      const counted = measuring
      let ok = true
      await fn().catch(() => {
        ok = false
      })
      const ms = performance.now() - started
      if (counted && started < stopAt) {
        if (ok) into.push(ms)
        else if (into === samples.outlast) {
          samples.failed++
          into.push(ms)
        }
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const loops = [
    ...Array.from({ length: 4 }, () => loop(viaOutlast, samples.outlast)),
    ...Array.from({ length: 2 }, () => loop(direct, samples.direct)),
  ]
  await new Promise((r) => setTimeout(r, 500))
  for (const k of Object.keys(consistency)) delete consistency[k]
  await Promise.all([
    lab.proxy('first').setMode({ kind: 'blackhole' }),
    lab.proxy('second').setMode({ kind: 'blackhole' }),
  ])
  measuring = true
  stopAt = performance.now() + windowMs
  await Promise.all(loops)
  await rpc.close()
  const stats = (xs: number[]) => ({
    requests: xs.length,
    p50: percentile(xs, 50),
    p99: percentile(xs, 99),
  })
  const o = stats(samples.outlast)
  const d = stats(samples.direct)
  return {
    windowMs,
    outlast: { ...o, failed: samples.failed, max: Math.max(...samples.outlast) },
    direct: d,
    ratioP99: o.p99 / d.p99,
    consistency,
  }
}

export async function firstMoments(trials: number, windowMs: number): Promise<FirstMomentsResult> {
  const lab = await startLab({ sources })
  try {
    await new Promise((r) => setTimeout(r, 1_500)) // a block or two
    const c = await cold(lab, trials)
    const l = await lost(lab, windowMs)
    return { cold: c, lost: l }
  } finally {
    await lab.stop()
  }
}

const f = (ms: number) => `${ms.toFixed(1)} ms`

export function firstMomentsMarkdown(r: FirstMomentsResult): string {
  const median = (xs: number[]) => percentile(xs, 50)
  const p90 = (xs: number[]) => percentile(xs, 90)
  const { cold: c, lost: l } = r
  return [
    `| moment | outlast | side by side | ratio | target |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    `| cold first answer, median of ${c.trials} fresh clients (p90) | ${f(median(c.outlastMs))} (${f(p90(c.outlastMs))}) | viem fallback ${f(median(c.viemMs))} (${f(p90(c.viemMs))}) | ${c.ratioMedian.toFixed(2)}× | ≤ 2× |`,
    `| two fastest domains blackholed: p99 of requests in the ${l.windowMs / 1000} s after (${l.outlast.requests} requests, ${l.outlast.failed} failed, max ${f(l.outlast.max)}) | ${f(l.outlast.p99)} | direct to the source left ${f(l.direct.p99)} | ${l.ratioP99.toFixed(2)}× | ≤ 3× |`,
    '',
    `How outlast answered after the loss: ${Object.entries(l.consistency)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await firstMoments(arg('trials', 15), arg('window', 5_000))
  if (argv.includes('--json')) console.log(JSON.stringify(r))
  else console.log(firstMomentsMarkdown(r))
}
