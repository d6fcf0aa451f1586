/**
 * Time as the engine reads and waits on it. Injected where timing decides what happens (the
 * fan-out's hedges, re-checks and deadline), so that tests run those decisions on a fake clock.
 */
export type Clock = {
  /** Milliseconds, on the same scale as `Date.now()` (deadlines and `lastAnswerAt` use it). */
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/**
 * The real clock. The timer functions are wrapped, not passed as they are: a browser's
 * `setTimeout` called as another object's method throws "Illegal invocation".
 */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
}
