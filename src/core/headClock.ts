/**
 * Heads judged by their own timestamps against the local clock: pure decisions for the head
 * tracker (head.ts), which owns the clock and the state. See docs/architecture.md.
 */

/** What the head tracker knows of one source's current head. */
export type TimedHead = {
  domain: string
  number: number
  /** The header's timestamp, in ms. */
  time: number
  /**
   * It extends the agreed chain by parent hash (it descends from the confirmed head) and is no
   * higher than the chain could have reached: only such a head can show another one is stale.
   */
  extendsAgreed: boolean
  /** Failure domains whose sources report this very block. */
  domains: number
}

export type HeadClockRule = {
  /** The local clock, in ms. */
  now: number
  /** A head older than this (ms, by its timestamp) is stale while another domain's is fresh. */
  maxAge: number
  /** A head whose timestamp is further ahead of the clock than this (ms) is from the future. */
  maxSkew: number
  /** Blocks a fresh head must be past a stale one for the stale one to be set aside. */
  maxLag: number
  /** Domains that confirm a head: a future head they all report means the clock is behind. */
  trustQuorum: number
}

/** Why a source's head does not count: stale (the source is `lagging`) or from the future. */
export type HeadVerdict = { kind: 'stale' | 'future'; reason: string }

/** The default `maxHeadAge`: a minute, or five block times on a slower chain. */
export const defaultMaxAge = (blockTime: number | undefined): number =>
  Math.max(60_000, 5 * (blockTime ?? 0))

/** Is a head made at `time` from the future? */
export const fromTheFuture = (time: number, rule: Pick<HeadClockRule, 'now' | 'maxSkew'>) =>
  time > rule.now + rule.maxSkew

const fresh = (h: TimedHead, rule: HeadClockRule) =>
  !fromTheFuture(h.time, rule) && h.time >= rule.now - rule.maxAge

const seconds = (ms: number) => `${Math.round(Math.abs(ms) / 1_000)} s`

/**
 * Each head's verdict (undefined: it counts).
 * - stale: its timestamp is more than `maxAge` behind the clock while a head in another domain
 *   is fresh, extends the agreed chain and is more than `maxLag` blocks past it. When every head
 *   is old (an idle chain, a clock running fast), no one is stale.
 * - future: its timestamp is more than `maxSkew` ahead of the clock, fewer than `trustQuorum`
 *   domains report it, and another domain's head is not from the future (when every head is,
 *   the clock is behind, not the heads ahead).
 */
export function judgeHeads(
  heads: readonly (TimedHead | undefined)[],
  rule: HeadClockRule,
): (HeadVerdict | undefined)[] {
  return heads.map((h) => {
    if (!h) return undefined
    const others = heads.filter((x): x is TimedHead => x !== undefined && x.domain !== h.domain)
    if (fromTheFuture(h.time, rule)) {
      if (h.domains >= rule.trustQuorum || !others.some((x) => !fromTheFuture(x.time, rule)))
        return undefined
      return {
        kind: 'future',
        reason: `head #${h.number} is ${seconds(h.time - rule.now)} ahead of the local clock`,
      }
    }
    if (h.time >= rule.now - rule.maxAge) return undefined
    const ahead = others
      .filter((x) => x.extendsAgreed && fresh(x, rule) && x.number > h.number + rule.maxLag)
      .sort((a, b) => b.number - a.number)[0]
    if (!ahead) return undefined
    return {
      kind: 'stale',
      reason: `head #${h.number} is ${seconds(rule.now - h.time)} old while ${ahead.domain} is at #${ahead.number} (${seconds(rule.now - ahead.time)} old)`,
    }
  })
}
