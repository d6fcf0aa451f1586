/**
 * A circuit breaker per source: closed (normal), open (no traffic until the cool-off ends),
 * half-open (one probe at a time; success closes, failure reopens with a longer cool-off).
 */
export type BreakerState = 'closed' | 'open' | 'half-open'

export type BreakerOptions = {
  /** Consecutive failures that open the breaker (an integer >= 1). @default 3 */
  threshold?: number
  /** First cool-off in whole ms (1 to 2^31 − 1); doubles on each failed probe. @default 1_000 */
  cooldown?: number
  /** Longest cool-off in whole ms (1 to 2^31 − 1); never below `cooldown`. @default 30_000 */
  maxCooldown?: number
}

export type Breaker = {
  readonly state: BreakerState
  /** True if a request may go to the source now; in half-open, takes the single probe slot. */
  tryAcquire(): boolean
  /** True if the source could take traffic now, without taking the probe slot. */
  readonly available: boolean
  success(): void
  failure(): void
  /** Opens now for `ms` (a proven lie, a 429 without Retry-After). */
  trip(ms?: number): void
  /** Gives back the probe slot of an attempt that was cancelled before it told anything. */
  release(): void
}

export function createBreaker(
  { threshold = 3, cooldown = 1_000, maxCooldown = 30_000 }: BreakerOptions = {},
  now: () => number = Date.now,
): Breaker {
  let state: BreakerState = 'closed'
  let failures = 0
  let openUntil = 0
  let currentCooldown = cooldown
  const longest = Math.max(maxCooldown, cooldown)
  let probing = false

  const refresh = () => {
    if (state === 'open' && now() >= openUntil) {
      state = 'half-open'
      probing = false
    }
  }
  const open = (ms: number) => {
    state = 'open'
    openUntil = now() + ms
    probing = false
  }

  return {
    get state() {
      refresh()
      return state
    },
    get available() {
      refresh()
      return state === 'closed' || (state === 'half-open' && !probing)
    },
    tryAcquire() {
      refresh()
      if (state === 'closed') return true
      if (state === 'half-open' && !probing) {
        probing = true
        return true
      }
      return false
    },
    success() {
      failures = 0
      probing = false
      if (state !== 'closed') {
        state = 'closed'
        currentCooldown = cooldown
      }
    },
    failure() {
      failures++
      refresh()
      if (state === 'half-open') {
        currentCooldown = Math.min(currentCooldown * 2, longest)
        open(currentCooldown)
      } else if (state === 'closed' && failures >= threshold) open(currentCooldown)
    },
    trip(ms = currentCooldown) {
      open(ms)
    },
    release() {
      probing = false
    },
  }
}
