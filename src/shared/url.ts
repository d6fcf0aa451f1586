/**
 * The form of a URL that may appear in errors, events, logs and `status()`: scheme, host and
 * port only. Paths and queries of RPC URLs often carry API keys (`/v3/KEY`, `?apikey=`), and
 * the userinfo part carries basic-auth, so neither is ever shown. (Sources scrub the secrets
 * themselves from what nodes echo: `scrubberFor` in `sources/secrets.ts`.)
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    const hidden = u.pathname.length > 1 || u.search || u.hash || u.username || u.password
    return `${u.protocol}//${u.host}${hidden ? '/…' : ''}`
  } catch {
    return '<invalid url>'
  }
}
