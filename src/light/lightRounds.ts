/**
 * The light client's sync rounds over its sources: catching up period by period (updates by
 * range), and following the newest finality and optimistic updates once a slot, with the spec's
 * forced update narrowed to what is safe. Every object is verified by the core; a lie cuts its
 * source off (lightPool.ts) and the next one is asked.
 */
import type { LightClientCore } from './core.ts'
import { LightClientError } from './errors.ts'
import { type ChainConfig, periodAtSlot } from './forks.ts'
import type { LightPool, Outcome } from './lightPool.ts'
import { MAX_REQUEST_LIGHT_CLIENT_UPDATES } from './sources.ts'
import { hasSupermajority, type StoreChange } from './sync.ts'
import type { LightClientUpdate } from './types.ts'

/** What a round needs of the client: its store, its sources, and whom to tell of changes. */
export type Round = {
  core: LightClientCore
  pool: LightPool
  config: ChainConfig
  signal: AbortSignal
  /** The slot in which a stream last moved each head: that head is not polled in that slot. */
  pushed: { finalized: number; optimistic: number }
  /** Tells of moved heads; called after every object applied. */
  afterChange(): void
  currentSlot(): number
}

const changed = (c: StoreChange) => c.finalized || c.optimistic || c.committee
/** What finality polls are for: an answer that only moved the optimistic head is no answer. */
const settled = (c: StoreChange) => c.finalized || c.committee

/**
 * Is an update the chain's news now: attested in the last two slots (a third into slot `now`,
 * the newest is `now - 1`'s, one slot older when a block was missed)? An older one, real and
 * newer than the store, is still applied, but it neither ends a round nor stands for the slot's
 * poll: else a source answering first with the same old news each slot would hold the head back
 * for good, the others never asked.
 */
export const current = (u: { attestedHeader: { beacon: { slot: number } } }, now: number) =>
  u.attestedHeader.beacon.slot >= now - 2

/** The committee of the clock's period is known. */
export function caughtUp(config: ChainConfig, lc: LightClientCore, now: number): boolean {
  const target = periodAtSlot(config, now)
  return lc.period >= target || (lc.period === target - 1 && lc.nextCommitteeKnown)
}

/**
 * Updates by range, ≤ 128 periods a call, until the store holds the clock's period's committee.
 * Returns the failed sources' outcomes when it could not get there, else none.
 */
export async function catchUp(r: Round): Promise<Outcome[]> {
  const lc = r.core
  const outcomes: Outcome[] = []
  for (;;) {
    if (r.signal.aborted) return []
    const now = r.currentSlot()
    const target = periodAtSlot(r.config, now)
    const startPeriod = lc.nextCommitteeKnown ? lc.period + 1 : lc.period
    if (startPeriod > target) return []
    const count = Math.min(MAX_REQUEST_LIGHT_CLIENT_UPDATES, target - startPeriod + 1)
    const before = `${lc.period}/${lc.nextCommitteeKnown}`
    const round = await r.pool.ask(
      (s, signal) =>
        s.updates(startPeriod, count, { signal }).then((u) => (u.length > 0 ? u : undefined)),
      (updates) => applyUpdates(r, updates, now),
      r.signal,
    )
    outcomes.push(...round.outcomes)
    if (`${lc.period}/${lc.nextCommitteeKnown}` === before)
      return caughtUp(r.config, lc, now) ? [] : outcomes
  }
}

/**
 * Applies a period's updates in order; a lie is thrown once the valid ones before it are kept.
 * Only a committee learned is progress: updates that each finalize a little more, with no
 * committee, would make catching up a signature check per epoch, the same source asked first.
 */
function applyUpdates(r: Round, updates: readonly LightClientUpdate[], now: number) {
  let progressed = false
  for (const u of updates) {
    try {
      if (r.core.processUpdate(u, now).committee) progressed = true
    } catch (error) {
      if (error instanceof LightClientError && error.lie) {
        r.afterChange()
        throw error
      }
      // Stale or for a period it cannot use yet: an honest source's old news.
    }
  }
  r.afterChange()
  return progressed || undefined
}

/**
 * One round of the newest finality and optimistic updates (each skipped when a stream moved
 * that head this slot with current news), then the forced update the spec asks for when stuck.
 * An answer ends its round only if it is `current` and moved its head: a "finality update"
 * without finality, or old news, does not stop the next source being asked.
 */
export async function follow(r: Round, now: number): Promise<void> {
  const lc = r.core
  if (r.pushed.finalized !== now)
    await r.pool.ask(
      (s, signal) => s.finalityUpdate({ signal }),
      (u) => (settled(lc.processFinalityUpdate(u, now)) && current(u, now) ? true : undefined),
      r.signal,
    )
  r.afterChange()
  if (r.pushed.optimistic !== now)
    await r.pool.ask(
      (s, signal) => s.optimisticUpdate({ signal }),
      (u) => (changed(lc.processOptimisticUpdate(u, now)) && current(u, now) ? true : undefined),
      r.signal,
    )
  forceWhenStuck(r.config, lc, now)
  r.afterChange()
}

/**
 * The spec's forced update, narrowed: only once caught up (a store behind the clock for want
 * of updates is not a chain that stopped finalizing), and only with an update 2/3 of the
 * committee signed (else one signer's vote would become the finalized head, vouched and
 * stored as the next checkpoint). Without it the store waits: an error, not a wrong head.
 */
function forceWhenStuck(config: ChainConfig, lc: LightClientCore, now: number) {
  const best = lc.store.bestValidUpdate
  if (best && hasSupermajority(best.syncAggregate.syncCommitteeBits) && caughtUp(config, lc, now))
    lc.forceUpdate(now)
}
