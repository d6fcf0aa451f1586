/**
 * The fan-out's decisions as plain functions of what it knows at one moment: which source to ask
 * next, when the hedge timer fires, which attempts are late, overdue or presumed lost, and what
 * to do when no one is left to ask. fanOut.ts owns the timers and acts on what these return;
 * the request path is in docs/architecture.md ("A quorum read, step by step").
 */
import { RpcResponseError } from '../shared/errors.ts'
import { canonical } from './canonical.ts'
import { expectedLatency, type SourceState, silent } from './sourceState.ts'
import type { Group, Tally } from './tally.ts'

/** Attempts cancelled this much later than their source's expected latency count as slow. */
export const SLOW_FACTOR = 2
/**
 * Attempts silent this much longer than their source's expected latency (and at least
 * `LOST_FLOOR` ms) are presumed lost: with no one left to ask, the quorum is lost.
 */
export const LOST_FACTOR = 4
export const LOST_FLOOR = 1_000
/**
 * An attempt overdue (and silent at least this long, in ms) while a source no faster than its
 * own answered the same request after it began is presumed lost at once: the other domains'
 * latency bounds its silence (two fastest domains gone need not cost a second per request).
 */
export const OUTPACED_FLOOR = 200
/** How long after a split with no one left to ask its sources are asked once more, in ms. */
export const REASK_DELAY = 100
/** Delays before a "not yet" source is asked again: from the real answer beside it, then from its previous retry. */
export const RECHECK_DELAYS: readonly number[] = [200, 800]

/** What the timing decisions know of an attempt in flight. */
export type InFlight = {
  readonly s: SourceState
  /** When it was sent (`Clock.now()`). */
  readonly started: number
  /** Another source was asked because this attempt was late. */
  hedged: boolean
}

/** The latency after which an attempt at a source is late, for this request, in ms. */
export type Expected = (s: SourceState) => number

export type Hedging = { min: number; max: number; initial: number }

/**
 * A source's expected latency per round trip, times the request's round trips. A source's own
 * slow answers cannot make its silence look normal: at most the hedge ceiling.
 */
export function expectedFor(s: SourceState, hedge: Hedging, roundTrips: number): number {
  return roundTrips * Math.min(hedge.max, expectedLatency(s, hedge.initial))
}

const expectations = new WeakMap<Hedging, Map<number, Expected>>()

/**
 * `expectedFor` as an `Expected`, made once per hedge settings and round trips, not once per
 * request. A closure made per request and called from these shared functions is remembered by
 * their call feedback, and V8's minor GC keeps what it references alive: the whole request
 * (the driver, its answers, its caller's promise) would be promoted for the major GC to
 * collect, which costs more CPU per request than the fan-out itself.
 */
export function expectationFor(hedge: Hedging, roundTrips: number): Expected {
  let byRounds = expectations.get(hedge)
  if (!byRounds) {
    byRounds = new Map()
    expectations.set(hedge, byRounds)
  }
  let expected = byRounds.get(roundTrips)
  if (!expected) {
    expected = (s) => expectedFor(s, hedge, roundTrips)
    byRounds.set(roundTrips, expected)
  }
  return expected
}

/** Past twice its expected latency: a replacement is a failover, and a late cancel a timeout. */
export function overdue(a: InFlight, expected: Expected, now: number): boolean {
  return now - a.started > SLOW_FACTOR * expected(a.s)
}

/** How long an attempt with this expected latency may be silent before it is presumed lost. */
export function lostAfter(expected: number): number {
  return Math.max(LOST_FLOOR, LOST_FACTOR * expected)
}

/** When a source answered this request (`Clock.now()`). */
export type Answered = { readonly s: SourceState; readonly at: number }

/** Silent past `lostAfter`, and its source has answered nothing since it began. */
export function presumedLost(a: InFlight, expected: Expected, now: number): boolean {
  return a.s.lastAnswerAt <= a.started && now - a.started > lostAfter(expected(a.s))
}

/**
 * Overdue (and past `OUTPACED_FLOOR`) while a source measured to be no faster answered this
 * request after the attempt began, and its source has answered nothing since, not even the
 * probe sent to it (when sources are probed): it is gone, not slow. The probe need not have
 * timed out: the slower source's answer is the evidence.
 */
export function outpaced(
  a: InFlight,
  expected: Expected,
  now: number,
  answered: readonly Answered[],
  probed?: ReadonlyMap<SourceState, boolean>,
): boolean {
  const e = expected(a.s)
  if (a.s.lastAnswerAt > a.started || now - a.started <= Math.max(OUTPACED_FLOOR, SLOW_FACTOR * e))
    return false
  if (probed && !probed.has(a.s)) return false
  // Known to be no faster: both latencies measured, not the initial guess.
  const measured = (x: SourceState) => x.latency.count > 0
  return (
    measured(a.s) &&
    answered.some((x) => x.s !== a.s && x.at > a.started && measured(x.s) && expected(x.s) >= e)
  )
}

/**
 * How long until the hedge timer should fire: when the first attempt not yet hedged is late
 * (past its expected latency), else the slowest one, at least `hedge.min`, times `backoff`,
 * at most `hedge.max`; and just after an attempt becomes overdue (to probe its source) or would
 * be presumed lost, at once if that moment came after the last decision (`decidedAt`, the time
 * the timer last acted on) without one. `inflight` is not empty.
 */
export function hedgeDelay(
  inflight: Iterable<InFlight>,
  expected: Expected,
  now: number,
  hedge: Hedging,
  backoff: number,
  decidedAt: number,
): number {
  let first = Number.POSITIVE_INFINITY
  let last = 0
  let lostAt = Number.POSITIVE_INFINITY
  // A bound is acted on by a decision strictly after it (an attempt exactly at its bound is not
  // yet overdue, lost or outpaced). One no decision has passed since is still to act on, even
  // when the clock has moved past it meanwhile (the time to decide, or an answer between).
  const bound = (at: number) => {
    if (at >= decidedAt) lostAt = Math.min(lostAt, at - now)
  }
  for (const a of inflight) {
    const e = expected(a.s)
    const due = a.started + e - now
    if (!a.hedged) first = Math.min(first, due)
    last = Math.max(last, due)
    bound(a.started + SLOW_FACTOR * e)
    bound(a.started + lostAfter(e))
    bound(a.started + Math.max(OUTPACED_FLOOR, SLOW_FACTOR * e))
  }
  const hedgeWait = Math.max(1, hedge.min, first === Number.POSITIVE_INFINITY ? last : first)
  return Math.min(hedge.max, hedgeWait * backoff, Math.max(0, lostAt) + 1)
}

/**
 * The attempts past their expected latency when the hedge timer fires; `failover` when one is
 * overdue (its replacement is a failover, not a speculative hedge paid from the budget).
 */
export function lateAttempts(
  inflight: Iterable<InFlight>,
  expected: Expected,
  now: number,
): { late: InFlight[]; failover: boolean } {
  const late: InFlight[] = []
  let failover = false
  for (const a of inflight) {
    if (now < a.started + expected(a.s)) continue
    late.push(a)
    failover ||= overdue(a, expected, now)
  }
  return { late, failover }
}

/**
 * Sources to probe with a cheap call, so that a slow answer is told from a dead source by the
 * time it matters: overdue, silent since their attempt began, not probed yet.
 */
export function toProbe(
  inflight: Iterable<InFlight>,
  expected: Expected,
  now: number,
  probed: ReadonlyMap<SourceState, boolean>,
): SourceState[] {
  const out: SourceState[] = []
  for (const a of inflight)
    if (
      overdue(a, expected, now) &&
      a.s.lastAnswerAt <= a.started &&
      !probed.has(a.s) &&
      !out.includes(a.s)
    )
      out.push(a.s)
  return out
}

/**
 * Every attempt in flight is outpaced, or presumed lost with its source's probe (`probed`, when
 * sources are probed) come back silent too; with nothing else coming (`rechecking` false), the
 * answers so far are all there will be.
 */
export function allLost(
  inflight: Iterable<InFlight>,
  expected: Expected,
  now: number,
  probed: ReadonlyMap<SourceState, boolean> | undefined,
  rechecking: boolean,
  answered: readonly Answered[] = [],
): boolean {
  if (rechecking) return false
  for (const a of inflight) if (!lost(a, expected, now, probed, answered)) return false
  return true
}

/**
 * This attempt is lost: outpaced, presumed lost with its probe come back silent, or its source
 * found silent by another request since this attempt began (`silent` in sourceState.ts).
 */
export function lost(
  a: InFlight,
  expected: Expected,
  now: number,
  probed: ReadonlyMap<SourceState, boolean> | undefined,
  answered: readonly Answered[] = [],
): boolean {
  if (silent(a.s) && a.s.lastAnswerAt <= a.started) return true
  if (outpaced(a, expected, now, answered, probed)) return true
  return presumedLost(a, expected, now) && (!probed || probed.get(a.s) === true)
}

/** What `pickNext` needs to know of the request so far. */
export type Asked = {
  readonly launched: ReadonlySet<SourceState>
  /** Ask sources even if their breaker is open. */
  readonly force: boolean
  readonly inflight: Iterable<InFlight>
  readonly tally: Tally
}

/** The best source of a domain nobody covers yet; else one whose domain still lacks an answer. */
export function pickNext(
  candidates: readonly SourceState[],
  asked: Asked,
): SourceState | undefined {
  let fallback: SourceState | undefined
  for (const s of candidates) {
    if (asked.launched.has(s) || !(asked.force || s.breaker.available)) continue
    if (!covered(asked, s.domain)) return s
    if (!asked.tally.answered(s.domain) || asked.tally.sourcesShort()) fallback ??= s
  }
  return fallback
}

function covered(asked: Asked, domain: string): boolean {
  for (const a of asked.inflight) if (a.s.domain === domain) return true
  return asked.tally.answered(domain)
}

/** What the fan-out knows when no one is left to ask and nothing is in flight or coming. */
export type Exhaustion = {
  groups: readonly Group[]
  /** Sources held back (`reserve`) not asked yet. */
  reserve: number
  degrade: boolean
  /**
   * The one group left is one side of a split asked again, whose other side is silent now
   * (`Tally.contested`): that domain has not failed, it disagreed. No degrading to it.
   */
  contested: boolean
  /**
   * The one group left has a "not yet" against it from a domain silent since, and its inclusion
   * can be checked (`beatsNotYet`): it stands, degraded, only once that check passes.
   */
  doubted: boolean
  pending?: ((result: unknown) => boolean) | undefined
  /** A lone real answer's inclusion may still be checked (`beatsNotYet`, not asked yet). */
  inclusion: boolean
  /**
   * The request's answers have an inclusion check (`beatsNotYet`: a receipt), asked or not: a
   * lone real answer then stands only once it passes, beside failures as beside a "not yet".
   */
  includes?: boolean
  /** Errors that are the caller's (an unknown method), with the domain each came from (none: an untrusted source). */
  callersErrors: readonly { error: RpcResponseError; domain: string | undefined }[]
  /** Domains an answer needs (`need.domains`): as many saying "no such method" are an answer. */
  needDomains: number
  failures: number
  reasked: boolean
  inflight: number
  now: number
  deadline: number
}

/** What to do when no one is left to ask, in the order it is tried. */
export type Exhausted =
  /** Every candidate failed without an answer: ask those held back before giving up. */
  | { do: 'askReserve' }
  /** One answer and every other domain failed: it stands, flagged degraded. */
  | { do: 'degrade'; group: Group }
  /**
   * One real answer whose only dissent is "not yet", or beside failures where the request has
   * an inclusion check: it stands if its inclusion checks.
   */
  | { do: 'checkInclusion'; group: Group }
  /** Every source said the request itself is wrong: that is the caller's answer. */
  | { do: 'callersError'; error: RpcResponseError }
  | { do: 'allFailed' }
  /** A split: ask those who answered once more, shortly (fanOut.ts `reask`). */
  | { do: 'reask' }
  | { do: 'quorumError' }

/**
 * The caller's errors that the most trusted domains give alike (code and data), and how many
 * domains: their error as they word it, or in fixed words where they word it differently; a
 * lone domain's, where others said otherwise, without its words or data (a hostile source's
 * "error" must not reach the caller as the nodes' verdict).
 */
function callersAnswer(errors: Exhaustion['callersErrors']) {
  const groups = new Map<string, { errors: RpcResponseError[]; domains: Set<string> }>()
  for (const { error, domain } of errors) {
    const key = `${error.code}:${canonical(error.data ?? null)}`
    const g = groups.get(key) ?? { errors: [], domains: new Set() }
    g.errors.push(error)
    if (domain !== undefined) g.domains.add(domain)
    groups.set(key, g)
  }
  let best: { errors: RpcResponseError[]; domains: Set<string> } | undefined
  for (const g of groups.values()) if (!best || g.domains.size > best.domains.size) best = g
  if (!best) return undefined
  const [first, ...rest] = best.errors as [RpcResponseError, ...RpcResponseError[]]
  const trusted = groups.size === 1 || best.domains.size >= 2
  const alike = rest.every((e) => e.reason === first.reason)
  const error =
    trusted && alike
      ? first
      : new RpcResponseError(first.source, {
          code: first.code,
          message: 'an error the nodes word differently',
          ...(trusted ? { data: first.data } : {}),
        })
  return { error, domains: best.domains.size }
}

/** The codes of a caller's error that outvote an answer: method not found, invalid request or params. */
const OUTVOTING: ReadonlySet<number> = new Set([-32601, -32600, -32602])

export function whenExhausted(x: Exhaustion): Exhausted {
  const all = x.groups
  // "No such method" (or invalid params) from as many domains as an answer needs is theirs: one
  // domain's answer (or failure) beside it is outvoted, never the answer degraded. Not a
  // refusal in a node's own words (a namespace not enabled): a liar copying one domain's outvoted
  // the domain that serves the method (reviewOfSession39l); it stands only where none answered.
  const callers = callersAnswer(x.callersErrors)
  const outvoting = callersAnswer(x.callersErrors.filter((e) => OUTVOTING.has(e.error.code)))
  if (outvoting && outvoting.domains >= Math.max(x.needDomains, 2))
    return { do: 'callersError', error: outvoting.error }
  if (all.length === 0 && x.reserve > 0) return { do: 'askReserve' }
  if (all.length === 1 && x.degrade && !x.contested) {
    const g = all[0]!
    // A made-up receipt beside other domains' failures (a rate limit) is checked as one beside
    // a "not yet" is: degraded before its check, a liar's receipt for a pending transaction
    // was the answer (test/adversarial/reviewOfSession38a.test.ts, finding 5). Checked and not
    // placed, it is no answer (below: a re-ask, then a quorum error).
    const checked = !!x.includes && !g.error && !x.pending?.(g.value)
    if (!x.doubted && !checked) return { do: 'degrade', group: g }
    if (x.inclusion) return { do: 'checkInclusion', group: g }
  }
  const real = all.filter((g) => g.error || !x.pending?.(g.value))
  // One real answer beside "not yet"s, or (a receipt: `includes`) beside node errors too: a
  // liar's made-up error split every receipt read of a mined sync send (reviewOfSession38e).
  const answers = real.filter((g) => !g.error)
  const lone =
    answers.length === 1 && all.length > 1 && (real.length === 1 || x.includes)
      ? answers[0]!
      : undefined
  if (lone && x.inclusion) return { do: 'checkInclusion', group: lone }
  if (all.length === 0 && callers && x.callersErrors.length === x.failures)
    return { do: 'callersError', error: callers.error }
  if (all.length === 0) return { do: 'allFailed' }
  if (!x.reasked && x.inflight === 0 && x.now + REASK_DELAY < x.deadline) return { do: 'reask' }
  return { do: 'quorumError' }
}
