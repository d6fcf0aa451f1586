/**
 * Lets the event loop turn: due timers first, then pending I/O (Node's `setImmediate`, after the
 * poll phase), before the caller goes on. Browsers have no `setImmediate`; a timer yields there.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(() => (typeof setImmediate === 'function' ? setImmediate(resolve) : resolve()), 0),
  )
}
