/**
 * Where `light()` starts: a beacon block root from the config, from storage (the last finalized
 * root it verified), or one that sources in at least two failure domains agree on. And how old
 * it is: past the weak subjectivity period (~14 days with today's validator set), a committee
 * that has since exited could have signed a fork the light client cannot tell from the chain.
 */
import { type Clock, realClock } from '../core/clock.ts'
import type { Hex } from '../shared/types.ts'
import { toHex } from './bytes.ts'
import type { ChainConfig } from './forks.ts'
import { beaconBlockHeaderRoot } from './roots.ts'
import type { LightClientSource } from './sources.ts'

/** Where the last finalized root is kept between runs (localStorage, a file). */
export type CheckpointStorage = {
  get(): Promise<string | undefined>
  set(root: Hex): Promise<void> | void
}

/** How the checkpoint was chosen. */
export type CheckpointVia = 'config' | 'storage' | 'agreed'

/** ~14 days: the weak subjectivity period `light()` warns past. */
export const WEAK_SUBJECTIVITY_SECONDS = 14 * 24 * 3600

/** Pure: seconds between the checkpoint's slot and the clock's slot. */
export function checkpointAge(
  config: ChainConfig,
  checkpointSlot: number,
  currentSlot: number,
): number {
  return Math.max(0, currentSlot - checkpointSlot) * config.secondsPerSlot
}

/** One source's claim of the finalized root, and what it came from. */
export type RootClaim = {
  source: string
  domain: string
  root: Hex
  slot: number
  from: 'headers/finalized' | 'finality-update'
}

/**
 * Pure: the root that claims from at least `minDomains` distinct failure domains back (the
 * highest such slot), or undefined. A domain that claims several roots backs each.
 */
export function agreedRoot(claims: readonly RootClaim[], minDomains = 2): RootClaim | undefined {
  const domains = new Map<Hex, Set<string>>()
  for (const c of claims) {
    const set = domains.get(c.root) ?? new Set()
    set.add(c.domain)
    domains.set(c.root, set)
  }
  let best: RootClaim | undefined
  for (const c of claims) {
    if ((domains.get(c.root)?.size ?? 0) < minDomains) continue
    if (!best || c.slot > best.slot) best = c
  }
  return best
}

/** How long (ms) the sources still out are waited for once two domains agree on a root. */
export const AGREED_GRACE = 1_000

/**
 * Every source's claim of the finalized root, asked at once: `finalizedRoot()`
 * (`/eth/v1/beacon/headers/finalized`) where the source has it, else the finalized header of its
 * finality update (hashed here). Unverifiable until the bootstrap hashes to the chosen root:
 * agreement of two domains is what makes it a checkpoint. Once two domains agree, the others
 * get `AGREED_GRACE` to back a newer root; one that never answers does not hold the start.
 */
export function collectRootClaims(
  sources: readonly LightClientSource[],
  signal: AbortSignal | undefined,
  clock: Clock = realClock,
): Promise<{ claims: RootClaim[]; failures: { source: string; reason: string }[] }> {
  const claims: RootClaim[] = []
  const failures: { source: string; reason: string }[] = []
  const out = new Set(sources)
  const late = new AbortController()
  const any = signal ? AbortSignal.any([signal, late.signal]) : late.signal
  return new Promise((resolve) => {
    let grace: unknown
    const done = () => {
      clock.clearTimeout(grace)
      late.abort()
      for (const s of out)
        failures.push({ source: s.name, reason: 'no answer within 1 s of two domains agreeing' })
      resolve({ claims: [...claims], failures: [...failures] })
    }
    const ask = async (s: LightClientSource) => {
      const claim = await claimOf(s, any).catch((error: unknown) => ({
        reason: (error as Error)?.message ?? String(error),
      }))
      if (!out.delete(s) || late.signal.aborted) return
      if ('root' in claim) claims.push(claim)
      else failures.push({ source: s.name, reason: claim.reason })
      if (out.size === 0) done()
      else if (grace === undefined && agreedRoot(claims))
        grace = clock.setTimeout(done, AGREED_GRACE)
    }
    if (sources.length === 0) done()
    for (const s of sources) void ask(s)
  })
}

async function claimOf(
  s: LightClientSource,
  signal: AbortSignal,
): Promise<RootClaim | { reason: string }> {
  const domain = s.domain ?? s.name
  const direct = s.finalizedRoot ? await s.finalizedRoot({ signal }) : undefined
  if (direct) return { source: s.name, domain, ...direct, from: 'headers/finalized' }
  const update = await s.finalityUpdate({ signal })
  const header = update?.finalizedHeader
  if (!header) return { reason: 'no finalized root to offer' }
  return {
    source: s.name,
    domain,
    root: toHex(beaconBlockHeaderRoot(header.beacon)),
    slot: header.beacon.slot,
    from: 'finality-update',
  }
}
