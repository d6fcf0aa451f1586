/** Which sources a request may ask, and how many domains must agree: pure functions of state. */

import { QuorumLostError } from '../shared/errors.ts'
import { serves } from '../shared/route.ts'
import type { ResolvedConfig } from './config.ts'
import type { Need } from './fanOut.ts'
import type { SourcePool } from './sourcePool.ts'
import { type SourceState, silent } from './sourceState.ts'

/**
 * Eligible sources, or as a last resort those held back by an open breaker or our own 429
 * backoff (then asked anyway); those are also the reserve when every eligible source fails.
 * Untrusted sources only where every answer is checked alone (`checkedAlone`: proofs, blocks by
 * hash); even there an answer of theirs that does not stand alone counts for nothing (tally.ts).
 */
export function candidatesFor(
  pool: SourcePool,
  headDependent: boolean,
  checkedAlone = false,
  method?: string,
) {
  // Sources whose route leaves the method out are not asked (`SourceConfig.methods`).
  const routed = (s: SourceState) => method === undefined || serves(s.source.config.methods, method)
  const ranked = pool.ranked(headDependent, checkedAlone).filter(routed)
  const last = pool.lastResort(headDependent, checkedAlone).filter(routed)
  if (ranked.length === 0) {
    // None eligible at the agreed chain's tip. A domain back from an outage with a burst of
    // blocks (further than the chain's pace allows: `unconfirmed`) has every block the others
    // agreed on: while every other source is down (none `up`: as heldBack.ts, so a block the
    // stream delivered is not refused), it is asked first, as the one domain up (degraded);
    // never one on a fork or lagging, nor beside a source that is up.
    const ahead = pool
      .lastResort(false, checkedAlone)
      .filter((s) => headDependent && s.unconfirmed && !s.lag && !s.forked && !s.headVerdict)
    const alone = pool.states.every((s) => ahead.includes(s) || !pool.up(s))
    return { candidates: [...(alone ? ahead : []), ...last].filter(routed), force: true }
  }
  return { candidates: ranked, force: false, reserve: last.filter((s) => !ranked.includes(s)) }
}

/** The quorum for this request, reduced (and flagged) when fewer domains are left. */
export function needFor(
  config: Pick<ResolvedConfig, 'quorum' | 'onQuorumLoss'>,
  candidates: readonly SourceState[],
  method: string,
): { need: Need; degraded: boolean } {
  // A domain whose only sources are on probation (half-open) or silent (an attempt presumed
  // lost, nothing heard since) is not counted on: waiting for it would hold every request up;
  // head polls keep asking it and bring it back once it answers.
  // Untrusted sources never count toward a quorum: their domains are left out.
  const trusted = candidates.filter((s) => !s.untrusted)
  const firm = trusted.filter((s) => s.breaker.state !== 'half-open' && !silent(s))
  const counted = config.onQuorumLoss === 'degrade' && firm.length > 0 ? firm : trusted
  const domains = new Set(counted.map((s) => s.domain))
  const need: Need = { ...config.quorum }
  if (domains.size >= need.domains) return { need, degraded: false }
  if (config.onQuorumLoss === 'fail' || domains.size === 0) {
    if (domains.size === 0) return { need, degraded: false }
    throw new QuorumLostError(
      `Quorum lost for ${method}: only ${[...domains].join(', ')} left and onQuorumLoss is 'fail'.`,
    )
  }
  // A domain left out that answers after all counts again: its answer alone is no quorum (a
  // hostile source out just long enough not to count, then first to answer: reviewOfFlapping).
  return {
    need: {
      domains: domains.size,
      sources: Math.min(need.sources, counted.length),
      uncounted: [...new Set(trusted.map((s) => s.domain))].filter((d) => !domains.has(d)),
      full: need.domains,
    },
    degraded: true,
  }
}
