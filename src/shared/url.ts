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
 * characters or more, one of its `-` or `_` pieces neither a word, a word with a short number,
 * nor a number of up to 12 digits (`ethereum-mainnet-archive`, `node01`, `us-east-1`, an AWS
 * load balancer's `eth-rpc-1234567890` are names); or a tunnel's name ending in an IPv4 address
 * written with `-` (`f558-103-129-95-103`: whoever has it reaches the node).
 */
export const keyLabel = (label: string) =>
  /^[\w-]{16,}$/.test(label) &&
  (/-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}$/.test(label) ||
    label.split(/[-_]/).some((p) => !/^(?:[a-z]*\d{0,4}|\d{1,12})$/i.test(p)))

/** A URL's host and port with every key-like label written `…`: a source's default name. */
export function redactHost(u: URL): string {
  const labels = u.hostname.split('.').map((label) => (keyLabel(label) ? '…' : label))
  return labels.join('.') + (u.port ? `:${u.port}` : '')
}
