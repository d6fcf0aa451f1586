/**
 * One block, from whichever route serves it first with bytes that hash to its CID: routes are
 * asked best first, the next one also after a hedge delay, at once after a miss, a failure or a
 * lie; the losers are cancelled. A route that sends a block with the wrong hash is cut off like
 * an RPC source caught in a lie, and the block is asked of the others. No byte leaves here
 * unverified.
 */
import type { CID } from 'multiformats/cid'
import type { Clock } from '../core/clock.ts'
import type { Emitter } from '../core/emitter.ts'
import { SourceError } from '../shared/errors.ts'
import { ContentNotFoundError, type RouteReason } from './errors.ts'
import {
  askable,
  conditionOf,
  type Hedging,
  hedgeAfter,
  type RouteState,
  ranked,
} from './routeState.ts'
import type { AttemptOutcome, IpfsEvents } from './types.ts'
import { assertVerifiable, IDENTITY, matches } from './verify.ts'

export type RaceContext = {
  readonly states: readonly RouteState[]
  readonly hedge: Hedging
  readonly clock: Clock
  readonly events: Emitter<IpfsEvents>
  readonly maxBlockBytes: number
  readonly attemptTimeout: number
  readonly lieCooloff: number
  /** The cool-off of a 429 without `Retry-After`. */
  readonly rateLimitWait: number
}

/**
 * What the call's signal ending means (deadline or the caller's abort), as the error to reject
 * with; `subject` names what was asked (a path, a block of it). @default the CID
 */
export type Stopped = (cid: string, reasons: RouteReason[], subject?: string) => Error

type Settled =
  | { outcome: 'ok'; bytes: Uint8Array }
  | {
      outcome: Exclude<AttemptOutcome, 'ok'>
      reason: string
      retryAfter?: number | undefined
      /** Cancelled because another route served the block first (not the caller's doing). */
      outpaced?: boolean
    }

/** A loser cancelled past this many times its expected latency failed (a timeout), as in fanOut. */
const SLOW_FACTOR = 2

/** One verified block; rejects with `ContentNotFoundError`, or `stopped(…)` once `signal` aborts. */
export function getBlock(
  ctx: RaceContext,
  cid: CID,
  signal: AbortSignal,
  stopped: Stopped,
): Promise<Uint8Array> {
  assertVerifiable(cid)
  if (cid.multihash.code === IDENTITY) return Promise.resolve(cid.multihash.digest)
  const key = cid.toString()
  const { clock, hedge } = ctx
  const asked = new Set<RouteState>()
  const reasons = new Map<RouteState, string>()
  const inflight = new Map<RouteState, AbortController>()
  const outpaced = new Set<RouteState>()
  const listed = () => [...reasons].map(([s, reason]) => ({ route: s.route.name, reason }))

  return new Promise<Uint8Array>((resolve, reject) => {
    let done = false
    let hedgeTimer: unknown
    const finish = (settle: () => void) => {
      if (done) return
      done = true
      ctx.clock.clearTimeout(hedgeTimer)
      signal.removeEventListener('abort', onAbort)
      for (const ac of inflight.values()) ac.abort()
      settle()
    }
    const onAbort = () => {
      for (const s of inflight.keys()) reasons.set(s, 'no answer yet')
      finish(() => reject(stopped(key, listed())))
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })

    /** Asks the best route not yet asked; when none is left and none is out, gives up. */
    const next = () => {
      if (done) return
      ctx.clock.clearTimeout(hedgeTimer)
      const now = clock.now()
      for (const s of ranked(ctx.states, asked, now, hedge.initial)) {
        if (!s.breaker.tryAcquire()) continue
        asked.add(s)
        attempt(s)
        hedgeTimer = clock.setTimeout(next, hedgeAfter(s, hedge))
        return
      }
      if (inflight.size > 0) return
      for (const s of ctx.states) if (!asked.has(s)) reasons.set(s, whyNotAsked(s, now))
      finish(() => reject(new ContentNotFoundError(key, listed())))
    }

    const attempt = (s: RouteState) => {
      const ac = new AbortController()
      inflight.set(s, ac)
      const started = clock.now()
      let timedOut = false
      const timer = clock.setTimeout(() => {
        timedOut = true
        ac.abort()
      }, ctx.attemptTimeout)
      const judged = s.route
        .get(cid, { signal: ac.signal, maxBlockBytes: ctx.maxBlockBytes })
        .then(async (answer): Promise<Settled> => {
          if ('missing' in answer)
            return { outcome: 'missing', reason: `does not have it (${answer.missing})` }
          if (answer.bytes.byteLength > ctx.maxBlockBytes)
            return { outcome: 'failed', reason: `block larger than ${ctx.maxBlockBytes} bytes` }
          return (await matches(cid, answer.bytes))
            ? { outcome: 'ok', bytes: answer.bytes }
            : { outcome: 'lie', reason: 'sent bytes that do not hash to the CID' }
        })
        .catch((error: unknown): Settled => {
          if (timedOut)
            return { outcome: 'timeout', reason: `no block within ${ctx.attemptTimeout} ms` }
          if (ac.signal.aborted)
            return { outcome: 'aborted', reason: 'cancelled', outpaced: outpaced.has(s) }
          if (error instanceof SourceError && error.kind === 'rate-limited')
            return { outcome: 'rate-limited', reason: error.reason, retryAfter: error.retryAfter }
          if (error instanceof SourceError) return { outcome: 'failed', reason: error.reason }
          return { outcome: 'failed', reason: `failed (${(error as Error)?.name ?? 'error'})` }
        })
      judged.then((settled) => {
        ctx.clock.clearTimeout(timer)
        inflight.delete(s)
        const ms = clock.now() - started
        record(ctx, s, key, settled, ms)
        if (done) return
        if (settled.outcome === 'ok') {
          for (const loser of inflight.keys()) outpaced.add(loser)
          return finish(() => resolve(settled.bytes))
        }
        reasons.set(s, settled.reason)
        next()
      })
    }

    next()
  })
}

/** Books an attempt's outcome on its route: counters, breaker, latency, events. */
function record(ctx: RaceContext, s: RouteState, cid: string, r: Settled, ms: number): void {
  const now = ctx.clock.now()
  const before = s.condition
  const { name, kind } = s.route
  const reason = r.outcome === 'ok' ? undefined : r.reason
  switch (r.outcome) {
    case 'ok':
      s.blocks++
      s.latency.add(ms)
      s.lastFailed = false
      s.breaker.success()
      break
    case 'missing':
      // Not having a block is an answer: the route is up.
      s.missing++
      s.latency.add(ms)
      s.lastFailed = false
      s.breaker.success()
      break
    case 'lie':
      s.lies++
      s.lyingUntil = now + ctx.lieCooloff
      s.breaker.trip(ctx.lieCooloff)
      s.lastError = `lying: block ${cid} ${r.reason}`
      ctx.events.emit('lie', { route: name, kind, cid, reason: r.reason })
      break
    case 'rate-limited':
      s.failures++
      s.rateLimitedUntil = now + (r.retryAfter ?? ctx.rateLimitWait)
      s.breaker.release()
      s.lastFailed = true
      s.lastError = r.reason
      ctx.events.emit('failure', { route: name, kind, cid, reason: r.reason })
      break
    case 'timeout':
    case 'failed':
      s.failures++
      s.breaker.failure()
      s.lastFailed = true
      s.lastError = r.reason
      ctx.events.emit('failure', { route: name, kind, cid, reason: r.reason })
      break
    case 'aborted': {
      if (!r.outpaced) {
        s.breaker.release()
        break
      }
      // Another route served the block first. The loser is at least this slow (a lower bound
      // of its latency, so a route gone silent sinks in the ranking instead of being asked
      // first forever), and a failure if far slower than it used to be.
      const expected = s.latency.ewma ?? ctx.hedge.initial
      s.latency.add(ms)
      if (ms <= SLOW_FACTOR * expected) {
        s.breaker.release()
        break
      }
      const slow = `no block within ${Math.round(ms)} ms (another route served it)`
      s.failures++
      s.breaker.failure()
      s.lastFailed = true
      s.lastError = slow
      ctx.events.emit('failure', { route: name, kind, cid, reason: slow })
      ctx.events.emit('attempt', { route: name, kind, cid, ms, outcome: 'timeout', reason: slow })
      s.condition = conditionOf(s, now)
      if (s.condition !== before)
        ctx.events.emit('route', { route: name, from: before, to: s.condition, reason: slow })
      return
    }
  }
  ctx.events.emit('attempt', { route: name, kind, cid, ms, outcome: r.outcome, reason })
  s.condition = conditionOf(s, now)
  if (s.condition !== before)
    ctx.events.emit('route', { route: name, from: before, to: s.condition, reason })
}

/** Why a route was not asked for a block (as the error lists it). */
function whyNotAsked(s: RouteState, now: number): string {
  if (s.lyingUntil > now) return 'not asked: cut off for serving a block with the wrong hash'
  if (s.rateLimitedUntil > now) return 'not asked: rate-limited'
  if (!askable(s, now)) return `not asked: circuit open (${s.lastError ?? 'recent failures'})`
  return 'not asked: its probe is in flight'
}
