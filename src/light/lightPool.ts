/**
 * The sources of light-client data, raced and ranked like RPC sources: a circuit breaker and a
 * latency EWMA each (the engine's breaker.ts and latency.ts), the fastest available asked first,
 * the next one hedged in after an adaptive delay, losers cancelled. Every answer is handed to
 * `use`, which verifies it: a source whose object is refused as a lie is cut off for the
 * cool-off and the next source answers; "not found" and "nothing new" are not failures.
 */
import { type Breaker, createBreaker } from '../core/breaker.ts'
import type { Clock } from '../core/clock.ts'
import { createLatencyStats, type LatencyStats } from '../core/latency.ts'
import { SourceError } from '../shared/errors.ts'
import { LightClientError } from './errors.ts'
import type { LightClientSource } from './sources.ts'

/** What `status()` says of a source. */
export type LightSourceCondition = 'unknown' | 'healthy' | 'failing' | 'down' | 'lying'

export type LightSourceStatus = {
  name: string
  domain: string
  condition: LightSourceCondition
  /** Latency EWMA in ms, undefined before its first answer. */
  latency: number | undefined
  /** Objects it sent that were refused as lies. */
  lies: number
  failures: number
  /** Why its last attempt failed (names no URL path or key). */
  lastError: string | undefined
}

export type Member = {
  readonly source: LightClientSource
  readonly name: string
  readonly domain: string
  readonly breaker: Breaker
  readonly latency: LatencyStats
  lies: number
  failures: number
  lyingUntil: number
  lastError: string | undefined
  /** Whether its last attempt got an answer (undefined before the first). */
  lastOk: boolean | undefined
}

/** How one source's attempt ended when no answer was used. */
export type Outcome = {
  source: string
  outcome: 'failed' | 'lied' | 'not-found' | 'nothing-new'
  reason: string
}

export type LieEvent = { source: string; reason: string; message: string }

/** The outcomes of a round that found nothing, as an error's reasons (`what` names the request). */
export function reasons(
  outcomes: readonly Outcome[],
  what: string,
): { source: string; reason: string }[] {
  return outcomes.map((o) => ({ source: o.source, reason: `${what}: ${o.outcome}: ${o.reason}` }))
}

export type PoolOptions = {
  clock: Clock
  /** Ms a lying source gets no traffic. */
  lieCooloff: number
  onLie(event: LieEvent): void
}

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

export function conditionOf(m: Member, now: number): LightSourceCondition {
  if (m.lyingUntil > now) return 'lying'
  const state = m.breaker.state
  if (state === 'open') return 'down'
  if (state === 'half-open' || m.lastOk === false) return 'failing'
  return m.lastOk ? 'healthy' : 'unknown'
}

export type LightPool = {
  readonly members: readonly Member[]
  /**
   * Asks sources (ranked, hedged) with `call` until `use` accepts an answer: `use` returns a
   * value (done), or undefined (nothing new: the next source is asked), or throws a
   * `LightClientError` (a lie cuts the source off; other reasons are "nothing new").
   */
  ask<T, R>(
    call: (source: LightClientSource, signal: AbortSignal) => Promise<T | undefined>,
    use: (value: T, member: Member) => R | undefined,
    signal?: AbortSignal,
  ): Promise<{ value: R | undefined; outcomes: Outcome[] }>
  status(): LightSourceStatus[]
  /** Marks `m` lying (a refused pushed update). */
  lied(m: Member, error: LightClientError): void
}

export function createLightPool(sources: readonly LightClientSource[], o: PoolOptions): LightPool {
  const now = () => o.clock.now()
  const members: Member[] = sources.map((source) => ({
    source,
    name: source.name,
    domain: source.domain ?? source.name,
    breaker: createBreaker({}, now),
    latency: createLatencyStats(),
    lies: 0,
    failures: 0,
    lyingUntil: 0,
    lastError: undefined,
    lastOk: undefined,
  }))

  const lied = (m: Member, error: LightClientError) => {
    m.lies++
    m.lyingUntil = now() + o.lieCooloff
    m.lastError = `lied: ${error.shortMessage}`
    m.breaker.trip(Math.max(1, o.lieCooloff))
    o.onLie({ source: m.name, reason: error.reason, message: error.shortMessage })
  }

  const ask: LightPool['ask'] = <T, R>(
    call: (source: LightClientSource, signal: AbortSignal) => Promise<T | undefined>,
    use: (value: T, member: Member) => R | undefined,
    outer?: AbortSignal,
  ) =>
    new Promise<{ value: R | undefined; outcomes: Outcome[] }>((resolve) => {
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
      const settle = (m: Member, outcome: Outcome['outcome'], reason: string) => {
        running.delete(m)
        outcomes.push({ source: m.name, outcome, reason })
        // The one whose answer was no use: ask the next at once, not after the hedge delay.
        if (!done) next()
      }
      const launch = (m: Member) => {
        const controller = new AbortController()
        running.set(m, controller)
        const started = performance.now()
        call(m.source, controller.signal).then(
          (value) => {
            if (done || controller.signal.aborted) return
            m.latency.add(performance.now() - started)
            m.lastOk = true
            m.breaker.success()
            if (value === undefined) return settle(m, 'not-found', 'has nothing for it (404)')
            let result: R | undefined
            try {
              result = use(value, m)
            } catch (error) {
              if (error instanceof LightClientError && error.lie) {
                lied(m, error)
                return settle(m, 'lied', error.shortMessage)
              }
              if (error instanceof LightClientError)
                return settle(m, 'nothing-new', error.shortMessage)
              // Not the source's doing (a bug of ours, storage): counted nowhere, the next source asked.
              return settle(m, 'failed', String((error as Error)?.message ?? error))
            }
            if (result === undefined)
              return settle(m, 'nothing-new', 'nothing newer than the store')
            running.delete(m)
            finish(result)
          },
          (error: unknown) => {
            if (done || controller.signal.aborted) return
            if (error instanceof LightClientError) {
              m.lastOk = true
              // What it sent does not even decode: a lie (or a broken source), cut off the same.
              if (error.lie) {
                lied(m, error)
                return settle(m, 'lied', error.shortMessage)
              }
              // Well formed, of a fork this version cannot read (a node ahead of our schedule):
              // no lie, but no use to us either: a failure, backed off like one.
              m.failures++
              m.lastError = error.shortMessage
              m.breaker.failure()
              return settle(m, 'failed', error.shortMessage)
            }
            m.failures++
            m.lastOk = false
            const reason =
              error instanceof SourceError
                ? error.reason
                : String((error as Error)?.message ?? error)
            m.lastError = reason
            m.breaker.failure()
            settle(m, 'failed', reason)
          },
        )
      }
      next()
    })

  return {
    members,
    ask,
    lied,
    status: () =>
      members.map((m) => ({
        name: m.name,
        domain: m.domain,
        condition: conditionOf(m, now()),
        latency: m.latency.ewma,
        lies: m.lies,
        failures: m.failures,
        lastError: m.lastError,
      })),
  }
}
