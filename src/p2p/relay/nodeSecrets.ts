/**
 * The secrets in the relay's node URLs (`rpc`, and `ws` if set), kept out of what peers get. A
 * peer receives the node's own answer text, and a provider may echo its URL, key included, in an
 * error ("execution not allowed on endpoint https://…/v3/KEY"): every text for a peer passes
 * through the sources' scrubber (sources/secrets.ts), as a text, since the scrubber knows each
 * form a key takes inside JSON. A URL with nothing secret in it costs nothing: no scan, no parse.
 * Whole secrets only (as every scrubber): one that also deleted a secret's start before a `…`
 * would tell a peer, that made the node echo its guesses each followed by `…`, which guess
 * starts the key (one character at a time).
 */
import { scrubberFor } from '../../sources/secrets.ts'

/** A node's answer `text` with every secret of `urls` replaced (a whole URL by its redacted form). */
export type ScrubText = (text: string) => string

export function nodeSecrets(urls: readonly (string | undefined)[]): ScrubText {
  const scrubbers = urls
    .filter((url): url is string => url !== undefined)
    .map((url) => ({ url, scrubber: scrubberFor(url) }))
    // The scrubber of a URL with secrets replaces that URL by its label; one without any
    // returns every text as it is.
    .filter(({ url, scrubber }) => scrubber.text(url) !== url)
    .map(({ scrubber }) => scrubber.text)
  if (scrubbers.length === 0) return (text) => text
  // Every text, whatever its shape (a node may answer `{"message": …}` or plain text); inside
  // hex data only keys are scrubbed (secrets.ts MIN_IN_HEX), so results stay as the node wrote
  // them, and a text with nothing to scrub goes out as it came, escapes and all.
  return (text) => {
    const plain = spelledOut(text)
    const scrubbed = scrubbers.reduce((t, scrub) => scrub(t), plain)
    return scrubbed === plain ? text : scrubbed
  }
}

/**
 * The node's JSON with the escapes `JSON.stringify` would not write spelled out: JSON lets a node
 * write any character of a key as `\uXXXX` (.NET's encoder escapes `+`, PHP's `/` as `\/`),
 * which the peer's `JSON.parse` reads back as the key, and the scrubber knows only the forms
 * stringify writes. Textual, so numbers and member order stay exactly as the node wrote them;
 * quotes, backslashes, control characters and lone surrogates stay escaped (a pair is spelled out).
 */
function spelledOut(text: string): string {
  if (!text.includes('\\')) return text
  return text.replace(ESCAPE, (written, high?: string, low?: string, hex?: string) => {
    if (written === '\\/') return '/'
    if (high && low) return String.fromCharCode(Number.parseInt(high, 16), Number.parseInt(low, 16))
    if (hex === undefined) return written
    const code = Number.parseInt(hex, 16)
    const plain = code >= 0x20 && code !== 0x22 && code !== 0x5c && (code < 0xd800 || code > 0xdfff)
    return plain ? String.fromCharCode(code) : written
  })
}

/** An escaped surrogate pair (one character past the basic plane), any `\uXXXX`, `\/`, `\\`. */
const ESCAPE = /\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})|\\\/|\\\\/gi
