/**
 * The sources of light-client data, raced and ranked like RPC sources: a circuit breaker and a
 * latency EWMA each (the engine's breaker.ts and latency.ts), what `status()` says of each, and
 * the cool-off of one caught lying. A request is raced across them by lightRace.ts: every answer
 * is handed to `use`, which verifies it; a source whose object is refused as a lie is cut off for
 * the cool-off and the next source answers; "not found" and "nothing new" are not failures.
 */
import { type Breaker, createBreaker } from '../core/breaker.ts'
import type { Clock } from '../core/clock.ts'
import { createLatencyStats, type LatencyStats } from '../core/latency.ts'
import type { LightClientError } from './errors.ts'
import { type Call, race, type Use } from './lightRace.ts'
import type { LightClientSource } from './sources.ts'

export { hedgeDelay, rankMembers } from './lightRace.ts'

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
    call: Call<T>,
    use: Use<T, R>,
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

  const ask: LightPool['ask'] = (call, use, outer) =>
    race(members, call, use, { clock: o.clock, lied }, outer)

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
