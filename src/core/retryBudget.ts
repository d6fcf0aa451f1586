/**
 * A retry budget (as in Finagle and gRPC): every request deposits `ratio` of a token, every
 * extra attempt (hedge or retry) withdraws one, with a floor of `minPerSecond`. Extra attempts
 * therefore stay a bounded share of traffic, and outlast never multiplies the load on sources
 * that are recovering.
 */
export type RetryBudgetOptions = {
  /** Extra attempts allowed per request, on average (0 to 1_000). @default 0.5 */
  ratio?: number
  /** Extra attempts always allowed per second (an integer >= 0). @default 10 */
  minPerSecond?: number
}

export type RetryBudget = {
  deposit(): void
  tryWithdraw(): boolean
}

export function createRetryBudget(
  { ratio = 0.5, minPerSecond = 10 }: RetryBudgetOptions = {},
  now: () => number = Date.now,
): RetryBudget {
  const cap = Math.max(minPerSecond, 100 * ratio)
  let tokens = cap
  let floorTokens = minPerSecond
  let last = now()
  return {
    deposit() {
      tokens = Math.min(cap, tokens + ratio)
    },
    tryWithdraw() {
      const t = now()
      floorTokens = Math.min(minPerSecond, floorTokens + ((t - last) / 1000) * minPerSecond)
      last = t
      if (tokens >= 1) {
        tokens--
        return true
      }
      if (floorTokens >= 1) {
        floorTokens--
        return true
      }
      return false
    },
  }
}
