import { plain } from '../shared/clip.ts'
import { RpcResponseError, SourceError } from '../shared/errors.ts'
import type { Source } from '../shared/types.ts'
import { type Breaker, type BreakerOptions, createBreaker } from './breaker.ts'
import type { HeadVerdict } from './headClock.ts'
import { createLatencyStats, type LatencyStats } from './latency.ts'

/** What `status()` and `source` events call a source's condition. */
export type SourceCondition =
  | 'unknown'
  | 'healthy'
  | 'degraded'
  | 'down'
  | 'probing'
  | 'rate-limited'
  | 'lagging'
  | 'forked'
  /** Its head is far ahead of anything a second domain confirms: a claim no one backs. */
  | 'unconfirmed'
  | 'wrong-chain'
  | 'lying'

/** Everything outlast knows about one source. Mutable; owned by one client. */
export type SourceState = {
  readonly source: Source
  readonly name: string
  readonly domain: string
  /** Answers count only when checked alone (see `SourceConfig.untrusted`). */
  readonly untrusted: boolean
  readonly latency: LatencyStats
  readonly breaker: Breaker
  /** EWMA of failures (1) and successes (0). */
  errorRate: number
  rateLimitedUntil: number
  /** When the current rate limit began: answers to calls sent before it do not end it. */
  rateLimitedAt: number
  /** Until when the source itself asked us to wait (`Retry-After`); past it, the wait is our own guess. */
  announcedUntil: number
  /** When the source last answered anything (`Date.now()`): a silent attempt to a source that answers other calls is slow, not lost. */
  lastAnswerAt: number
  /** When an attempt to it last failed to get any answer (`Date.now()`): after its last answer, it is `degraded`. */
  lastFailedAt: number
  /**
   * When its latest attempt presumed lost began: until it answers something again
   * (`lastAnswerAt` later), requests do not count on it (see `silent`).
   */
  silentSince: number
  /** Requests waiting on an attempt to it: woken when another request finds it silent. */
  readonly waiters: Set<() => void>
  /** Until when the source is cut off for a proven lie. */
  lyingUntil: number
  rateLimitStreak: number
  chain: 'unchecked' | 'ok' | 'mismatch'
  chainCheck: Promise<void> | undefined
  chainCheckedAt: number
  /** Latest head seen, and recent block hashes by number. */
  head: { number: number; hash: string; at: number } | undefined
  readonly hashes: Map<number, string>
  /** The hashes of the heads it reported, newest 128: blocks it said it had, kept past a dip. */
  readonly heads: Set<string>
  /** The highest head it reported: one at a lower head now has stepped back (a rollback). */
  peak: number
  /** How far the agreed head is above its head, in blocks. */
  lag: number
  forked: boolean
  /** Its head runs further ahead of the confirmed head than `maxLag`: left out of head-dependent reads. */
  unconfirmed: boolean
  /**
   * Why the head tracker does not count its head, judged by the head's timestamp: `stale` (it is
   * `lagging`, left out of head-dependent reads and of head agreement) or `future` (`unconfirmed`).
   */
  headVerdict: HeadVerdict | undefined
  lastError: string | undefined
  requests: number
  failures: number
  condition: SourceCondition
  /** Its `eth_getLogs` range limit in blocks, learned from its refusals (logRanges.ts). */
  logSpan: number | undefined
  /** The newest block whose state it has pruned, learned from its refusals (pruned.ts); -1: none seen. */
  prunedTo: number
}

export function createSourceState(source: Source, breaker?: BreakerOptions): SourceState {
  return {
    source,
    name: source.config.name,
    domain: source.config.domain,
    untrusted: source.config.untrusted === true,
    latency: createLatencyStats(),
    breaker: createBreaker(breaker),
    errorRate: 0,
    rateLimitedUntil: 0,
    rateLimitedAt: 0,
    announcedUntil: 0,
    lastAnswerAt: 0,
    lastFailedAt: 0,
    silentSince: 0,
    waiters: new Set(),
    lyingUntil: 0,
    rateLimitStreak: 0,
    chain: 'unchecked',
    chainCheck: undefined,
    chainCheckedAt: 0,
    head: undefined,
    hashes: new Map(),
    heads: new Set(),
    peak: -1,
    lag: 0,
    forked: false,
    unconfirmed: false,
    headVerdict: undefined,
    lastError: undefined,
    logSpan: undefined,
    prunedTo: -1,
    requests: 0,
    failures: 0,
    condition: 'unknown',
  }
}

const ERROR_ALPHA = 0.1
/** The longest wait we impose after repeated 429s without `Retry-After`, in ms. */
const MAX_RATE_BACKOFF = 30_000

/** An answer `ms` after the call was sent; a call sent after a rate limit began ends it. */
export function recordSuccess(s: SourceState, ms: number, now = Date.now()): void {
  s.latency.add(ms)
  s.errorRate += ERROR_ALPHA * (0 - s.errorRate)
  s.lastAnswerAt = now
  if (now - ms >= s.rateLimitedAt) {
    s.rateLimitStreak = 0
    s.rateLimitedUntil = 0
    s.announcedUntil = 0
  }
  s.breaker.success()
}

/**
 * Counts a failure against the source. What is a node's answer rather than a failure (a revert,
 * invalid params to a state read) the attempter decides first (sourcePool.ts `working`); a
 * -32602 or a revert to a read of the chain's own data is no answer, and skipped here it left a
 * liar's "unknown block" as -32602 uncharged while it split every read (reviewOfSession39b).
 */
export function recordFailure(s: SourceState, error: unknown, now = Date.now()): void {
  if (error instanceof SourceError && error.kind === 'aborted') return
  s.failures++
  // A node's own error object is an answer: it is reachable (the error rate tells the rest).
  if (!(error instanceof RpcResponseError)) s.lastFailedAt = now
  s.errorRate += ERROR_ALPHA * (1 - s.errorRate)
  s.lastError = plain(error instanceof SourceError ? error.reason : String(error))
  if (error instanceof SourceError && error.kind === 'rate-limited') {
    // A 429 to a call sent while the source was already held back (a broadcast, a call in
    // flight when the first 429 came) says nothing new: it must not lengthen the backoff.
    const fresh = s.rateLimitedUntil <= now
    if (fresh) {
      s.rateLimitStreak++
      s.rateLimitedAt = now
    }
    const guess = Math.min(MAX_RATE_BACKOFF, 1_000 * 2 ** (s.rateLimitStreak - 1))
    const until = now + (error.retryAfter ?? (fresh ? guess : 0))
    s.rateLimitedUntil = Math.max(s.rateLimitedUntil, until)
    if (error.retryAfter !== undefined)
      s.announcedUntil = Math.max(s.announcedUntil, now + error.retryAfter)
    return
  }
  // DNS failures and refused connections are the outage itself: stop sending at once.
  if (error instanceof SourceError && (error.kind === 'dns' || error.kind === 'refused'))
    s.breaker.trip()
  else s.breaker.failure()
}

/** An attempt to it was presumed lost and it has answered nothing since. */
export const silent = (s: SourceState): boolean => s.silentSince > s.lastAnswerAt

/** Its latest attempt failed, or was presumed lost (`silent`), and nothing answered since. */
export const lastAttemptFailed = (s: SourceState): boolean =>
  s.lastFailedAt > s.lastAnswerAt || silent(s)

/**
 * Marks the source silent since `since` (an attempt presumed lost began then) and wakes the
 * other requests waiting on it, so that none of them waits out its own timers for it.
 */
export function markSilent(s: SourceState, since: number): void {
  const fresh = !silent(s)
  s.silentSince = Math.max(s.silentSince, since)
  if (fresh && silent(s)) for (const wake of [...s.waiters]) wake()
}

/** The latency after which a request to this source is late enough to hedge. */
export function expectedLatency(s: SourceState, fallback: number): number {
  const p95 = s.latency.count >= 20 ? s.latency.percentile(95) : undefined
  const ewma = s.latency.ewma
  if (ewma === undefined) return fallback
  return Math.max(p95 ?? 0, ewma * 1.5)
}

/** Lower is better: latency inflated by the error rate, divided by weight. */
export function score(s: SourceState): number {
  const latency = s.latency.ewma ?? 250
  return (latency * (1 + 4 * s.errorRate)) / s.source.config.weight
}

export function conditionOf(s: SourceState, maxLag: number, now = Date.now()): SourceCondition {
  if (s.chain === 'mismatch') return 'wrong-chain'
  if (s.lyingUntil > now) return 'lying'
  if (s.rateLimitedUntil > now) return 'rate-limited'
  const breaker = s.breaker.state
  if (breaker === 'open') return 'down'
  if (breaker === 'half-open') return 'probing'
  if (s.forked) return 'forked'
  if (s.unconfirmed || s.headVerdict?.kind === 'future') return 'unconfirmed'
  if (s.lag > maxLag || s.headVerdict?.kind === 'stale') return 'lagging'
  if (s.requests === 0 && s.failures === 0 && s.chain === 'unchecked') return 'unknown'
  // Its last attempt failed, or was presumed lost (silent), and nothing since answered: not
  // healthy, however rarely it is asked.
  return s.errorRate > 0.25 || lastAttemptFailed(s) ? 'degraded' : 'healthy'
}
