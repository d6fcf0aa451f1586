/**
 * IPNS names resolved through trustless gateways, never on a gateway's word: each route's record
 * (`GET /ipns/{name}?format=ipns-record`: ipnsRoute.ts) is verified with the `ipns` package
 * (signed by the key the name is, not expired), and the highest sequence among the valid ones
 * wins. A route that sends a record that fails its signature is marked lying; an expired record
 * is refused, not a lie (a cache may hold an old one). The highest sequence seen is remembered:
 * a route replaying an older valid record cannot take a name back.
 */

import type { MultihashDigest } from 'multiformats/hashes/interface'
import { ConfigError, messageOf } from '../shared/errors.ts'
import { loadsOverNetwork } from '../shared/runtime.ts'
import { redactUrl } from '../shared/url.ts'
import { ContentError, ContentNotFoundError, type RouteReason } from './errors.ts'
import { checkGatewayUrls } from './gatewayUrls.ts'
import { fromRoute, type Route } from './ipnsRoute.ts'

export { IPNS_RECORD_TYPE } from './ipnsRoute.ts'

export type IpnsOptions = {
  /** Trustless gateway base URLs asked for records (`/ipns/{name}?format=ipns-record` is added). */
  gateways: readonly string[]
  /** Milliseconds one gateway may take for one record. @default 10_000 */
  timeout?: number
  /**
   * Once one valid record is in, how much longer (ms) the other gateways are waited for (one may
   * hold a newer sequence). @default 500
   */
  grace?: number
  /** Hears each route caught sending a record that fails verification. @default none */
  onLie?: (lie: { route: string; name: string; reason: string }) => void
  /** The fetch gateways use. @default globalThis.fetch */
  fetch?: typeof fetch
  /**
   * Load the record verifier (the `ipns` package) now rather than with the first record. A page's
   * host can fail with the cloud it sits on; a name first resolved after that would then fail on
   * code that no longer loads. @default true in browsers and workers, false in Node
   */
  preload?: boolean
}

/** A verified record: what the name points to, and from which route. */
export type IpnsRecordInfo = {
  name: string
  /** The record's value, e.g. `/ipfs/bafy…`. */
  value: string
  sequence: bigint
  /** RFC 3339 end of validity. */
  validity: string
  /** Seconds the record may be cached, from its TTL. */
  ttl: number | undefined
  route: string
}

export type IpnsRouteStatus = {
  name: string
  records: number
  lies: number
  failures: number
  lastError: string | undefined
}

export type IpnsResolver = {
  /** The valid record with the highest sequence any route holds (never lower than one seen before). */
  record(name: string, options?: { signal?: AbortSignal }): Promise<IpnsRecordInfo>
  /** `/ipns/name/a/b` (or `ipns://name/a/b`) → `/ipfs/CID/…/a/b`, following up to 4 IPNS hops. */
  resolve(path: string, options?: { signal?: AbortSignal }): Promise<string>
  status(): { routes: IpnsRouteStatus[] }
}

/**
 * A resolver over trustless gateways. The `ipns` package loads with the first record, or at once
 * with `preload` (in browsers by default).
 */
export function ipnsResolver(options: IpnsOptions): IpnsResolver {
  const o = settingsOf(options)
  // Never rejects. What fails to load now fails with the first record too in a browser (it keeps
  // a failed module load): made with the page, the resolver loads while its host answers.
  if (o.preload) void loadVerifier().catch(() => {})
  const routes: Route[] = o.gateways.map((url) => ({
    url,
    name: redactUrl(url),
    records: 0,
    lies: 0,
    failures: 0,
    lastError: undefined,
  }))
  /** By the name's routing key: one name in two spellings (k51…, 12D3Koo…) has one floor. */
  const highest = new Map<string, IpnsRecordInfo>()

  const record = async (nameIn: string, { signal }: { signal?: AbortSignal } = {}) => {
    const name = nameIn.trim()
    const [ipns, validator, peerId] = await loadVerifier()
    const key = routingKeyOf(name, ipns, peerId)
    const reasons: RouteReason[] = []
    const valid: IpnsRecordInfo[] = []
    const stop = new AbortController()
    const all = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal
    // Every route is asked at once (records are tiny); once one valid record is in, the others
    // get `grace` ms more to show a higher sequence.
    let graceTimer: ReturnType<typeof setTimeout> | undefined
    let startGrace = () => {}
    const graceOver = new Promise<void>((resolve) => {
      all.addEventListener('abort', () => resolve(), { once: true })
      startGrace = () => {
        graceTimer ??= setTimeout(resolve, o.grace)
      }
    })
    const asks = routes.map(async (r) => {
      try {
        const info = await fromRoute(r, name, key, { ...ipns, ...validator }, all, o)
        if (!info) return void reasons.push({ route: r.name, reason: 'does not have it' })
        valid.push(info)
        startGrace()
      } catch (error) {
        reasons.push({ route: r.name, reason: messageOf(error) })
      }
    })
    await Promise.race([Promise.all(asks), graceOver])
    clearTimeout(graceTimer)
    stop.abort()
    if (signal?.aborted) throw new ContentError(name, `Resolving /ipns/${name} was cancelled.`)
    // The highest record seen is a floor, and an answer only while it is valid: once expired,
    // it is no longer served, and no route's older record takes its place.
    const floorKey = Array.from(key, (b) => b.toString(16).padStart(2, '0')).join('')
    const known = highest.get(floorKey)
    const live = known && Date.parse(known.validity) > Date.now() ? known : undefined
    const best = [...valid, ...(live ? [live] : [])].sort(newerFirst)[0]
    if (!best || (known && best.sequence < known.sequence)) {
      if (known && !live)
        reasons.push({
          route: 'outlast',
          reason: `the record seen before (sequence ${known.sequence}) has expired, and no route has one as new`,
        })
      throw new ContentNotFoundError(name, reasons, 'a valid IPNS record for')
    }
    highest.set(floorKey, best)
    return best
  }

  const resolve = async (path: string, opts: { signal?: AbortSignal } = {}) => {
    let current = normalize(path)
    for (let hop = 0; hop < 4; hop++) {
      if (current.startsWith('/ipfs/')) return current
      const [, , name = '', ...rest] = current.split('/')
      const { value } = await record(name, opts)
      if (!value.startsWith('/ipfs/') && !value.startsWith('/ipns/'))
        throw new ContentError(
          name,
          `The IPNS record of ${name} points to ${JSON.stringify(value)}, not an /ipfs/ or /ipns/ path.`,
        )
      current = [value.replace(/\/+$/, ''), ...rest].join('/')
    }
    throw new ContentError(path, `${path}: more than 4 IPNS hops; refusing to follow further.`)
  }

  return {
    record,
    resolve,
    status: () => ({ routes: routes.map(({ url: _, ...r }) => ({ ...r })) }),
  }
}

/** `/ipns/name/…`, `ipns://name/…` or a bare name as `/ipns/name/…`; `/ipfs/…` as it is. */
function normalize(path: string): string {
  const p = path.trim()
  if (/^ipns:\/\//i.test(p)) return `/ipns/${p.slice(7)}`
  if (/^ipfs:\/\//i.test(p)) return `/ipfs/${p.slice(7)}`
  if (p.startsWith('/ipns/') || p.startsWith('/ipfs/')) return p
  return `/ipns/${p}`
}

/** Every module resolving loads on first use: the record codec and validator, the name parser. */
const loadVerifier = () =>
  Promise.all([import('ipns'), import('ipns/validator'), import('@libp2p/peer-id')])

/** The record's routing key: `/ipns/` + the multihash of the key the name is. */
function routingKeyOf(
  name: string,
  { multihashToIPNSRoutingKey }: typeof import('ipns'),
  { peerIdFromString }: typeof import('@libp2p/peer-id'),
): Uint8Array {
  let digest: MultihashDigest
  try {
    digest = peerIdFromString(name).toMultihash()
  } catch {
    throw new ContentError(
      name,
      `Not an IPNS key name: ${JSON.stringify(name)} (a k51…/bafz… CID or a 12D3Koo…/Qm… peer id; DNSLink names are not resolved here).`,
    )
  }
  return multihashToIPNSRoutingKey(digest as MultihashDigest<0x00 | 0x12>)
}

/** Higher sequence first; at equal sequence, the later validity (the `ipns` selector's rule). */
function newerFirst(a: IpnsRecordInfo, b: IpnsRecordInfo): number {
  if (a.sequence !== b.sequence) return a.sequence > b.sequence ? -1 : 1
  const time = (v: string) => Date.parse(v) || 0
  return time(b.validity) - time(a.validity)
}

function settingsOf(options: IpnsOptions) {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`ipnsResolver(): ${what}`)
  }
  check(typeof options === 'object' && options !== null, 'needs an options object with gateways')
  const {
    gateways,
    timeout = 10_000,
    grace = 500,
    fetch: fetchFn = globalThis.fetch,
    preload = loadsOverNetwork(),
  } = options
  check(
    Array.isArray(gateways) && gateways.length > 0,
    'gateways must be a non-empty array of gateway URLs',
  )
  checkGatewayUrls(gateways, check)
  check(
    Number.isFinite(timeout) && timeout > 0,
    `timeout must be a number of ms > 0, got ${timeout}`,
  )
  check(Number.isFinite(grace) && grace >= 0, `grace must be a number of ms >= 0, got ${grace}`)
  check(typeof fetchFn === 'function', 'fetch must be a fetch function')
  check(
    typeof preload === 'boolean',
    `preload must be true or false, got ${JSON.stringify(preload)}`,
  )
  return { gateways, timeout, grace, fetch: fetchFn, onLie: options.onLie, preload }
}
