/**
 * The table printed at the end: for each client and each phase, requests, failures, wrong
 * answers and latency, then a one-line verdict.
 */
import { cell, type Paint } from './ansi.ts'
import { PHASES } from './outageScenario.ts'
import { type ClientTally, formatMs, type Problem, percentile } from './tally.ts'

export type SummaryOptions = {
  seconds: number
  /** Requests still unanswered when the demo stopped waiting (not counted). */
  unfinished: number
  interrupted: boolean
}

/** The summary as lines of text. */
export function formatSummary(
  clients: readonly ClientTally[],
  options: SummaryOptions,
  paint: Paint,
): string[] {
  const widths = [15, 7, 9, 9, 6, 8, 8]
  const row = (cells: string[]) =>
    cells
      .map((c, i) => cell(c, widths[i]!, i < 2 ? 'left' : 'right'))
      .join('  ')
      .trimEnd()
  const title = `Summary of a ${options.seconds} s run${options.interrupted ? ' (interrupted)' : ''}`
  const lines = [
    `${paint(title, 'bold')} — each request is counted in the phase it was sent in`,
    '',
    paint(row(['client', 'phase', 'requests', 'failures', 'wrong', 'p50', 'p99']), 'bold'),
  ]
  for (const c of clients) {
    for (const phase of PHASES) {
      const t = c.phases[phase]
      lines.push(
        row([
          c.name,
          phase,
          String(t.requests),
          String(t.failures),
          t.wrong ? paint(String(t.wrong), 'red', 'bold') : String(t.wrong),
          formatMs(percentile(t.latencies, 50)),
          formatMs(percentile(t.latencies, 99)),
        ]),
      )
    }
    const t = c.totals()
    const all = PHASES.flatMap((p) => c.phases[p].latencies)
    lines.push(
      paint(
        row([
          c.name,
          'total',
          String(t.requests),
          String(t.failures),
          String(t.wrong),
          formatMs(percentile(all, 50)),
          formatMs(percentile(all, 99)),
        ]),
        'dim',
      ),
    )
  }
  if (options.unfinished > 0)
    lines.push(
      `(${options.unfinished} request(s) still unanswered when the demo stopped; not counted)`,
    )

  const problems = clients.flatMap((c) => c.problems)
  const wrong = problems.filter((p) => p.outcome === 'wrong')
  if (wrong.length) {
    lines.push('', paint('Wrong answers:', 'red', 'bold'))
    for (const p of wrong.slice(0, 20)) lines.push(`  ${describe(p)}`)
  }
  const races = problems.filter((p) => p.outcome === 'race')
  if (races.length) {
    lines.push(
      '',
      `Node races (${races.length}, not counted as wrong): the node's own state for a neighbouring block.`,
      paint(
        '  anvil answers reads of its head block racily while it mines the next one, and every lab',
        'dim',
      ),
      paint('  provider fronts that one node, so no quorum across the lab can notice.', 'dim'),
    )
    for (const p of races.slice(0, 5)) lines.push(`  ${describe(p)}`)
  }
  const failures = distinct(problems.filter((p) => p.outcome === 'failed'))
  if (failures.length) {
    lines.push('', 'Failures (one of each kind):')
    for (const p of failures.slice(0, 8)) lines.push(`  ${describe(p)}`)
  }
  lines.push('', verdict(clients, paint))
  return lines
}

/** One line: did outlast stay correct, and how did it fare against viem's fallback in the outage. */
export function verdict(clients: readonly ClientTally[], paint: Paint): string {
  const [ours, theirs] = clients
  if (!ours) return ''
  const o = ours.totals()
  if (o.wrong > 0)
    return paint(`Verdict: FAIL — outlast returned ${o.wrong} wrong answer(s).`, 'red', 'bold')
  const p99 = (c: ClientTally) => formatMs(percentile(c.phases.outage.latencies, 99))
  let line = `Verdict: outlast answered ${o.requests - o.failures}/${o.requests} requests, 0 wrong`
  if (theirs) {
    const t = theirs.totals()
    line += `; outage p99 ${p99(ours)} vs ${p99(theirs)} for ${theirs.name}`
    line += ` (${t.requests - t.failures}/${t.requests} answered, ${t.wrong} wrong)`
  }
  return paint(`${line}.`, o.failures === 0 ? 'green' : 'yellow', 'bold')
}

function describe(p: Problem): string {
  return `${p.client} · ${p.phase} · ${p.action} after ${formatMs(p.ms)}: ${p.detail}`
}

/** The first problem of each client, action and (number-free) message. */
function distinct(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>()
  return problems.filter((p) => {
    const key = `${p.client}|${p.action}|${p.detail.replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, '#')}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
