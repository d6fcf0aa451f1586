/**
 * One client in one scenario, in a process of its own (forked by `measure.ts`): starts a lab,
 * warms the client up, waits for the parent's `go`, breaks the lab, runs the workload for the
 * window and sends back what it measured.
 */
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Lab, startLab } from '../test/lab/index.ts'
import { deployAnswer } from '../test/workload.ts'
import { type Client, createClient } from './clients.ts'
import type { ClientRun, FromChild, MeasureOptions, Sample, ToChild } from './measure.ts'
import { type Scenario, scenarios, sources } from './scenarios.ts'
import { blockNumberOf, type Hex, isRight, nextOp, startChurn } from './workload.ts'

class Capped extends Error {}
class WrongAnswer extends Error {}

const send = (m: FromChild) => process.send?.(m)

function capped<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => {}) // it may settle after the cap
  let timer: ReturnType<typeof setTimeout> | undefined
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Capped(`no answer in ${ms / 1000} s`)), ms)
  })
  return Promise.race([promise, cap]).finally(() => clearTimeout(timer))
}

const shortError = (error: unknown) =>
  (error instanceof Error
    ? (error as { shortMessage?: string }).shortMessage || error.message
    : String(error)
  )
    .split('\n')[0]!
    .replace(/:\d{4,5}\b/g, ':PORT')
    .replace(/0x[0-9a-fA-F]{12,}/g, '0x…')
    .slice(0, 140)

type Bench = { lab: Lab; contract: Hex; client: Client }

type Verdict = { outcome: Sample['outcome']; error?: unknown }

/** anvil can serve a just-mined block's state a moment late: a state read is judged again then. */
const RECHECK_MS = 1_500

/**
 * One request of the workload: truth before, the timed call, truth after. `verdict` settles at
 * once, or after `RECHECK_MS` for a state read that first looked wrong.
 */
async function step(
  b: Bench,
  i: number,
  cap: number,
): Promise<{ ms: number; kind: Sample['kind']; verdict: Promise<Verdict> }> {
  const before = await blockNumberOf(b.lab)
  const op = await nextOp(b.lab, b.contract, i, before)
  const started = performance.now()
  let answer: string
  try {
    answer = await capped(b.client.perform(op), cap)
  } catch (error) {
    const ms = performance.now() - started
    const outcome = error instanceof Capped ? 'capped' : 'failed'
    return { ms, kind: op.kind, verdict: Promise.resolve({ outcome, error }) }
  }
  const ms = performance.now() - started
  const after = await blockNumberOf(b.lab)
  const judge = async (): Promise<Verdict> => {
    if (await isRight(b.lab, op, answer, before, after)) return { outcome: 'right' }
    const truth = 'truth' in op ? `, truth ${op.truth.slice(0, 20)}…` : ''
    const example = `got ${answer.slice(0, 20)} (anvil head ${before}..${after}${truth})`
    return { outcome: 'wrong', error: new WrongAnswer(example) }
  }
  const first = await judge()
  const stateRead = op.kind === 'balance' || op.kind === 'nonce'
  if (first.outcome === 'right' || !stateRead)
    return { ms, kind: op.kind, verdict: Promise.resolve(first) }
  return { ms, kind: op.kind, verdict: sleep(RECHECK_MS).then(judge) }
}

async function run(
  scenario: Scenario,
  name: ClientRun['client'],
  o: MeasureOptions,
  go: Promise<void>,
) {
  const lab = await startLab({ sources })
  let client: Client | undefined
  let stopChurn = () => {}
  let cleanup: (() => Promise<void>) | undefined
  try {
    const contract = await deployAnswer(lab.anvil)
    stopChurn = startChurn(lab)
    client = createClient(name, lab, scenario.floor)
    const b: Bench = { lab, contract, client }
    // Forks for a lagging source need a few blocks of history.
    while ((await blockNumberOf(lab)) < (scenario.minHead ?? 0)) await sleep(250)
    // Warm-up, healthy: chain checks, first latency samples, ethers' initial sync.
    for (let i = 0; i < o.warmup; i++) await step(b, i, o.cap)
    send({ type: 'ready' })
    await go

    cleanup = await scenario.apply(lab)
    for (const p of lab.proxies) p.resetStats()
    const result: ClientRun = {
      client: name,
      samples: [],
      calls: {},
      errors: {},
      loop: { utilization: 0, delayP99: 0 },
    }
    const elu = perf.eventLoopUtilization()
    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    const verdicts: Promise<void>[] = []
    if (b.client.consistency) b.client.consistency = {}
    const t0 = performance.now()
    const end = t0 + o.window
    const event = scenario.at
    const watched = scenario.watch ? lab.proxy(scenario.watch) : undefined
    let watchedBefore: number | undefined
    const timeline = event
      ? sleep(event.ms).then(async () => {
          watchedBefore = watched?.stats.calls
          await event.run(lab)
          send({ type: 'note', line: `    ${(event.ms / 1000).toFixed(0)} s: ${event.label}` })
        })
      : Promise.resolve()
    const ticker = setInterval(() => {
      send({
        type: 'progress',
        requests: result.samples.length,
        delayP99: delay.percentile(99) / 1e6,
      })
    }, 2_000)

    await Promise.all(
      Array.from({ length: o.workers }, async (_, w) => {
        for (let i = o.warmup + w; performance.now() < end; i += o.workers) {
          const started = performance.now()
          const { ms, kind, verdict } = await step(b, i, o.cap)
          const sample: Sample = { ms, kind, outcome: 'failed', at: started - t0 }
          result.samples.push(sample)
          verdicts.push(
            verdict.then(({ outcome, error }) => {
              sample.outcome = outcome
              if (error === undefined) return
              const wrong = error instanceof WrongAnswer
              const key = `${kind}: ${wrong ? 'wrong answer' : shortError(error)}`
              const seen = result.errors[key]
              if (seen) seen.count++
              else result.errors[key] = { count: 1, example: wrong ? error.message : '' }
            }),
          )
          const wait = started + o.pace - performance.now()
          if (wait > 0) await sleep(wait)
        }
      }),
    )
    clearInterval(ticker)
    await Promise.all(verdicts)
    await timeline
    delay.disable()
    result.loop = {
      utilization: perf.eventLoopUtilization(elu).utilization,
      delayP99: delay.percentile(99) / 1e6,
    }
    if (b.client.consistency) result.consistency = b.client.consistency
    for (const p of lab.proxies) result.calls[p.name] = p.stats.calls
    result.calls.total = lab.proxies.reduce((sum, p) => sum + p.stats.calls, 0)
    if (event && watched) {
      const before = watchedBefore ?? watched.stats.calls
      const split = result.samples.filter((s) => s.at < event.ms).length
      result.phases = {
        before: { calls: before, requests: split },
        after: { calls: watched.stats.calls - before, requests: result.samples.length - split },
      }
    }
    send({ type: 'done', run: result })
  } finally {
    stopChurn()
    await client?.close().catch(() => {})
    await cleanup?.().catch(() => {})
    await lab.stop()
  }
}

let go: () => void = () => {}
const started = new Promise<void>((resolve) => {
  go = resolve
})
let running: Promise<void> | undefined
process.on('message', (m: ToChild) => {
  if (m.type === 'start') {
    const scenario = scenarios.find((s) => s.id === m.scenario)
    if (!scenario) throw new Error(`bench: no scenario ${m.scenario}`)
    running = run(scenario, m.client, m.options, started)
    running.then(
      // viem's rank loop never stops, and capped requests may still be pending.
      () => process.exit(0),
      (error: unknown) => {
        console.error(`bench: ${m.client} in ${m.scenario}:`, error)
        process.exit(1)
      },
    )
  } else if (m.type === 'go') go()
  else if (m.type === 'abort') {
    // exit runs the lab's exit hook, which kills its anvil nodes.
    process.exit(2)
  }
})
