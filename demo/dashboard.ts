/**
 * What the live view shows, as lines of text: the phase and the clock, each source as outlast
 * sees it next to the fault the lab injects, both clients' counts, and recent events.
 */

import type { OutlastStatus, SourceCondition } from '../src/index.ts'
import type { FaultMode } from '../test/lab/index.ts'
import { cell, type Paint, type Style } from './ansi.ts'
import { type EventTone, formatClock, type LoggedEvent } from './eventLog.ts'
import type { PhaseName, ScenarioStep } from './outageScenario.ts'
import { type ClientTally, formatMs, percentile } from './tally.ts'

export type DemoSnapshot = {
  /** Milliseconds since the workload started, and how long it runs. */
  elapsed: number
  total: number
  phase: PhaseName
  /** The latest scenario step's note. */
  note: string
  steps: readonly ScenarioStep[]
  status: OutlastStatus
  /** The lab's current fault per source name. */
  faults: Record<string, FaultMode>
  clients: readonly ClientTally[]
  events: readonly LoggedEvent[]
  /** The run is over; requests still in flight are being waited for. */
  finishing: boolean
}

/** Colours of the conditions outlast reports; any other condition is yellow. */
const CONDITION_STYLE: Partial<Record<SourceCondition, Style[]>> = {
  healthy: ['green'],
  degraded: ['yellow'],
  probing: ['yellow'],
  'rate-limited': ['yellow'],
  lagging: ['yellow'],
  unknown: ['dim'],
  down: ['red', 'bold'],
  forked: ['red', 'bold'],
  unconfirmed: ['red', 'bold'],
  'wrong-chain': ['red', 'bold'],
  lying: ['red', 'bold'],
}

const TONE_STYLE: Record<EventTone, Style[]> = {
  phase: ['cyan', 'bold'],
  good: ['green'],
  bad: ['red'],
  warn: ['yellow'],
  info: [],
}

const PHASE_STYLE: Record<PhaseName, Style> = { before: 'green', outage: 'red', after: 'blue' }

/** The lab's fault in a few words. */
export function describeFault(mode: FaultMode | undefined): string {
  switch (mode?.kind) {
    case undefined:
    case 'ok':
      return '-'
    case 'dns':
      return 'DNS failure'
    case 'blackhole':
      return 'blackholed'
    case 'refused':
      return 'conn refused'
    case 'http5xx':
      return `HTTP ${mode.status ?? 503}`
    case 'rateLimit':
      return 'HTTP 429'
    case 'quota':
      return 'HTTP 402'
    default:
      return mode?.kind ?? '-'
  }
}

/** Renders `s` as lines at most `width` wide, with at most `height` lines. */
export function renderDashboard(
  s: DemoSnapshot,
  paint: Paint,
  width: number,
  height: number,
): string[] {
  const lines = [
    ...header(s, paint, width),
    '',
    ...sources(s, paint, width),
    '',
    ...clients(s, paint),
    '',
  ]
  const room = Math.max(1, height - lines.length - 1)
  lines.push(paint('recent events', 'bold'), ...events(s.events.slice(-room), paint))
  return lines.slice(0, height)
}

function header(s: DemoSnapshot, paint: Paint, width: number): string[] {
  const clock = `${formatClock(s.elapsed)} / ${formatClock(s.total)}`
  const domains = new Set(s.status.sources.map((src) => src.domain)).size
  const title = `${paint('outlast demo', 'bold')}  ${paint(clock, 'bold')}  ·  local anvil chain ${s.status.chainId}, ${s.status.sources.length} sources in ${domains} failure domains  ·  no keys, no network`
  const barWidth = Math.max(20, Math.min(width - 2, 90))
  const labels = Array.from({ length: barWidth }, () => ' ')
  // One run of cells per phase and done/to-do, so each run is painted once.
  const runs: { text: string; styles: Style[] }[] = []
  for (let i = 0; i < barWidth; i++) {
    const t = (i / barWidth) * s.total
    let phase: PhaseName = 'before'
    for (const step of s.steps) if (step.phase && step.at <= t) phase = step.phase
    const done = t < s.elapsed
    const styles: Style[] = done ? [PHASE_STYLE[phase]] : [PHASE_STYLE[phase], 'dim']
    const last = runs[runs.length - 1]
    if (last && last.styles.join() === styles.join()) last.text += done ? '█' : '░'
    else runs.push({ text: done ? '█' : '░', styles })
  }
  const bar = runs.map((r) => paint(r.text, ...r.styles))
  for (const step of s.steps) {
    if (!step.phase) continue
    const at = Math.floor((step.at / s.total) * barWidth)
    for (let j = 0; j < step.phase.length && at + j < barWidth; j++) labels[at + j] = step.phase[j]!
  }
  const banner = paint(
    ` ${s.finishing ? 'FINISHING' : s.phase.toUpperCase()} `,
    'inverse',
    PHASE_STYLE[s.phase],
    'bold',
  )
  const note = s.finishing ? 'run over: waiting for requests still in flight' : s.note
  return [
    `${title}   ${paint(clock, 'bold')}`,
    bar.join(''),
    paint(labels.join(''), 'dim'),
    `${banner} ${note}`,
  ]
}

function sources(s: DemoSnapshot, paint: Paint, width: number): string[] {
  // On narrow terminals the domain column goes (the start-up list shows each source's domain).
  const wide = width >= 100
  type Column = [title: string, width: number, align: 'left' | 'right']
  const columns: Column[] = [
    ['source', 15, 'left'],
    ...(wide ? [['domain', 17, 'left'] satisfies Column] : []),
    ['lab fault', 12, 'left'],
    ['outlast sees', 12, 'left'],
    ['p50', 6, 'right'],
    ['p95', 6, 'right'],
    ['err', 5, 'right'],
    ['reqs', 6, 'right'],
    ['head', 5, 'right'],
    ['lag', 4, 'right'],
  ]
  const row = (cells: string[]) =>
    cells.map((c, i) => cell(c, columns[i]![1], columns[i]![2])).join(' ')
  const lines = [paint(row(columns.map((c) => c[0])), 'bold')]
  for (const src of s.status.sources) {
    const fault = describeFault(s.faults[src.name])
    lines.push(
      row([
        src.name,
        ...(wide ? [src.domain] : []),
        fault === '-' ? paint('-', 'dim') : paint(fault, 'red'),
        paint(src.condition, ...(CONDITION_STYLE[src.condition] ?? ['yellow'])),
        formatMs(src.latency.p50),
        formatMs(src.latency.p95),
        `${Math.round(src.errorRate * 100)}%`,
        String(src.requests),
        src.head === undefined ? '-' : `#${src.head}`,
        String(src.lag),
      ]),
    )
  }
  const q = s.status.quorum
  const head = s.status.head ? `#${s.status.head.number} ${s.status.head.hash.slice(0, 10)}…` : '-'
  const domains = q.healthyDomains.length ? q.healthyDomains.join(', ') : 'none'
  const quorum = q.met ? paint('quorum met', 'green') : paint('quorum lost', 'red', 'bold')
  lines.push(`agreed head ${head} · ${quorum}: healthy domains ${domains} (needs ${q.domains})`)
  return lines
}

function clients(s: DemoSnapshot, paint: Paint): string[] {
  const widths = [15, 7, 7, 6, 7, 7, 20]
  const row = (cells: string[]) =>
    cells.map((c, i) => cell(c, widths[i]!, i === 0 || i === 6 ? 'left' : 'right')).join(' ')
  const now = performance.now()
  const lines = [
    paint(row(['client', 'served', 'failed', 'wrong', 'p50', 'p99', '  in flight']), 'bold'),
  ]
  for (const c of s.clients) {
    const t = c.totals()
    const latencies = c.phases[s.phase].latencies
    const oldest = Math.max(0, ...[...c.inFlight].map((op) => now - op.startedAt))
    const waiting = c.inFlight.size
    lines.push(
      row([
        paint(c.name, 'bold'),
        String(t.requests - t.failures),
        t.failures ? paint(String(t.failures), 'yellow') : '0',
        t.wrong ? paint(String(t.wrong), 'red', 'bold') : paint('0', 'green'),
        formatMs(percentile(latencies, 50)),
        formatMs(percentile(latencies, 99)),
        `  ${waiting}${waiting ? `, oldest ${formatMs(oldest)}` : ''}`,
      ]),
    )
  }
  lines.push(paint(`counts: whole run · p50/p99: requests sent in the ${s.phase} phase`, 'dim'))
  return lines
}

function events(list: readonly LoggedEvent[], paint: Paint): string[] {
  return list.map((e) => {
    const count = e.count > 1 ? paint(` ×${e.count}`, 'dim') : ''
    return `${paint(formatClock(e.at), 'dim')}  ${paint(e.text, ...TONE_STYLE[e.tone])}${count}`
  })
}
