/** The longest `Retry-After` heeded: a source cannot sideline itself for a day by saying so. */
const MAX_RETRY_AFTER = 600_000

/**
 * `Retry-After` as milliseconds from `now` (0 to 10 minutes): delta-seconds or an HTTP date;
 * undefined when absent or unreadable. One parser for every HTTP route (JSON-RPC sources, IPFS
 * gateways), so a bound on it holds for all of them.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined
  const seconds = Number(value)
  const at = Number.isFinite(seconds) ? now + seconds * 1000 : Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.round(Math.min(MAX_RETRY_AFTER, Math.max(0, at - now)))
}
