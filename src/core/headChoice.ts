/**
 * Which head the domains agree on: pure decisions for the head tracker (head.ts), which owns the
 * clock, the polling and the state. See docs/architecture.md ("One domain's head is a hint").
 */
import type { Head } from './head.ts'
import type { SourceState } from './sourceState.ts'

/** A block some sources report, the sources that do (`backers`) and their domains. */
export type Candidate = Head & { backers: SourceState[]; domains: number }

/**
 * The newest head confirmed by `trustQuorum` domains: what the chain is known to have reached,
 * when it was seen (`at`) and made (`time`, its timestamp; ms).
 */
export type ConfirmedHead = Head & { at: number; time: number }

/** A confirmed head seen at `at`: how fast the chain is known to move. */
export type Pace = { number: number; at: number }

/**
 * The highest (number, hash) that sources in at least `q` domains report, whatever the gaps; or,
 * where `q` is more than a confirmation (`trustQuorum`), that a confirmation's domains report at a
 * height `q` domains reached: those that report another hash there (a chain of their own) are not
 * waited for, so one domain forking its own chain cannot hold back the head the others agree on
 * (a quorum of three domains: test/adversarial/reviewOfWiderQuorums.test.ts). Those behind are.
 * `future(hash)`: the block's timestamp is ahead of the clock.
 */
export function highestAgreed(
  q: number,
  among: readonly SourceState[],
  trustQuorum: number,
  future: (hash: string) => boolean,
): Candidate | undefined {
  const byBlock = new Map<string, Candidate>()
  for (const s of among)
    for (const [number, hash] of s.hashes) {
      const key = `${number}:${hash}`
      let c = byBlock.get(key)
      if (!c) {
        c = { number, hash, backers: [], domains: 0 }
        byBlock.set(key, c)
      }
      c.backers.push(s)
    }
  const domains = (of: readonly SourceState[]) => new Set(of.map((s) => s.domain)).size
  let best: Candidate | undefined
  for (const c of byBlock.values()) {
    if (best && c.number <= best.number) continue
    c.domains = domains(c.backers)
    // A confirmation's domains (or `q`, if fewer) report it, at a height the quorum's domains
    // reached: those that report another hash there are not waited for.
    if (
      c.domains < Math.min(q, trustQuorum) ||
      domains(among.filter((s) => s.hashes.has(c.number))) < q
    )
      continue
    // A head from the future that fewer domains than a confirmation report never counts.
    if (c.domains < trustQuorum && future(c.hash)) continue
    best = c
  }
  return best
}

/** When the sources that report `head` last said so (at most `now`): how old the head already is. */
export const seenAt = (head: Head, among: readonly SourceState[], now: number): number => {
  let at = now
  for (const s of among)
    if (s.head && s.hashes.get(head.number) === head.hash) at = Math.min(at, s.head.at)
  return at
}

/** Domains to agree: the configured quorum, reduced to the domains among `among`. */
export const quorumAmong = (quorumDomains: number, among: readonly SourceState[]): number =>
  Math.max(1, Math.min(quorumDomains, new Set(among.map((s) => s.domain)).size))

/** A source whose head is stale is set aside: it neither backs heads nor counts in the quorum. */
export const counts = (s: SourceState): boolean => s.headVerdict?.kind !== 'stale'

/** A confirmed head as a candidate again (its backers are whoever reports it now). */
export const backersOf = (
  h: Head,
  sources: readonly SourceState[],
  trustQuorum: number,
): Candidate => ({
  ...h,
  backers: sources.filter((s) => s.hashes.get(h.number) === h.hash),
  domains: trustQuorum,
})

/**
 * May `c` become the head? A confirmed head (backed by `trustQuorum` domains) replaces any
 * unconfirmed one and moves forward; it moves back only when `trustQuorum` domains stepped back
 * to it (`steppedBack`: their head is `c` and they once reported a higher one; a rollback or a
 * reorg to a shorter chain, not a lagging subset). Counted by its backers standing at it, one
 * liar still at the old head held back every honest rollback, and one liar stepping back beside
 * a domain a block behind rolled the caller's block away (reviewOfSession40e 1, 40b 1). An
 * unconfirmed head only stands in while nothing confirmed is newer, and only if `standsAlone()` (it is plausible and
 * extends the agreed chain by parent hash; asked last, only when it matters); or it is the
 * confirmed head itself, which a source stands at, while the head is one whose every backer was
 * cut off as lying since (`disowned()`): its word gone, the chain is known to stand there, still
 * unconfirmed (a forged lone head outlived its outage on an idle chain: reviewOfSession37).
 */
export function accepts(
  c: Candidate,
  confirmed: Head | undefined,
  trustQuorum: number,
  standsAlone: () => boolean,
  disowned: () => boolean = () => false,
  steppedBack: () => number = () => 0,
): boolean {
  if (c.domains < trustQuorum)
    return (
      !confirmed ||
      (c.number > confirmed.number && standsAlone()) ||
      (c.hash === confirmed.hash && disowned())
    )
  if (!confirmed || c.number >= confirmed.number) return true
  return steppedBack() >= trustQuorum
}

/** The domains among `sources` whose head is `at` and who once reported a higher one. */
export const steppedBackTo = (at: Head, sources: readonly SourceState[]): number =>
  new Set(
    sources.filter((s) => s.head?.hash === at.hash && s.peak > at.number).map((s) => s.domain),
  ).size

/**
 * Milliseconds per block the chain may take at its fastest: half what the confirmed heads
 * showed over the last half second or more, else a second (a block a second, as on a chain
 * whose blocks carry whole-second timestamps).
 */
export function blockTimeOf(pace: readonly Pace[]): number {
  const first = pace[0]
  const last = pace.at(-1)
  if (!first || !last || last.at - first.at < 500 || last.number - first.number < 2) return 1_000
  return Math.max(10, (last.at - first.at) / (last.number - first.number) / 2)
}

/**
 * How high the chain can be at `now`, as far as anyone confirmed: the confirmed head, `maxLead`
 * blocks, and one block per block time since. One domain's claim beyond it is not believed.
 * With `fromTimestamp` (a domain is set aside as stale: the confirmed head may be one it held
 * back), "since" counts from the confirmed head's own timestamp, if earlier than when it was seen.
 */
export function reachOf(
  confirmed: ConfirmedHead | undefined,
  r: { maxLead: number; blockTime: number; now: number; fromTimestamp: boolean },
): number {
  if (!confirmed) return Number.POSITIVE_INFINITY
  const since = r.fromTimestamp ? Math.min(confirmed.at, confirmed.time) : confirmed.at
  return confirmed.number + r.maxLead + Math.floor(Math.max(0, r.now - since) / r.blockTime)
}

/**
 * The height to fill in when agreeing `q` domains among `among`: the `q`-th highest head they
 * report (fewer heads: the lowest), undefined if none.
 */
export function fillTarget(among: readonly SourceState[], q: number): number | undefined {
  const heads = [...new Set(among.map((s) => s.head!.number))].sort((a, b) => b - a)
  return heads[Math.min(q, heads.length) - 1]
}
