/** Everything one client knows about one route; `conditionOf` and the ranking are pure. */
import { type Breaker, type BreakerOptions, createBreaker } from '../core/breaker.ts'
import { createLatencyStats, type LatencyStats } from '../core/latency.ts'
import type { IpfsRoute, RouteCondition } from './types.ts'

export type RouteState = {
  readonly route: IpfsRoute
  readonly breaker: Breaker
  readonly latency: LatencyStats
  /** Until when the route is cut off for a block with the wrong hash (clock ms). */
  lyingUntil: number
  /** Until when the route asked to be left alone (HTTP 429 `Retry-After`, clock ms). */
  rateLimitedUntil: number
  blocks: number
  lies: number
  failures: number
  missing: number
  /** Did its latest attempt fail (not a 404)? */
  lastFailed: boolean
  lastError: string | undefined
  condition: RouteCondition
}

export function createRouteState(
  route: IpfsRoute,
  breaker: BreakerOptions | undefined,
  now: () => number,
): RouteState {
  return {
    route,
    breaker: createBreaker(breaker, now),
    latency: createLatencyStats(),
    lyingUntil: 0,
    rateLimitedUntil: 0,
    blocks: 0,
    lies: 0,
    failures: 0,
    missing: 0,
    lastFailed: false,
    lastError: undefined,
    condition: 'unknown',
  }
}

export function conditionOf(s: RouteState, now: number): RouteCondition {
  if (s.lyingUntil > now) return 'lying'
  if (s.rateLimitedUntil > now) return 'rate-limited'
  if (s.breaker.state === 'open') return 'down'
  if (s.blocks === 0 && s.failures === 0 && s.missing === 0) return 'unknown'
  return s.lastFailed ? 'degraded' : 'healthy'
}

/** May the route be asked now (not lying, not rate-limited, breaker not open)? */
export function askable(s: RouteState, now: number): boolean {
  return s.lyingUntil <= now && s.rateLimitedUntil <= now && s.breaker.available
}

/** Hedge timing: `fixed` if configured, else the route's p95 between `min` and `max`. */
export type Hedging = { fixed: number | undefined; min: number; max: number; initial: number }

/** How long to wait on an attempt at `s` before asking the next route as well. */
export function hedgeAfter(s: RouteState, hedge: Hedging): number {
  if (hedge.fixed !== undefined) return hedge.fixed
  const p95 = s.latency.percentile(95)
  return Math.min(hedge.max, Math.max(hedge.min, p95 ?? hedge.initial))
}

/**
 * The routes to ask for one block, best first: those askable now and not yet asked, the
 * measured fastest first (an unmeasured route counts as `initial`), configuration order on ties.
 */
export function ranked(
  states: readonly RouteState[],
  asked: ReadonlySet<RouteState>,
  now: number,
  initial: number,
): RouteState[] {
  const expected = (s: RouteState) => s.latency.ewma ?? initial
  return states
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => !asked.has(s) && askable(s, now))
    .sort((a, b) => expected(a.s) - expected(b.s) || a.i - b.i)
    .map(({ s }) => s)
}
