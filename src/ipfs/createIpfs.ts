/**
 * `createIpfs()`: verified content by CID from every configured route (Kubo, trustless
 * gateways, Helia), raced and hedged like the RPC engine's sources, each route with its own
 * breaker and latency. Options are checked here, at construction (a `ConfigError` names the
 * option); the request path is `fetch` → content.ts (the UnixFS walk) → blockRace.ts (one
 * verified block) → a route.
 */
import { CID } from 'multiformats/cid'
import { realClock } from '../core/clock.ts'
import { createEmitter } from '../core/emitter.ts'
import { checkNumber, checkObject, ms, whole } from '../core/options.ts'
import { clip } from '../shared/clip.ts'
import { ConfigError } from '../shared/errors.ts'
import { parseAddress } from './address.ts'
import { getBlock, type RaceContext } from './blockRace.ts'
import { fetchContent } from './content.ts'
import { ContentError } from './errors.ts'
import { gateway } from './gateway.ts'
import { heliaRoute } from './heliaRoute.ts'
import { kubo } from './kubo.ts'
import { callLimits } from './limits.ts'
import { conditionOf, createRouteState } from './routeState.ts'
import type {
  FetchOptions,
  Ipfs,
  IpfsEvents,
  IpfsOptions,
  IpfsRoute,
  RouteStatus,
} from './types.ts'

const WHERE = 'createIpfs()'
const KEYS = [
  'kubo',
  'gateways',
  'helia',
  'routes',
  'hedgeDelay',
  'maxBytes',
  'maxBlockBytes',
  'timeout',
  'attemptTimeout',
  'lieCooloff',
  'breaker',
  'fetch',
  'clock',
] as const
const MIB = 1024 * 1024

export function createIpfs(options: IpfsOptions): Ipfs {
  checkObject(WHERE, '', options, KEYS)
  const routes = routesOf(options)
  const maxBytes = checkNumber(WHERE, 'maxBytes', options.maxBytes, whole(1)) ?? 10 * MIB
  const maxBlockBytes =
    checkNumber(WHERE, 'maxBlockBytes', options.maxBlockBytes, whole(1)) ?? 2 * MIB
  const timeout = checkNumber(WHERE, 'timeout', options.timeout, ms(1)) ?? 30_000
  const attemptTimeout =
    checkNumber(WHERE, 'attemptTimeout', options.attemptTimeout, ms(1)) ?? 10_000
  const lieCooloff = checkNumber(WHERE, 'lieCooloff', options.lieCooloff, ms(1)) ?? 300_000
  const hedgeDelay = checkNumber(WHERE, 'hedgeDelay', options.hedgeDelay, ms(0))
  const breaker = checkObject(WHERE, 'breaker', options.breaker, [
    'threshold',
    'cooldown',
    'maxCooldown',
  ])
  checkNumber(WHERE, 'breaker.threshold', breaker?.threshold, whole(1))
  checkNumber(WHERE, 'breaker.cooldown', breaker?.cooldown, ms(1))
  checkNumber(WHERE, 'breaker.maxCooldown', breaker?.maxCooldown, ms(1))
  const clock = options.clock ?? realClock
  const events = createEmitter<IpfsEvents>()
  const now = () => clock.now()
  const states = routes.map((route) => createRouteState(route, options.breaker, now))
  const ctx: RaceContext = {
    states,
    hedge: { fixed: hedgeDelay, min: 50, max: 1_000, initial: 200 },
    clock,
    events,
    maxBlockBytes,
    attemptTimeout,
    lieCooloff,
    rateLimitWait: options.breaker?.cooldown ?? 1_000,
  }

  /** Runs `fn` within the call's deadline and signal, checking the per-call numbers first. */
  const bounded = async <T>(
    call: FetchOptions | undefined,
    fn: (limits: ReturnType<typeof callLimits>, maxBytes: number) => Promise<T>,
  ): Promise<T> => {
    checkObject('ipfs.fetch()', '', call, ['signal', 'maxBytes', 'timeout'])
    const cap = checkNumber('ipfs.fetch()', 'maxBytes', call?.maxBytes, whole(1)) ?? maxBytes
    const ms_ = checkNumber('ipfs.fetch()', 'timeout', call?.timeout, ms(1)) ?? timeout
    const limits = callLimits(clock, ms_, call?.signal)
    try {
      return await fn(limits, cap)
    } finally {
      limits.dispose()
    }
  }

  const fetch = (url: string, call?: FetchOptions) =>
    bounded(call, (limits, cap) =>
      fetchContent(ctx, parseAddress(url), {
        signal: limits.signal,
        stopped: limits.stopped,
        maxBytes: cap,
      }),
    )

  return {
    fetch,
    async json<T>(url: string, call?: FetchOptions): Promise<T> {
      const bytes = await fetch(url, call)
      try {
        return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as T
      } catch (error) {
        const { cid, path } = parseAddress(url)
        const where = [cid.toString(), ...path].join('/')
        throw new ContentError(
          cid.toString(),
          `${where} is not JSON (${bytes.byteLength} bytes).`,
          {
            cause: error,
          },
        )
      }
    },
    block(cid, call) {
      return bounded(call, async (limits) => {
        const parsed = typeof cid === 'string' ? parseCid(cid) : cid
        return getBlock(ctx, parsed, limits.signal, limits.stopped)
      })
    },
    status() {
      const t = clock.now()
      return {
        routes: states.map((s): RouteStatus => {
          const round = (v: number | undefined) =>
            v === undefined ? undefined : Math.round(v * 10) / 10
          return {
            name: s.route.name,
            kind: s.route.kind,
            condition: conditionOf(s, t),
            breaker: s.breaker.state,
            latency: {
              ewma: round(s.latency.ewma),
              p50: round(s.latency.percentile(50)),
              p95: round(s.latency.percentile(95)),
            },
            blocks: s.blocks,
            lies: s.lies,
            failures: s.failures,
            missing: s.missing,
            lastError: s.lastError,
          }
        }),
      }
    },
    on: events.on,
    removeListener: events.removeListener,
    async close() {
      await Promise.allSettled(routes.map((r) => r.close?.()))
    },
  }
}

function parseCid(cid: string): CID {
  try {
    return CID.parse(cid.trim())
  } catch {
    const shown = clip(cid, 81)
    throw new ContentError(shown, `Not a CID: ${JSON.stringify(shown)}.`)
  }
}

const isRoute = (x: unknown): x is IpfsRoute =>
  typeof (x as IpfsRoute)?.get === 'function' && typeof (x as IpfsRoute)?.kind === 'string'

/** Every route the options name, in order: Kubo, gateways, Helia, then `routes`. */
function routesOf(options: IpfsOptions): IpfsRoute[] {
  const routes: IpfsRoute[] = []
  if (options.kubo !== undefined) {
    if (isRoute(options.kubo)) routes.push(options.kubo)
    else if (typeof options.kubo?.block?.get === 'function')
      routes.push(kubo(options.kubo, gatewayOptions(options)))
    else throw new ConfigError(`${WHERE}: kubo must be a Kubo RPC client (with block.get).`)
  }
  if (options.gateways !== undefined) {
    if (!Array.isArray(options.gateways))
      throw new ConfigError(`${WHERE}: gateways must be an array of URLs.`)
    options.gateways.forEach((g, i) => {
      if (typeof g === 'string') routes.push(gateway(g, gatewayOptions(options)))
      else if (g && typeof g === 'object' && typeof g.url === 'string')
        routes.push(
          gateway(g.url, { ...gatewayOptions(options), ...(g.name ? { name: g.name } : {}) }),
        )
      else throw new ConfigError(`${WHERE}: gateways[${i}] must be a URL or { url, name }.`)
    })
  }
  if (options.helia !== undefined) {
    if (isRoute(options.helia)) routes.push(options.helia)
    else if (typeof options.helia?.blockstore?.get === 'function')
      routes.push(heliaRoute(options.helia))
    else throw new ConfigError(`${WHERE}: helia must be a Helia node (with blockstore.get).`)
  }
  if (options.routes !== undefined) {
    if (!Array.isArray(options.routes))
      throw new ConfigError(`${WHERE}: routes must be an array of routes.`)
    options.routes.forEach((r, i) => {
      if (!isRoute(r))
        throw new ConfigError(
          `${WHERE}: routes[${i}] is not a route (made by gateway(), kubo(), heliaRoute()).`,
        )
      routes.push(r)
    })
  }
  if (routes.length === 0)
    throw new ConfigError(`${WHERE}: no route: give kubo, gateways, helia or routes.`)
  const seen = new Set<string>()
  for (const r of routes) {
    if (seen.has(r.name))
      throw new ConfigError(
        `${WHERE}: two routes are named "${r.name}"; give each a name ({ url, name } for gateways).`,
      )
    seen.add(r.name)
  }
  return routes
}

const gatewayOptions = (options: IpfsOptions) => (options.fetch ? { fetch: options.fetch } : {})
