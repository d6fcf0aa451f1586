/**
 * The plain view, for logs and pipes (`--plain`, or stdout not a terminal): one line per
 * notable event as it happens, outlast's source table as each phase ends, and a progress line
 * every few seconds.
 */
import type { DemoSnapshot } from './dashboard.ts'
import { formatClock, type LoggedEvent } from './eventLog.ts'
import { formatMs, percentile } from './tally.ts'
import type { DemoView } from './view.ts'

const PROGRESS_MS = 5_000

/** A plain view writing to `out`. */
export function createPlainView(out: NodeJS.WritableStream): DemoView {
  let timer: NodeJS.Timeout | undefined
  let snapshot: (() => DemoSnapshot) | undefined
  let phase: string | undefined
  const write = (line: string) => out.write(`${line}\n`)

  const status = (title: string) => {
    if (!snapshot) return
    write(`           ${title}`)
    write(String(snapshot().status).replace(/^/gm, '           '))
  }

  const progress = () => {
    if (!snapshot) return
    const s = snapshot()
    const parts = s.clients.map((c) => {
      const t = c.totals()
      const p99 = formatMs(percentile(c.phases[s.phase].latencies, 99))
      return `${c.name}: ${t.requests - t.failures} served, ${t.failures} failed, ${t.wrong} wrong, p99 ${p99}, ${c.inFlight.size} in flight`
    })
    write(`[${formatClock(s.elapsed)}] ${s.phase.padEnd(6)} ${parts.join(' | ')}`)
  }

  return {
    event(e: LoggedEvent) {
      if (snapshot && !timer) return // stopped: the summary is out, later noise is not news
      if (snapshot && e.tone === 'phase') {
        // The table as the previous phase left it: what outlast had learnt by then.
        const s = snapshot()
        if (phase && s.phase !== phase) status(`outlast's view at the end of the ${phase} phase:`)
        phase = s.phase
      }
      write(`[${formatClock(e.at)}] ${e.text}`)
    },
    say: write,
    start(next) {
      snapshot = next
      timer = setInterval(progress, PROGRESS_MS)
    },
    stop() {
      if (!timer) return
      clearInterval(timer)
      timer = undefined
      progress()
      status(`outlast's view at the end of the ${phase} phase:`)
    },
  }
}
