/**
 * What a failed attempt says about the network, as a `SourceError` of the kind that fits: a
 * thrown fetch error, a WebSocket's `error` event, or its `close` event. Pure, and the same in
 * Node and in browsers. Messages are built from fixed words and the error's code, never from the
 * error's own text (a custom fetch may put the URL in it, key and all), and never carry it as
 * `cause`.
 *
 * | what failed                                                  | kind      |
 * | ------------------------------------------------------------ | --------- |
 * | the caller's signal aborted, whatever was thrown             | `aborted` |
 * | our own time limit ran out, whatever was thrown              | `timeout` |
 * | code `ENOTFOUND` or `EAI_AGAIN` (on the error or a `cause`)  | `dns`     |
 * | code `ECONNREFUSED`                                          | `refused` |
 * | any other code (`ECONNRESET`, `UND_ERR_*`, TLS codes…), or none (a browser's "Failed to fetch", an `AbortError` no signal of ours explains) | `network` |
 * | a WebSocket closed, in its handshake or once open            | `network` |
 *
 * `dns` and `refused` are the outage itself: they trip the source's breaker at once. The table
 * is tested row by row in networkError.test.ts.
 */
import type { SourceError } from '../shared/errors.ts'
import type { Fail } from './jsonRpc.ts'

/** The first string `code` on the error or down its `cause` chain (undici puts it on `cause`). */
export function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}

/** A signal, or anything that says whether it fired. */
type Fired = { readonly aborted: boolean } | undefined

/**
 * The classifier of one source's failed attempts: `host` is named in a DNS failure, `timeout`
 * (ms) in a timeout, `what` begins a `network` message.
 */
export function networkErrors(fail: Fail, host: string, timeout: number, what = 'network error') {
  /**
   * A thrown fetch error, or a WebSocket `error` event's `error`, as a failure of the source.
   * `cancelled`: the caller's signal; `timer`: our own time limit's. Whichever fired explains
   * the error, whatever it is (an abort's reason may be anything the caller chose).
   */
  return (error: unknown, cancelled?: Fired, timer?: Fired): SourceError => {
    if (cancelled?.aborted) return fail('aborted', 'attempt cancelled')
    if (timer?.aborted) return fail('timeout', `no answer within ${timeout} ms`)
    const code = errorCode(error)
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return fail('dns', `DNS lookup failed for ${host} (${code})`)
    if (code === 'ECONNREFUSED') return fail('refused', 'connection refused')
    return fail('network', `${what}${code ? ` (${code})` : ''}`)
  }
}

/** A WebSocket's `close` event: the handshake failed, or an open socket was lost. */
export function closeError(
  fail: Fail,
  event: { code: number; reason: string; wasClean: boolean },
  handshake: boolean,
): SourceError {
  const why = event.reason ? `: ${event.reason}` : ''
  if (handshake) return fail('network', `closed during the handshake (code ${event.code}${why})`)
  const how = event.wasClean ? '' : ', no close frame'
  return fail('network', `connection lost (code ${event.code}${why}${how})`)
}
