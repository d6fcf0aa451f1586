/** The soak's live progress lines and its final report. */
import type { SoakArgs } from './args.ts'
import type { Invariants, PhaseStats, Violation, ViolationKind } from './invariants.ts'
import type { HeapTrend } from './memory.ts'
import { describeStep, type PhaseType, SOURCES, type Step } from './schedule.ts'
import type { Senders } from './senders.ts'

/** The machine-readable last line (`SOAK_RESULT {...}`), read by test/soak.test.ts. */
export type SoakSummary = {
  pass: boolean
  seed: string
  minutes: number
  steps: number
  requests: number
  ok: number
  failed: number
  failedExpected: number
  checked: number
  violations: number
  byKind: Partial<Record<ViolationKind, number>>
  tx: { sent: number; accepted: number; mined: number }
  races: number
  tradeoffs: number
  heap: { growthMb: number; slopeMbPerMinute: number; flagged: boolean }
  harnessErrors: number
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const ms = (v: number) =>
  Number.isNaN(v) ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`
const pad = (s: string | number, n: number) => String(s).padEnd(n)
const lpad = (s: string | number, n: number) => String(s).padStart(n)

export function commandFor(args: SoakArgs): string {
  const extra = [
    args.grace !== 5000 ? ` --grace ${args.grace / 1000}` : '',
    args.tradeoffs ? '' : ' --no-tradeoffs',
    args.heapThresholdMb !== 32 ? ` --heap-threshold ${args.heapThresholdMb}` : '',
    args.readers !== 4 ? ` --readers ${args.readers}` : '',
    args.accounts !== 4 ? ` --accounts ${args.accounts}` : '',
  ].join('')
  return `npm run soak -- --minutes ${args.minutes} --seed ${args.seedText}${extra}`
}

export function scheduleLines(steps: readonly Step[]): string[] {
  return steps.map(
    (s) =>
      `  #${lpad(s.index, 3)} ${lpad(`+${(s.at / 1000).toFixed(1)}s`, 8)} ${lpad(`${(s.ms / 1000).toFixed(1)}s`, 6)}  ${pad(s.phase, 16)} ${describeStep(s)}${s.label ? `  [labelled: ${s.label}]` : ''}`,
  )
}

export function progressLine(
  t: number,
  step: Step,
  steps: number,
  inv: Invariants,
  senders: Senders,
  heapMb: number,
): string {
  const c = senders.counts
  const unexpected = inv.totals.failed - inv.totals.failedExpected
  return `[${lpad((t / 1000).toFixed(1), 6)}s] step ${step.index + 1}/${steps} ${pad(step.phase, 16)} ${describeStep(step)} | req ok ${inv.totals.ok} failed ${inv.totals.failed} (unexpected ${unexpected}) | tx sent ${c.sent} mined ${c.mined} | violations ${inv.violationCount} | heap ${heapMb.toFixed(1)} MB`
}

export type ReportInput = {
  args: SoakArgs
  steps: readonly Step[]
  scheduleMs: number
  finalMs: number
  inv: Invariants
  senders: Senders
  heap: HeapTrend
  staleness: number[]
  events: Record<string, number>
  phaseTime: Map<PhaseType, { steps: number; ms: number }>
  outlastConfig: string
  graceWhy: string
  status: string
  harnessErrors: string[]
  nodesStarted: number
}

export function finalReport(r: ReportInput): { text: string; summary: SoakSummary } {
  const { inv, senders } = r
  const out: string[] = []
  const line = (s = '') => out.push(s)
  const c = senders.counts
  const byKind: Partial<Record<ViolationKind, number>> = { ...inv.byKind }
  const violations = inv.violationCount + (r.heap.flagged ? 1 : 0)
  if (r.heap.flagged) byKind.memory = 1
  const pass = violations === 0 && r.harnessErrors.length === 0

  line('='.repeat(100))
  line('outlast chaos soak: report')
  line(`command    ${commandFor(r.args)}`)
  line(
    `           (same as ./node_modules/.bin/node soak/run.ts ${commandFor(r.args).replace('npm run soak -- ', '')})`,
  )
  line(`seed       ${r.args.seedText}`)
  line(
    `duration   ${(r.scheduleMs / 1000).toFixed(1)} s of schedule (${r.steps.length} steps) + ${(r.finalMs / 1000).toFixed(1)} s final (sources restored, transactions drained)`,
  )
  line(
    `lab        ${SOURCES.map((s) => `${s.name} (${s.domain}, ${s.latency} ms)`).join(', ')}; anvil block time 1 s; ${r.nodesStarted} lagging/forked nodes started`,
  )
  line(`outlast    ${r.outlastConfig}`)
  line(`grace      ${r.args.grace} ms: ${r.graceWhy}`)
  line()
  const t = inv.totals
  line(
    `requests   ${t.ok + t.failed} through outlast: ${t.ok} ok, ${t.failed} failed (${t.failedExpected} while no honest synced source was reachable, ${t.failed - t.failedExpected} otherwise); ${t.checked} answers checked against the node`,
  )
  line()
  line(
    `${pad('phase', 17)}${lpad('steps', 6)}${lpad('time', 9)}${lpad('requests', 10)}${lpad('ok', 8)}${lpad('failed', 8)}${lpad('unexp.', 8)}${lpad('degraded', 10)}${lpad('p50', 10)}${lpad('p99', 10)}`,
  )
  for (const [phase, s] of [...inv.phases.entries()].sort(
    (a, b) => b[1].requests - a[1].requests,
  )) {
    const time = r.phaseTime.get(phase)
    line(phaseRow(phase, s, time))
  }
  line()
  line(
    `by operation: ${[...inv.byOp.entries()].map(([op, s]) => `${op} ${s.ok}/${s.ok + s.failed}`).join(', ')}`,
  )
  const mined = senders.records
    .filter((x) => x.minedSeen !== undefined)
    .map((x) => x.minedSeen! - x.firstSent)
  line(
    `transactions ${c.sent} sent from ${senders.addresses.length} accounts, ${c.accepted} accepted by outlast, ${c.mined} mined (${c.reverted} reverted); ${c.attempts} send attempts, ${c.failed} failed and retried unchanged; first send → mined p50 ${ms(percentile(mined, 50))}, p99 ${ms(percentile(mined, 99))}`,
  )
  line(
    `head       eth_blockNumber behind the node when asked: p50 ${percentile(r.staleness, 50)} p99 ${percentile(r.staleness, 99)} max ${Math.max(0, ...r.staleness)} blocks`,
  )
  line(
    `events     ${Object.entries(r.events)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  )
  const h = r.heap
  line(
    `memory     ${h.samples} samples${h.gcForced ? ' after gc' : ' (gc not available)'}: baseline ${h.baseline.toFixed(1)} MB, end ${h.end.toFixed(1)} MB, max ${h.max.toFixed(1)} MB, growth ${h.growth >= 0 ? '+' : ''}${h.growth.toFixed(1)} MB, trend ${h.slopePerMinute >= 0 ? '+' : ''}${h.slopePerMinute.toFixed(2)} MB/min; threshold ${h.threshold} MB → ${h.flagged ? 'FLAGGED' : 'flat'}`,
  )
  line()
  line(
    `trade-offs ${inv.tradeoffs.length} wrong answers marked degraded while only a lying domain was left (labelled steps; documented, not violations)`,
  )
  for (const n of inv.tradeoffs.slice(0, 5))
    line(`  t=${n.t.toFixed(1)}s ${n.request}: expected ${n.expected}, got ${n.actual}`)
  line(
    `anvil races ${inv.races.length}: answers equal to the node's state one block after the head block they were for, or failures where honest sources in front of the node split between two blocks (anvil's head-block race, see soak/truth.ts; not outlast's)`,
  )
  for (const n of inv.races.slice(0, 5))
    line(
      `  t=${n.t.toFixed(1)}s ${n.request}: expected ${n.expected}, got ${n.actual}${n.why === 'anvil race' ? '' : ` (${n.why})`}`,
    )
  line()
  line(
    `violations ${violations}${
      Object.keys(byKind).length
        ? ` (${Object.entries(byKind)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`
        : ''
    }${inv.violationCount > inv.violations.length ? `; details for the first 100 of each kind, grouped` : ''}`,
  )
  for (const [i, g] of groupViolations(inv.violations).entries()) {
    const v = g.first
    const when =
      g.count > 1
        ? `${g.count}× at t=${v.t.toFixed(1)}–${g.last.toFixed(1)} s, the first:`
        : `t=${v.t.toFixed(1)} s`
    line(`  ${i + 1}. [${v.kind}] ${when}`)
    line(`     request:  ${v.request}`)
    line(`     expected: ${v.expected}`)
    line(`     actual:   ${v.actual}`)
    if (v.view) line(`     outlast saw: ${v.view}`)
    for (const m of v.modes) line(`     ${m}`)
  }
  if (r.heap.flagged)
    line(
      `  [memory] heap grew ${h.growth.toFixed(1)} MB after warm-up (threshold ${h.threshold} MB)`,
    )
  if (r.harnessErrors.length) {
    line(`harness errors ${r.harnessErrors.length} (the soak's own failures, not outlast's):`)
    for (const e of r.harnessErrors.slice(0, 10)) line(`  ${e}`)
  }
  line()
  line('outlast status at the end:')
  for (const s of r.status.split('\n')) line(`  ${s}`)
  line()
  line(
    `result     ${pass ? 'PASS' : 'FAIL'}: ${violations} violation(s), seed ${r.args.seedText}, ${commandFor(r.args)}`,
  )

  const summary: SoakSummary = {
    pass,
    seed: r.args.seedText,
    minutes: r.args.minutes,
    steps: r.steps.length,
    requests: t.ok + t.failed,
    ok: t.ok,
    failed: t.failed,
    failedExpected: t.failedExpected,
    checked: t.checked,
    violations,
    byKind,
    tx: { sent: c.sent, accepted: c.accepted, mined: c.mined },
    races: inv.races.length,
    tradeoffs: inv.tradeoffs.length,
    heap: { growthMb: h.growth, slopeMbPerMinute: h.slopePerMinute, flagged: h.flagged },
    harnessErrors: r.harnessErrors.length,
  }
  return { text: out.join('\n'), summary }
}

function phaseRow(phase: string, s: PhaseStats, time: { steps: number; ms: number } | undefined) {
  return `${pad(phase, 17)}${lpad(time?.steps ?? '', 6)}${lpad(time ? `${(time.ms / 1000).toFixed(0)} s` : '', 9)}${lpad(s.requests, 10)}${lpad(s.ok, 8)}${lpad(s.failedExpected + s.failedUnexpected, 8)}${lpad(s.failedUnexpected, 8)}${lpad(s.degraded, 10)}${lpad(ms(percentile(s.ms, 50)), 10)}${lpad(ms(percentile(s.ms, 99)), 10)}`
}

type Group = { first: Violation; last: number; count: number }

/** Violations of one kind, in the same steps, failing the same way (any method): one incident. */
export function groupViolations(violations: readonly Violation[]): Group[] {
  const groups = new Map<string, Group>()
  for (const v of violations) {
    const how = v.actual
      .replace(/eth_\w+/g, 'eth_*')
      .replace(/0x[0-9a-fA-F]+/g, '0x…')
      .replace(/\d+/g, 'N')
      .slice(0, 160)
    const key = `${v.kind}|${v.modes.join('|')}|${how}`
    const g = groups.get(key)
    if (g) {
      g.count++
      g.last = v.t
    } else groups.set(key, { first: v, last: v.t, count: 1 })
  }
  return [...groups.values()]
}
