/**
 * A relay's penalty box: each protocol violation of a peer (an oversized or malformed frame, a
 * stream past its limit, a gossiped message that is junk, a batch past the limit or empty, a
 * burst far past its rate) is a strike or a part of one; three strikes within a window ban the
 * peer for a while: its connections are closed and new ones refused. Honest peers never strike:
 * what they send is well-formed, and honest relays pass on only gossip they checked the same
 * way. The clock is injected.
 */

export type PenaltyOptions = {
  /** Strikes within `window` that ban a peer. @default 3 */
  strikes?: number
  /** ms over which strikes add up. @default 60_000 */
  window?: number
  /** ms a ban lasts. @default 300_000 */
  ban?: number
  /** The time in ms, monotonic (a clock set back must not keep old strikes). @default performance.now */
  now?: () => number
}

/**
 * What one violation weighs, in tenths of a strike. A frame past the rate is one, however many
 * calls it holds (bursts happen: thirty such frames within the window ban). A stream past the
 * peer's limit is half a strike (refused with a JSON-RPC error: a client without outlast's own
 * cap, or two apps on one node, may burst past it a few times; outlast's own keeps 24 at most),
 * and so is a batch past the limit (or empty): a client with the wrong batch size learns from
 * the error, but one that goes on (each parsed whole before it is refused) is banned at six. A
 * flooder holding streams open past the limit is banned at its sixth.
 */
export const WEIGHT = {
  frame: 10,
  malformed: 10,
  streams: 5,
  gossip: 10,
  batch: 5,
  rate: 1,
} as const
export type Violation = keyof typeof WEIGHT

export type Penalties = {
  /** Counts a violation; true when it bans the peer (the caller closes its connections). */
  strike(peer: string, why: Violation): boolean
  banned(peer: string): boolean
  /** Peers banned now. */
  count(): number
  /** Peers whose strikes are kept (within their window, or until the next strike). */
  tracked(): number
}

export function createPenalties(o: PenaltyOptions = {}): Penalties {
  const { strikes = 3, window = 60_000, ban = 300_000, now = () => performance.now() } = o
  const tally = new Map<string, { score: number; since: number }>()
  const bans = new Map<string, number>()
  const banned = (peer: string) => {
    const until = bans.get(peer)
    if (until === undefined) return false
    if (until > now()) return true
    bans.delete(peer)
    return false
  }
  return {
    banned,
    count: () => [...bans.keys()].filter(banned).length,
    tracked: () => tally.size,
    strike(peer, why) {
      if (banned(peer)) return false
      const t = now()
      // Entries are kept in the order their windows began: those past theirs go from the front.
      for (const [k, v] of tally) {
        if (t - v.since <= window) break
        tally.delete(k)
      }
      // Its own window checked too: a clock set back leaves an old entry behind a younger one.
      let entry = tally.get(peer)
      if (entry && (t - entry.since > window || t < entry.since)) {
        tally.delete(peer)
        entry = undefined
      }
      const score = (entry?.score ?? 0) + WEIGHT[why]
      // A new window goes to the back (`set` on a kept key keeps its place).
      tally.set(peer, { score, since: entry?.since ?? t })
      if (score < strikes * 10) return false
      tally.delete(peer)
      bans.set(peer, t + ban)
      return true
    },
  }
}
