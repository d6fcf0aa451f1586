/**
 * `ipfsHeaders()`: an RPC source that answers `eth_getBlockByHash` from IPFS (trustless gateways
 * by plain `fetch`, and/or any block getter such as `createIpfs().block`), every header checked
 * against the hash asked for. It is always untrusted: only answers the engine checks alone count
 * (docs/architecture.md, "Untrusted sources count only when checked").
 *
 * What it may answer honestly: a header is not a block. Its hash covers the header and, through
 * `transactionsRoot`, `sha3Uncles` and `withdrawalsRoot`, the body, but the body itself is not
 * in the raw block. So:
 * - a block whose roots say its body is empty (no transactions, no uncles, no withdrawals) is
 *   answered whole (`transactions: []`, `uncles: []`, `withdrawals: []`, `size`): every field is
 *   derived from the checked header, and the engine's block rules verify the body against the
 *   roots, so such an answer stands alone for callers too;
 * - any other block is answered with its header fields only (no `transactions`, `uncles`,
 *   `withdrawals` or `size`: never an invented empty list) and only to `hydrate = false`. That
 *   is what the engine's own header reads need (the trust store's headers for proofs, by hash:
 *   handlers/agreedChain.ts `headerByHash`, whose only check is the hash); a caller's
 *   `eth_getBlockByHash` needs a body, so the engine's block rules never let this answer stand
 *   alone and, the source being untrusted, it counts for nothing there (another source answers);
 * - `hydrate = true` for a block with a body is refused (nothing here can answer it);
 * - `eth_chainId` is answered from `chainId` (the engine's chain check asks every source): a
 *   header by hash is the same on every chain, and its hash is the whole check;
 * - every other method is refused with JSON-RPC -32601, and the source's route
 *   (`methods.include`) keeps the engine from asking.
 */

import { type Clock, realClock } from '../core/clock.ts'
import { raceAbort } from '../shared/abort.ts'
import { ConfigError, RpcResponseError, SourceError, VerificationError } from '../shared/errors.ts'
import { keccak256 } from '../shared/keccak.ts'
import type { RpcRequest, Source, SourceRequestOptions } from '../shared/types.ts'
import { redactHost, redactUrl } from '../shared/url.ts'
import { blockCid, decodeHeader, type EthHeader, encodeHeader, fetchRawBlock } from './ethBlock.ts'
import { checkGatewayUrls } from './gatewayUrls.ts'
import { routeFailure } from './routeFailure.ts'

/** Any getter of a raw block by CID (`createIpfs().block`, a Helia blockstore wrapped). */
export type BlockGetter = (cid: string, options: { signal: AbortSignal }) => Promise<Uint8Array>

export type IpfsHeadersOptions = {
  /** The chain the engine is configured for: the answer to its `eth_chainId` check. */
  chainId: number
  /** Trustless gateway base URLs (`https://host`; `/ipfs/{cid}?format=raw` is added), asked in order. @default [] */
  gateways?: readonly string[]
  /** Another way to get a raw block by CID, asked after the gateways (`createIpfs()` or its `block`). @default none */
  block?: BlockGetter | { block: BlockGetter }
  /** Unique name shown in events, errors and `status()`. @default 'ipfs' */
  name?: string
  /** Failure domain (untrusted: it never counts toward a quorum). @default 'ipfs' */
  domain?: string
  /** Ranking weight among sources. @default 1 */
  weight?: number
  /** Milliseconds one route may take for one header. @default 5_000 */
  timeout?: number
  /** Milliseconds before the next route is asked too, while one has not answered. @default 300 */
  hedgeDelay?: number
  /** Largest raw header accepted, in bytes. @default 65_536 */
  maxBytes?: number
  /** How long a route that sent bytes with the wrong hash is asked last, in ms. @default 300_000 */
  lieCooloff?: number
  /** Hears each route caught sending a header that does not hash to its hash. @default none */
  onLie?: (lie: { route: string; hash: string; reason: string }) => void
  /** The fetch gateways use. @default globalThis.fetch */
  fetchFn?: typeof fetch
  /** Time as hedges and cool-offs read it. @default the real clock */
  clock?: Clock
}

/** One route's record, as `status()` shows it. */
export type HeaderRouteStatus = {
  name: string
  /** Headers it served that verified. */
  served: number
  /** Headers it did not have (or bytes under the hash that are no header). */
  missing: number
  /** Headers it sent that did not hash to their hash. */
  lies: number
  failures: number
  /** Set while it is asked last for having lied. */
  lyingUntil: number | undefined
  lastError: string | undefined
}

export type IpfsHeaderSource = Source & { status(): { routes: HeaderRouteStatus[] } }

/** keccak256(RLP([])) and the empty trie's root (as in verify/trie.ts; not imported: it brings the trie code). */
const EMPTY_UNCLES_HASH = '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347'
const EMPTY_TRIE_ROOT = '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421'
const HASH = /^0x[0-9a-fA-F]{64}$/

type Route = HeaderRouteStatus & {
  /** Named in a DNS failure. */
  host: string
  get(cid: string, signal: AbortSignal): Promise<Uint8Array | undefined>
}

export function ipfsHeaders(options: IpfsHeadersOptions): IpfsHeaderSource {
  const o = settingsOf(options)
  const name = o.name
  const routes: Route[] = [
    ...o.gateways.map((url) =>
      route(redactUrl(url), redactHost(new URL(url)), (cid, signal) =>
        fetchRawBlock(url, cid, { fetch: o.fetchFn, signal, maxBytes: o.maxBytes }),
      ),
    ),
    ...(o.block ? [route('blocks', 'blocks', (cid, signal) => o.block!(cid, { signal }))] : []),
  ]

  /** A verified header from the first route that has one, hedging to the next after `hedgeDelay`. */
  const header = (hash: string, signal: AbortSignal | undefined) => {
    const now = o.clock.now()
    const order = [...routes].sort(
      (a, b) => Number((a.lyingUntil ?? 0) > now) - Number((b.lyingUntil ?? 0) > now),
    )
    const cid = blockCid(hash)
    const stop = new AbortController()
    const all = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal
    const reasons: string[] = []
    return new Promise<EthHeader>((resolve, reject) => {
      let next = 0
      let running = 0
      let done = false
      let timer: unknown
      const finish = (error?: Error, value?: EthHeader) => {
        done = true
        o.clock.clearTimeout(timer)
        stop.abort()
        if (error) reject(error)
        else resolve(value!)
      }
      const launch = () => {
        if (done || next >= order.length) return
        const r = order[next++]!
        running++
        o.clock.clearTimeout(timer)
        timer = o.clock.setTimeout(launch, o.hedgeDelay)
        ask(r, cid, hash, all)
          .then(
            (h) => {
              if (h && !done) finish(undefined, h)
              if (!h) reasons.push(`${r.name}: does not have it`)
            },
            (error: Error) => reasons.push(`${r.name}: ${error.message}`),
          )
          .finally(() => {
            running--
            if (done) return
            if (next < order.length) launch()
            else if (running === 0) finish(notFound(hash, reasons))
          })
      }
      if (order.length === 0) return finish(notFound(hash, ['no route configured']))
      launch()
    })
  }

  const notFound = (hash: string, reasons: string[]) =>
    new SourceError(name, 'unavailable', `no route served block ${hash} (${reasons.join('; ')})`)

  /** One route's header: `undefined` if it lacks it; a lie is recorded and thrown. */
  const ask = async (r: Route, cid: string, hash: string, signal: AbortSignal) => {
    const timeout = AbortSignal.timeout(o.timeout)
    let bytes: Uint8Array | undefined
    try {
      bytes = await r.get(cid, AbortSignal.any([signal, timeout]))
    } catch (error) {
      if (signal.aborted) throw new Error('cancelled')
      const why = timeout.aborted ? `no answer within ${o.timeout} ms` : routeFailure(error, r.host)
      r.failures++
      r.lastError = why
      throw new Error(why)
    }
    if (!bytes) {
      r.missing++
      return undefined
    }
    try {
      const h = decodeHeader(bytes, hash)
      r.served++
      return h
    } catch (error) {
      if (!(error instanceof VerificationError)) throw error
      if (keccak256(bytes) === hash.toLowerCase()) {
        // The route served the bytes this hash names: they are no header, which is no lie.
        r.missing++
        throw new Error(`the block under this hash is not a header: ${error.shortMessage}`)
      }
      r.lies++
      r.lyingUntil = o.clock.now() + o.lieCooloff
      r.lastError = `lied: ${error.shortMessage}`
      o.onLie?.({ route: r.name, hash, reason: error.shortMessage })
      throw new Error(`sent a header that failed its check: ${error.shortMessage}`)
    }
  }

  const blockByHash = async (params: readonly unknown[], signal: AbortSignal | undefined) => {
    const [hash, hydrate] = params
    if (typeof hash !== 'string' || !HASH.test(hash))
      throw new RpcResponseError(name, { code: -32602, message: 'invalid block hash' })
    const h = await raceAbort(header(hash, signal), signal, () => aborted(name))
    const whole = wholeEmptyBlock(h)
    if (whole) return whole
    if (hydrate === true)
      throw new SourceError(
        name,
        'unavailable',
        `block ${hash} has a body, and IPFS serves its header only (transactions are not in it)`,
      )
    return h
  }

  return {
    config: {
      name,
      kind: 'ipfs',
      domain: o.domain,
      weight: o.weight,
      label: `ipfs headers (${routes.map((r) => r.name).join(', ')})`,
      untrusted: true,
      methods: { include: ['eth_getBlockByHash'] },
    },
    async request(body: RpcRequest, { signal }: SourceRequestOptions = {}) {
      if (body.method === 'eth_chainId') return `0x${o.chainId.toString(16)}`
      if (body.method === 'eth_getBlockByHash') return blockByHash(body.params ?? [], signal)
      throw new RpcResponseError(name, {
        code: -32601,
        message: `${body.method} is not served here: an IPFS header source answers eth_getBlockByHash only`,
      })
    },
    status: () => ({
      routes: routes.map(({ get: _, host: __, ...r }) => ({
        ...r,
        lyingUntil: (r.lyingUntil ?? 0) > o.clock.now() ? r.lyingUntil : undefined,
      })),
    }),
  }
}

/**
 * The whole block when the header's roots say its body is empty: every field derived from the
 * checked header (`size` is the RLP length of [header, [], []] or [header, [], [], []]).
 * Undefined when it has a body.
 */
export function wholeEmptyBlock(h: EthHeader): Record<string, unknown> | undefined {
  const lower = (v: unknown) => String(v).toLowerCase()
  if (lower(h.transactionsRoot) !== EMPTY_TRIE_ROOT) return undefined
  if (lower(h.sha3Uncles) !== EMPTY_UNCLES_HASH) return undefined
  const withdrawals = h.withdrawalsRoot != null
  if (withdrawals && lower(h.withdrawalsRoot) !== EMPTY_TRIE_ROOT) return undefined
  const headerBytes = encodeHeader(h).length
  const bodyItems = withdrawals ? 3 : 2 // each an empty list: one byte, 0xc0
  const payload = headerBytes + bodyItems
  const size = payload + (payload < 56 ? 1 : 1 + byteLength(payload))
  return {
    ...h,
    size: `0x${size.toString(16)}`,
    transactions: [],
    uncles: [],
    ...(withdrawals ? { withdrawals: [] } : {}),
  }
}

const byteLength = (n: number) => Math.ceil(n.toString(16).length / 2)

function route(
  name: string,
  host: string,
  get: (cid: string, signal: AbortSignal) => Promise<Uint8Array | undefined>,
): Route {
  return {
    name,
    host,
    get,
    served: 0,
    missing: 0,
    lies: 0,
    failures: 0,
    lyingUntil: undefined,
    lastError: undefined,
  }
}

const aborted = (name: string) => new SourceError(name, 'aborted', 'attempt cancelled')
function settingsOf(options: IpfsHeadersOptions) {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`ipfsHeaders(): ${what}`)
  }
  check(typeof options === 'object' && options !== null, 'needs an options object with chainId')
  const {
    chainId,
    gateways = [],
    block,
    name = 'ipfs',
    domain = 'ipfs',
    weight = 1,
    timeout = 5_000,
    hedgeDelay = 300,
    maxBytes = 65_536,
    lieCooloff = 300_000,
    fetchFn = globalThis.fetch,
    clock = realClock,
  } = options
  check(
    Number.isSafeInteger(chainId) && chainId > 0,
    `chainId must be a positive integer, got ${chainId}`,
  )
  check(Array.isArray(gateways), 'gateways must be an array of gateway base URLs')
  checkGatewayUrls(gateways, check)
  const getter =
    typeof block === 'function'
      ? block
      : block && typeof block.block === 'function'
        ? (cid: string, o: { signal: AbortSignal }) => block.block(cid, o)
        : undefined
  check(
    block === undefined || getter !== undefined,
    'block must be a function (cid, { signal }) => bytes, or an object with block()',
  )
  check(
    gateways.length > 0 || getter !== undefined,
    'give gateways or block: there is no route to ask',
  )
  const positive = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n > 0
  for (const [k, v] of Object.entries({ timeout, maxBytes, lieCooloff }))
    check(positive(v), `${k} must be a number > 0, got ${v}`)
  check(
    typeof hedgeDelay === 'number' && hedgeDelay >= 0,
    `hedgeDelay must be >= 0, got ${hedgeDelay}`,
  )
  check(typeof name === 'string' && name.length > 0, 'name must be a non-empty string')
  check(typeof fetchFn === 'function', 'fetchFn must be a fetch function')
  return {
    chainId,
    gateways,
    block: getter,
    name,
    domain,
    weight,
    timeout,
    hedgeDelay,
    maxBytes,
    lieCooloff,
    onLie: options.onLie,
    fetchFn,
    clock,
  }
}
