/**
 * The demo from start to end: start the lab, build both clients, run the workload through each
 * while the outage plays out, report live, then print the summary and tear everything down.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { LocalAccount } from 'viem/accounts'
import type { Outlast } from '../index.ts'
import { painter } from './ansi.ts'
import type { DemoSnapshot } from './dashboard.ts'
import { createDemoOutlast, createDemoViemFallback, type DemoClient } from './demoClients.ts'
import { anvilAccount, startDemoLab } from './demoLab.ts'
import { runWorkload, type WorkloadUser } from './demoWorkload.ts'
import { createEventLog, type EventLog, type EventTone } from './eventLog.ts'
import {
  outageScenario,
  type PhaseName,
  playScenario,
  type ScenarioStep,
} from './outageScenario.ts'
import { formatSummary } from './summary.ts'
import { type ClientTally, createTally, type Problem } from './tally.ts'
import { createTruth } from './truth.ts'
import type { DemoView } from './view.ts'

export type DemoOptions = {
  seconds: number
  view: DemoView
  /** Where the summary goes. */
  out: NodeJS.WritableStream
  /** Colour in the summary. */
  color: boolean
  /** Aborts the run early (Ctrl-C); the summary still prints and the lab still stops. */
  signal: AbortSignal
}

export type DemoResult = {
  outlast: ReturnType<ClientTally['totals']>
  viem: ReturnType<ClientTally['totals']>
  interrupted: boolean
}

/** How long the demo waits, after the run, for requests still in flight. */
const DRAIN_MS = 20_000

/** Each client gets the same users (same seeds): two wallets that send transfers, two readers. */
function usersFor(signers: readonly [LocalAccount, LocalAccount]): WorkloadUser[] {
  return [
    { seed: 11, signer: signers[0] },
    { seed: 12, signer: signers[1] },
    { seed: 13 },
    { seed: 14 },
  ]
}

/** Runs the demo; see the module comment. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { view, seconds, signal } = options
  view.say('Starting the outage lab: one anvil node behind 5 fault-injecting proxies…')
  const { lab, contracts } = await startDemoLab()
  const { rpc, client: outlastClient } = createDemoOutlast(lab)
  const viemClient = createDemoViemFallback(lab)
  try {
    for (const s of lab.sources)
      view.say(
        `  ${s.name.padEnd(15)} ${s.kind.padEnd(11)} ${s.domain.padEnd(17)} ${s.latency} ms  ${s.proxy.url}`,
      )
    view.say(`Contracts: answer ${contracts.answer}, balance reader ${contracts.balanceReader}`)
    await rpc.connect()
    view.say('outlast connected; workload starting.')

    const steps = outageScenario(seconds)
    const startedAt = Date.now()
    const log = createEventLog(startedAt)
    let phase: PhaseName = 'before'
    let note = steps[0]!.note
    let finishing = false
    const add = (key: string, text: string, tone: EventTone) => {
      const { event, fresh } = log.add(key, text, tone)
      if (fresh) view.event(event)
    }
    watchOutlast(rpc, add)

    const onProblem = (p: Problem) => {
      const tone = p.outcome === 'wrong' ? 'bad' : 'warn'
      const label = p.outcome === 'wrong' ? 'WRONG ANSWER' : 'failed'
      const key = `${p.client}|${p.outcome}|${p.action}|${p.detail.replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, '#')}`
      add(key, `${p.client}: ${p.action} ${label}: ${p.detail}`, tone)
    }
    const tallies = [outlastClient, viemClient].map((c) =>
      createTally(c.name, () => phase, onProblem),
    )
    const [outlastTally, viemTally] = tallies as [ClientTally, ClientTally]

    const snapshot = (): DemoSnapshot => ({
      elapsed: Math.min(Date.now() - startedAt, seconds * 1000),
      total: seconds * 1000,
      phase,
      note,
      steps,
      status: rpc.status(),
      faults: Object.fromEntries(lab.proxies.map((p) => [p.name, p.mode])),
      clients: tallies,
      events: log.entries,
      finishing,
    })
    view.start(snapshot)

    const onStep = (step: ScenarioStep) => {
      if (step.phase) phase = step.phase
      note = step.note
      add(
        `step:${step.at}`,
        step.phase ? `${step.phase.toUpperCase()}: ${step.note}` : step.note,
        step.phase ? 'phase' : 'warn',
      )
    }
    const stopWorkload = new AbortController()
    const stopAll = AbortSignal.any([stopWorkload.signal, signal])
    const truth = createTruth(lab.anvil)
    const signers = [0, 1, 2, 3].map(anvilAccount)
    const accounts = signers.map((a) => a.address)
    const run = (client: DemoClient, tally: ClientTally, signers: [LocalAccount, LocalAccount]) =>
      runWorkload({
        client,
        tally,
        truth,
        contracts,
        accounts,
        users: usersFor(signers),
        signal: stopAll,
      })
    const workloads = Promise.all([
      run(outlastClient, outlastTally, [signers[0]!, signers[1]!]),
      run(viemClient, viemTally, [signers[2]!, signers[3]!]),
    ])
    // A workload that fails (a bug in the demo) ends the run at once.
    const crashed = workloads.then(
      () => new Promise<never>(() => {}),
      (error: unknown) => Promise.reject(error),
    )
    const scenario = playScenario(lab, steps, startedAt, onStep, stopAll)
    await Promise.race([sleep(seconds * 1000, undefined, { signal }).catch(() => {}), crashed])
    stopWorkload.abort()
    await scenario

    finishing = true
    const giveUp = new AbortController()
    const drained = await Promise.race([
      workloads.then(() => true),
      sleep(signal.aborted ? 2_000 : DRAIN_MS, false, { signal: giveUp.signal }).catch(() => false),
      crashed,
    ])
    giveUp.abort()
    if (!drained) workloads.catch(() => {})
    view.stop()

    const unfinished = tallies.reduce((n, t) => n + t.inFlight.size, 0)
    const summary = formatSummary(
      tallies,
      { seconds, unfinished, interrupted: signal.aborted },
      painter(options.color),
    )
    options.out.write(`\n${summary.join('\n')}\n`)
    return { outlast: outlastTally.totals(), viem: viemTally.totals(), interrupted: signal.aborted }
  } finally {
    view.stop()
    await Promise.all([outlastClient.close(), viemClient.close()])
    await lab.stop()
  }
}

/** Turns outlast's events into lines of the event log. */
function watchOutlast(rpc: Outlast, add: (key: string, text: string, tone: EventTone) => void) {
  const UP = new Set(['healthy', 'degraded'])
  rpc.on('source', (e) => {
    const tone: EventTone = UP.has(e.to) ? 'good' : e.to === 'down' ? 'bad' : 'warn'
    const why = e.reason && !UP.has(e.to) ? ` — ${e.reason}` : ''
    add(`source:${e.source}:${e.from}:${e.to}`, `${e.source}: ${e.from} → ${e.to}${why}`, tone)
  })
  rpc.on('quorumLoss', (e) =>
    add(
      `quorumLoss:${e.domains.join(',')}`,
      `quorum lost: only ${e.domains.join(', ') || 'no domain'} could answer (${e.method})`,
      'bad',
    ),
  )
  rpc.on('disagreement', (e) => {
    const answers = e.answers.map((a) => `${a.source}=${a.answer.slice(0, 14)}`).join(', ')
    add(`disagreement:${e.method}`, `sources disagree on ${e.method}: ${answers}`, 'warn')
  })
  rpc.on('disconnect', () => add('disconnect', 'outlast: every source is down', 'bad'))
}

export type { EventLog }
