/**
 * What one client did, phase by phase: requests, failures, wrong answers and latencies, plus
 * the requests still waiting for an answer.
 */
import { PHASES, type PhaseName } from './outageScenario.ts'

/** `race`: the node's own answer for a neighbouring block (see `truth.ts`); not counted wrong. */
export type Outcome = 'ok' | 'failed' | 'wrong' | 'race'

export type PhaseTally = {
  /** Requests answered or failed (a request counts once it has one or the other). */
  requests: number
  failures: number
  wrong: number
  races: number
  /** Milliseconds from sending to answer (or error), one per request. */
  latencies: number[]
}

/** A failure, wrong answer or node race, for the event list and the summary. */
export type Problem = {
  client: string
  phase: PhaseName
  action: string
  outcome: Exclude<Outcome, 'ok'>
  detail: string
  ms: number
}

/**
 * One request being timed: `answered()` stops the clock and counts the request; `settle()`
 * counts its outcome once the answer has been checked (and calls `answered()` if need be).
 */
export type Operation = {
  readonly action: string
  readonly phase: PhaseName
  readonly startedAt: number
  answered(): void
  settle(outcome: Outcome, detail?: string): void
}

export type ClientTally = {
  readonly name: string
  readonly phases: Record<PhaseName, PhaseTally>
  /** Operations sent and not yet answered. */
  readonly inFlight: ReadonlySet<Operation>
  /** Every wrong answer and node race, and the first failures. */
  readonly problems: Problem[]
  /** Starts timing; `waiting: false` keeps it out of `inFlight` (a wait, not a request). */
  begin(action: string, options?: { waiting?: boolean }): Operation
  totals(): Omit<PhaseTally, 'latencies'>
}

const KEPT_FAILURES = 50

/**
 * A tally for client `name`. `phase` says which phase a request belongs to (the one it was
 * sent in); `onProblem` hears of every failure, wrong answer and race as it is counted.
 */
export function createTally(
  name: string,
  phase: () => PhaseName,
  onProblem: (problem: Problem) => void = () => {},
): ClientTally {
  const phases = Object.fromEntries(
    PHASES.map((p) => [p, { requests: 0, failures: 0, wrong: 0, races: 0, latencies: [] }]),
  ) as unknown as Record<PhaseName, PhaseTally>
  const inFlight = new Set<Operation>()
  const problems: Problem[] = []
  let failuresKept = 0

  return {
    name,
    phases,
    inFlight,
    problems,
    begin(action, { waiting = true } = {}) {
      const startedAt = performance.now()
      let ms: number | undefined
      let settled = false
      const op: Operation = {
        action,
        phase: phase(),
        startedAt,
        answered() {
          if (ms !== undefined) return
          ms = performance.now() - startedAt
          inFlight.delete(op)
          phases[op.phase].requests++
          phases[op.phase].latencies.push(ms)
        },
        settle(outcome, detail = '') {
          if (settled) return
          settled = true
          op.answered()
          if (outcome === 'ok') return
          const t = phases[op.phase]
          if (outcome === 'failed') t.failures++
          else if (outcome === 'wrong') t.wrong++
          else t.races++
          const problem: Problem = {
            client: name,
            phase: op.phase,
            action,
            outcome,
            detail,
            ms: ms!,
          }
          if (outcome !== 'failed' || failuresKept++ < KEPT_FAILURES) problems.push(problem)
          onProblem(problem)
        },
      }
      if (waiting) inFlight.add(op)
      return op
    },
    totals() {
      const all = PHASES.map((p) => phases[p])
      const sum = (f: (t: PhaseTally) => number) => all.reduce((n, t) => n + f(t), 0)
      return {
        requests: sum((t) => t.requests),
        failures: sum((t) => t.failures),
        wrong: sum((t) => t.wrong),
        races: sum((t) => t.races),
      }
    },
  }
}

/** The `p`th percentile (nearest rank) of `values`, or `undefined` when there are none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/** `12ms`, `340ms`, `10.0s`, or `-`. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-'
  if (ms < 1000) return `${Math.round(ms)}ms`
  return `${(ms / 1000).toFixed(1)}s`
}
