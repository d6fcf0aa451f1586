/**
 * Hedged fan-out: asks the best source of each of the first `need.domains` domains, adds the
 * next source after an adaptive delay or at once when one fails or answers differ, and returns
 * as soon as an answer stands alone or is agreed by `need`; the losers are cancelled. Step 7 of
 * "A quorum read, step by step" in docs/architecture.md.
 *
 * This file is the driver: it launches attempts, owns every timer (through `ctx.clock`) and
 * settles once. What an answer counts as and the groups of answers are tally.ts; when to hedge,
 * which attempts are lost and what to do when no one is left to ask are fanOutDecisions.ts.
 */

import { plain } from '../shared/clip.ts'
import {
  AllSourcesFailedError,
  DeadlineError,
  ProviderRpcError,
  QuorumError,
  type RpcResponseError,
  SourceError,
} from '../shared/errors.ts'
import { preview } from './canonical.ts'
import { type Clock, realClock } from './clock.ts'
import {
  type Answered,
  allLost,
  type Exhausted,
  type Exhaustion,
  type Expected,
  expectationFor,
  hedgeDelay,
  type InFlight,
  lateAttempts,
  lost,
  overdue,
  pickNext,
  REASK_DELAY,
  RECHECK_DELAYS,
  toProbe,
  whenExhausted,
} from './fanOutDecisions.ts'
import { capped } from './nodeErrors.ts'
import type { RetryBudget } from './retryBudget.ts'
import { markSilent, type SourceState } from './sourceState.ts'
import { type Group, judge, type Need, Tally } from './tally.ts'

export type { Need } from './tally.ts'

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
  /** A source's answer was proven false (cut off for `lieCooloff`). @default penalize */
  lie?(s: SourceState, reason: string): void
  /**
   * Asks a source something cheap, to tell a slow answer from a dead source before it is given
   * up (an answer updates its `lastAnswerAt`). Settles, never rejects.
   */
  probe?(s: SourceState): Promise<void>
  /** The hedge, re-check, re-ask and deadline timers, and `now()` for deadlines. @default realClock */
  clock?: Clock
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
   * the re-checks are done (a receipt whose block is on the agreed chain and holds it): `true`.
   * `{ refuted }` when the check proved it false (its sources lied: the "not yet" stands);
   * `false` when it could not be checked.
   */
  beatsNotYet?(result: unknown): Promise<Inclusion>
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
  /** The height of the agreed chain's block the read is pinned to (tally.ts `judge`). */
  pinnedAt?: number
  /** The block a read names by number (tally.ts `judge`: old for a node, its history). */
  block?: number | undefined
  /** What one attempt does; by default `ctx.attempt(s, method, params)`. */
  call?(s: SourceState, signal: AbortSignal): Promise<unknown>
  /** Round trips one attempt makes (a proven answer: several); hedge delays scale with it. @default 1 */
  roundTrips?: number
  /** Sources asked at once at the start. @default max(need.domains, need.sources) */
  initial?: number
  /** When to give up, on the clock's scale (`Date.now()` unless `ctx.clock` says otherwise). */
  deadline: number
}

/** A lone answer's inclusion (`beatsNotYet`): checked, not checkable, or proven false. */
export type Inclusion = boolean | { refuted: string }

export type FanOutResult = {
  /** The answer, or the node error every agreeing source gave (a revert). */
  value: unknown
  error: RpcResponseError | undefined
  sources: string[]
  domains: string[]
  degraded: boolean
  attempts: number
}

/** A timer firing this much past its time (ms) means the event loop stalled. */
const STALL = 25

type Attempt = InFlight & {
  controller: AbortController
  /** Registered in its source's `waiters` while in flight. */
  wake: () => void
  /** It took the source's half-open probe slot, which goes back when it settles. */
  probe: boolean
  /** Listed among the failures as silent. */
  reported: boolean
}

export function fanOut(ctx: FanOutContext, req: FanOutRequest): Promise<FanOutResult> {
  return new Promise((resolve, reject) => new Run(ctx, req, resolve, reject).start())
}

/** Longer than any form of a secret a scrubber replaces (a long JWT's base64 included). */
const SECRET_SPAN = 8_192

/**
 * One fan-out, from its first attempt until it settles (`finish`), once. Members the decisions
 * (fanOutDecisions.ts `Asked`) do not read are `#private`: a minifier shortens those names, never
 * a public one's.
 */
class Run {
  readonly #ctx: FanOutContext
  readonly #req: FanOutRequest
  readonly #clock: Clock
  readonly #resolve: (r: FanOutResult) => void
  readonly #reject: (e: unknown) => void
  // `declare`: set in the constructor, not declared again in the output (where a class field
  // without a value takes bytes and is defined as undefined first).
  declare readonly tally: Tally
  readonly #expected: Expected
  readonly #failures: { source: string; reason: string }[] = []
  readonly #callersErrors: {
    error: RpcResponseError
    domain: string | undefined
    s: SourceState
  }[] = []
  /** Each answer as shown (`#show`), worked out once. */
  readonly #shown = new Map<unknown, string>()
  readonly inflight = new Set<Attempt>()
  readonly launched = new Set<SourceState>()
  #candidates: readonly SourceState[]
  declare force: boolean
  #attempts = 0
  #done = false
  /** The armed hedge timer, undefined once it fired or was cleared. */
  #hedgeTimer: unknown
  /** When the hedge timer was due: firing much later means the event loop stalled. */
  #hedgeDue = 0
  /** The backoff the armed hedge timer runs with. */
  #hedgeBackoff = 1
  /**
   * When the hedge timer last acted (`Clock.now()`): the bounds up to then count as acted on.
   * When that action was a launch, bounds passed at that moment wait for the next hedge (at
   * most `hedge.max`): acting on them again at once would launch every 1 ms.
   */
  #decidedAt = Number.NEGATIVE_INFINITY
  /** Who answered, and when: a slower source's answer bounds a faster one's silence. */
  #answered: Answered[] = []
  /**
   * Armed only while nothing is in flight and the fan-out still waits (re-checks, a re-ask, an
   * inclusion check): with attempts in flight, the hedge timer fires by the deadline.
   */
  #deadlineTimer: unknown
  // Made on first use: most requests never need them.
  /** Re-check and re-ask timers: while one is armed, more answers are coming. */
  #timers: Set<unknown> | undefined
  /** "Not yet" re-checks made, per source. */
  #rechecks: Map<SourceState, number> | undefined
  /** Liveness probes of silent sources: false while one is in flight, true once settled. */
  #probed: Map<SourceState, boolean> | undefined
  /** The split was asked once more (`reask`). */
  #reasked = false
  /** The lone real answer's inclusion was checked once (`beatsNotYet`). */
  #inclusionAsked = false
  /** A lone real answer's inclusion was checked beside the re-checks (`refuteEarly`). */
  #earlyAsked = false
  /** That check could not place it on the agreed chain: one re-check, not two. */
  #loneUnplaced = false
  /** Sources whose "unknown block" is "not yet" (a node behind): no contradiction. */
  readonly #notYet = new Set<SourceState>()
  /** That check is running: what comes next waits for its verdict. */
  #checking = false

  constructor(
    ctx: FanOutContext,
    req: FanOutRequest,
    resolve: (r: FanOutResult) => void,
    reject: (e: unknown) => void,
  ) {
    this.#ctx = ctx
    this.#req = req
    this.#resolve = resolve
    this.#reject = reject
    this.#clock = ctx.clock ?? realClock
    this.tally = new Tally(req.need)
    const rounds = Math.max(1, req.roundTrips ?? 1)
    this.#expected = expectationFor(ctx.hedge, rounds)
    this.#candidates = req.candidates
    this.force = !!req.force
  }

  /** Makes sure the fan-out ends by its deadline while no hedge timer is armed for it. */
  #watchDeadline() {
    this.#deadlineTimer ??= this.#clock.setTimeout(
      () => this.#finish(undefined, this.#deadlineError()),
      Math.max(0, this.#req.deadline - this.#clock.now()),
    )
  }

  /** The best source of each of the first `need.domains` domains (and `need.sources`). */
  start() {
    const first = this.#req.initial ?? Math.max(this.#req.need.domains, this.#req.need.sources)
    let started = 0
    while (started < first && this.#launchNext(false)) started++
    if (started === 0) return this.#exhausted()
    this.#scheduleHedge()
  }

  #launch(s: SourceState): boolean {
    const probe = !this.force && s.breaker.state === 'half-open'
    if (!this.force && !s.breaker.tryAcquire()) return false
    this.launched.add(s)
    this.#attempts++
    const controller = new AbortController()
    const started = this.#clock.now()
    const wake = () => {
      if (!this.#done) this.#armHedge(Number.POSITIVE_INFINITY, 0, 1)
    }
    const a: Attempt = { s, controller, started, hedged: false, probe, reported: false, wake }
    this.inflight.add(a)
    s.waiters.add(wake)
    const req = this.#req
    const pending = req.call
      ? req.call(s, controller.signal)
      : this.#ctx.attempt(s, req.method, req.params, controller.signal)
    pending.then(
      (result) => this.#settle(a, result, undefined),
      (error) => this.#settle(a, undefined, error),
    )
    return true
  }

  /** Launches the next source; a speculative hedge (`extra`) must be paid from the retry budget. */
  #launchNext(extra: boolean): boolean {
    for (let s = pickNext(this.#candidates, this); s; s = pickNext(this.#candidates, this)) {
      if (extra && !this.#ctx.budget.tryWithdraw()) return false
      if (this.#launch(s)) return true
      this.launched.add(s) // lost its probe slot to another request; don't pick it again here
    }
    return false
  }

  /** Nothing in flight or about to be: the answers so far are all there will be. */
  #idle(): boolean {
    return this.inflight.size === 0 && !this.#timers?.size
  }

  /** Runs `fn` after `ms` unless the fan-out settled first; until then, it is not idle. */
  #later(ms: number, fn: () => void): void {
    this.#watchDeadline()
    this.#timers ??= new Set()
    const timers = this.#timers
    const timer = this.#clock.setTimeout(() => {
      timers.delete(timer)
      if (!this.#done) fn()
    }, ms)
    timers.add(timer)
  }

  /**
   * Arms the hedge timer for when the first attempt in flight is late (past its source's
   * expected latency). When it fires, the next source is asked: a replacement for an attempt
   * presumed lost (overdue) is a failover, any other launch is a speculative hedge. Once every
   * late attempt has its replacement, the timer re-arms for the slowest, backing off.
   */
  #scheduleHedge(backoff = 1) {
    if (this.#done || this.inflight.size === 0) return this.#clearHedge()
    const now = this.#clock.now()
    const wait = Math.min(
      hedgeDelay(this.inflight, this.#expected, now, this.#ctx.hedge, backoff, this.#decidedAt),
      Math.max(0, this.#req.deadline - now), // the deadline timer while attempts are in flight
    )
    // Armed for that very moment already (an answer came and the rest are due as before, the
    // common case of a quorum): the timer stands, rather than being cleared and set again.
    const armed = this.#hedgeTimer !== undefined
    if (armed && this.#hedgeDue === now + wait && this.#hedgeBackoff === backoff) return
    this.#armHedge(now + wait, wait, backoff)
  }

  /** Arms the hedge timer: the only one, any armed before is cleared. */
  #armHedge(due: number, wait: number, backoff: number) {
    this.#clearHedge()
    this.#hedgeDue = due
    this.#hedgeBackoff = backoff
    this.#hedgeTimer = this.#clock.setTimeout(() => {
      this.#hedgeTimer = undefined // fired: no longer armed
      this.#onHedgeTimer(backoff)
    }, wait)
  }

  #clearHedge() {
    this.#clock.clearTimeout(this.#hedgeTimer)
    this.#hedgeTimer = undefined
  }

  #onHedgeTimer(backoff: number) {
    if (this.#done) return
    const now = this.#clock.now()
    // With attempts in flight, this timer is also the deadline's (see `deadlineTimer`).
    if (now >= this.#req.deadline) return this.#finish(undefined, this.#deadlineError())
    // The loop stalled past the timer (a long task, a busy machine): answers may be waiting to
    // be read. Decide once they are, not before: a timer set now runs after pending I/O.
    if (now > this.#hedgeDue + STALL) return this.#armHedge(Number.POSITIVE_INFINITY, 0, backoff)
    this.#decidedAt = now
    const { late, failover } = lateAttempts(this.inflight, this.#expected, now)
    const asked = this.#launchNext(!failover)
    for (const a of late) a.hedged = true // replaced, or no one left to replace it with
    if (asked) return this.#scheduleHedge()
    // No one is left to ask. Overdue sources that have said nothing since are probed with a
    // cheap call, so that a slow answer is told from a dead source by the time it matters.
    const silent = [...this.inflight]
    const probed = this.#probeSilent(silent, now, backoff)
    // Every attempt in flight silent, probes included: settle with what came (degraded, a
    // quorum error, or every source's failure) now, not at the deadline.
    // Each attempt found lost: other requests stop counting on its source until it answers
    // something, and those waiting on it now are woken (sourceState `markSilent`).
    for (const a of silent)
      if (lost(a, this.#expected, now, probed, this.#answered)) markSilent(a.s, a.started)
    if (!allLost(silent, this.#expected, now, probed, !!this.#timers?.size, this.#answered))
      return this.#scheduleHedge(backoff * 2)
    for (const a of silent) {
      if (!a.reported) {
        a.reported = true
        this.#failures.push({ source: a.s.name, reason: `no answer after ${now - a.started} ms` })
      }
    }
    this.#exhausted()
  }

  /**
   * Probes each overdue source silent since its attempt began, once; when a probe settles, the
   * hedge step runs again. Returns the probes' state (undefined when sources are not probed).
   */
  #probeSilent(silent: readonly Attempt[], now: number, backoff: number) {
    const { probe } = this.#ctx
    if (!probe) return undefined
    this.#probed ??= new Map()
    const probed = this.#probed
    for (const s of toProbe(silent, this.#expected, now, probed)) {
      probed.set(s, false)
      probe(s).finally(() => {
        probed.set(s, true)
        if (!this.#done && this.inflight.size > 0) this.#onHedgeTimer(backoff)
      })
    }
    return probed
  }

  #settle(a: Attempt, result: unknown, error: unknown) {
    this.inflight.delete(a)
    a.s.waiters.delete(a.wake)
    if (a.probe) a.s.breaker.release() // harmless after success or failure, needed otherwise
    if (this.#done) return
    const s = a.s
    const verdict = judge(this.#req, s, result, error)
    let needMore = false
    if (verdict.kind === 'answer' || verdict.kind === 'nodeError')
      this.#answered.push({ s, at: this.#clock.now() })
    switch (verdict.kind) {
      case 'alone':
        return this.#finish({ value: result, sources: [s], domains: new Set([s.domain]) })
      case 'answer':
        this.#add(s, verdict.key, result)
        break
      case 'nodeError':
        if (verdict.notYet) this.#notYet.add(s)
        this.#add(s, verdict.key, undefined, verdict.error)
        break
      case 'failed':
        // A source's own reason (a custom source's error too): on one line, cut short.
        this.#failures.push({ source: s.name, reason: plain(verdict.reason) })
        if (verdict.callers)
          this.#callersErrors.push({
            error: error as RpcResponseError,
            // An untrusted source's word outvotes no one (docs/architecture.md, trust rules).
            domain: s.untrusted ? undefined : s.domain,
            s,
          })
        needMore = true
        break
      case 'rejected':
        this.#ctx.penalize(s, verdict.lie)
        this.#failures.push({ source: s.name, reason: verdict.lie.shortMessage })
        needMore = true
    }
    if (this.#done) return
    // A failure or a disagreement: ask the next source now (a failover, not a hedge).
    if (needMore || this.tally.size > 1) this.#launchNext(false)
    if (this.#idle() && !this.#launchNext(false)) return this.#exhausted()
    this.#scheduleHedge()
  }

  #add(s: SourceState, key: string, value: unknown, error?: RpcResponseError) {
    const g = this.tally.add(s, key, value, error)
    if (this.tally.agreed(g)) return this.#finish(g)
    this.#recheckPending()
    if (this.tally.size > 1) this.#ctx.onDisagreement(this.#req.method, this.#answers())
  }

  /** "Not yet" answers beside a real one: the chain moved on; ask those sources again shortly. */
  #recheckPending() {
    const isPending = this.#req.pending
    if (!isPending || !this.tally.hasReal(isPending)) return
    this.#refuteEarly(isPending)
    this.#rechecks ??= new Map()
    const rechecks = this.#rechecks
    for (const s of this.tally.notYet(isPending)) {
      const n = rechecks.get(s) ?? 0
      const delay = this.#loneUnplaced && n > 0 ? undefined : RECHECK_DELAYS[n]
      if (delay === undefined) continue
      rechecks.set(s, n + 1)
      this.tally.withdraw(s)
      this.#later(delay, () => {
        if (this.#launch(s)) return this.#scheduleHedge()
        if (this.#idle() && !this.#launchNext(false)) this.#exhausted()
      })
    }
    // A domain not asked yet settles it now, rather than after the re-check delays.
    this.#launchNext(false)
  }

  /**
   * Scrubbed, then cut: a cut made first could leave part of an echoed secret. Scrubbing shrinks
   * the text (each secret becomes `…`), so the window scrubbed grows until what it gives is
   * `SECRET_SPAN` past the 80 characters shown: no secret that the window's end cuts can then
   * reach them. A large answer costs a window, not its whole length, and once per answer. Then
   * `plain`: a string answer's newlines, escapes and bidi controls are shown as `\uXXXX`.
   */
  #show(value: unknown): string {
    const known = this.#shown.get(value)
    if (known !== undefined) return known
    const { redact } = this.#ctx
    let text = preview(value, Number.POSITIVE_INFINITY)
    for (let window = SECRET_SPAN + 1_024; redact; window *= 4) {
      const scrubbed = redact(text.slice(0, window))
      if (window >= text.length || scrubbed.length >= 80 + SECRET_SPAN) {
        text = scrubbed
        break
      }
    }
    const shown = plain(text, 80, preview)
    this.#shown.set(value, shown)
    return shown
  }

  #answers(): { source: string; domain: string; answer: string }[] {
    return this.tally.list((value) => this.#show(value))
  }

  /** No one is left to ask, and nothing is in flight: settle, or try what is left. */
  #exhausted() {
    if (this.#checking) return
    const reserve = this.#req.reserve?.filter((s) => !this.launched.has(s)) ?? []
    let next = whenExhausted(this.#exhaustion(reserve.length))
    if (next.do === 'askReserve') {
      this.#candidates = reserve
      this.force = true
      if (this.#launchNext(false)) return this.#scheduleHedge()
      next = whenExhausted(this.#exhaustion(0))
    }
    this.#act(next)
  }

  #exhaustion(reserve: number): Exhaustion {
    const groups = this.tally.all()
    return {
      groups,
      reserve,
      degrade: this.#req.degrade,
      contested: groups.length === 1 && this.tally.contested(groups[0]!, this.#req.pending),
      doubted:
        groups.length === 1 &&
        !!this.#req.beatsNotYet &&
        this.tally.doubted(groups[0]!, this.#req.pending ?? (() => false)),
      pending: this.#req.pending,
      inclusion: !!this.#req.beatsNotYet && !this.#inclusionAsked,
      includes: !!this.#req.beatsNotYet,
      callersErrors: this.#callersErrors,
      needDomains: this.#req.need.domains,
      failures: this.#failures.length,
      reasked: this.#reasked,
      inflight: this.inflight.size,
      now: this.#clock.now(),
      deadline: this.#req.deadline,
    }
  }

  #act(next: Exhausted) {
    const { method, need } = this.#req
    switch (next.do) {
      case 'askReserve':
        return // handled by `exhausted`
      case 'degrade':
        return this.#finish(next.group, undefined, true)
      case 'checkInclusion':
        return this.#checkInclusion(next.group)
      case 'callersError': {
        const e = next.error
        const message = e.reason
        const metaMessages = this.#failures.map((f) => `- ${f.source}: ${f.reason}`)
        return this.#finish(
          undefined,
          new ProviderRpcError(e.code, message, { data: e.data, metaMessages }),
        )
      }
      case 'allFailed':
        return this.#finish(undefined, new AllSourcesFailedError(method, this.#failures))
      case 'reask':
        return this.#reask()
      case 'quorumError':
        return this.#finish(
          undefined,
          new QuorumError(method, need.domains, this.#answers(), this.#failures),
        )
    }
  }

  /**
   * One real answer beside "not yet"s: it stands, degraded, if its inclusion checks. Proven
   * false, it is its sources' lie and leaves the tally: the "not yet"s are what is left.
   */
  #checkInclusion(lone: Group) {
    this.#inclusionAsked = true
    this.#checking = true
    this.#watchDeadline()
    // A re-check may have come due while the check ran: it goes on, and ends the fan-out.
    const again = () => {
      this.#checking = false
      if (!this.#done && this.#idle()) this.#exhausted()
    }
    this.#req.beatsNotYet!(lone.value).then((ok) => {
      this.#checking = false
      if (this.#done) return
      if (ok === true) return this.#finish(lone, undefined, true)
      if (ok) this.#refute(lone, ok.refuted)
      again()
    }, again)
  }

  /**
   * One real answer that "not yet"s from as many domains as an answer needs stand against: its
   * inclusion is checked at once, beside the re-checks. Proven false, it leaves the tally as its
   * sources' lie (a made-up receipt must not hold every poll up by a second of re-checks); not
   * placed on the agreed chain (a block above its head, or another chain's), the "not yet"s are
   * asked again once, not twice; standing, it waits for them, as any answer at the chain's edge.
   */
  #refuteEarly(isPending: (value: unknown) => boolean) {
    const real = this.tally.all().filter((g) => !g.error && !isPending(g.value))
    const lone = real.length === 1 ? real[0]! : undefined
    if (!lone || !this.#req.beatsNotYet || this.#earlyAsked) return
    if (this.tally.notYetDomains(isPending) < this.#req.need.domains) return
    this.#earlyAsked = true
    this.#req.beatsNotYet(lone.value).then(
      (ok) => {
        if (typeof ok === 'object') this.#refute(lone, ok.refuted)
        else if (!ok) this.#loneUnplaced = true
      },
      () => {},
    )
  }

  /** `g` was proven false: each of its sources lied, and it no longer counts. */
  #refute(g: Group, why: string) {
    if (!this.#done) this.tally.drop(g)
    for (const s of g.sources) {
      const lie = new SourceError(s.name, 'body', `${this.#req.method} answer rejected: ${why}`)
      if (this.#ctx.lie) this.#ctx.lie(s, `${this.#req.method}: ${why}`)
      else this.#ctx.penalize(s, lie)
      this.#failures.push({ source: s.name, reason: lie.shortMessage })
    }
  }

  /**
   * Split answers and no one left to ask: ask those who answered once more, shortly. A node a
   * moment behind its peers (a load balancer's backend, a block being imported) answers
   * again in step; a liar answers the same, and the split stands.
   */
  #reask() {
    this.#reasked = true
    const again = this.tally.clear()
    this.#later(REASK_DELAY, () => {
      for (const s of again) this.#launch(s)
      if (this.#idle()) return this.#exhausted()
      this.#scheduleHedge()
    })
  }

  #deadlineError(): DeadlineError {
    const now = this.#clock.now()
    const waiting = [...this.inflight].map((a) => ({
      source: a.s.name,
      reason: `no answer after ${now - a.started} ms`,
    }))
    return new DeadlineError(`No consistent answer to ${this.#req.method} before the deadline.`, {
      silent: this.tally.size === 0,
      metaMessages: [
        ...this.#answers().map((a) => `- ${a.source} (${a.domain}) answered ${a.answer}`),
        ...[...this.#failures, ...waiting].map((f) => `- ${f.source}: ${f.reason}`),
      ],
    })
  }

  #finish(g: Group | undefined, error?: Error, degraded = false) {
    if (this.#done) return
    this.#done = true
    const clock = this.#clock
    const ctx = this.#ctx
    this.#clearHedge()
    clock.clearTimeout(this.#deadlineTimer)
    if (this.#timers) for (const t of this.#timers) clock.clearTimeout(t)
    this.#timers?.clear()
    const now = clock.now()
    for (const a of this.inflight) {
      const late = overdue(a, this.#expected, now)
      a.controller.abort()
      a.s.waiters.delete(a.wake)
      // Late when others answered, or still silent at the deadline: a timeout of that source.
      if (late) {
        const why = g ? 'slow: others answered first' : 'silent until the deadline'
        ctx.penalize(a.s, new SourceError(a.s.name, 'timeout', why))
      }
    }
    this.inflight.clear()
    if (!g) return this.#reject(error)
    const { method } = this.#req
    // Sources that contradicted the agreed answer lose standing (a liar opens its breaker); not
    // a result beside a halt for want of gas under the nodes' own caps (nodeErrors.ts `capped`).
    if (!degraded && !capped(g.error))
      for (const s of this.tally.contradicting(g, this.#notYet))
        ctx.penalize(s, new SourceError(s.name, 'body', `${method}: disagreed with the quorum`))
    // So do those that called params invalid (-32602: the caller's failure, uncharged) where
    // domains enough agreed on an answer (reviewOfSession39e). Not beside one domain's answer, a
    // lone or a degraded one: a liar that answers params every honest node refuses framed them
    // all, their breakers opened and its word was left (reviewOfSession39g).
    if (g.error === undefined && !degraded && g.domains.size >= 2)
      for (const c of this.#callersErrors)
        if (c.error.code === -32602 && !g.domains.has(c.s.domain))
          ctx.penalize(
            c.s,
            new SourceError(c.s.name, 'body', `${method}: -32602 to params answered`),
          )
    this.#resolve({
      value: g.value,
      error: g.error,
      sources: g.sources.map((s) => s.name),
      domains: [...g.domains],
      degraded,
      attempts: this.#attempts,
    })
  }
}
