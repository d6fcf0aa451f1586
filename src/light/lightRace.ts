/**
 * One request raced across light-client sources: the fastest available asked first, the next
 * hedged in after an adaptive delay, losers cancelled, until `use` accepts an answer. How each
 * attempt ended is judged by `answered` and `failed` (a lie cuts the source off; "not found" and
 * "nothing new" are no failures); the driver owns the hedge timer through the injected clock.
 */
import type { Clock } from '../core/clock.ts'
import { SourceError } from '../shared/errors.ts'
import { LightClientError } from './errors.ts'
import type { Member, Outcome } from './lightPool.ts'
import type { LightClientSource } from './sources.ts'

const HEDGE_FLOOR = 250
const HEDGE_CEILING = 2_000

/** Pure: the sources to ask, best first: closed breakers before half-open ones, then by latency (unmeasured as 250 ms). */
export function rankMembers(members: readonly Member[]): Member[] {
  const score = (m: Member) =>
    (m.breaker.state === 'closed' ? 0 : 1_000_000) + (m.latency.ewma ?? HEDGE_FLOOR)
  return members.filter((m) => m.breaker.available).sort((a, b) => score(a) - score(b))
}

/** Pure: how long to wait on `m` before asking the next source too: twice its p95 latency, within 250 ms..2 s. */
export function hedgeDelay(m: Member): number {
  const p95 = m.latency.percentile(95)
  return Math.min(HEDGE_CEILING, Math.max(HEDGE_FLOOR, 2 * (p95 ?? HEDGE_FLOOR)))
}

export type Call<T> = (source: LightClientSource, signal: AbortSignal) => Promise<T | undefined>
export type Use<T, R> = (value: T, member: Member) => R | undefined

/** How one attempt ended: its answer used, or an outcome that sends the race on. */
type Verdict<R> = { used: R } | { outcome: Outcome['outcome']; reason: string }

/** An answer `m` gave, judged by `use` (which verifies it); a refused lie cuts `m` off. */
export function answered<T, R>(
  m: Member,
  value: T | undefined,
  use: Use<T, R>,
  lied: (m: Member, error: LightClientError) => void,
): Verdict<R> {
  m.lastOk = true
  m.breaker.success()
  if (value === undefined) return { outcome: 'not-found', reason: 'has nothing for it (404)' }
  let result: R | undefined
  try {
    result = use(value, m)
  } catch (error) {
    if (error instanceof LightClientError && error.lie) {
      lied(m, error)
      return { outcome: 'lied', reason: error.shortMessage }
    }
    if (error instanceof LightClientError)
      return { outcome: 'nothing-new', reason: error.shortMessage }
    // Not the source's doing (a bug of ours, storage): counted nowhere, the next source asked.
    return { outcome: 'failed', reason: String((error as Error)?.message ?? error) }
  }
  return result === undefined
    ? { outcome: 'nothing-new', reason: 'nothing newer than the store' }
    : { used: result }
}

/** A call of `m`'s that failed: a lie when what it sent does not decode, else a failure. */
export function failed(
  m: Member,
  error: unknown,
  lied: (m: Member, error: LightClientError) => void,
): Verdict<never> {
  if (error instanceof LightClientError) {
    m.lastOk = true
    // What it sent does not even decode: a lie (or a broken source), cut off the same.
    if (error.lie) {
      lied(m, error)
      return { outcome: 'lied', reason: error.shortMessage }
    }
    // Well formed, of a fork this version cannot read (a node ahead of our schedule): no lie,
    // but no use to us either: a failure, backed off like one.
    m.failures++
    m.lastError = error.shortMessage
    m.breaker.failure()
    return { outcome: 'failed', reason: error.shortMessage }
  }
  m.failures++
  m.lastOk = false
  const reason =
    error instanceof SourceError ? error.reason : String((error as Error)?.message ?? error)
  m.lastError = reason
  m.breaker.failure()
  return { outcome: 'failed', reason }
}

/** Races `members` (ranked, hedged) with `call` until `use` accepts an answer or all are asked. */
export function race<T, R>(
  members: readonly Member[],
  call: Call<T>,
  use: Use<T, R>,
  o: { clock: Clock; lied: (m: Member, error: LightClientError) => void },
  outer?: AbortSignal,
): Promise<{ value: R | undefined; outcomes: Outcome[] }> {
  return new Promise((resolve) => {
    const queue = rankMembers(members)
    const outcomes: Outcome[] = []
    const running = new Map<Member, AbortController>()
    let done = false
    let hedge: unknown
    const finish = (value: R | undefined) => {
      if (done) return
      done = true
      o.clock.clearTimeout(hedge)
      outer?.removeEventListener('abort', onAbort)
      for (const [m, c] of running) {
        c.abort()
        m.breaker.release()
      }
      running.clear()
      resolve({ value, outcomes })
    }
    const onAbort = () => finish(undefined)
    outer?.addEventListener('abort', onAbort, { once: true })
    const next = () => {
      if (done) return
      o.clock.clearTimeout(hedge)
      let m = queue.shift()
      while (m && !m.breaker.tryAcquire()) m = queue.shift()
      if (!m) {
        if (running.size === 0) finish(undefined)
        return
      }
      launch(m)
      if (queue.length > 0) hedge = o.clock.setTimeout(next, hedgeDelay(m))
    }
    const settle = (m: Member, verdict: Verdict<R>) => {
      running.delete(m)
      if ('used' in verdict) return finish(verdict.used)
      outcomes.push({ source: m.name, outcome: verdict.outcome, reason: verdict.reason })
      // The one whose answer was no use: ask the next at once, not after the hedge delay.
      next()
    }
    const launch = (m: Member) => {
      const controller = new AbortController()
      running.set(m, controller)
      const started = performance.now()
      call(m.source, controller.signal).then(
        (value) => {
          if (done || controller.signal.aborted) return
          m.latency.add(performance.now() - started)
          settle(m, answered(m, value, use, o.lied))
        },
        (error: unknown) => {
          if (done || controller.signal.aborted) return
          settle(m, failed(m, error, o.lied))
        },
      )
    }
    next()
  })
}
