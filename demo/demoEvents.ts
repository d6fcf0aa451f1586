/**
 * What goes into the demo's event list: the scenario's steps, outlast's own events (source
 * state changes, quorum loss, disagreements) and the problems the tallies count.
 */
import type { Outlast } from '../src/index.ts'
import { createEventLog, type EventLog, type EventTone } from './eventLog.ts'
import type { ScenarioStep } from './outageScenario.ts'
import type { Problem } from './tally.ts'
import type { DemoView } from './view.ts'

export type DemoEvents = {
  readonly log: EventLog
  /** A scenario step just took effect. */
  step(step: ScenarioStep): void
  /** A tally counted a failure, a wrong answer or a node race. */
  problem(problem: Problem): void
  /** Ctrl-C. */
  interrupted(): void
  /** Starts listening to `rpc`'s events. */
  watch(rpc: Outlast): void
}

/** Events timed from `startedAt`; each new line is also handed to `view`. */
export function createDemoEvents(view: DemoView, startedAt: number): DemoEvents {
  const log = createEventLog(startedAt)
  const add = (key: string, text: string, tone: EventTone) => {
    const { event, fresh } = log.add(key, text, tone)
    if (fresh) view.event(event)
  }
  /** Repeats of one problem differ only in numbers and hashes: fold them into one line. */
  const shape = (text: string) => text.replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, '#')

  return {
    log,
    step(step) {
      const text = step.phase ? `${step.phase.toUpperCase()}: ${step.note}` : step.note
      add(`step:${step.at}`, text, step.phase ? 'phase' : 'warn')
    },
    problem(p) {
      const [label, tone]: [string, EventTone] =
        p.outcome === 'wrong'
          ? ['WRONG ANSWER', 'bad']
          : p.outcome === 'race'
            ? ['node race (not counted wrong)', 'info']
            : ['failed', 'warn']
      const key = `${p.client}|${p.outcome}|${p.action}|${shape(p.detail)}`
      add(key, `${p.client}: ${p.action} ${label}: ${p.detail}`, tone)
    },
    interrupted() {
      add('interrupt', 'Interrupted: stopping the workload and the lab', 'phase')
    },
    watch(rpc) {
      const UP = new Set(['healthy', 'degraded'])
      const BAD = new Set(['down', 'forked', 'unconfirmed', 'wrong-chain', 'lying'])
      rpc.on('source', (e) => {
        const tone: EventTone = UP.has(e.to) ? 'good' : BAD.has(e.to) ? 'bad' : 'warn'
        // A source's last error explains why it is down or throttled, not why it lags.
        const lag = rpc.status().sources.find((s) => s.name === e.source)?.lag
        const why =
          e.to === 'lagging'
            ? ` — ${lag} block(s) behind the agreed head`
            : e.reason && !UP.has(e.to) && e.to !== 'probing'
              ? ` — ${e.reason}`
              : ''
        add(`source:${e.source}:${e.from}:${e.to}`, `${e.source}: ${e.from} → ${e.to}${why}`, tone)
      })
      rpc.on('quorumLoss', (e) => {
        const left = e.domains.join(', ') || 'no domain'
        add(`quorumLoss:${left}`, `quorum lost: only ${left} could answer (${e.method})`, 'bad')
      })
      rpc.on('disagreement', (e) => {
        const answers = e.answers.map((a) => `${a.source}=${a.answer.slice(0, 14)}`).join(', ')
        add(`disagreement:${e.method}`, `sources disagree on ${e.method}: ${answers}`, 'warn')
      })
      rpc.on('disconnect', () => add('disconnect', 'outlast: every source is down', 'bad'))
    },
  }
}
