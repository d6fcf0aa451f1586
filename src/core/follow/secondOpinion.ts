/**
 * A stream's logs that one domain alone answered. A request's answer says so (`degraded`); a
 * subscription's messages carry no label, and a log delivered is not taken back. So before a
 * stream takes them, each other domain held back from the request (a breaker still open after a
 * dropped socket, a source past its backoff guess) is asked once, directly: one that answers
 * otherwise holds them back (owed, asked again at the next poll); one that answers the same
 * makes them agreed. While one that cannot answer now answered anything lately (its socket is
 * being reconnected) they are owed too; once the others have all been silent a while (an
 * outage), they are delivered as one domain's: degraded.
 * A liar left alone while honest domains flap cannot feed subscribers made-up logs
 * (test/adversarial/reviewOfWsBeside.test.ts).
 */
import { RpcResponseError } from '../../shared/errors.ts'
import { serves } from '../../shared/route.ts'
import { canonical } from '../canonical.ts'
import type { Engine } from '../engine.ts'
import { isUnknownBlock } from '../pruned.ts'
import type { SourceState } from '../sourceState.ts'

/** The longest a held-back domain is waited for (it is asked again at the next poll). */
const PATIENCE = 1_000
/** How lately a domain that cannot answer now must have answered for one domain's logs to wait. */
const GRACE = 2_000

/**
 * A node's refusal of the query itself, its answer "cannot": the method not served (-32601), or
 * invalid params (a verdict every honest node gives; a range limit is split before it gets
 * here). Any other node error (-32603 "internal error", a backend down a moment) is "not now",
 * like silence: counted as "cannot", a liar's lone logs went out while the honest providers
 * failed for a moment (reviewOfSession36).
 */
export const refuses = (e: unknown): boolean =>
  e instanceof RpcResponseError && (e.code === -32601 || e.deterministic)

/** The best source of each trusted domain outside `domains` that may be asked for logs. */
export function heldBackDomains(engine: Engine, domains: readonly string[]): SourceState[] {
  const best = new Map<string, SourceState>()
  for (const s of engine.pool.lastResort(false))
    if (
      !domains.includes(s.domain) &&
      !best.has(s.domain) &&
      !s.forked &&
      serves(s.source.config.methods, 'eth_getLogs')
    )
      best.set(s.domain, s)
  return [...best.values()]
}

/**
 * Whether the held-back domains confirm `logs`, one domain's answer to `filter` (`domains`):
 * true once `need` domains have it (the quorum's); false when too few can say and those that
 * cannot have been silent a while; throws (owed) when one answers otherwise, or answered lately.
 */
export async function secondOpinion(
  engine: Engine,
  filter: object,
  logs: unknown,
  domains: readonly string[],
  need = engine.config.quorum.domains,
): Promise<boolean> {
  const others = heldBackDomains(engine, domains)
  // Sources of other domains a `Retry-After` holds off (`lastResort` leaves them out): not
  // asked, silent, not gone (ignored, a liar's lone logs went out while the honest providers
  // answered 429 a moment: reviewOfSession36).
  const silent = engine.pool.states.filter(
    (s) => s.announcedUntil > Date.now() && !s.untrusted && !domains.includes(s.domain),
  )
  const want = canonical(logs)
  const answers = await Promise.allSettled(
    others.map((s) =>
      engine.pool.attempt(s, 'eth_getLogs', [filter], AbortSignal.timeout(PATIENCE)),
    ),
  )
  let agree = domains.length // distinct: a request's domains (`ResponseMeta.domains`)
  answers.forEach((a, i) => {
    // A node's refusal (it does not serve logs, or not that range) is its answer, "cannot":
    // no socket coming back (reviewOfSessionFixes2). "Unknown block" is "not yet": it waits.
    if (a.status === 'rejected') {
      if (!refuses(a.reason) || isUnknownBlock(a.reason)) silent.push(others[i]!)
    } else if (canonical(a.value) !== want)
      throw new Error(`eth_getLogs: ${domains} alone; ${others[i]!.domain}, held back, differs`)
    else agree++
  })
  if (agree >= need) return true
  // Owed while one that could not answer now answered anything lately (a dropped socket is back
  // within a reconnect; a 429 is an answer too: a rate limit lapses); one domain's once the
  // others have all been silent a while (an outage).
  const lately = Date.now() - Math.max(2 * engine.config.pollingInterval, GRACE)
  const back = silent.find((s) => Math.max(s.lastAnswerAt, s.rateLimitedAt) > lately)
  if (back) throw new Error(`eth_getLogs: ${domains} alone; owed while ${back.domain} comes back`)
  return false
}
