/** Figures per client and scenario, and the rows of the results table. */
import { type ClientName, clientLabels } from './clients.ts'
import type { ClientRun } from './measure.ts'
import { percentile } from './stats.ts'

export type Summary = {
  client: ClientName
  requests: number
  right: number
  wrong: number
  /** Errors and requests that hit the cap. */
  failed: number
  capped: number
  /** Share of requests answered right, 0–1. */
  success: number
  /** Over every request (failed ones at the time they failed). */
  p50: number
  p99: number
  /** Calls the lab's sources received per request. */
  amplification: number
  run: ClientRun
}

export function summarize(run: ClientRun): Summary {
  const count = (o: string) => run.samples.filter((s) => s.outcome === o).length
  const ms = run.samples.map((s) => s.ms)
  const requests = run.samples.length
  const right = count('right')
  return {
    client: run.client,
    requests,
    right,
    wrong: count('wrong'),
    failed: count('failed') + count('capped'),
    capped: count('capped'),
    success: requests === 0 ? 0 : right / requests,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    amplification: requests === 0 ? Number.NaN : (run.calls.total ?? 0) / requests,
    run,
  }
}

/** Clients that answered at least this share right count in "best other client". */
export const RELIABLE = 0.99

export type Ratios = { best?: { client: ClientName; ratio: number }; floor?: number }

/** outlast's p99 against the best reliable other client's and the floor's. */
export function ratios(rows: readonly Summary[]): Ratios {
  const outlast = rows.find((r) => r.client === 'outlast')
  if (!outlast) return {}
  const others = rows
    .filter((r) => r.client !== 'outlast' && r.client !== 'floor' && r.success >= RELIABLE)
    .sort((a, b) => a.p99 - b.p99)
  const floor = rows.find((r) => r.client === 'floor')
  const out: Ratios = {}
  if (others[0]) out.best = { client: others[0].client, ratio: outlast.p99 / others[0].p99 }
  if (floor) out.floor = outlast.p99 / floor.p99
  return out
}

export const fmtMs = (ms: number) => {
  if (!Number.isFinite(ms)) return '—'
  if (ms < 100) return `${ms.toFixed(1)} ms`
  return `${Math.round(ms)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ')} ms`
}

const pct = (x: number) => `${(100 * x).toFixed(x === 1 || x === 0 ? 0 : 1)} %`
const times = (x: number) =>
  `${x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3).replace(/0+$/, '')}×`

export const header = [
  'scenario',
  'client',
  'requests',
  'right',
  'wrong',
  'failed',
  'p50',
  'p99',
  'calls/req',
  'outlast p99 ÷ best other',
  'outlast p99 ÷ floor',
]

/** Table rows of one scenario; `floor` names the source the floor client read from. */
export function rowsOf(title: string, summaries: readonly Summary[], floor?: string): string[][] {
  const r = ratios(summaries)
  return summaries.map((s, i) => [
    i === 0 ? title : '',
    s.client === 'floor' && floor ? `direct to ${floor} (floor)` : clientLabels[s.client],
    String(s.requests),
    pct(s.success),
    String(s.wrong),
    s.capped > 0 ? `${s.failed} (${s.capped} capped)` : String(s.failed),
    fmtMs(s.p50),
    fmtMs(s.p99),
    Number.isFinite(s.amplification) ? s.amplification.toFixed(2) : '—',
    s.client !== 'outlast'
      ? ''
      : r.best
        ? `${times(r.best.ratio)} (${clientLabels[r.best.client]})`
        : 'no other client ≥ 99 % right',
    s.client === 'outlast' && r.floor !== undefined ? times(r.floor) : '',
  ])
}

/** The most frequent reasons for a client's failed or wrong requests. */
export function topErrors(run: ClientRun, n = 3): string[] {
  return Object.entries(run.errors)
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, n)
    .map(
      ([reason, { count, example }]) => `${count}× ${reason}${example ? `, e.g. ${example}` : ''}`,
    )
}
