import { canonical, preview } from './canonical.ts'
import {
  AllSourcesFailedError,
  DeadlineError,
  ProviderRpcError,
  QuorumError,
  RpcResponseError,
  SourceError,
} from './errors.ts'
import type { RetryBudget } from './retryBudget.ts'
import { expectedLatency, type SourceState } from './sourceState.ts'

export type Need = { sources: number; domains: number }

export type FanOutContext = {
  attempt(s: SourceState, method: string, params: unknown[], signal: AbortSignal): Promise<unknown>
  budget: RetryBudget
  hedge: { min: number; max: number; initial: number }
  onDisagreement(
    method: string,
    answers: { source: string; domain: string; answer: string }[],
  ): void
  /** Removes every source's secrets from what is shown of an answer (events, errors). */
  redact?(text: string): string
  /** Counts a failure the engine found (a lie, a slow loser) against a source. */
  penalize(s: SourceState, error: SourceError): void
  /**
   * Asks a source something cheap, to tell a slow answer from a dead source before it is given
   * up (an answer updates its `lastAnswerAt`). Settles, never rejects.
   */
  probe?(s: SourceState): Promise<void>
}

export type FanOutRequest = {
  method: string
  params: unknown[]
  /** Eligible sources, best first. */
  candidates: readonly SourceState[]
  need: Need
  /** Local check of an answer: a reason makes it that source's failure (a lie or garbage). */
  check?(result: unknown, s: SourceState): string | undefined
  /** An answer proven locally stands alone, without agreement. */
  standsAlone?(result: unknown): boolean
  /** The key under which answers must agree. @default canonical(result) */
  key?(result: unknown): string
  /**
   * An answer that may only mean "not yet" (`null` for a receipt at the chain's edge). Beside a
   * real answer it is not a disagreement: that source is asked again shortly.
   */
  pending?(result: unknown): boolean
  /**
   * An answer whose only dissent is "not yet" (`pending`) stands with it, flagged degraded, once
   * the re-checks are done (a receipt whose block is on the agreed chain).
   */
  beatsNotYet?(result: unknown): Promise<boolean>
  /** May settle for one domain when every other domain failed. */
  degrade: boolean
  /** Ask sources even if their breaker is open (every eligible source is cooling off). */
  force?: boolean
  /** Sources held back (open breaker, our own 429 backoff), asked only when every candidate failed. */
  reserve?: readonly SourceState[]
  /**
   * An error that is the caller's, not the source's (an unknown method): when every source
   * gives one, it is the answer, with its code. @default none
   */
  callersError?(error: unknown): boolean
  /** What one attempt does; by default `ctx.attempt(s, method, params)`. */
  call?(s: SourceState, signal: AbortSignal): Promise<unknown>
  /** Round trips one attempt makes (a proven answer: several); hedge delays scale with it. @default 1 */
  roundTrips?: number
  /** Sources asked at once at the start. @default max(need.domains, need.sources) */
  initial?: number
  deadline: number
}

export type FanOutResult = {
  /** The answer, or the node error every agreeing source gave (a revert). */
  value: unknown
  error: RpcResponseError | undefined
  sources: string[]
  domains: string[]
  degraded: boolean
  attempts: number
}

type Group = {
  value: unknown
  error?: RpcResponseError
  sources: SourceState[]
  domains: Set<string>
}
type Attempt = {
  s: SourceState
  controller: AbortController
  started: number
  /** Another source was asked because this attempt was late. */
  hedged: boolean
  /** It took the source's half-open probe slot, which goes back when it settles. */
  probe: boolean
}

/** Attempts cancelled this much later than their source's expected latency count as slow. */
const SLOW_FACTOR = 2
/**
 * Attempts silent this much longer than their source's expected latency (and at least
 * `LOST_FLOOR` ms) are presumed lost: with no one left to ask, the quorum is lost.
 */
const LOST_FACTOR = 4
const LOST_FLOOR = 1_000
/** How long after a split with no one left to ask its sources are asked once more, in ms. */
const REASK_DELAY = 100
/** Delays before a "not yet" source is asked again: from the real answer beside it, then from its previous retry. */
const RECHECK_DELAYS = [200, 800]

/**
 * Hedged fan-out: asks the best source of each of the first `need.domains` domains, adds the
 * next source after an adaptive delay or at once when one fails or answers differ, and returns
 * as soon as an answer stands alone or is agreed by `need`; the losers are cancelled.
 */
export function fanOut(ctx: FanOutContext, req: FanOutRequest): Promise<FanOutResult> {
  return new Promise((resolve, reject) => {
    const groups = new Map<string, Group>()
    const failures: { source: string; reason: string }[] = []
    const callersErrors: RpcResponseError[] = []
    const inflight = new Set<Attempt>()
    const launched = new Set<SourceState>()
    let candidates = req.candidates
    let force = !!req.force
    let attempts = 0
    let done = false
    let hedgeTimer: ReturnType<typeof setTimeout> | undefined
    const rechecks = new Map<SourceState, number>()
    /** Liveness probes of silent sources: false while one is in flight, true once settled. */
    const probed = new Map<SourceState, boolean>()
    const reported = new Set<Attempt>()
    const recheckTimers = new Set<ReturnType<typeof setTimeout>>()
    const deadlineTimer = setTimeout(
      () => finish(undefined, deadlineError()),
      Math.max(0, req.deadline - Date.now()),
    )

    const answered = (domain: string) => {
      for (const g of groups.values()) if (g.domains.has(domain)) return true
      return false
    }
    const covered = (domain: string) => {
      for (const a of inflight) if (a.s.domain === domain) return true
      return answered(domain)
    }
    const sourcesShort = () => {
      let most = 0
      for (const g of groups.values()) most = Math.max(most, g.sources.length)
      return most < req.need.sources
    }

    /** The best source of a domain nobody covers yet; else one whose domain still lacks an answer. */
    const pickNext = (): SourceState | undefined => {
      let fallback: SourceState | undefined
      for (const s of candidates) {
        if (launched.has(s) || !(force || s.breaker.available)) continue
        if (!covered(s.domain)) return s
        if (!answered(s.domain) || sourcesShort()) fallback ??= s
      }
      return fallback
    }

    const launch = (s: SourceState) => {
      const probe = !force && s.breaker.state === 'half-open'
      if (!force && !s.breaker.tryAcquire()) return false
      launched.add(s)
      attempts++
      const a: Attempt = {
        s,
        controller: new AbortController(),
        started: Date.now(),
        hedged: false,
        probe,
      }
      inflight.add(a)
      const pending = req.call
        ? req.call(s, a.controller.signal)
        : ctx.attempt(s, req.method, req.params, a.controller.signal)
      pending.then(
        (result) => settle(a, result, undefined),
        (error) => settle(a, undefined, error),
      )
      return true
    }

    /** Launches the next source; a speculative hedge (`extra`) must be paid from the retry budget. */
    const launchNext = (extra: boolean): boolean => {
      for (let s = pickNext(); s; s = pickNext()) {
        if (extra && !ctx.budget.tryWithdraw()) return false
        if (launch(s)) return true
        launched.add(s) // lost its probe slot to another request; don't pick it again here
      }
      return false
    }

    const rounds = Math.max(1, req.roundTrips ?? 1)
    /** When an attempt at `s` is late enough to hedge: its expected latency, per round trip. */
    // A source's own slow answers cannot make its silence look normal: at most the hedge ceiling.
    const expected = (s: SourceState) =>
      rounds * Math.min(ctx.hedge.max, expectedLatency(s, ctx.hedge.initial))
    const overdue = (a: Attempt, now: number) => now - a.started > SLOW_FACTOR * expected(a.s)
    const lostAfter = (s: SourceState) => Math.max(LOST_FLOOR, LOST_FACTOR * expected(s))
    /** Silent for 4× its expected latency, and its source has answered nothing since it began. */
    const presumedLost = (a: Attempt, now: number) =>
      a.s.lastAnswerAt <= a.started && now - a.started > lostAfter(a.s)
    /** Nothing in flight or about to be: the answers so far are all there will be. */
    const idle = () => inflight.size === 0 && recheckTimers.size === 0

    /**
     * Arms the hedge timer for when the first attempt in flight is late (past its source's
     * expected latency). When it fires, the next source is asked: a replacement for an attempt
     * presumed lost (overdue) is a failover, any other launch is a speculative hedge. Once every
     * late attempt has its replacement, the timer re-arms for the slowest, backing off.
     */
    const scheduleHedge = (backoff = 1) => {
      clearTimeout(hedgeTimer)
      if (done || inflight.size === 0) return
      const now = Date.now()
      let first = Number.POSITIVE_INFINITY
      let last = 0
      let lostAt = Number.POSITIVE_INFINITY
      for (const a of inflight) {
        const due = a.started + expected(a.s) - now
        if (!a.hedged) first = Math.min(first, due)
        last = Math.max(last, due)
        // Wake when an attempt becomes overdue (to probe its source) or would be presumed lost.
        for (const at of [SLOW_FACTOR * expected(a.s), lostAfter(a.s)]) {
          const until = a.started + at - now
          if (until > 0) lostAt = Math.min(lostAt, until)
        }
      }
      const hedgeWait = Math.max(
        1,
        ctx.hedge.min,
        first === Number.POSITIVE_INFINITY ? last : first,
      )
      const wait = Math.min(ctx.hedge.max, hedgeWait * backoff, lostAt + 1)
      hedgeTimer = setTimeout(() => onHedgeTimer(backoff), wait)
    }

    const onHedgeTimer = (backoff: number) => {
      if (done) return
      const now = Date.now()
      const late = [...inflight].filter((a) => now >= a.started + expected(a.s))
      const lost = late.some((a) => overdue(a, now))
      const asked = launchNext(!lost)
      for (const a of late) a.hedged = true // replaced, or no one left to replace it with
      if (asked) return scheduleHedge()
      // No one is left to ask. Overdue sources that have said nothing since are probed with a
      // cheap call, so that a slow answer is told from a dead source by the time it matters.
      const silent = [...inflight]
      for (const a of silent)
        if (ctx.probe && overdue(a, now) && a.s.lastAnswerAt <= a.started && !probed.has(a.s)) {
          probed.set(a.s, false)
          ctx.probe(a.s).finally(() => {
            probed.set(a.s, true)
            if (!done && inflight.size > 0) onHedgeTimer(backoff)
          })
        }
      // Every attempt in flight silent, probes included: settle with what came (degraded, a
      // quorum error, or every source's failure) now, not at the deadline.
      const gone =
        recheckTimers.size === 0 &&
        silent.every((a) => presumedLost(a, now) && (!ctx.probe || probed.get(a.s) === true))
      if (!gone) return scheduleHedge(backoff * 2)
      for (const a of silent)
        if (!reported.has(a)) {
          reported.add(a)
          failures.push({ source: a.s.name, reason: `no answer after ${now - a.started} ms` })
        }
      exhausted()
    }

    const agreed = (g: Group) =>
      g.sources.length >= req.need.sources && g.domains.size >= req.need.domains

    const settle = (a: Attempt, result: unknown, error: unknown) => {
      inflight.delete(a)
      if (a.probe) a.s.breaker.release() // harmless after success or failure, needed otherwise
      if (done) return
      const s = a.s
      let needMore = false
      if (error instanceof RpcResponseError && error.deterministic) {
        add(
          s,
          // The same error from every node: its code and data, else its message without the name.
          `error:${error.code}:${canonical(error.data ?? error.shortMessage.replace(`${s.name}: `, ''))}`,
          undefined,
          error,
        )
      } else if (error !== undefined) {
        failures.push({ source: s.name, reason: reasonOf(error) })
        if (req.callersError?.(error)) callersErrors.push(error as RpcResponseError)
        needMore = true
      } else {
        // The rules read untrusted data: any exception is that source's malformed answer.
        let bad: string | undefined
        let alone = false
        let key = ''
        try {
          bad = req.check?.(result, s)
          alone = !bad && !!req.standsAlone?.(result)
          if (!bad && !alone) key = (req.key ?? canonical)(result)
        } catch (e) {
          bad = `malformed (${e instanceof Error ? e.message : String(e)})`
        }
        if (bad) {
          const lie = new SourceError(s.name, 'body', `${req.method} answer rejected: ${bad}`)
          ctx.penalize(s, lie)
          failures.push({ source: s.name, reason: lie.shortMessage })
          needMore = true
        } else if (alone) {
          return finish({ value: result, sources: [s], domains: new Set([s.domain]) })
        } else {
          add(s, key, result, undefined)
        }
      }
      if (done) return
      // A failure or a disagreement: ask the next source now (a failover, not a hedge).
      if (needMore || groups.size > 1) launchNext(false)
      if (idle() && !launchNext(false)) return exhausted()
      scheduleHedge()
    }

    /** "Not yet" answers beside a real one: the chain moved on; ask those sources again shortly. */
    const recheckPending = () => {
      const isPending = req.pending
      if (!isPending) return
      const real = [...groups.values()].some((g) => !g.error && !isPending(g.value))
      if (!real) return
      for (const [key, g] of groups) {
        if (g.error || !isPending(g.value)) continue
        for (const s of [...g.sources]) {
          const n = rechecks.get(s) ?? 0
          if (n >= RECHECK_DELAYS.length) continue
          rechecks.set(s, n + 1)
          g.sources.splice(g.sources.indexOf(s), 1)
          const timer = setTimeout(() => {
            recheckTimers.delete(timer)
            if (done) return
            if (launch(s)) return scheduleHedge()
            if (idle() && !launchNext(false)) exhausted()
          }, RECHECK_DELAYS[n])
          recheckTimers.add(timer)
        }
        g.domains = new Set(g.sources.map((x) => x.domain))
        if (g.sources.length === 0) groups.delete(key)
      }
      // A domain not asked yet settles it now, rather than after the re-check delays.
      launchNext(false)
    }

    const add = (s: SourceState, key: string, value: unknown, error?: RpcResponseError) => {
      let g = groups.get(key)
      if (!g) {
        g = { value, error, sources: [], domains: new Set() }
        groups.set(key, g)
      }
      g.sources.push(s)
      g.domains.add(s.domain)
      if (agreed(g)) return finish(g)
      recheckPending()
      if (groups.size > 1) ctx.onDisagreement(req.method, listAnswers())
    }

    // A secret echoed in an answer is scrubbed before the answer is cut short, so that no part
    // of it survives the cut.
    const shown = (value: unknown) =>
      preview(ctx.redact ? ctx.redact(preview(value, 1_024)) : preview(value), 80)
    const listAnswers = () =>
      [...groups.values()].flatMap((g) =>
        g.sources.map((s) => ({
          source: s.name,
          domain: s.domain,
          answer: g.error ? g.error.shortMessage : shown(g.value),
        })),
      )

    const exhausted = () => {
      const all = [...groups.values()]
      // Every candidate failed without an answer: try those held back before giving up.
      const reserve = req.reserve?.filter((s) => !launched.has(s)) ?? []
      if (all.length === 0 && reserve.length > 0) {
        candidates = reserve
        force = true
        if (launchNext(false)) return scheduleHedge()
      }
      if (all.length === 1 && req.degrade) return finish(all[0]!, undefined, true)
      // One real answer whose only dissent is "not yet": if its inclusion checks, it stands.
      const real = all.filter((g) => g.error || !req.pending?.(g.value))
      const lone = real.length === 1 && all.length > 1 && !real[0]!.error ? real[0]! : undefined
      if (lone && req.beatsNotYet && !inclusionAsked) {
        inclusionAsked = true
        const again = () => {
          if (!done) exhausted()
        }
        req
          .beatsNotYet(lone.value)
          .then((ok) => (ok && !done ? finish(lone, undefined, true) : again()), again)
        return
      }
      // Every source said the request itself is wrong: that is the caller's answer.
      const callers = callersErrors[0]
      if (all.length === 0 && callers && callersErrors.length === failures.length)
        return finish(
          undefined,
          new ProviderRpcError(
            callers.code,
            callers.shortMessage.replace(`${callers.source}: `, ''),
            {
              data: callers.data,
              metaMessages: failures.map((f) => `- ${f.source}: ${f.reason}`),
            },
          ),
        )
      if (all.length === 0)
        return finish(undefined, new AllSourcesFailedError(req.method, failures))
      if (!reasked && inflight.size === 0 && Date.now() + REASK_DELAY < req.deadline) return reask()
      finish(undefined, new QuorumError(req.method, req.need.domains, listAnswers(), failures))
    }

    /**
     * Split answers and no one left to ask: ask those who answered once more, shortly. A node a
     * moment behind its peers (a load balancer's backend, a block being imported) answers
     * again in step; a liar answers the same, and the split stands.
     */
    let reasked = false
    /** The lone real answer's inclusion was checked once (`beatsNotYet`). */
    let inclusionAsked = false
    const reask = () => {
      reasked = true
      const again = [...groups.values()].flatMap((g) => g.sources)
      groups.clear()
      const timer = setTimeout(() => {
        recheckTimers.delete(timer)
        if (done) return
        for (const s of again) launch(s)
        if (idle()) return exhausted()
        scheduleHedge()
      }, REASK_DELAY)
      recheckTimers.add(timer)
    }

    const deadlineError = () => {
      const waiting = [...inflight].map((a) => ({
        source: a.s.name,
        reason: `no answer after ${Date.now() - a.started} ms`,
      }))
      return new DeadlineError(`No consistent answer to ${req.method} before the deadline.`, {
        silent: groups.size === 0,
        metaMessages: [
          ...listAnswers().map((a) => `- ${a.source} (${a.domain}) answered ${a.answer}`),
          ...[...failures, ...waiting].map((f) => `- ${f.source}: ${f.reason}`),
        ],
      })
    }

    const finish = (g: Group | undefined, error?: Error, degraded = false) => {
      if (done) return
      done = true
      clearTimeout(hedgeTimer)
      clearTimeout(deadlineTimer)
      for (const t of recheckTimers) clearTimeout(t)
      recheckTimers.clear()
      const now = Date.now()
      for (const a of inflight) {
        const late = overdue(a, now)
        a.controller.abort()
        // Late when others answered, or still silent at the deadline: a timeout of that source.
        if (late)
          ctx.penalize(
            a.s,
            new SourceError(
              a.s.name,
              'timeout',
              g ? 'slow: others answered first' : 'silent until the deadline',
            ),
          )
      }
      inflight.clear()
      if (!g) return reject(error)
      // Sources that contradicted the agreed answer lose standing (a liar opens its breaker).
      if (!degraded)
        // "Not found" against an answer is a race at the chain's edge more often than a lie.
        for (const other of groups.values())
          if (other !== g && other.value !== null)
            for (const s of other.sources)
              ctx.penalize(
                s,
                new SourceError(s.name, 'body', `${req.method}: disagreed with the quorum`),
              )
      resolve({
        value: g.value,
        error: g.error,
        sources: g.sources.map((s) => s.name),
        domains: [...g.domains],
        degraded,
        attempts,
      })
    }

    // Start: the best source of each of the first `need.domains` domains (and `need.sources`).
    const first = req.initial ?? Math.max(req.need.domains, req.need.sources)
    let started = 0
    while (started < first && launchNext(false)) started++
    if (started === 0) return exhausted()
    scheduleHedge()
  })
}

function reasonOf(error: unknown): string {
  if (error instanceof SourceError) return error.shortMessage.replace(`${error.source}: `, '')
  if (error instanceof Error) return error.message
  return String(error)
}
