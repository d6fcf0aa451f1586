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
    return `${u.protocol}//${redactHost(u)}${hidden ? '/…' : ''}`
  } catch {
    return '<invalid url>'
  }
}

/**
 * A host name's label that can only be a key (`https://<32 hex>.eth.rpc.rivet.cloud`): 16
 * characters or more, one of its `-` pieces neither a word nor a word with a short number
 * (`ethereum-mainnet-archive`, `node01`, `us-east-1` are names).
 */
export const keyLabel = (label: string) =>
  /^[a-z0-9-]{16,}$/i.test(label) && label.split('-').some((p) => !/^[a-z]*\d{0,4}$/i.test(p))

/** A URL's host and port with every key-like label written `…`: a source's default name. */
export function redactHost(u: URL): string {
  const labels = u.hostname.split('.').map((label) => (keyLabel(label) ? '…' : label))
  return labels.join('.') + (u.port ? `:${u.port}` : '')
}
