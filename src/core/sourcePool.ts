import { raceAbort } from '../shared/abort.ts'
import {
  ChainMismatchError,
  ProviderRpcError,
  RpcResponseError,
  SourceError,
} from '../shared/errors.ts'
import { serves } from '../shared/route.ts'
import type { Hex } from '../shared/types.ts'
import { yieldToEventLoop } from '../shared/yield.ts'
import { isLarge, measureShape, screen } from './bounds.ts'
import type { ResolvedConfig } from './config.ts'
import type { Emitter } from './emitter.ts'
import type { OutlastEvents } from './events.ts'
import type { logsWithin } from './logQuery.ts'
import { isNodeAnswer } from './nodeErrors.ts'
import { classify, isCallersError, type MethodPolicy } from './policy.ts'
import {
  aboveHeadOf,
  blockOfRead,
  isPruned,
  isUnknownBlock,
  namesNoBlock,
  notePruned,
  notYetImported,
  prunedAt,
  recentRead,
  unconfirmedBlock,
} from './pruned.ts'
import {
  conditionOf,
  createSourceState,
  lastAttemptFailed,
  recordFailure,
  recordSuccess,
  type SourceCondition,
  type SourceState,
  score,
  silent,
} from './sourceState.ts'
import { invalidResult, withoutUnchecked } from './validate.ts'

export type SourcePool = {
  readonly states: readonly SourceState[]
  /** One attempt at one source: chain check, shape check, health accounting, events. */
  attempt(s: SourceState, method: string, params: unknown[], signal: AbortSignal): Promise<unknown>
  /** Checks the chain id now (or in the background if the source was already right). */
  checkChain(s: SourceState): Promise<void>
  /** May the source take a request now? (right chain, not rate-limited, breaker allows) */
  eligible(s: SourceState): boolean
  /**
   * Up: eligible, with a head, its latest attempt answered (not failed, not presumed lost). Not
   * "answered lately": a slow source could then age the others out. A domain none of whose
   * sources is up is out: streams flow, and reads go, to the last domain standing.
   */
  up(s: SourceState): boolean
  /**
   * Eligible sources, best first; for head-dependent reads without lagging or forked ones;
   * untrusted ones only for answers checked alone (`checkedAlone`).
   */
  ranked(headDependent: boolean, checkedAlone?: boolean): SourceState[]
  /**
   * When no source is eligible: those only held back by an open breaker or by our own guess of a
   * 429 backoff, best first, so that a request is tried rather than refused while they cool off.
   */
  lastResort(headDependent: boolean, checkedAlone?: boolean): SourceState[]
  /** Counts a failure the engine found (a lie, a slow loser) against a source. */
  penalize(s: SourceState, error: SourceError): void
  /** Cuts a source off for `lieCooloff` ms: it sent data that failed a proof or a hash check. */
  markLying(s: SourceState, reason: string): void
  /** Re-evaluates every source's condition (after the head moved). */
  refreshConditions(): void
  /** Every source's secrets removed from a text the engine shows (a node may echo its key). */
  redact(text: string): string
}

/** Conditions in which a source still counts as reachable for EIP-1193 connect/disconnect. */
const REACHABLE: ReadonlySet<SourceCondition> = new Set([
  'healthy',
  'degraded',
  'probing',
  'lagging',
  'unknown',
])

/**
 * Not on the agreed chain's tip: forked, lagging, stale or from the future by its head's
 * timestamp, or ahead where no other domain confirms.
 */
const offChain = (s: SourceState, maxLag: number) =>
  s.forked || s.unconfirmed || s.lag > maxLag || s.headVerdict !== undefined

/** The head verdict's reason, when it is what puts the source in condition `to`. */
const headReason = (s: SourceState, to: SourceCondition) =>
  (s.headVerdict?.kind === 'stale' && to === 'lagging') ||
  (s.headVerdict?.kind === 'future' && to === 'unconfirmed')
    ? s.headVerdict.reason
    : undefined

/** On probation (half-open) or silent since an attempt was presumed lost: asked last. */
const probation = (s: SourceState) => (s.breaker.state === 'half-open' || silent(s) ? 1 : 0)

export function createSourcePool(
  config: ResolvedConfig,
  events: Emitter<OutlastEvents>,
  /** Is a block hash the confirmed chain's (the head tracker's `holds`)? */
  holds: (hash: string) => boolean = () => false,
  /** The height of a block hash the head tracker kept (`heightOf`). */
  heightOf: (hash: string) => number | undefined = () => undefined,
): SourcePool {
  const states = config.sources.map((s) => createSourceState(s, config.breaker))
  const redact = (text: string) => states.reduce((t, s) => s.source.config.redact?.(t) ?? t, text)
  const updateCondition = conditionsTold(config, events, states, redact)
  const checkChain = chainChecker(config, updateCondition)
  const attempt = attempter(config, { holds, heightOf }, checkChain, updateCondition, events)

  const eligible = (s: SourceState, now = Date.now()) =>
    s.chain !== 'mismatch' &&
    s.rateLimitedUntil <= now &&
    s.lyingUntil <= now &&
    s.breaker.available

  return {
    states,
    attempt,
    checkChain,
    eligible: (s) => eligible(s),
    up: (s) => eligible(s) && !!s.head && !lastAttemptFailed(s),
    ranked(headDependent, checkedAlone = false) {
      const now = Date.now()
      return (
        states
          .filter(
            (s) =>
              (checkedAlone || !s.untrusted) &&
              eligible(s, now) &&
              !(headDependent && offChain(s, config.maxLag)),
          )
          // A source on probation (half-open) goes last: requests are not held up by its probe;
          // head polls probe it and close its breaker once it answers again.
          .sort((a, b) => probation(a) - probation(b) || score(a) - score(b))
      )
    },
    lastResort(headDependent, checkedAlone = false) {
      const now = Date.now()
      return states
        .filter(
          (s) =>
            (checkedAlone || !s.untrusted) &&
            s.chain !== 'mismatch' &&
            // Our own 429 backoff is a guess; a `Retry-After` the source announced is kept.
            (s.rateLimitedUntil <= now || s.announcedUntil <= now) &&
            s.lyingUntil <= now &&
            !(headDependent && offChain(s, config.maxLag)),
        )
        .sort((a, b) => score(a) - score(b))
    },
    penalize(s, error) {
      recordFailure(s, error)
      updateCondition(s)
    },
    markLying(s, told) {
      // A reason quotes what the source answered: its own key, echoed, is taken out.
      const reason = redact(told)
      s.failures++
      s.lyingUntil = Date.now() + config.lieCooloff
      s.lastError = `lied: ${reason}`
      s.breaker.trip(config.lieCooloff)
      events.emit('lie', { source: s.name, domain: s.domain, reason })
      updateCondition(s)
    },
    refreshConditions() {
      for (const s of states) updateCondition(s)
    },
    redact,
  }
}

/** Re-evaluates a source's condition; `reason` is told with a change (else its own). */
type UpdateCondition = (s: SourceState, reason?: string) => void

/**
 * `updateCondition(s, reason?)` over `states`: re-evaluates a source's condition and tells of a
 * change (`source`), and of the pool going down or up again (`disconnect`, `connect`).
 */
function conditionsTold(
  config: ResolvedConfig,
  events: Emitter<OutlastEvents>,
  states: readonly SourceState[],
  redact: (text: string) => string,
): UpdateCondition {
  const chainHex = `0x${config.chainId.toString(16)}` as Hex
  let connected = true
  /** The head verdict each source's last `source` event told of. */
  const told = new Map<SourceState, string | undefined>()
  return (s, reason) => {
    const to = conditionOf(s, config.maxLag)
    const why = headReason(s, to)
    const verdict = why === undefined ? undefined : s.headVerdict?.kind
    const before = told.get(s)
    told.set(s, verdict)
    // A lagging source found stale later is told of again (from = to), with the reason.
    if (to === s.condition && (verdict === undefined || verdict === before)) return
    const from = s.condition
    s.condition = to
    const said = reason ?? why ?? s.lastError
    events.emit('source', {
      source: s.name,
      domain: s.domain,
      from,
      to,
      reason: said && redact(said),
    })
    const up = states.some((x) => REACHABLE.has(x.condition))
    if (connected && !up) {
      connected = false
      events.emit('disconnect', new ProviderRpcError(4900, 'Every source is down.'))
    } else if (!connected && up) {
      connected = true
      events.emit('connect', { chainId: chainHex })
    }
  }
}

/** `checkChain(s)`: the chain id checked now (in the background if it was right before). */
function chainChecker(
  config: ResolvedConfig,
  updateCondition: UpdateCondition,
): SourcePool['checkChain'] {
  return (s) => {
    const stale = Date.now() - s.chainCheckedAt > config.chainCheckInterval
    if (s.chain === 'ok' && !stale) return Promise.resolve()
    s.chainCheck ??= (async () => {
      const started = Date.now()
      try {
        const answer = await s.source.request({ method: 'eth_chainId', params: [] })
        const bad = invalidResult('eth_chainId', answer)
        if (bad) throw new SourceError(s.name, 'body', `eth_chainId answer ${bad}`)
        recordSuccess(s, Date.now() - started)
        s.chainCheckedAt = Date.now()
        const actual = Number.parseInt(answer as string, 16)
        if (actual !== config.chainId) {
          s.chain = 'mismatch'
          const error = new ChainMismatchError(s.name, config.chainId, actual)
          s.lastError = error.reason
          updateCondition(s, error.shortMessage)
          throw error
        }
        s.chain = 'ok'
      } catch (error) {
        if (!(error instanceof ChainMismatchError)) recordFailure(s, error)
        updateCondition(s)
        throw error
      } finally {
        s.chainCheck = undefined
      }
    })()
    // A periodic re-check of a source already known to be right runs in the background.
    if (s.chain === 'ok') {
      s.chainCheck.catch(() => {})
      return Promise.resolve()
    }
    return s.chainCheck
  }
}

/** `attempt(s, method, params, signal)`: one attempt at one source (see `SourcePool.attempt`). */
function attempter(
  config: ResolvedConfig,
  {
    holds,
    heightOf,
  }: { holds: (hash: string) => boolean; heightOf: (hash: string) => number | undefined },
  checkChain: SourcePool['checkChain'],
  updateCondition: UpdateCondition,
  events: Emitter<OutlastEvents>,
): SourcePool['attempt'] {
  const told = (s: SourceState, method: string, ms: number, kind?: string) => {
    if (events.listenerCount('attempt') === 0) return
    events.emit('attempt', { source: s.name, domain: s.domain, method, ms, ok: !kind, kind })
  }
  return async (s, method, params, signal) => {
    const policy = classify(method, config.policies)
    const block = blockOfRead(params, policy.blockParam)
    const skip = notAsked(s, method, block)
    if (skip) throw skip
    const unchecked = s.chain !== 'ok' || Date.now() - s.chainCheckedAt > config.chainCheckInterval
    const check = unchecked ? checkChain(s) : undefined
    // The check's own failure is counted by the check; a deadline of ours that ends the wait
    // for it (a cold dial slower than a head poll may take) is this attempt's, counted below.
    let chainError: unknown
    check?.catch((error: unknown) => {
      chainError = error
    })
    const checked =
      check &&
      raceAbort(check, signal, () => new SourceError(s.name, 'aborted', 'attempt cancelled'))
    // A read goes out beside the chain check (a cold start pays one round trip, not two) and is
    // used only once the check passed; a broadcast waits for it: a wrong chain never sees it. A
    // send the app declared otherwise (`single`) is still a signed transaction: it waits too.
    if (checked && (policy.class === 'broadcast' || classify(method).class === 'broadcast'))
      await checked
    // A log query's splitting loads first, outside the accounting: a chunk the page's host
    // failed to serve is no source's failure.
    const split = method === 'eth_getLogs' ? (await import('./logQuery.ts')).logsWithin : undefined
    s.requests++
    const started = Date.now()
    try {
      const sent = send(s, method, params, signal, split)
      // Beside a chain check, the answer is used once both are in (a failed check fails it).
      const result = checked ? (await Promise.all([sent, checked]))[0] : await sent
      const ms = Date.now() - started
      // Bounded (depth, width, size) before anything reads it; a large answer lets the event
      // loop turn first, so that other sources' answers and timers are not held up.
      const shape = measureShape(result)
      if (isLarge(shape)) await yieldToEventLoop()
      const bad = shape.reason ?? invalidResult(method, result)
      if (bad) throw new SourceError(s.name, 'body', `${method} answer ${bad}`)
      recordSuccess(s, ms)
      told(s, method, ms)
      return withoutUnchecked(method, result)
    } catch (error) {
      if (error === chainError) throw error // counted by the check itself
      const recent = recentRead(s, block, params, heightOf)
      const err = await failureOf(s, error, method, signal, recent)
      if (err.kind === 'unserved') notePruned(s, block)
      const ms = Date.now() - started
      if (working(s, err, method, params, policy, holds)) {
        recordSuccess(s, ms)
        told(s, method, ms)
      } else if (isCallersError(method, err)) {
        // The caller's (a method nodes lack, params they cannot read): no one's failure, and no
        // success either: a source that says so where another domain answers is charged then
        // (fanOut.ts `#finish`), and a success here would undo its charge.
        told(s, method, ms)
      } else {
        recordFailure(s, err)
        told(s, method, ms, err.kind)
      }
      throw err
    } finally {
      updateCondition(s)
    }
  }
}

/**
 * `err` says the node is working, no failure of its: a revert, a prompt one; any node error that
 * is no "cannot serve now" (-32003 "insufficient funds…": nodeErrors.ts; charged as failures,
 * honest domains' breakers opened for refusing a caller's call, leaving a liar the last domain);
 * state it pruned; a node's verdict on a transaction ("already known", "nonce too low"); and
 * "unknown block" from a node behind the agreed head that never said it had that block (not yet
 * imported), or for a block that is not the confirmed chain's (one source's claim, one a reorg
 * took, one made up).
 */
function working(
  s: SourceState,
  err: SourceError,
  method: string,
  params: unknown[],
  policy: MethodPolicy,
  holds: (hash: string) => boolean,
): boolean {
  return (
    err.kind === 'unserved' ||
    ((isUnknownBlock(err) || isPruned(err)) &&
      !namesNoBlock(method) &&
      (notYetImported(s, params) ||
        unconfirmedBlock(params, holds) ||
        aboveHeadOf(s, method, params, policy.blockParam))) ||
    isNodeAnswer(err, method) ||
    (err instanceof RpcResponseError && policy.class === 'broadcast')
  )
}

/**
 * Why `s` is not asked at all, which is no failure of its: the method is outside its route, or
 * the read is at state it told us it pruned (not asked again for a block that old).
 */
function notAsked(s: SourceState, method: string, block: number | undefined) {
  if (!serves(s.source.config.methods, method))
    return new SourceError(s.name, 'unavailable', `${method} is not routed to this source`)
  if (prunedAt(s, block))
    return new SourceError(s.name, 'unserved', `state at block ${block} is pruned on this node`)
  return undefined
}

/**
 * The call itself. A log query is split to fit the source's range limits, its parts joined in
 * order (`split`: loaded with the first log query, a dApp that reads no logs never carries it).
 */
function send(
  s: SourceState,
  method: string,
  params: unknown[],
  signal: AbortSignal,
  split?: typeof logsWithin,
) {
  const ask = (p: unknown[]) => s.source.request({ method, params: p }, { signal })
  return split ? split(s, params[0], (filter) => ask([filter, ...params.slice(1)])) : ask(params)
}

/** What went wrong in an attempt at `s`, as the engine counts it. */
async function failureOf(
  s: SourceState,
  error: unknown,
  method: string,
  signal: AbortSignal,
  recent: boolean,
): Promise<SourceError> {
  const err =
    error instanceof SourceError ? error : new SourceError(s.name, 'network', String(error))
  // An error's data is read too (compared, shown): bounded like a result, else malformed.
  const badData = err instanceof RpcResponseError ? await screen(err.data) : undefined
  if (badData) return new SourceError(s.name, 'body', `${method} answer's error data ${badData}`)
  // Cancelled by a deadline of ours (a head poll's timeout): the source was too slow.
  if (err.kind === 'aborted' && (signal.reason as Error | undefined)?.name === 'TimeoutError')
    return new SourceError(s.name, 'timeout', `no answer within the poll's time limit`)
  // Old state this node no longer keeps: for the sources that have it, and no fault of its.
  // Not at a block every node keeps (`recentRead`): there it is a refusal like another.
  if (isPruned(err) && !recent)
    return new SourceError(s.name, 'unserved', `${err.reason} (state not kept here)`)
  return err
}
