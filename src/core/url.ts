/**
 * The form of a URL that may appear in errors, events, logs and `status()`: scheme, host and
 * port only. Paths and queries of RPC URLs often carry API keys (`/v3/KEY`, `?apikey=`), and
 * the userinfo part carries basic-auth, so neither is ever shown.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    const hidden = u.pathname.length > 1 || u.search || u.username || u.password
    return `${u.protocol}//${u.host}${hidden ? '/…' : ''}`
  } catch {
    return '<invalid url>'
  }
}

/** Removes every occurrence of `secret` parts of `url` from a message (a node may echo them). */
export function scrub(message: string, url: string): string {
  let out = message
  try {
    const u = new URL(url)
    const secrets = [u.username, u.password, u.search.slice(1), ...u.pathname.split('/')]
    for (const s of secrets) if (s.length >= 6) out = out.split(s).join('…')
    return out.split(url).join(redactUrl(url))
  } catch {
    return out
  }
}
