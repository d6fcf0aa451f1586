/**
 * The bounds of one `fetch` or `block` call: its deadline (on the injected clock) and the
 * caller's signal, joined into one signal every attempt hangs off, and the error that says
 * which of the two ended the call.
 */
import type { Clock } from '../core/clock.ts'
import type { Stopped } from './blockRace.ts'
import { ContentAbortedError, ContentTimeoutError } from './errors.ts'

export type CallLimits = {
  readonly signal: AbortSignal
  readonly stopped: Stopped
  /** Clears the deadline timer and the link to the caller's signal. */
  dispose(): void
}

export function callLimits(clock: Clock, timeout: number, caller?: AbortSignal): CallLimits {
  const ac = new AbortController()
  let timedOut = false
  const timer = clock.setTimeout(() => {
    timedOut = true
    ac.abort()
  }, timeout)
  const onAbort = () => ac.abort()
  if (caller?.aborted) ac.abort()
  else caller?.addEventListener('abort', onAbort, { once: true })
  return {
    signal: ac.signal,
    stopped: (cid, reasons, subject = cid) =>
      timedOut || !caller?.aborted
        ? new ContentTimeoutError(cid, `No route served ${subject} within ${timeout} ms.`, reasons)
        : new ContentAbortedError(cid, caller.reason, subject),
    dispose() {
      clock.clearTimeout(timer)
      caller?.removeEventListener('abort', onAbort)
    },
  }
}
