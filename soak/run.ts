/**
 * `npm run soak -- --minutes N [--seed S]`: the chaos soak.
 *
 * One lab (five sources in four failure domains in front of one anvil node), a seeded fault
 * schedule that switches sources between every lab mode every few seconds (schedule.ts), a mixed
 * workload through outlast (workload.ts: reads; senders.ts: transactions from several accounts
 * with viem's wallet client), and the invariants (invariants.ts) checked as it runs:
 *   - no wrong answer: every answer equals the node's own, for the block outlast pinned;
 *   - every transaction sent is mined once the sources are back, nonces contiguous;
 *   - success whenever an honest, synced source was reachable (after a grace period);
 *   - memory flat (heap after gc).
 * Prints progress every five seconds and a report; exits 1 on any violation, 2 on a harness error.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createOutlast, http } from '../src/index.ts'
import { startLab } from '../test/lab/index.ts'
import { MAX_MINUTES, parseArgs, type SoakArgs, USAGE } from './args.ts'
import { createChaos } from './chaos.ts'
import { deployCounter } from './contract.ts'
import { createInvariants } from './invariants.ts'
import { createHeapMonitor } from './memory.ts'
import { createRng } from './random.ts'
import { commandFor, finalReport, progressLine, scheduleLines } from './report.ts'
import { createSchedule, describeStep, finalStep, type PhaseType, SOURCES } from './schedule.ts'
import { createSenders } from './senders.ts'
import { createTimeline } from './timeline.ts'
import { createTruth } from './truth.ts'
import { createReaders } from './workload.ts'

const CHAIN_ID = 31337
/** Per-source attempt timeout and head polling interval the soak runs outlast with. */
const SOURCE_TIMEOUT = 2_000
const POLLING_INTERVAL = 1_000
const PROGRESS_EVERY = 5_000

const GRACE_WHY =
  'a request counts against outlast only if an honest synced source was up from `grace` before it started until it ended. ' +
  `5 s = ${SOURCE_TIMEOUT / 1000} s (per-source timeout: an attempt begun before the switch can hold a hedge that long) ` +
  '+ 2 s (breaker: 1 s first cool-off, doubled once by a probe that met the old fault) ' +
  `+ 1 s (head: polling interval ${POLLING_INTERVAL} ms / one block, to agree on the head and clear lag and fork flags)`

async function main(args: SoakArgs): Promise<number> {
  const totalMs = Math.round(args.minutes * 60_000)
  const rng = createRng(args.seed)
  const steps = createSchedule(rng.fork(), { totalMs, tradeoffs: args.tradeoffs })
  const workloadRng = rng.fork()
  const senderRng = rng.fork()
  const say = (s: string) => process.stdout.write(`${s}\n`)

  say(`outlast chaos soak: ${commandFor(args)}`)
  say(
    `seed ${args.seedText}; ${steps.length} steps over ${(totalMs / 1000).toFixed(0)} s; grace ${args.grace} ms`,
  )
  say('schedule (only sources not plainly ok are shown):')
  for (const l of scheduleLines(steps)) say(l)

  const lab = await startLab({ blockTime: 1, sources: [...SOURCES] })
  const harnessErrors: string[] = []
  const onHarnessError = (e: unknown) => {
    harnessErrors.push(e instanceof Error ? e.message : String(e))
  }
  const counter = await deployCounter(lab.anvil)
  const truth = createTruth(lab.anvil)
  await truth.start()
  const rpc = createOutlast({
    chainId: CHAIN_ID,
    pollingInterval: POLLING_INTERVAL,
    sources: lab.sources.map((s) =>
      http(s.proxy.url, {
        name: s.name,
        domain: s.domain,
        kind: s.kind,
        fetchFn: s.proxy.fetch,
        timeout: SOURCE_TIMEOUT,
      }),
    ),
  })
  const outlastConfig = `createOutlast({ chainId: ${CHAIN_ID}, pollingInterval: ${POLLING_INTERVAL} }) with http(proxy, { timeout: ${SOURCE_TIMEOUT} }) per source; quorum, deadline (10 s), breaker, hedging: defaults`
  const events: Record<string, number> = {
    disagreement: 0,
    quorumLoss: 0,
    source: 0,
    disconnect: 0,
    connect: 0,
  }
  for (const name of Object.keys(events) as (keyof typeof events)[])
    rpc.on(name as 'source', () => {
      events[name]!++
    })

  const t0 = performance.now()
  const clock = () => performance.now() - t0
  if (args.verbose)
    rpc.on('source', (e) =>
      say(
        `  ${(clock() / 1000).toFixed(1)}s ${e.source}: ${e.from} → ${e.to}${e.reason ? ` (${e.reason})` : ''}`,
      ),
    )
  const timeline = createTimeline()
  const invariants = createInvariants(timeline, args.grace)
  const chaos = createChaos(lab)
  const heap = createHeapMonitor()
  const senders = createSenders({
    rpc,
    anvil: lab.anvil,
    invariants,
    rng: senderRng,
    clock,
    counter,
    accounts: args.accounts,
  })
  const readers = createReaders({
    rpc,
    truth,
    senders,
    invariants,
    rng: workloadRng,
    clock,
    counter,
    readers: args.readers,
    onHarnessError,
  })
  const phaseTime = new Map<PhaseType, { steps: number; ms: number }>()

  let code = 0
  let scheduleMs = 0
  let finalMs = 0
  try {
    timeline.push(steps[0]!, (await chaos.apply(steps[0]!)) - t0)
    heap.sample(clock())
    await senders.start()
    readers.start()
    let current = steps[0]!
    const progress = setInterval(() => {
      const { mb } = heap.sample(clock())
      say(progressLine(clock(), current, steps.length, invariants, senders, mb))
    }, PROGRESS_EVERY)
    try {
      for (const [i, step] of steps.entries()) {
        if (i > 0) {
          const began = (await chaos.apply(step)) - t0
          timeline.push(step, began)
          say(
            `→ ${(began / 1000).toFixed(1)}s step ${step.index} ${step.phase} (${(step.ms / 1000).toFixed(1)} s): ${describeStep(step)}`,
          )
        }
        current = step
        const spent = phaseTime.get(step.phase) ?? { steps: 0, ms: 0 }
        phaseTime.set(step.phase, { steps: spent.steps + 1, ms: spent.ms + step.ms })
        await sleep(step.ms)
      }
      scheduleMs = clock()
      // Every source back; the workload stops; every transaction must now be mined.
      await chaos.restore()
      const final = finalStep(steps.length, scheduleMs)
      timeline.push(final, clock())
      current = final
      say(`→ ${(clock() / 1000).toFixed(1)}s schedule done: every source restored; draining`)
      await senders.stop(30_000)
      await senders.verify(60_000)
      await readers.stop(20_000)
      finalMs = clock() - scheduleMs
    } finally {
      clearInterval(progress)
    }
    heap.sample(clock())
    if (readers.pendingChecks > 0)
      onHarnessError(`${readers.pendingChecks} truth checks did not finish`)
    const { text, summary } = finalReport({
      args,
      steps,
      scheduleMs,
      finalMs,
      inv: invariants,
      senders,
      heap: heap.trend(Math.min(30_000, totalMs / 5), args.heapThresholdMb),
      staleness: readers.staleness,
      events,
      phaseTime,
      outlastConfig,
      graceWhy: GRACE_WHY,
      status: String(rpc.status()),
      harnessErrors,
      nodesStarted: chaos.nodesStarted,
    })
    say(text)
    say(`SOAK_RESULT ${JSON.stringify(summary)}`)
    code = harnessErrors.length > 0 ? 2 : summary.pass ? 0 : 1
  } finally {
    truth.stop()
    await rpc.close().catch(() => {})
    await chaos.restore().catch(() => {})
    await lab.stop().catch(() => {})
  }
  return code
}

let args: SoakArgs
try {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  args = parseArgs(process.argv.slice(2))
} catch (error) {
  process.stderr.write(`soak: ${(error as Error).message}\n${USAGE}\n`)
  process.exit(2)
}
// Bounded: whatever happens, the process ends (schedule + 5 minutes for set-up and draining).
setTimeout(
  () => {
    process.stderr.write(
      `soak: watchdog: still running after ${args.minutes} + 5 minutes; exiting\n`,
    )
    process.exit(3)
  },
  (Math.min(args.minutes, MAX_MINUTES) + 5) * 60_000,
).unref()

main(args).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(
      `soak: harness failure: ${error instanceof Error ? error.stack : String(error)}\n`,
    )
    process.exit(2)
  },
)
