/**
 * The secrets a URL source was configured with, and the scrubber that removes them, in every
 * form a node may echo, from everything the source emits: messages, close reasons, error data.
 */
import { keyLabel, redactUrl } from '../shared/url.ts'

export type Scrubber = {
  /** `text` with every secret replaced by `…` (and the source's URL by its label). */
  text(text: string): string
  /** A copy of JSON data (a tree) with every string, keys included, scrubbed; walked iteratively. */
  data<T>(data: T): T
}

/*
 * What counts as a secret. A provider key is a random string of 16 to 64 characters, but URLs
 * also carry plain words that node messages use too (`/v3/`, `/rpc`, `mainnet`, `?chain=base`).
 * So a URL part (path segment, query value, username, fragment) is a secret from 6 characters
 * on, unless it is a plain word (letters, joined by `-`, `_` or `.`, at most 15 characters):
 * "v3", "rpc" or "mainnet" never mangle a node's text, and no real key is that short or plain.
 * What the user set apart as a credential (a password, a header value, a bearer token) is a
 * secret from 4 characters on whatever it looks like; hiding 1 to 3 characters would only
 * mangle text.
 */
const MIN_URL_PART = 6
const MIN_CREDENTIAL = 4
/**
 * A part of a secret is one too (a cut or an echo may keep one part whole) only from 8
 * characters on and when it is not a plain word or a number: each part can be told apart by
 * its own echo, so a short one would be a short secret to guess, and `page_size=1000` would
 * make `1000` a secret that revert data holds.
 */
const MIN_PART = 8
/** Lower-case letters (a capital first at most) joined by `-`, `_` or `.`: no random key's shape. */
const PLAIN_WORD = /^[A-Za-z][a-z]*(?:[-_.][a-z]+)*$/
/** A plain word no key is, of at most 15 characters. */
const plainWord = (value: string) => value.length <= 15 && PLAIN_WORD.test(value)
/** A number no key is (a chain id: `/v2/421614/rpc`, `x-chain-id: 8453`); a longer one may be. */
const chainNumber = (value: string) => /^\d{1,12}$/.test(value)
/** An account (`0x` and 40 hex digits): public whatever names it (`?token=0x…`, an ERC-20). */
const isAddress = (value: string) => /^0x[0-9a-f]{40}$/i.test(value)
/** A value no key is, unless named as one: a plain word, a chain id (decimal or hex). */
const publicValue = (value: string) =>
  plainWord(value) || chainNumber(value) || /^0x[0-9a-f]{1,16}$/i.test(value)
/** The words of a parameter's or header's name that say its value is a credential. */
const CREDENTIAL_WORDS = new Set(
  'key apikey k token secret auth authorization pass passwd password pwd pw session sessionid sid sig signature cred creds credential credentials cookie jwt hmac access appid otp pin'.split(
    ' ',
  ),
)
/** `api_key`, `x-api-key`, `apiKey`, `accessToken`: a word of the name is a credential's. */
const credentialName = (name: string) =>
  name
    .split(/[-_.\s]+|(?<=[a-z])(?=[A-Z])/)
    .some((word) => CREDENTIAL_WORDS.has(word.toLowerCase()))
/** A secret unless an account, or a public value under a name that says nothing of credentials. */
const secretValue = (value: string, name: string) =>
  !isAddress(value) && (credentialName(name) || !publicValue(value))
/**
 * Inside hex data (`0x…`: revert data, an answer) a secret shorter than this is left alone: a
 * short one sits there by chance (`8453` in 1 of ~1,100 words), and scrubbing it would make an
 * answer wrong; a key (16 characters or more) cannot, and is scrubbed there too.
 */
const MIN_IN_HEX = 16
const HEX_DIGITS = /^[0-9a-f]+$/i
const isHexDigit = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
/** Headers that never carry credentials. */
const PUBLIC_HEADERS = new Set(['content-type', 'accept'])

/**
 * Every secret of `url` and `headers`, and a scrubber for them. Whole secrets only: a scrubber
 * that also took out a secret's start would tell whoever sees its output, with text of their
 * own (a revert reason, an echoed parameter), which starts are the secret's. Text cut short
 * before it is scrubbed is cut by `clip` (shared/clip.ts), which leaves no key's start behind.
 */
export function scrubberFor(url: string, headers: Record<string, string> = {}): Scrubber {
  const replace = new Map<string, string>()
  let secrets = 0
  const add = (value: string, min: number) => {
    if (value.length < min) return
    secrets++
    // A hex key is echoed by a node that decoded it without its `0x`.
    if (/^0x[0-9a-f]{16,}$/i.test(value)) add(value.slice(2), min)
    for (const form of formsOf(value)) {
      if (form.length >= MIN_CREDENTIAL) replace.set(form, '…')
      // White space ends a word where outlast cuts text short (shared/clip.ts): a word of a
      // passphrase (or of a query key a form reads `+` in as a space) left whole is a secret too.
      const words = form.split(/\s+/)
      if (words.length > 1) for (const w of words) part(w)
    }
  }
  // A part named as a credential (`session=…` in a cookie) is one from 4 characters on; an
  // unnamed piece (of `a;b`, `user:pass`) only when it could be a key alone: else one opaque
  // token's halves would each be a secret to guess apart.
  const part = (value: string, name = '') => {
    if (secretValue(value, name)) add(value, credentialName(name) ? MIN_CREDENTIAL : MIN_PART)
  }
  // Plain words (`v3`, `rpc`, `mainnet`) and numbers (a chain id) are no keys.
  const urlPart = (value: string, name = '') => {
    const plain = decode(value)
    if (!secretValue(plain, name)) return
    add(value, MIN_URL_PART)
    // A pair or a list in one value (`?auth=user:pass`, `?keys=k1,k2`): each of its items too.
    const items = plain.split(/[:;,]/)
    if (items.length > 1) for (const item of items) part(item)
  }
  secretsOfUrl(url, replace, add, urlPart)
  secretsOfHeaders(headers, add, part)
  return secrets === 0 ? { text: (t) => t, data: (d) => d } : scrubberOf(replace)
}

/** `scrubberFor`'s collectors: a secret with its least length, a part of one, a URL part. */
type Add = (value: string, min: number) => void
type Part = (value: string, name?: string) => void

/** The secrets of a source's URL: a key in its host, path, query, fragment or user info. */
function secretsOfUrl(url: string, replace: Map<string, string>, add: Add, urlPart: Part): void {
  try {
    const u = new URL(url)
    // A key in the host name (redactUrl writes it `…` too); a name's words are no secrets.
    for (const label of u.hostname.split('.')) if (keyLabel(label)) add(label, MIN_URL_PART)
    for (const segment of u.pathname.split('/')) urlPart(segment)
    for (const pair of u.search.slice(1).split('&')) {
      const eq = pair.indexOf('=')
      urlPart(pair.slice(eq + 1), eq < 0 ? '' : decode(pair.slice(0, eq)))
    }
    urlPart(u.hash.slice(1))
    urlPart(u.username)
    add(u.password, MIN_CREDENTIAL)
    if (u.username || u.password) {
      const pair = `${decode(u.username)}:${decode(u.password)}`
      add(pair, MIN_CREDENTIAL) // and its base64, the basic-auth header: see formsOf
    }
    const label = redactUrl(url)
    for (const whole of [url, u.href]) replace.set(whole, label)
    u.username = u.password = ''
    replace.set(u.href, label)
  } catch {}
}

/** The secrets of a source's headers: each value but the public ones', its parts, its token. */
function secretsOfHeaders(headers: Record<string, string>, add: Add, part: Part): void {
  for (const [name, value] of Object.entries(headers)) {
    if (PUBLIC_HEADERS.has(name.toLowerCase()) || typeof value !== 'string') continue
    if (secretValue(value.trim(), name)) add(value.trim(), MIN_CREDENTIAL)
    // A list of credentials (`cookie: session=…; csrf="…"`): each value, unquoted, by its name.
    for (const item of value.split(/[;,]/)) {
      const eq = item.indexOf('=')
      part(
        item
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
        eq < 0 ? '' : item.slice(0, eq).trim(),
      )
    }
    const [, scheme, token] = /^(\S+)\s+(\S.*)$/.exec(value.trim()) ?? []
    if (!scheme || !token) continue
    add(token, MIN_CREDENTIAL)
    if (scheme.toLowerCase() !== 'basic') continue
    const pair = unbase64(token)
    if (pair === undefined) continue
    add(pair, MIN_CREDENTIAL)
    // The user as a URL's user is (a plain `node` mangled geth's "missing trie node"), the
    // password always.
    const at = pair.indexOf(':')
    if (!publicValue(pair.slice(0, at))) add(pair.slice(0, at), MIN_CREDENTIAL)
    add(pair.slice(at + 1), MIN_CREDENTIAL)
  }
}

/** The scrubber that replaces each of `replace`'s forms (a secret's, the URL's) by its label. */
function scrubberOf(replace: ReadonlyMap<string, string>): Scrubber {
  const byLower = new Map([...replace].map(([k, v]) => [k.toLowerCase(), v]))
  // As given and in lower case: some letters' lower case does not match them back (`İ`, `ẞ`).
  // Longest first, so that a secret inside a longer one never leaves the rest behind.
  const keys = [...new Set([...replace.keys(), ...byLower.keys()])].sort(
    (a, b) => b.length - a.length,
  )
  const sub = (m: string) => replace.get(m) ?? byLower.get(m.toLowerCase()) ?? '…'
  const patternOf = (list: string[], before = '') =>
    list.length ? new RegExp(before + list.map(escapeRegExp).join('|'), 'gi') : undefined
  // Keys (MIN_IN_HEX or more) everywhere; shorter secrets outside hex data, where a hex run is
  // matched whole and kept as it is.
  const keysPattern = patternOf(keys.filter((k) => k.length >= MIN_IN_HEX))
  const shortPattern = patternOf(keys.filter((k) => k.length < MIN_IN_HEX))
  const text = (t: string) => {
    const out = keysPattern ? t.replace(keysPattern, sub) : t
    if (!shortPattern) return out
    // Whether the text at `at` is inside a hex run (`0x` and hex digits so far), read once
    // from start to end as the matches come.
    let at = 0
    let inRun = false
    return out.replace(shortPattern, (m: string, offset: number) => {
      for (; at < offset; at++) {
        const c = out.charCodeAt(at)
        if (!isHexDigit(c)) inRun = (c === 0x78 || c === 0x58) && out.charCodeAt(at - 1) === 0x30
      }
      return inRun && HEX_DIGITS.test(m) ? m : sub(m)
    })
  }
  return { text, data: (d) => scrubTree(d, text) }
}

/** The forms a node may echo a secret in: as given, percent-decoded and -encoded, form-encoded, JSON-escaped, base64. */
function formsOf(value: string): string[] {
  const plain = decode(value)
  const form = new URLSearchParams({ a: plain }).toString().slice(2)
  // A query read the form way takes a raw `+` for a space (`?key=ab+cd` is echoed `ab cd`).
  // RFC 3986 as Python's quote, PHP's rawurlencode and Go's QueryEscape write it (`!'()*` too).
  const strict = encodeURIComponent(plain).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  const forms = [
    value,
    plain,
    encodeURIComponent(plain),
    form,
    decode(value.replace(/\+/g, ' ')),
    strict,
    strict.replace(/%20/g, '+'),
  ]
  // Base64 without padding, so that a match ignores how the echo was padded.
  for (const f of forms.slice()) forms.push(JSON.stringify(f).slice(1, -1), unpadded(f))
  return forms
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** Base64 of the UTF-8 bytes (`btoa` alone throws beyond Latin-1). */
export function base64(text: string): string {
  let binary = ''
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary)
}

const unpadded = (text: string) => base64(text).replace(/=+$/, '')

function unbase64(token: string): string | undefined {
  try {
    const bytes = Uint8Array.from(atob(token), (c) => c.charCodeAt(0))
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** A scrubbed copy of a JSON tree, built with an explicit stack (any depth, no recursion). */
function scrubTree<T>(data: T, text: (t: string) => string): T {
  const copy = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v)
    if (typeof v !== 'object' || v === null) return v
    const to = Array.isArray(v) ? [] : {}
    stack.push([v, to])
    return to
  }
  const stack: [object, Record<string, unknown>][] = []
  const root = copy(data)
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [from, to] = next
    const isArray = Array.isArray(from)
    for (const [key, value] of Object.entries(from)) {
      const k = isArray ? key : text(key)
      // A `__proto__` key from JSON is data: define it, do not set the copy's prototype.
      Object.defineProperty(to, k, {
        value: copy(value),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
  }
  return root as T
}
