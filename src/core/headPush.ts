/**
 * A head a source pushed (a WebSocket `newHeads`, a gossiped header): taken like a polled head
 * once checked. Loaded with the first pushed head (subscriptions load it): a dApp that only
 * reads never bundles it. See head.ts `HeadTracker.confirm`.
 */
import { checkShape } from './bounds.ts'
import type { RpcHeader, Tracker } from './head.ts'
import { counts } from './headChoice.ts'
import type { SourceState } from './sourceState.ts'
import { invalidResult } from './validate.ts'

/**
 * Takes `header`, pushed by `s`, as a hint like a polled head. Resolves with its header once it
 * is the head the domains agree on, else undefined.
 */
export async function confirm(
  t: Tracker,
  s: SourceState,
  header: unknown,
): Promise<RpcHeader | undefined> {
  const o = t.o
  const h = header as RpcHeader
  const hash = typeof h?.hash === 'string' ? h.hash.toLowerCase() : undefined
  // Pushed, it did not pass through an attempt: bounded and format-checked here like any
  // answer (a quantity padded with zeros hashes the same, and must not reach subscribers).
  if (!hash || checkShape(h) || invalidResult('eth_getBlockByNumber', h)) return undefined
  const number = Number.parseInt(String(h.number), 16)
  // Below the source's own head it is no rollback: a gossiped head may be an old one replayed
  // (signed, correctly hashed). Polls learn a source's rollbacks.
  if (s.head && number < s.head.number) return undefined
  await t.adopt(s, h, o.sources.filter(o.eligible))
  if (s.hashes.get(number) !== hash) return undefined
  if (t.agreed?.hash !== hash) {
    const fresh = o.sources.filter(
      (x) => x.head && t.now() - x.head.at < o.pollingInterval && o.eligible(x) && counts(x),
    )
    const c = t.compute(t.quorumAmong(o.sources.filter((x) => o.eligible(x) && counts(x))), fresh)
    // Ask the others once per new plausible height: a source pushing heads (siblings, made-up
    // heights) cannot make us poll everyone faster than the chain moves.
    if ((!c || c.hash !== hash || !t.settle(c)) && number > t.askedFor && t.plausible(number)) {
      t.askedFor = number
      await t.refresh()
    }
  }
  return t.agreed?.hash === hash && t.agreedConfirmed ? t.headers.get(hash) : undefined
}
