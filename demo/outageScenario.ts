/**
 * The outage the demo replays: 20 October 2025, when AWS us-east-1 went dark. DNS for one
 * provider in the region fails; the other accepts connections and never answers, then serves
 * 503 pages, then refuses connections. When the region comes back, the surviving providers are
 * still absorbing everyone's retries, and one of them throttles.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { FaultMode, Lab } from '../test/lab/index.ts'

export type PhaseName = 'before' | 'outage' | 'after'

export const PHASES: readonly PhaseName[] = ['before', 'outage', 'after']

/** One change the lab makes at a point in the run. */
export type ScenarioStep = {
  /** Milliseconds from the start of the run. */
  at: number
  /** Set when this step starts a phase. */
  phase?: PhaseName
  /** What a person watching should read. */
  note: string
  /** Proxy modes to set, by source name. */
  faults: Record<string, FaultMode>
}

/** Share of the run each phase takes: before, outage, after. */
const SHARES = { before: 0.25, outage: 0.45, after: 0.3 }

/** The steps for a run of `seconds`, in time order; the first one starts the `before` phase. */
export function outageScenario(seconds: number): ScenarioStep[] {
  const total = seconds * 1000
  const outageAt = total * SHARES.before
  const afterAt = total * (SHARES.before + SHARES.outage)
  const outage = afterAt - outageAt
  const after = total - afterAt
  return [
    {
      at: 0,
      phase: 'before',
      note: 'all providers healthy; two of them share aws-us-east-1',
      faults: {},
    },
    {
      at: outageAt,
      phase: 'outage',
      note: 'aws-us-east-1 goes dark (20 Oct 2025): infura-like DNS fails, alchemy-like blackholed',
      faults: { 'infura-like': { kind: 'dns' }, 'alchemy-like': { kind: 'blackhole' } },
    },
    {
      at: outageAt + outage * 0.6,
      note: 'alchemy-like: load balancer back, every request gets HTTP 503',
      faults: { 'alchemy-like': { kind: 'http5xx', status: 503 } },
    },
    {
      at: outageAt + outage * 0.8,
      note: 'alchemy-like: connection refused',
      faults: { 'alchemy-like': { kind: 'refused' } },
    },
    {
      at: afterAt,
      phase: 'after',
      note: 'aws-us-east-1 back; quicknode-like throttles the reconnect surge (HTTP 429)',
      faults: {
        'infura-like': { kind: 'ok' },
        'alchemy-like': { kind: 'ok' },
        'quicknode-like': { kind: 'rateLimit', retryAfter: 2 },
      },
    },
    {
      at: afterAt + after * 0.4,
      note: 'quicknode-like: throttle lifted',
      faults: { 'quicknode-like': { kind: 'ok' } },
    },
  ]
}

/**
 * Applies each step to the lab when its time comes (measured from `startedAt`), calling
 * `onStep` once it is in effect. Resolves after the last step, or early when `signal` aborts.
 */
export async function playScenario(
  lab: Lab,
  steps: readonly ScenarioStep[],
  startedAt: number,
  onStep: (step: ScenarioStep) => void,
  signal: AbortSignal,
): Promise<void> {
  for (const step of steps) {
    const wait = startedAt + step.at - Date.now()
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => {})
    if (signal.aborted) return
    await Promise.all(
      Object.entries(step.faults).map(([name, mode]) => lab.proxy(name).setMode(mode)),
    )
    onStep(step)
  }
}
