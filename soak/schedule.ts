/**
 * The fault schedule: a seeded list of steps, each a few seconds long, that says for every
 * source which fault its proxy injects and which node it forwards to. The workload and the
 * invariants read the same steps, so "what the schedule said" is exactly what was applied.
 *
 * Rules the generator keeps (and `checkStep` re-checks):
 * - A source that may contradict the chain (lying, or forwarding to a lagging or forked node) is
 *   in at most one failure domain, and only while at least two *other* domains have a source
 *   that is plainly `ok` on the main node, in this step and the one before. So a liar is always
 *   in the minority, and outlast never has only the liar's domain left — except in steps
 *   labelled `last-domain-lies`, which show the documented trade-off on purpose.
 * - `all-down` takes every source down; `last-domain` leaves exactly one domain up.
 */
import type { FaultMode, GarbageVariant, LieMethod } from '../test/lab/index.ts'
import type { Rng } from './random.ts'

export type SoakSource = {
  name: string
  domain: string
  kind: 'cloud' | 'self-hosted'
  latency: number
}

/** Five sources in four failure domains (two in one cloud region), 10–80 ms away. */
export const SOURCES: readonly SoakSource[] = [
  { name: 'aws-a', domain: 'aws-us-east-1', kind: 'cloud', latency: 10 },
  { name: 'aws-b', domain: 'aws-us-east-1', kind: 'cloud', latency: 30 },
  { name: 'gcp', domain: 'gcp-europe-west1', kind: 'cloud', latency: 45 },
  { name: 'azure', domain: 'azure-westeurope', kind: 'cloud', latency: 60 },
  { name: 'home', domain: 'home', kind: 'self-hosted', latency: 80 },
]

export type Upstream = 'main' | 'lagging' | 'forked'
export type Assignment = { mode: FaultMode; upstream: Upstream }

export type PhaseType =
  | 'healthy'
  | 'faults'
  | 'domain-outage'
  | 'liar'
  | 'lagging'
  | 'forked'
  | 'last-domain'
  | 'all-down'
  | 'recovery'
  | 'last-domain-lies'
  /** After the schedule: every source restored, transactions draining. */
  | 'final'

export type Step = {
  index: number
  /** Planned start, ms after the workload starts. */
  at: number
  ms: number
  phase: PhaseType
  /** By source name. */
  assign: Record<string, Assignment>
  /** Set on steps that knowingly create a combination outside the invariants' promise. */
  label?: string
}

const OK: Assignment = { mode: { kind: 'ok' }, upstream: 'main' }

const GARBAGE: GarbageVariant[] = ['truncated', 'html200', 'binary', 'wrongId', 'empty', 'notJson']

/** Methods the workload uses, for `methods` faults (chain id stays answered). */
const WORKLOAD_METHODS = [
  'eth_getBalance',
  'eth_getTransactionCount',
  'eth_call',
  'eth_getCode',
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getTransactionReceipt',
  'eth_getTransactionByHash',
  'eth_sendRawTransaction',
]

const LIES: LieMethod[][] = [
  ['eth_getBalance', 'eth_call', 'eth_getTransactionCount'],
  ['eth_getBlockByHash', 'eth_getBlockByNumber'],
  ['eth_getTransactionByHash', 'hideTransaction'],
  [
    'eth_getBalance',
    'eth_call',
    'eth_getTransactionCount',
    'eth_getBlockByHash',
    'hideTransaction',
  ],
]

/** Faults in which a source gives no usable answer. */
const DOWN: ((r: Rng) => FaultMode)[] = [
  () => ({ kind: 'blackhole' }),
  () => ({ kind: 'refused' }),
  () => ({ kind: 'dns' }),
  (r) => ({ kind: 'http5xx', status: r.pick([500, 502, 503, 504]) }),
  (r) => (r.chance(0.5) ? { kind: 'rateLimit' } : { kind: 'rateLimit', retryAfter: r.int(1, 3) }),
  () => ({ kind: 'quota' }),
  (r) =>
    r.chance(0.5)
      ? { kind: 'rpcError' }
      : { kind: 'rpcError', code: -32000, message: 'header not found' },
  (r) => ({ kind: 'garbage', variant: r.pick(GARBAGE) }),
]

/** Faults in which a source answers some of the time, or late. */
const IMPAIRED: ((r: Rng) => FaultMode)[] = [
  (r) => ({ kind: 'http5xx', status: 503, flapMs: r.int(300, 2_000) }),
  (r) => ({ kind: 'slow', factor: r.int(3, 10) }),
  (r) => ({
    kind: 'methods',
    failing: r.sample(WORKLOAD_METHODS, r.int(1, 3)),
    with: r.pick(['rpcError', 'http5xx'] as const),
  }),
]

const down = (r: Rng): Assignment => ({ mode: r.pick(DOWN)(r), upstream: 'main' })
const anyFault = (r: Rng): Assignment => ({
  mode: (r.chance(0.6) ? r.pick(DOWN) : r.pick(IMPAIRED))(r),
  upstream: 'main',
})

/** Honest, on the main node, and answering every method (perhaps slowly). */
export function isGood(a: Assignment): boolean {
  return a.upstream === 'main' && (a.mode.kind === 'ok' || a.mode.kind === 'slow')
}

/** Plainly `ok` on the main node: the sources a liar's minority is measured against. */
export function isSolid(a: Assignment): boolean {
  return a.upstream === 'main' && a.mode.kind === 'ok'
}

/** Reachable and able to answer something other than the main node's truth. */
export function isDissent(a: Assignment): boolean {
  if (a.mode.kind === 'lie') return true
  return a.upstream !== 'main' && !isDownMode(a.mode)
}

export function isDownMode(mode: FaultMode): boolean {
  switch (mode.kind) {
    case 'blackhole':
    case 'refused':
    case 'dns':
    case 'rateLimit':
    case 'quota':
    case 'rpcError':
    case 'garbage':
      return true
    case 'http5xx':
      return mode.flapMs === undefined
    default:
      return false
  }
}

/** Domains with at least one source for which `test` holds. */
export function domainsWhere(
  assign: Record<string, Assignment>,
  test: (a: Assignment) => boolean,
): Set<string> {
  return new Set(SOURCES.filter((s) => test(assign[s.name]!)).map((s) => s.domain))
}

/** Why a step breaks the generator's rules (given the step before it), or undefined. */
export function checkStep(step: Step, prev: Step | undefined): string | undefined {
  const dissent = domainsWhere(step.assign, isDissent)
  if (step.label) return undefined
  if (dissent.size > 1) return `dissent in ${dissent.size} domains`
  if (dissent.size === 0) return undefined
  for (const s of [step, prev]) {
    if (!s) return 'dissent in the first step'
    const solid = domainsWhere(s.assign, isSolid)
    for (const d of dissent) solid.delete(d)
    if (solid.size < 2)
      return `dissent with only ${solid.size} other solid domain(s) in step ${s.index}`
  }
  return undefined
}

const DURATION: Record<PhaseType, [number, number]> = {
  healthy: [3_000, 6_000],
  faults: [3_000, 7_000],
  'domain-outage': [6_000, 15_000],
  liar: [4_000, 8_000],
  lagging: [5_000, 10_000],
  forked: [4_000, 8_000],
  'last-domain': [4_000, 10_000],
  'all-down': [3_000, 10_000],
  recovery: [4_000, 8_000],
  'last-domain-lies': [3_000, 6_000],
  final: [0, 0],
}

const WEIGHTS: (readonly [PhaseType, number])[] = [
  ['healthy', 1],
  ['faults', 3],
  ['domain-outage', 1.2],
  ['liar', 1.5],
  ['lagging', 1],
  ['forked', 1],
  ['last-domain', 1.2],
  ['all-down', 1],
]

const allOk = (): Record<string, Assignment> => Object.fromEntries(SOURCES.map((s) => [s.name, OK]))

const domainsOf = () => [...new Set(SOURCES.map((s) => s.domain))]
const inDomain = (d: string) => SOURCES.filter((s) => s.domain === d)

/** Builds one step's assignments for a phase type. */
function build(phase: PhaseType, r: Rng): Record<string, Assignment> {
  const assign = allOk()
  switch (phase) {
    case 'healthy':
    case 'recovery':
    case 'final':
      return assign
    case 'faults': {
      // One to three sources faulty, at least two domains left with a good source.
      for (let tries = 0; tries < 20; tries++) {
        const next = allOk()
        for (const s of r.sample(SOURCES, r.int(1, 3))) next[s.name] = anyFault(r)
        if (domainsWhere(next, isGood).size >= 2) return next
      }
      assign[r.pick(SOURCES).name] = anyFault(r)
      return assign
    }
    case 'domain-outage': {
      // A whole domain fails the same way (the 20 October 2025 DNS outage, most often).
      const domain = r.chance(0.7) ? 'aws-us-east-1' : r.pick(domainsOf())
      const mode = r.chance(0.5) ? ({ kind: 'dns' } as const) : down(r).mode
      for (const s of inDomain(domain)) assign[s.name] = { mode, upstream: 'main' }
      if (r.chance(0.3)) {
        const other = r.pick(SOURCES.filter((s) => s.domain !== domain))
        assign[other.name] = { mode: r.pick(IMPAIRED)(r), upstream: 'main' }
      }
      return assign
    }
    case 'liar': {
      const liar = r.pick(SOURCES)
      const lying = r.chance(0.25) ? inDomain(liar.domain) : [liar]
      const methods = r.pick(LIES)
      for (const s of lying) assign[s.name] = { mode: { kind: 'lie', methods }, upstream: 'main' }
      return withExtraFault(assign, lying, r)
    }
    case 'lagging':
    case 'forked': {
      const off = r.pick(SOURCES)
      assign[off.name] = { mode: { kind: 'ok' }, upstream: phase }
      return withExtraFault(assign, [off], r)
    }
    case 'last-domain': {
      const domain = r.pick(domainsOf())
      for (const s of SOURCES) if (s.domain !== domain) assign[s.name] = down(r)
      return assign
    }
    case 'all-down': {
      const same = r.chance(0.3) ? down(r) : undefined
      for (const s of SOURCES) assign[s.name] = same ?? down(r)
      return assign
    }
    case 'last-domain-lies': {
      const domain = r.pick(domainsOf())
      for (const s of SOURCES)
        assign[s.name] = s.domain === domain ? { mode: { kind: 'lie' }, upstream: 'main' } : down(r)
      return assign
    }
  }
}

/** Sometimes one more faulty source, elsewhere, when two solid domains stay besides the dissent. */
function withExtraFault(
  assign: Record<string, Assignment>,
  dissenting: readonly SoakSource[],
  r: Rng,
): Record<string, Assignment> {
  if (!r.chance(0.4)) return assign
  const others = SOURCES.filter((s) => !dissenting.some((d) => d.domain === s.domain))
  const next = { ...assign, [r.pick(others).name]: anyFault(r) }
  const solid = domainsWhere(next, isSolid)
  for (const d of dissenting) solid.delete(d.domain)
  return solid.size >= 2 ? next : assign
}

export type ScheduleOptions = {
  /** Total length of the workload, ms. */
  totalMs: number
  /** Include steps labelled `last-domain-lies` (the documented trade-off). @default true */
  tradeoffs?: boolean
}

/** The whole schedule for a run: same seed, same steps. Starts healthy, so outlast warms up. */
export function createSchedule(r: Rng, { totalMs, tradeoffs = true }: ScheduleOptions): Step[] {
  const steps: Step[] = []
  const weights: (readonly [PhaseType, number])[] = tradeoffs
    ? [...WEIGHTS, ['last-domain-lies', 0.3]]
    : WEIGHTS
  let at = 0
  while (at < totalMs) {
    const prev = steps.at(-1)
    let phase: PhaseType
    if (!prev) phase = 'healthy'
    else if ((prev.phase === 'all-down' || prev.phase.startsWith('last-domain')) && r.chance(0.6))
      phase = 'recovery'
    else phase = r.weighted(weights)
    let assign = build(phase, r)
    const [min, max] = DURATION[phase]
    const step: Step = { index: steps.length, at, ms: r.int(min, max), phase, assign }
    if (phase === 'last-domain-lies')
      step.label =
        'only the remaining domain lies: degraded answers may be its lies (documented trade-off)'
    if (checkStep(step, prev)) {
      // Not allowed here (a dissenter needs two solid domains before and during): plain faults.
      step.phase = 'faults'
      assign = build('faults', r)
      step.assign = assign
      step.ms = r.int(...DURATION.faults)
    }
    if (step.index === 0) step.ms = 3_000
    step.ms = Math.min(step.ms, Math.max(1_000, totalMs - at))
    steps.push(step)
    at += step.ms
  }
  return steps
}

/** `blackhole`, `http5xx 503 flap 800ms`, `lie(eth_getBalance,eth_call)`, `ok→forked`... */
export function describeAssignment(a: Assignment): string {
  const m = a.mode
  let text: string
  switch (m.kind) {
    case 'http5xx':
      text = `http${m.status ?? 503}${m.flapMs ? `/flap${m.flapMs}ms` : ''}`
      break
    case 'rateLimit':
      text = m.retryAfter === undefined ? '429' : `429/retry${m.retryAfter}s`
      break
    case 'quota':
      text = '402'
      break
    case 'rpcError':
      text = `rpcError${m.code ? `(${m.code})` : ''}`
      break
    case 'garbage':
      text = `garbage/${m.variant}`
      break
    case 'slow':
      text = `slow×${m.factor ?? 10}`
      break
    case 'methods':
      text = `fails(${m.failing.map((x) => x.replace(/^eth_/, '')).join(',')})/${m.with ?? 'rpcError'}`
      break
    case 'lie':
      text = `lie(${(m.methods ?? ['eth_getBalance', 'eth_call', 'eth_getTransactionCount']).map((x) => x.replace(/^eth_/, '')).join(',')})`
      break
    default:
      text = m.kind
  }
  return a.upstream === 'main' ? text : `${text}→${a.upstream}`
}

/** `aws-a=dns aws-b=dns` (only the sources that are not plainly ok), or `all ok`. */
export function describeStep(step: Step): string {
  const faults = SOURCES.filter((s) => {
    const a = step.assign[s.name]!
    return !(a.mode.kind === 'ok' && a.upstream === 'main')
  }).map((s) => `${s.name}=${describeAssignment(step.assign[s.name]!)}`)
  return faults.length ? faults.join(' ') : 'all ok'
}

/** Every source's assignment, for violation details. */
export function describeAll(step: Step): string {
  return SOURCES.map((s) => `${s.name}=${describeAssignment(step.assign[s.name]!)}`).join(' ')
}

/** The step after the schedule: every source `ok` on the main node again. */
export function finalStep(index: number, at: number): Step {
  return { index, at, ms: 0, phase: 'final', assign: allOk() }
}
