/**
 * Who the proxy answers, for HTTP requests and WebSocket upgrades alike: a `Host` naming this
 * machine (DNS rebinding), and a browser `Origin` only when listed.
 */
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/**
 * DNS rebinding: a web page whose own name is made to resolve to 127.0.0.1 reaches the proxy
 * with that name as `Host`, and a plain GET (`/status`) carries no `Origin` to refuse. Only a
 * `Host` that names this machine directly is served: an IP address, `localhost`, or the host the
 * proxy listens on (`--host`), with at most a numeric port; anything else in it
 * (`localhost:80@evil`, `127.0.0.1:1,evil`) is refused.
 */
export function hostAllowed(header: string | undefined, listen: string): boolean {
  if (header === undefined) return true // HTTP/1.0 tools; every browser sends Host
  // `[address%zone]` for a link-local IPv6 address (the zone compared too, `%25` as in a URL);
  // a name may end in the one dot of its fully qualified spelling (`localhost.`).
  const parts = /^(?:\[([0-9A-Fa-f:.]+(?:%(?:25)?[\w.-]+)?)\]|([^:[\]]+))(?::\d{0,5})?$/.exec(
    header,
  )
  if (!parts) return false
  if (parts[1] !== undefined) return isIP(parts[1].replace('%25', '%')) === 6 // [IPv6%zone]
  const name = parts[2]!.toLowerCase().replace(/(?<=.)\.$/, '')
  const own = listen.toLowerCase().replace(/(?<=.)\.$/, '')
  return name === 'localhost' || name === own || isIP(name) !== 0
}

/**
 * CORS: a request from a browser page carries `Origin`; it is refused unless `allowed` lists
 * that origin (or `*`). Tools (`cast`, bots) send none; a wallet extension's background sends
 * its own (`chrome-extension://<id>`), which can be listed.
 */
/** The header that says how far a single call's answer was checked (jsonRpc.ts `consistencyOf`). */
export const CONSISTENCY = 'x-outlast-consistency'

export function corsFor(
  req: IncomingMessage,
  allowed: readonly string[],
): Record<string, string> | 'refused' {
  const origin = req.headers.origin
  if (origin === undefined) return {}
  if (!allowed.includes('*') && !allowed.includes(origin)) return 'refused'
  return {
    'access-control-allow-origin': allowed.includes('*') ? '*' : origin,
    'access-control-allow-methods': 'POST, GET, OPTIONS',
    'access-control-allow-headers': req.headers['access-control-request-headers'] ?? 'content-type',
    // A page may read how far its answer was checked (server.ts).
    'access-control-expose-headers': CONSISTENCY,
    vary: 'origin',
  }
}
