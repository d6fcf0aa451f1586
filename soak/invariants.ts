/**
 * The soak's invariants and its tally. Every request through outlast ends here twice: once when
 * it settles (did it have to succeed?) and, for answers, once more when the truth read straight
 * from the anvil node is known (was it right?). Transaction and memory invariants report here too.
 */
import { BaseError, type Outlast, type ResponseMeta } from '../src/index.ts'
import { describeAll, isDissent, isGood, type PhaseType, SOURCES, type Step } from './schedule.ts'
import type { Timeline } from './timeline.ts'

/** One request through outlast. Times are ms since the workload started. */
export type Outcome = {
  /** Workload operation, e.g. `balance`, `block-latest`, `send`. */
  op: string
  method: string
  params: readonly unknown[]
  start: number
  end: number
  ok: boolean
  result?: unknown
  meta?: ResponseMeta
  error?: string
  /** What outlast thought of each source when the request settled (failures, degraded answers). */
  view?: string
  /** A failed read on which honest sources (only) split because of anvil's head-block race. */
  split?: { sources: string[]; why: string }
}

export type Verdict =
  | { outcome: 'ok' }
  | { outcome: 'wrong' | 'race'; expected: string; actual: string }

export type ViolationKind =
  | 'wrong-answer'
  | 'stale-head'
  | 'degraded-to-liar'
  | 'unavailable'
  | 'head-backwards'
  | 'tx-hash'
  | 'tx-lost'
  | 'tx-nonce'
  | 'memory'

export type Violation = {
  kind: ViolationKind
  /** Seconds since the workload started. */
  t: number
  request: string
  expected: string
  actual: string
  /** Every source's mode in each step around the event. */
  modes: string[]
  /** outlast's own view of the sources at the time, if known. */
  view?: string
}

/** An answer outside the promise, recorded separately: a known trade-off or an anvil quirk. */
export type Noted = { t: number; request: string; expected: string; actual: string; why: string }

export type PhaseStats = {
  requests: number
  ok: number
  failedExpected: number
  failedUnexpected: number
  degraded: number
  /** Latency of successful requests, ms. */
  ms: number[]
}

export type Invariants = {
  /** Must this request have succeeded, given the schedule over [start − grace, end]? */
  expectSuccess(method: string, start: number, end: number): { expected: boolean; why: string }
  onOutcome(o: Outcome): void
  /** Those of `names` that were honest and on the main node for the whole of [a, b]. */
  honest(names: readonly string[], a: number, b: number): string[]
  onVerdict(o: Outcome, v: Verdict): void
  violation(
    kind: ViolationKind,
    v: Omit<Violation, 'kind' | 'modes'>,
    around?: [number, number],
  ): void
  readonly violations: Violation[]
  readonly violationCount: number
  /** Every violation counted by kind (details are kept for the first ones of each kind). */
  readonly byKind: Partial<Record<ViolationKind, number>>
  /**
   * An answer about `latest` that was `behind` blocks older than the node's head when asked:
   * a violation past `MAX_STALE` blocks if an honest synced source was reachable all along.
   */
  onStale(o: Outcome, answered: number, nodeHead: number): void
  readonly tradeoffs: Noted[]
  readonly races: Noted[]
  readonly phases: Map<PhaseType, PhaseStats>
  readonly byOp: Map<string, { ok: number; failed: number }>
  readonly totals: { ok: number; failed: number; failedExpected: number; checked: number }
}

/** Detailed violations kept per kind (all are counted). */
const KEEP = 100

/** Blocks an answer about `latest` may be behind the node's head (1 s blocks): maxLag 2 + polling + grace. */
export const MAX_STALE = 10

/** outlast's view of every source: `aws-a:down/open gcp:rate-limited home:healthy`. */
export function outlastView(rpc: Outlast): string {
  return rpc
    .status()
    .sources.map(
      (s) =>
        `${s.name}:${s.condition}${s.breaker === 'closed' ? '' : `/${s.breaker}`}${s.lag > 0 ? `/lag${s.lag}` : ''}`,
    )
    .join(' ')
}

/** An error as one line: its name, short message and each source's reason. */
export function errorText(error: unknown): string {
  if (error instanceof BaseError) {
    const withReasons = error.metaMessages.length
      ? error
      : (error.walk((e) => e instanceof BaseError && e.metaMessages.length > 0) as
          | BaseError
          | undefined)
    const lines = withReasons?.metaMessages ?? []
    return [`${error.name}: ${error.shortMessage}`, ...lines].join(' ').slice(0, 700)
  }
  return String(error).replace(/\s+/g, ' ').slice(0, 700)
}

export function describeRequest(method: string, params: readonly unknown[]): string {
  const text = JSON.stringify(params, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))
  return `${method}(${text.length > 160 ? `${text.slice(0, 157)}...` : text.slice(1, -1)})`
}

export function createInvariants(timeline: Timeline, grace: number): Invariants {
  const violations: Violation[] = []
  let violationCount = 0
  const byKind: Partial<Record<ViolationKind, number>> = {}
  const tradeoffs: Noted[] = []
  const races: Noted[] = []
  const phases = new Map<PhaseType, PhaseStats>()
  const byOp = new Map<string, { ok: number; failed: number }>()
  const totals = { ok: 0, failed: 0, failedExpected: 0, checked: 0 }

  const phaseOf = (t: number): PhaseStats => {
    const key = timeline.at(t).phase
    let s = phases.get(key)
    if (!s) {
      s = { requests: 0, ok: 0, failedExpected: 0, failedUnexpected: 0, degraded: 0, ms: [] }
      phases.set(key, s)
    }
    return s
  }

  const modesDuring = (a: number, b: number) =>
    timeline.during(a, b).map((s: Step) => `step ${s.index} (${s.phase}): ${describeAll(s)}`)

  const violation: Invariants['violation'] = (kind, v, around) => {
    violationCount++
    byKind[kind] = (byKind[kind] ?? 0) + 1
    if (byKind[kind]! > KEEP) return
    const [a, b] = around ?? [v.t * 1000 - grace, v.t * 1000]
    violations.push({ kind, ...v, modes: modesDuring(a, b) })
  }

  /** Those of `names` that were honest and on the main node for the whole of [a, b]. */
  const honest = (names: readonly string[], a: number, b: number) => {
    const steps = timeline.during(a, b)
    return names.filter((name) => steps.every((st) => st.assign[name] && isGood(st.assign[name])))
  }

  const expectSuccess: Invariants['expectSuccess'] = (method, start, end) => {
    const steps = timeline.during(start - grace, end)
    const good = SOURCES.filter((s) => steps.every((st) => isGood(st.assign[s.name]!)))
    const domains = new Set(good.map((s) => s.domain))
    const names = good.map((s) => s.name).join(', ') || 'none'
    const span = `steps ${steps.map((s) => s.index).join(',')}`
    if (method === 'eth_sendRawTransaction')
      return {
        expected: good.length > 0,
        why: `honest synced sources up throughout (${span}): ${names}`,
      }
    const dissent = steps.some((st) => SOURCES.some((s) => isDissent(st.assign[s.name]!)))
    const expected = domains.size >= 2 || (domains.size === 1 && !dissent)
    return {
      expected,
      why: `honest synced sources up throughout (${span}): ${names} in ${domains.size} domain(s)${dissent ? ', a dissenting source too' : ''}`,
    }
  }

  const invariants: Invariants = {
    expectSuccess,
    honest,
    violation,
    onOutcome(o) {
      const phase = phaseOf(o.start)
      const op = byOp.get(o.op) ?? { ok: 0, failed: 0 }
      byOp.set(o.op, op)
      phase.requests++
      if (o.ok) {
        totals.ok++
        op.ok++
        phase.ok++
        phase.ms.push(o.end - o.start)
        if (o.meta?.consistency === 'degraded') phase.degraded++
        return
      }
      totals.failed++
      op.failed++
      const { expected, why } = expectSuccess(o.method, o.start, o.end)
      const request = `${describeRequest(o.method, o.params)} at ${(o.start / 1000).toFixed(1)}–${(o.end / 1000).toFixed(1)} s`
      if (expected && o.split) {
        races.push({
          t: o.end / 1000,
          request,
          expected: 'honest sources in front of one node agree',
          actual: o.error ?? 'failed',
          why: `honest sources split: ${o.split.why}`,
        })
        totals.failedExpected++
        phase.failedExpected++
        return
      }
      if (!expected) {
        totals.failedExpected++
        phase.failedExpected++
        return
      }
      phase.failedUnexpected++
      violation(
        'unavailable',
        {
          t: o.end / 1000,
          request,
          expected: `success (${why}; grace ${grace} ms)`,
          actual: o.error ?? 'failed',
          ...(o.view ? { view: o.view } : {}),
        },
        [o.start - grace, o.end],
      )
    },
    onVerdict(o, v) {
      totals.checked++
      if (v.outcome === 'ok') return
      const request = `${describeRequest(o.method, o.params)} at ${(o.start / 1000).toFixed(1)}–${(o.end / 1000).toFixed(1)} s, meta ${JSON.stringify(o.meta && { consistency: o.meta.consistency, sources: o.meta.sources, block: o.meta.block })}`
      const t = o.end / 1000
      if (v.outcome === 'race') {
        races.push({ t, request, expected: v.expected, actual: v.actual, why: 'anvil race' })
        return
      }
      const steps = timeline.during(o.start - grace, o.end)
      const fromLiars =
        o.meta?.consistency === 'degraded' &&
        o.meta.sources.length > 0 &&
        o.meta.sources.every((name) => steps.some((st) => st.assign[name]?.mode.kind === 'lie'))
      const label = steps.find((s) => s.label)?.label
      if (fromLiars && label) {
        tradeoffs.push({ t, request, expected: v.expected, actual: v.actual, why: label })
        return
      }
      violation(
        fromLiars ? 'degraded-to-liar' : 'wrong-answer',
        { t, request, expected: v.expected, actual: v.actual, ...(o.view ? { view: o.view } : {}) },
        [o.start - grace, o.end],
      )
    },
    get violations() {
      return violations
    },
    onStale(o, answered, nodeHead) {
      if (nodeHead - answered <= MAX_STALE) return
      const { expected, why } = expectSuccess(o.method, o.start, o.end)
      if (!expected) return
      violation(
        'stale-head',
        {
          t: o.end / 1000,
          request: `${describeRequest(o.method, o.params)} at ${(o.start / 1000).toFixed(1)}–${(o.end / 1000).toFixed(1)} s`,
          expected: `an answer about a block at most ${MAX_STALE} behind the node's head #${nodeHead} (${why})`,
          actual: `an answer about #${answered}, ${nodeHead - answered} blocks behind`,
          ...(o.view ? { view: o.view } : {}),
        },
        [o.start - grace, o.end],
      )
    },
    byKind,
    get violationCount() {
      return violationCount
    },
    tradeoffs,
    races,
    get phases() {
      return phases
    },
    byOp,
    totals,
  }
  return invariants
}
