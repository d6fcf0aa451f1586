import type { Fail } from './jsonRpc.ts'
import { finite } from './options.ts'

/**
 * A floor under the rate a body arrives at. Until `grace` ms after the headers any pace is
 * accepted; from then on the bytes received must keep up with `bytesPerSecond` (> 0) on average
 * since the headers, else the read is cut (a `timeout`). A body whose whole length arrives
 * within the grace is never cut, however small.
 */
export type RateFloor = { bytesPerSecond: number; grace: number }

/**
 * The floor of `minBytesPerSecond` (checked: a number >= 0), judged after a grace of 1 s, or
 * half the `timeout` if shorter; none at 0.
 */
export function rateFloor(
  minBytesPerSecond: number,
  timeout: number,
  check: (ok: boolean, what: string) => void,
): RateFloor | undefined {
  check(
    finite(minBytesPerSecond) && minBytesPerSecond >= 0,
    `minBytesPerSecond must be a number of bytes per second >= 0 (0: no floor), got ${String(minBytesPerSecond)}`,
  )
  if (minBytesPerSecond === 0) return undefined
  return { bytesPerSecond: minBytesPerSecond, grace: Math.min(1_000, Math.ceil(timeout / 2)) }
}

/**
 * Reads a response body as text, refusing it (`fail('body')`) once it passes `maxBytes`, cut
 * (`fail('timeout')`, naming the rate) when it falls below `floor`, and ending as soon as
 * `signal` aborts (rejecting with its reason) even if the fetch implementation does not watch
 * the signal.
 */
export async function readBody(
  response: Response,
  maxBytes: number,
  fail: Fail,
  signal?: AbortSignal,
  floor?: RateFloor,
): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (declared > maxBytes) {
    await response.body?.cancel()
    throw fail('body', `response of ${declared} bytes exceeds maxResponseBytes (${maxBytes})`)
  }
  if (!response.body) return ''
  const reader = response.body.getReader()
  // Decoded as it comes: a multi-byte character split between chunks is held until whole.
  const decoder = new TextDecoder()
  let text = ''
  let size = 0
  /** Why the read was stopped from outside (a timer or the signal): thrown after `read()` settles. */
  let stopped: { reason: unknown } | undefined
  const stop = (reason: unknown) => {
    if (stopped) return
    stopped = { reason }
    // Settles a pending read() with `done`, and lets the platform drop the connection.
    reader.cancel(reason).catch(() => {})
  }
  const onAbort = () => stop(signal?.reason)
  const started = performance.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  /** Checks the rate once the grace is over; re-arms for when the bytes so far fall behind. */
  const check = () => {
    if (!floor) return
    const elapsed = performance.now() - started
    // The time by which `size` bytes are no longer enough to keep up with the floor.
    const due = Math.max(floor.grace, (size * 1000) / floor.bytesPerSecond)
    if (elapsed >= due) {
      const ms = Math.round(elapsed)
      const rate = Math.floor((size * 1000) / Math.max(1, ms))
      const floorRate = floor.bytesPerSecond
      const why = `body arrived at ${rate} B/s, below the floor of ${floorRate} B/s (${size} bytes in ${ms} ms)`
      return stop(fail('timeout', why))
    }
    timer = setTimeout(check, Math.ceil(due - elapsed))
  }
  try {
    if (signal?.aborted) {
      reader.cancel().catch(() => {})
      throw signal.reason
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (floor) timer = setTimeout(check, floor.grace)
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (error) {
        throw stopped ? stopped.reason : error
      }
      if (stopped) throw stopped.reason
      const { done, value } = result
      if (done) break
      size += value.byteLength
      if (size > maxBytes) {
        await reader.cancel()
        throw fail('body', `response exceeds maxResponseBytes (${maxBytes})`)
      }
      text += decoder.decode(value, { stream: true })
    }
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
  return text + decoder.decode()
}
