/**
 * The proof path: one source's data checked against a trusted header (`outlast/proofs`,
 * `outlast/execute`). It says what happened rather than throwing past the caller: proven, a
 * revert the prover executed itself, or nothing to prove with (then the read goes to quorum).
 * A source whose data fails the proof is cut off (one whose proof missed the trusted root is asked
 * once more first, when no proof passed); if only liars answered, the error names them.
 */

import { raceAbort } from '../../shared/abort.ts'
import {
  DeadlineError,
  RpcResponseError,
  SourceError,
  UnanchoredProofError,
  VerificationError,
} from '../../shared/errors.ts'
import type { Answer, Call, Engine } from '../engine.ts'
import { fanOut } from '../fanOut.ts'
import type { Prover } from '../prover.ts'
import type { SourceState } from '../sourceState.ts'
import type { TrustedHeader, TrustStore } from '../trust.ts'
import { onAgreedChain as isAgreed } from './agreedChain.ts'

export type ProofOutcome =
  | { kind: 'proven'; answer: Answer }
  /** The prover executed the call itself and it reverted: that error is the answer. */
  | { kind: 'reverted'; error: RpcResponseError }
  /** Nothing to prove with here (no trusted header, no data, every domain unanchored): quorum. */
  | { kind: 'quorum' }

/** A failed proof: a lie, unless every domain's proof missed the trusted root the same way. */
type Failure = { s: SourceState; why: string; unanchored: boolean; round: 1 | 2 }

export async function prove(engine: Engine, prover: Prover, c: Call): Promise<ProofOutcome> {
  const { method, params } = c
  const trust = await engine.trust!()
  let header: TrustedHeader | undefined
  if (prover.stateMethods.has(method)) {
    // A height below the kept heads is walked down to (trust.ts `ancestorAt`): one that takes
    // half the time left is no header, the walk stops, and the read goes to quorum while it can.
    const giveUp = AbortSignal.timeout(Math.max(0, Math.floor((c.deadline - Date.now()) / 2)))
    header = await raceAbort(
      trustedHeaderFor(engine, params[c.policy.blockParam ?? params.length], giveUp),
      giveUp,
      () => new DeadlineError(`No trusted header for ${method} in time.`),
    ).catch(() => undefined)
    if (!header) return { kind: 'quorum' }
  }
  const failed: Failure[] = []
  const ask = (round: 1 | 2, from: readonly SourceState[], force: boolean) =>
    fanOut(engine.fan, {
      method,
      params,
      // Not the reserve: a request no source can prove goes to quorum, not to cut-off sources.
      candidates: from,
      force,
      need: { sources: 1, domains: 1 },
      // The second round asks every source at once: each gets its verdict.
      initial: round === 1 ? 1 : from.length,
      roundTrips: prover.roundTrips?.(method) ?? 1,
      call: proofAttempt(engine, prover, c, header, trust, failed, round),
      standsAlone: () => true,
      degrade: true,
      deadline: c.deadline,
    })
  // Every answer here is checked against the trusted header: untrusted sources may serve it.
  const { candidates, force } = engine.candidatesFor(header !== undefined, true)
  let again = new Set<SourceState>()
  try {
    const r = await ask(1, candidates, force).catch((error: unknown) => {
      // No proof passed. An honest node can send a proof of state that moved under it (anvil
      // reads its head block's state live while mining the next): those whose proof missed the
      // trusted root are asked once more before any is called a liar, checked like the first.
      again = new Set(failed.filter((f) => f.unanchored).map((f) => f.s))
      if (again.size === 0 || error instanceof DeadlineError || Date.now() >= c.deadline)
        throw error
      // If none passes, the first round's error stands: it names every source.
      return ask(2, [...again], true).catch(() => {
        throw error
      })
    })
    // Another source's data passed the same proof: those that failed it lied; one asked again
    // is judged by its second answer (one cancelled when the proof passed elsewhere, not at all).
    for (const f of failed)
      if (f.round === 2 || !again.has(f.s)) engine.pool.markLying(f.s, `${method}: ${f.why}`)
    if (r.value instanceof Reverted) return { kind: 'reverted', error: r.value.error }
    const block = header ? { block: { number: header.number, hash: header.hash } } : {}
    const meta = c.meta({
      consistency: 'proven',
      sources: r.sources,
      domains: r.domains,
      attempts: r.attempts,
      ...block,
    })
    return { kind: 'proven', answer: { result: r.value, meta } }
  } catch (error) {
    // Only a root that quorum alone vouched for may fall back to quorum (below).
    return blame(engine, method, lastOfEach(failed), error, header?.via === 'agreed')
  }
}

/**
 * One source's attempt in `round`: the prover's answer from that source's data, or what its
 * failure is (`failure`, a failed proof recorded in `failed`).
 */
function proofAttempt(
  engine: Engine,
  prover: Prover,
  { method, params }: Call,
  header: TrustedHeader | undefined,
  trust: TrustStore,
  failed: Failure[],
  round: 1 | 2,
) {
  // A source's own error passed through by the prover is not a proven answer (only an error the
  // prover made itself, such as a revert it executed, is).
  const fromSources = new WeakSet<object>()
  return async (s: SourceState, signal: AbortSignal) => {
    try {
      const answer = await prover.answer(method, params, {
        header,
        trusted: onAgreedChain(engine, trust),
        head: () => trustedHeaderFor(engine, 'latest'),
        chainId: engine.config.chainId,
        signal,
        call: (m, p) =>
          engine.pool.attempt(s, m, p, signal).catch((error: unknown) => {
            if (error instanceof Error) fromSources.add(error)
            throw error
          }),
      })
      if (answer === undefined)
        throw new SourceError(s.name, 'unavailable', 'nothing to prove with')
      return answer
    } catch (error) {
      // A revert the prover executed is its answer, whoever's data it ran over (untrusted too).
      if (error instanceof RpcResponseError && !fromSources.has(error)) return new Reverted(error)
      throw failure(s, error, fromSources, failed, round)
    }
  }
}

/** The answer of a call the prover executed and saw revert: a node's error, checked here. */
class Reverted {
  readonly error: RpcResponseError
  constructor(error: RpcResponseError) {
    this.error = error
  }
}

/** Each source's latest failed proof: its second, when it was asked again and failed again. */
function lastOfEach(failed: readonly Failure[]): Failure[] {
  const last = new Map<SourceState, Failure>()
  for (const f of failed) if ((last.get(f.s)?.round ?? 0) <= f.round) last.set(f.s, f)
  return [...last.values()]
}

/**
 * No proof passed. Only trusted sources' failures speak for a domain; an untrusted one's failed
 * proof is its own lie and decides nothing else.
 */
function blame(
  engine: Engine,
  method: string,
  failed: readonly Failure[],
  error: unknown,
  quorumRoot: boolean,
): ProofOutcome {
  const trusted = failed.filter((f) => !f.s.untrusted)
  // Domains whose proofs missed the trusted root the same way, in two domains or more: a state
  // that cannot be proven here (anvil's genesis), not a lie. Say so, and answer by quorum, when
  // the root itself rests on the domains' agreement; a root a light client or a checkpoint
  // vouched for is the truth whatever every domain says, so the read fails instead (liars in
  // every domain, each proving another block, must not get their agreed value back). Any other
  // failure (a proof that contradicts its own claim, one unanchored another way) is that
  // source's lie: one domain's lie does not make the others' alike failures lies too.
  const alike = alikeUnanchored(trusted)
  const unprovable = alike.domains.length >= 2
  for (const f of failed)
    if (!(unprovable && alike.failures.includes(f)))
      engine.pool.markLying(f.s, `${method}: ${f.why}`)
  if (unprovable) {
    engine.events.emit('unproven', { method, reason: alike.why, domains: alike.domains })
    if (quorumRoot) return { kind: 'quorum' }
    throw error
  }
  if (trusted.length > 0) throw error // only liars answered: say so rather than trust a vote
  return { kind: 'quorum' }
}

/** The unanchored failures that read alike across the most domains (trusted sources only). */
function alikeUnanchored(trusted: readonly Failure[]) {
  let best = { why: '', failures: [] as Failure[], domains: [] as string[] }
  for (const why of new Set(trusted.filter((f) => f.unanchored).map((f) => f.why))) {
    const failures = trusted.filter((f) => f.unanchored && f.why === why)
    const domains = [...new Set(failures.map((f) => f.s.domain))]
    if (domains.length > best.domains.length) best = { why, failures, domains }
  }
  return best
}

/** What one source's failed attempt becomes: its own error, "cannot prove", or a failed proof. */
function failure(
  s: SourceState,
  error: unknown,
  fromSources: WeakSet<object>,
  failed: Failure[],
  round: 1 | 2,
): unknown {
  if (error instanceof RpcResponseError && fromSources.has(error))
    return new SourceError(s.name, 'unavailable', `cannot prove: ${error.reason}`)
  if (!(error instanceof VerificationError)) return error
  const unanchored = error instanceof UnanchoredProofError
  failed.push({ s, why: error.shortMessage, unanchored, round })
  return new SourceError(s.name, 'body', `failed the proof: ${error.shortMessage}`)
}

/**
 * `trust.resolve`, less headers the agreed chain has since left: a header trusted because the
 * domains once agreed on it (or as an ancestor of one) is no proof of a block, a transaction's
 * inclusion or a receipt once the agreed chain holds another block at its height (a reorg), or
 * none (a rollback below it); a source may still serve the dropped block, correctly hashed.
 * Checked against the heights the head tracker keeps, else by walking down from the confirmed
 * head by parent hash. A checkpoint or a light client's header stands on its own.
 */
function onAgreedChain(engine: Engine, trust: TrustStore) {
  return async (hash: string): Promise<TrustedHeader | undefined> => {
    const h = await trust.resolve(hash)
    if (!h || h.via === 'checkpoint' || h.via === 'light-client') return h
    return (await onChain(engine, trust, h)) ? h : undefined
  }
}

/** Is `h` on the agreed chain? What cannot be told is no proof. */
async function onChain(engine: Engine, trust: TrustStore, h: TrustedHeader): Promise<boolean> {
  const known = engine.head.hashAt(h.number)
  if (known !== undefined) return known.toLowerCase() === h.hash
  // Under a light client, agreed heads are not trusted: every header trusted as an ancestor
  // descends from one it verified (or a checkpoint).
  if (engine.config.trustedHeader) return true
  // Not kept (the head jumped past it, it is older than the kept heights, or a rollback dropped
  // it): it must lie below the confirmed head, walked down by parent hash; where the walk cannot
  // tell (too deep, a header that cannot be had), the domains are asked (agreedChain.ts).
  const confirmed = engine.head.confirmedHead()
  if (!confirmed) return true // nothing agreed yet: an ancestor of a checkpoint's header
  const top = await trust.resolve(confirmed.hash)
  const below = top && (await trust.descends(top, h).catch(() => undefined))
  if (below !== undefined) return below
  if (h.number > confirmed.number) return false
  return isAgreed(engine, h.number, h.hash).catch(() => false)
}

/**
 * The trusted header for a block parameter: the agreed head's (or the newest trusted), a hash, a
 * number (walked down to until `signal` aborts).
 */
/** The newest trusted header at the head: a light client's, else the agreed head's, else the newest kept. */
async function topHeader(engine: Engine, trust: TrustStore): Promise<TrustedHeader | undefined> {
  // A light client's newest verified block, when there is one: what sources agree on is
  // not proof that a block is real (docs/architecture.md, trust rules).
  if (engine.config.trustedHeader) return trust.latest()
  const h = await engine.head.get().catch(() => undefined)
  const head = h && trust.get(h.hash)
  if (head) return head
  // No trusted header for the head (one domain backs it, or none answers): the newest trusted
  // one, if the agreed chain still holds it (not a block a rollback dropped).
  const newest = trust.newest()
  return newest && onAgreedChain(engine, trust)(newest.hash)
}

export async function trustedHeaderFor(
  engine: Engine,
  tag: unknown,
  signal?: AbortSignal,
): Promise<TrustedHeader | undefined> {
  const trust = await engine.trust?.()
  if (!trust) return undefined
  if (tag === undefined || tag === 'latest') {
    // Not below a block the caller was shown (a receipt the domains agreed on) while the agreed
    // head is: its trusted header, else none (the read is agreed there instead), never the
    // state before the caller's own transaction, proven (reviewOfSession39d).
    // Nor at a block the domains are split over (head.ts `contested`: reviewOfSession40e 1, 40g).
    if (engine.config.trustedHeader) return topHeader(engine, trust)
    const shown = engine.head.shownAbove()
    const top = shown ? trust.get(shown.hash) : await topHeader(engine, trust)
    return top && !engine.head.contested(top) ? top : undefined
  }
  if (tag && typeof tag === 'object' && 'blockHash' in tag)
    // EIP-1898: with `requireCanonical`, a block the agreed chain no longer holds is an error.
    return 'requireCanonical' in tag && tag.requireCanonical === true
      ? onAgreedChain(engine, trust)(String(tag.blockHash))
      : trust.resolve(String(tag.blockHash))
  if (typeof tag === 'string' && /^0x[0-9a-fA-F]{64}$/.test(tag)) return trust.resolve(tag)
  if (typeof tag === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(tag)) {
    const n = Number.parseInt(tag, 16)
    // A light client's block at that height, if it verified one: not what the domains agree on.
    const verified = engine.config.trustedHeader && (await trust.verifiedAt(n))
    if (verified) return verified
    const hash = engine.head.hashAt(n)
    if (hash) return trust.resolve(hash)
    // A height the head tracker did not keep (a wallet's "balance at block n"): walked down by
    // parent hash from the head's trusted header, so one honest source can still prove it.
    // (From the head's, not the shown block's: that one may have no trusted header yet, and an
    // older block is below either: reviewOfWiderQuorums b failed in CI on it.)
    const top = await topHeader(engine, trust)
    return top && trust.ancestorAt(top, n, signal)
  }
  return undefined
}
