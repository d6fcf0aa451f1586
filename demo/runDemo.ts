/**
 * The demo from start to end: start the lab, build both clients, run the workload through each
 * while the outage plays out, report live, then print the summary and tear everything down.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { type LocalAccount, privateKeyToAccount } from 'viem/accounts'
import { devAccounts, type Lab } from '../test/lab/index.ts'
import { painter } from './ansi.ts'
import type { DemoSnapshot } from './dashboard.ts'
import { createDemoOutlast, createDemoViemFallback, type DemoClient } from './demoClients.ts'
import { createDemoEvents } from './demoEvents.ts'
import { type DemoContracts, startDemoLab } from './demoLab.ts'
import { runWorkload, type WorkloadUser } from './demoWorkload.ts'
import { outageScenario, type PhaseName, playScenario } from './outageScenario.ts'
import { formatSummary } from './summary.ts'
import { type ClientTally, createTally } from './tally.ts'
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

/** How long the demo waits, after the run, for requests still in flight (and their checks). */
const DRAIN_MS = 20_000

/** Starts the lab, runs the demo in it, and always stops it (and the clients) afterwards. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { view } = options
  view.say('Starting the outage lab: one anvil node behind 5 fault-injecting proxies…')
  const { lab, contracts } = await startDemoLab()
  const clients: DemoClient[] = []
  try {
    for (const s of lab.sources)
      view.say(
        `  ${s.name.padEnd(15)} ${s.kind.padEnd(11)} ${s.domain.padEnd(17)} ${s.latency} ms  ${s.proxy.url}`,
      )
    view.say(`Contracts: answer ${contracts.answer}, balance reader ${contracts.balanceReader}`)
    return await runInLab(lab, contracts, clients, options)
  } finally {
    view.stop()
    await Promise.all(clients.map((c) => c.close()))
    await lab.stop()
  }
}

async function runInLab(
  lab: Lab,
  contracts: DemoContracts,
  clients: DemoClient[],
  { seconds, view, signal, out, color }: DemoOptions,
): Promise<DemoResult> {
  const { rpc, client: outlastClient } = createDemoOutlast(lab)
  const viemClient = createDemoViemFallback(lab)
  clients.push(outlastClient, viemClient)
  await rpc.connect()
  view.say('outlast connected; workload starting.')

  const steps = outageScenario(seconds)
  const startedAt = Date.now()
  const events = createDemoEvents(view, startedAt)
  events.watch(rpc)
  signal.addEventListener('abort', events.interrupted, { once: true })
  let phase: PhaseName = 'before'
  let note = steps[0]!.note
  let finishing = false
  const tallies = clients.map((c) => createTally(c.name, () => phase, events.problem))
  const [outlastTally, viemTally] = tallies as [ClientTally, ClientTally]

  view.start(
    (): DemoSnapshot => ({
      elapsed: Math.min(Date.now() - startedAt, seconds * 1000),
      total: seconds * 1000,
      phase,
      note,
      steps,
      status: rpc.status(),
      faults: Object.fromEntries(lab.proxies.map((p) => [p.name, p.mode])),
      clients: tallies,
      events: events.log.entries,
      finishing,
    }),
  )

  // Both clients get the same users (same seeds): two wallets that send transfers, two readers.
  const stopWorkload = new AbortController()
  const stop = AbortSignal.any([stopWorkload.signal, signal])
  const truth = createTruth(lab.anvil)
  const signers = devAccounts.map((a) => privateKeyToAccount(a.privateKey))
  const accounts = signers.map((a) => a.address)
  const users = (wallets: LocalAccount[]): WorkloadUser[] => [
    { seed: 11, signer: wallets[0]! },
    { seed: 12, signer: wallets[1]! },
    { seed: 13 },
    { seed: 14 },
  ]
  const run = (client: DemoClient, tally: ClientTally, wallets: LocalAccount[]) =>
    runWorkload({ client, tally, truth, contracts, accounts, users: users(wallets), signal: stop })
  const workloads = Promise.all([
    run(outlastClient, outlastTally, signers.slice(0, 2)),
    run(viemClient, viemTally, signers.slice(2, 4)),
  ])
  // A workload that throws (a bug in the demo) ends the run at once.
  const crashed = workloads.then(() => new Promise<never>(() => {}))

  const scenario = playScenario(
    lab,
    steps,
    startedAt,
    (step) => {
      if (step.phase) phase = step.phase
      note = step.note
      events.step(step)
    },
    stop,
  )
  await Promise.race([sleep(seconds * 1000, undefined, { signal }).catch(() => {}), crashed])
  stopWorkload.abort()
  await scenario

  finishing = true
  const giveUp = new AbortController()
  const wait = signal.aborted ? 2_000 : DRAIN_MS
  const drained = await Promise.race([
    workloads.then(() => true),
    sleep(wait, false, { signal: giveUp.signal }).catch(() => false),
    crashed,
  ])
  giveUp.abort()
  if (!drained) workloads.catch(() => {})
  view.stop()

  const unfinished = tallies.reduce((n, t) => n + t.inFlight.size, 0)
  const summary = formatSummary(
    tallies,
    { seconds, unfinished, interrupted: signal.aborted },
    painter(color),
  )
  out.write(`\n${summary.join('\n')}\n`)
  return { outlast: outlastTally.totals(), viem: viemTally.totals(), interrupted: signal.aborted }
}
