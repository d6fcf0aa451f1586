/**
 * A source list that outlives its host: a versioned JSON document of RPC endpoints (URL
 * templates, never keys) and relay multiaddrs, read from IPFS by CID or through an IPNS name
 * (records verified: ipns.ts), checked, its `${VAR}` placeholders filled from the caller's
 * vars, and returned as sources ready for `createOutlast` (relays as `p2p({ peers })` entries:
 * this file loads no libp2p). With an IPNS name, `watchSources` picks up newer records.
 *
 * The document (version 1):
 * ```json
 * { "version": 1, "chainId": 1, "sources": [
 *   { "url": "https://mainnet.example/v3/${KEY}", "kind": "cloud", "domain": "aws-us-east-1", "name": "example" },
 *   { "url": "wss://eth.example/ws", "domain": "gcp-europe" },
 *   { "relay": "/dns4/relay.example/tcp/4002/ws/p2p/12D3Koo…", "domain": "relay-example" } ] }
 * ```
 * Entry fields: `url` (http, https, ws or wss) or `relay` (a multiaddr ending in /p2p/<id>);
 * optional `name`, `domain`, `weight`; URL entries also `kind` (cloud, self-hosted, wallet) and
 * `untrusted`. Anything else is refused, as is a URL that carries what looks like a key: a
 * published document is public.
 */
import { type Clock, realClock } from '../core/clock.ts'
import { ConfigError } from '../shared/errors.ts'
import type { Source } from '../shared/types.ts'
import { URL_KINDS, type UrlSourceKind } from '../shared/types.ts'
import { redactUrl } from '../shared/url.ts'
import { http } from '../sources/http.ts'
import { webSocket } from '../sources/webSocket.ts'
import { type IpnsResolver, ipnsResolver } from './ipns.ts'

/** What reads verified JSON by IPFS path: `createIpfs()`, or anything with its `json`. */
export type JsonReader = {
  json(url: string, options?: { signal?: AbortSignal; maxBytes?: number }): Promise<unknown>
}

export type SourcesFromOptions = {
  /** Reads the document, verified (`createIpfs()`). */
  ipfs: JsonReader
  /** Gateways asked for IPNS records (for `/ipns/` names), unless `ipns` is given. @default [] */
  gateways?: readonly string[]
  /** An IPNS resolver to use (shares what it has seen: a replayed older record cannot win). @default one over `gateways` */
  ipns?: IpnsResolver
  /**
   * Values for the `${VAR}` placeholders of URL templates (API keys), each with the hosts it may
   * be sent to: `{ KEY: { value: '…', hosts: ['mainnet.infura.io', '*.g.alchemy.com'] } }`
   * (`*.` is any subdomain). The list's publisher picks the URLs; a key goes only to a host
   * named here, over https or wss (http and ws only to a loopback host). @default {}
   */
  vars?: Readonly<Record<string, Var | undefined>>
  /** The chain the caller expects; a list for another chain is refused. @default any */
  chainId?: number
  /** A URL entry whose placeholders have no value: refuse the list, or leave the entry out (listed in `skipped`). @default 'error' */
  missingVars?: 'error' | 'skip'
  /** Largest document read, in bytes. @default 262_144 */
  maxBytes?: number
  signal?: AbortSignal
}

/** A placeholder's value and the hosts it may go to (`*.example.com`: any subdomain). */
export type Var = { value: string; hosts: readonly string[] }

/** A relay as `p2p({ peers })` takes it. */
export type RelayEntry = { address: string; name?: string; domain?: string; weight?: number }

export type SourceList = {
  version: 1
  chainId: number
  /** `http()` and `webSocket()` sources, keys filled in (their labels never show them). */
  sources: Source[]
  /** Relay multiaddrs for `p2p({ peers: relays })` (outlast/p2p). */
  relays: RelayEntry[]
  /** URL entries left out for want of a var (`missingVars: 'skip'`). */
  skipped: { index: number; missing: string[] }[]
  /** The IPFS path the document was read from. */
  path: string
  /** The IPNS record's sequence, when read through a name. */
  sequence?: bigint
}

const MAX_SOURCES = 64
const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g
const URL_KEYS = new Set(['url', 'kind', 'domain', 'name', 'weight', 'untrusted'])
const RELAY_KEYS = new Set(['relay', 'domain', 'name', 'weight'])

/** Reads, verifies and checks the source list at `ref`: a CID, `/ipfs/…`, `ipfs://…`, `/ipns/…`, `ipns://…`. */
export async function sourcesFrom(ref: string, options: SourcesFromOptions): Promise<SourceList> {
  const { ipfs, signal } = options
  if (typeof ipfs?.json !== 'function')
    throw new ConfigError('sourcesFrom(): ipfs must be createIpfs() (or have its json()).')
  const isName = isIpns(ref)
  let path = normalize(ref)
  let sequence: bigint | undefined
  if (isName) {
    const resolver = options.ipns ?? resolverFor(options)
    const [, , name = '', ...rest] = path.split('/')
    const record = await resolver.record(name, signal ? { signal } : {})
    sequence = record.sequence
    path = await resolver.resolve([record.value.replace(/\/+$/, ''), ...rest].join('/'), {
      ...(signal ? { signal } : {}),
    })
  }
  const doc = await ipfs.json(path, {
    maxBytes: options.maxBytes ?? 262_144,
    ...(signal ? { signal } : {}),
  })
  return { ...parseSourceList(doc, options), path, ...(sequence !== undefined ? { sequence } : {}) }
}

/**
 * Checks a source-list document and builds its sources; a `ConfigError` names the first thing
 * wrong (`sources[2].url …`). Pure but for making the sources (which open nothing yet).
 */
export function parseSourceList(
  doc: unknown,
  options: Pick<SourcesFromOptions, 'vars' | 'chainId' | 'missingVars'> = {},
): Omit<SourceList, 'path' | 'sequence'> {
  const fail = (what: string): never => {
    throw new ConfigError(`source list: ${what}`)
  }
  checkVars(options.vars)
  if (!isObject(doc)) fail('not a JSON object')
  const d = doc as Record<string, unknown>
  if (d.version !== 1)
    fail(`unknown version ${JSON.stringify(d.version)}; this outlast reads version 1`)
  for (const key of Object.keys(d))
    if (!['version', 'chainId', 'sources'].includes(key)) fail(`unknown field "${key}"`)
  const chainId = d.chainId
  if (!Number.isSafeInteger(chainId) || (chainId as number) <= 0)
    fail(`chainId must be a positive integer, got ${JSON.stringify(chainId)}`)
  if (options.chainId !== undefined && chainId !== options.chainId)
    fail(`it is for chain ${chainId}, not the expected ${options.chainId}`)
  if (!Array.isArray(d.sources) || d.sources.length === 0) fail('sources must be a non-empty array')
  const entries = d.sources as unknown[]
  if (entries.length > MAX_SOURCES) fail(`more than ${MAX_SOURCES} sources (${entries.length})`)

  const sources: Source[] = []
  const relays: RelayEntry[] = []
  const skipped: SourceList['skipped'] = []
  const names = new Set<string>()
  entries.forEach((entry, i) => {
    const at = `sources[${i}]`
    if (!isObject(entry)) fail(`${at} is not an object`)
    const e = entry as Record<string, unknown>
    const isRelay = 'relay' in e
    if (isRelay === 'url' in e) fail(`${at} needs exactly one of "url" or "relay"`)
    for (const key of Object.keys(e))
      if (!(isRelay ? RELAY_KEYS : URL_KEYS).has(key))
        fail(
          `${at} has an unknown field "${key}" (${[...(isRelay ? RELAY_KEYS : URL_KEYS)].join(', ')})`,
        )
    const name = optionalString(e.name, `${at}.name`, fail)
    const domain = optionalString(e.domain, `${at}.domain`, fail)
    if (name !== undefined) {
      if (names.has(name)) fail(`${at}.name "${name}" is used twice`)
      names.add(name)
    }
    const weight = e.weight
    if (
      weight !== undefined &&
      !(typeof weight === 'number' && weight > 0 && Number.isFinite(weight))
    )
      fail(`${at}.weight must be a number > 0`)
    const common = {
      ...(name !== undefined ? { name } : {}),
      ...(domain !== undefined ? { domain } : {}),
      ...(weight !== undefined ? { weight: weight as number } : {}),
    }
    if (isRelay) {
      relays.push({ address: relayAddress(e.relay, `${at}.relay`, fail), ...common })
      return
    }
    const kind = e.kind
    if (kind !== undefined && !URL_KINDS.includes(kind as UrlSourceKind))
      fail(`${at}.kind must be one of ${URL_KINDS.join(', ')}, got ${JSON.stringify(kind)}`)
    if (e.untrusted !== undefined && typeof e.untrusted !== 'boolean')
      fail(`${at}.untrusted must be true or false`)
    const template = urlTemplate(e.url, `${at}.url`, fail)
    const missing = [...template.matchAll(VAR)]
      .map((m) => m[1]!)
      .filter((v) => !varOf(options.vars, v))
    if (missing.length > 0) {
      if (options.missingVars === 'skip') {
        skipped.push({ index: i, missing })
        return
      }
      fail(
        `${at}.url needs ${missing.map((v) => `\${${v}}`).join(', ')}: pass ${missing.length > 1 ? 'them' : 'it'} in vars (or missingVars: 'skip')`,
      )
    }
    const url = template.replace(VAR, (_, v: string) =>
      encodeURIComponent(varOf(options.vars, v)!.value),
    )
    keysStayHome(url, template, options.vars!, `${at}.url`, fail)
    const o = {
      ...common,
      ...(kind !== undefined ? { kind: kind as UrlSourceKind } : {}),
      ...(e.untrusted !== undefined ? { untrusted: e.untrusted as boolean } : {}),
    }
    sources.push(/^wss?:/i.test(url) ? webSocket(url, o) : http(url, o))
  })
  return { version: 1, chainId: chainId as number, sources, relays, skipped }
}

export type WatchOptions = SourcesFromOptions & {
  /** How often (ms) the IPNS record is read again. @default 60_000 */
  interval?: number
  /** Hears each newer list (a higher sequence pointing at another document). */
  onUpdate(list: SourceList): void
  /** Hears failed refreshes (the last good list stays current). @default ignored */
  onError?(error: unknown): void
  /** @default the real clock */
  clock?: Clock
}

export type SourcesWatch = {
  /** The newest list read. */
  current(): SourceList
  /** Reads the record now; resolves with the new list if there is one. */
  refresh(): Promise<SourceList | undefined>
  stop(): void
}

/**
 * Reads the list at an IPNS name, then re-reads its record every `interval` ms and calls
 * `onUpdate` with each newer list (the dApp decides when to rebuild its client with it).
 */
export async function watchSources(ref: string, options: WatchOptions): Promise<SourcesWatch> {
  if (!isIpns(ref))
    throw new ConfigError(`watchSources(): ${ref} is not an /ipns/ name; a CID never changes.`)
  const { interval = 60_000, clock = realClock } = options
  if (!(Number.isFinite(interval) && interval >= 100))
    throw new ConfigError(`watchSources(): interval must be a number of ms >= 100, got ${interval}`)
  if (typeof options.onUpdate !== 'function')
    throw new ConfigError('watchSources(): onUpdate must be a function')
  // One resolver for the watch's life: it remembers the highest sequence seen.
  const o = { ...options, ipns: options.ipns ?? resolverFor(options) }
  let current = await sourcesFrom(ref, o)
  let stopped = false
  let timer: unknown
  let running: Promise<SourceList | undefined> | undefined

  const refresh = () => {
    running ??= (async () => {
      try {
        const next = await sourcesFrom(ref, o)
        if (
          stopped ||
          next.path === current.path ||
          (next.sequence ?? 0n) <= (current.sequence ?? 0n)
        )
          return undefined
        current = next
        options.onUpdate(next)
        return next
      } finally {
        running = undefined
      }
    })()
    return running
  }
  const tick = () => {
    if (stopped) return
    timer = clock.setTimeout(() => {
      refresh()
        .catch((error: unknown) => options.onError?.(error))
        .finally(tick)
    }, interval)
  }
  tick()
  return {
    current: () => current,
    refresh,
    stop() {
      stopped = true
      clock.clearTimeout(timer)
    },
  }
}

function resolverFor(options: SourcesFromOptions): IpnsResolver {
  if (!options.gateways?.length)
    throw new ConfigError('sourcesFrom(): an /ipns/ name needs gateways (or an ipns resolver).')
  return ipnsResolver({ gateways: options.gateways })
}

const isIpns = (ref: string) => /^(\/ipns\/|ipns:\/\/)/i.test(ref.trim())

/** `/ipfs/…` or `/ipns/…`, from a CID, `ipfs://`, `ipns://` or a path. */
function normalize(ref: string): string {
  const r = ref.trim()
  if (/^ipns:\/\//i.test(r)) return `/ipns/${r.slice(7)}`
  if (/^ipfs:\/\//i.test(r)) return `/ipfs/${r.slice(7)}`
  if (r.startsWith('/ipfs/') || r.startsWith('/ipns/')) return r
  return `/ipfs/${r}`
}

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v)

function optionalString(v: unknown, at: string, fail: (what: string) => never): string | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v.length === 0 || v.length > 100)
    fail(`${at} must be a non-empty string of at most 100 characters`)
  return v as string
}

/**
 * A URL template: http(s) or ws(s), with no credentials and no key in it: a path segment or
 * query value that looks like a key (a long run of letters and digits, or hex) must be a
 * `${VAR}` placeholder. Returns the template as written.
 */
function urlTemplate(v: unknown, at: string, fail: (what: string) => never): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 2_048)
    return fail(`${at} must be a URL (a string of at most 2048 characters)`)
  // Placeholders become a plain marker so that the URL parses; what is left must hold no key.
  const marked = v.replace(VAR, 'OUTLASTVAR')
  let url: URL
  try {
    url = new URL(marked)
  } catch {
    return fail(`${at} is not a URL: ${JSON.stringify(redactUrl(v))}`)
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol))
    fail(`${at} must be http(s) or ws(s), got ${url.protocol}`)
  // A key in the host would go out in every DNS lookup, and be the source's name: refused.
  if (url.hostname.includes('outlastvar'))
    fail(`${at} has a placeholder in its host; a key goes in the path, the query or user:password@`)
  const refuse = (where: string) =>
    fail(
      `${at} holds what looks like a key in its ${where}: publish a template with a placeholder instead, e.g. https://host/v3/\${KEY}`,
    )
  if (
    (url.username && url.username !== 'OUTLASTVAR') ||
    (url.password && url.password !== 'OUTLASTVAR')
  )
    refuse('credentials')
  for (const segment of url.pathname.split('/')) if (looksLikeKey(segment)) refuse('path')
  for (const [, value] of url.searchParams) if (looksLikeKey(value)) refuse('query')
  if (url.hash) fail(`${at} must not have a #fragment`)
  return v
}

/**
 * The caller's vars: each a non-empty value and the hosts it may go to. Checked whole, before
 * the list is read, so a mistake shows even where the list uses no placeholder.
 */
function checkVars(vars: SourcesFromOptions['vars']): void {
  if (vars === undefined) return
  const fail = (what: string): never => {
    throw new ConfigError(`sourcesFrom(): ${what}`)
  }
  if (!isObject(vars)) fail('vars must be an object of { value, hosts } entries')
  for (const [name, v] of Object.entries(vars!)) {
    if (v === undefined) continue
    if (
      !isObject(v) ||
      typeof v.value !== 'string' ||
      v.value === '' ||
      !Array.isArray(v.hosts) ||
      v.hosts.length === 0 ||
      !v.hosts.every((h) => typeof h === 'string' && HOST.test(h))
    )
      fail(
        `vars.${name} must be { value, hosts }: the key, and the hosts it may be sent to (e.g. hosts: ['mainnet.infura.io'] or ['*.g.alchemy.com']); the list's publisher picks the URLs`,
      )
  }
}

/** The caller's var `name`, its own (a placeholder `${constructor}` is no var). */
const varOf = (vars: SourcesFromOptions['vars'], name: string) =>
  vars && Object.hasOwn(vars, name) ? vars[name] : undefined

/** A host name, or `*.` and one: no scheme, port or path. */
const HOST = /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/

/**
 * Refuses a filled-in URL that would send a var to a host the caller did not name for it, or
 * in the clear (http or ws, but to a loopback host): the publisher chose the URL, not the caller.
 */
function keysStayHome(
  url: string,
  template: string,
  vars: NonNullable<SourcesFromOptions['vars']>,
  at: string,
  fail: (what: string) => never,
): void {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {}
  if (!parsed) fail(`${at} is not a URL once its placeholders are filled in`)
  const { hostname, protocol } = parsed as URL
  const host = hostname.toLowerCase()
  const loopback = host === 'localhost' || host === '[::1]' || /^127(\.\d+){3}$/.test(host)
  for (const [, name] of template.matchAll(VAR)) {
    const { hosts } = varOf(vars, name!)!
    const allowed = hosts.some((h) => {
      const p = h.toLowerCase()
      return p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p
    })
    if (!allowed)
      fail(
        `${at} would send \${${name}} to ${host}, a host vars.${name}.hosts does not name (${hosts.join(', ')})`,
      )
    if (!loopback && (protocol === 'http:' || protocol === 'ws:'))
      fail(`${at} would send \${${name}} to ${host} unencrypted (${protocol}); use https or wss`)
  }
}

/** Provider keys: 20+ letters, digits, `-` or `_` with both letters and digits, or 32+ hex digits. */
function looksLikeKey(s: string): boolean {
  // Around a placeholder (`key-${KEY}`), each literal piece is judged on its own.
  return s
    .split('OUTLASTVAR')
    .some(
      (p) =>
        /^(0x)?[0-9a-fA-F]{32,}$/.test(p) ||
        (p.length >= 20 && /^[A-Za-z0-9_-]+$/.test(p) && /[0-9]/.test(p) && /[A-Za-z]/.test(p)),
    )
}

function relayAddress(v: unknown, at: string, fail: (what: string) => never): string {
  if (
    typeof v !== 'string' ||
    v.length > 1_024 ||
    !/^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/.+\/p2p\/[1-9A-HJ-NP-Za-km-z]{46,}$/.test(v)
  )
    fail(
      `${at} must be a relay multiaddr ending in /p2p/<peer id> (as \`outlast relay\` prints), got ${JSON.stringify(typeof v === 'string' ? v.slice(0, 120) : v)}`,
    )
  return v as string
}
