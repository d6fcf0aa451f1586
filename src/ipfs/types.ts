/**
 * The shapes of `outlast/ipfs`: routes (where blocks come from), options, events and status.
 * Type-only: importing this file loads nothing.
 */
import type { CID } from 'multiformats/cid'
import type { BreakerOptions, BreakerState } from '../core/breaker.ts'
import type { Clock } from '../core/clock.ts'

/** Where a route's blocks come from. */
export type RouteKind = 'kubo' | 'gateway' | 'helia'

/**
 * What one attempt at one block told: the block's bytes (not yet verified), or that the route
 * does not have it (a gateway's 404, Kubo's "not found": not a fault). Failures are thrown as
 * `SourceError`s.
 */
export type RouteAnswer = { bytes: Uint8Array } | { missing: string }

/**
 * A place blocks can be asked from. Never trusted: every block it returns is hashed against its
 * CID before anyone sees it. Make one with `gateway()`, `kubo()` or `heliaRoute()`.
 */
export type IpfsRoute = {
  /** Shown in status, events and errors; never holds a key (URLs are redacted). */
  readonly name: string
  readonly kind: RouteKind
  /** One block's bytes, at most `maxBlockBytes`; rejects with a `SourceError` on failure. */
  get(cid: CID, options: { signal: AbortSignal; maxBlockBytes: number }): Promise<RouteAnswer>
  /** Frees what the route holds (a Helia node the route started itself). */
  close?(): Promise<void>
}

/**
 * What `kubo()` needs of a Kubo RPC client: `kubo-rpc-client`'s `create()` (7.x), or the
 * deprecated `ipfs-http-client`, whose API is the same.
 */
export type KuboClient = {
  block: { get(cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array> }
  /** kubo-rpc-client's endpoint (used for the route's default name; no path is shown). */
  getEndpointConfig?(): { host?: string; port?: string; protocol?: string; pathname?: string }
}

/**
 * What `heliaRoute()` needs of a Helia node: its blockstore (Helia 7 yields a block's bytes in
 * chunks, older Helias return a promise of them).
 */
export type HeliaLike = {
  blockstore: {
    get(
      cid: CID,
      options?: { signal?: AbortSignal },
    ): Promise<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>
  }
}

/** A gateway as configured: its base URL (may hold a key: never shown), or that and a name. */
export type GatewayConfig = string | { url: string; name?: string }

export type IpfsOptions = {
  /** A Kubo RPC client (kubo-rpc-client or ipfs-http-client), or a route made with `kubo()`. @default none */
  kubo?: KuboClient | IpfsRoute
  /** Trustless gateway base URLs (`https://host`; `/ipfs/{cid}?format=raw` is added). @default [] */
  gateways?: readonly GatewayConfig[]
  /** An in-process Helia node (bitswap), or a route made with `heliaRoute()`. @default none */
  helia?: HeliaLike | IpfsRoute
  /** More routes, made with `gateway()`, `kubo()`, `heliaRoute()` or by hand. @default [] */
  routes?: readonly IpfsRoute[]
  /**
   * Fixed delay in ms before the next route is also asked for a block. @default adaptive: the
   * route's p95 latency, between 50 ms and 1_000 ms (200 ms before any is measured)
   */
  hedgeDelay?: number
  /** Largest content `fetch` returns, in bytes. @default 10_485_760 (10 MiB) */
  maxBytes?: number
  /** Largest single block a route may send, in bytes (Helia's cap). @default 2_097_152 (2 MiB) */
  maxBlockBytes?: number
  /** Deadline of one `fetch`/`block` call in ms. @default 30_000 */
  timeout?: number
  /** Longest wait for one block from one route in ms (a Helia want never ends by itself). @default 10_000 */
  attemptTimeout?: number
  /** How long a route that served a block with the wrong hash is cut off, in ms. @default 300_000 */
  lieCooloff?: number
  /** The circuit breaker of each route (as the RPC engine's). @default { threshold: 3, cooldown: 1_000, maxCooldown: 30_000 } */
  breaker?: BreakerOptions
  /** The fetch gateways and a Kubo client's endpoint are asked with. @default globalThis.fetch */
  fetch?: typeof fetch
  /** Time as the hedges and deadlines read it (tests inject a fake one). @default the real clock */
  clock?: Clock
}

/** Per-call limits; each defaults to the client's. */
export type FetchOptions = {
  signal?: AbortSignal
  /** Largest content returned, in bytes. */
  maxBytes?: number
  /** Deadline in ms. */
  timeout?: number
}

/** What `status()` and `route` events call a route's condition. */
export type RouteCondition = 'unknown' | 'healthy' | 'degraded' | 'down' | 'rate-limited' | 'lying'

export type RouteStatus = {
  name: string
  kind: RouteKind
  condition: RouteCondition
  breaker: BreakerState
  latency: { ewma: number | undefined; p50: number | undefined; p95: number | undefined }
  /** Verified blocks this route served. */
  blocks: number
  /** Blocks it sent that did not hash to their CID. */
  lies: number
  /** Attempts that failed (404s excluded: not having a block is no fault). */
  failures: number
  /** Blocks it said it does not have. */
  missing: number
  lastError: string | undefined
}

export type IpfsStatus = { routes: RouteStatus[] }

/** How one attempt at one block ended. */
export type AttemptOutcome =
  | 'ok'
  | 'missing'
  | 'lie'
  | 'failed'
  | 'timeout'
  | 'rate-limited'
  | 'aborted'

export type IpfsEvents = {
  /** One attempt at one block from one route. */
  attempt: {
    route: string
    kind: RouteKind
    cid: string
    ms: number
    outcome: AttemptOutcome
    reason?: string | undefined
  }
  /** An attempt failed (network, HTTP 5xx, timeout, 429, oversized block): the route's fault. */
  failure: { route: string; kind: RouteKind; cid: string; reason: string }
  /** A route sent bytes that do not hash to the CID asked for: cut off for `lieCooloff`. */
  lie: { route: string; kind: RouteKind; cid: string; reason: string }
  /** A route's condition changed. */
  route: { route: string; from: RouteCondition; to: RouteCondition; reason?: string | undefined }
}

export type Ipfs = {
  /**
   * Verified content: `ipfs://CID[/path]`, `/ipfs/CID[/path]`, a bare CID, or a gateway URL
   * (`https://host/ipfs/CID/path`, `https://CID.ipfs.host/path`: only the CID and path are
   * read; the host is not asked unless it is a configured gateway). UnixFS files (through
   * directories, HAMT-sharded too), raw blocks, and dag-json / dag-cbor / json blocks as bytes.
   * Every block is hashed against its CID; rejects when no route has it, past `maxBytes` or the
   * deadline, or when `signal` aborts.
   */
  fetch(url: string, options?: FetchOptions): Promise<Uint8Array>
  /** `fetch` parsed as JSON (a `ContentError` naming the CID when it is not JSON). */
  json<T = unknown>(url: string, options?: FetchOptions): Promise<T>
  /** One block, verified against `cid` (sha2-256, sha2-512, keccak-256, identity). */
  block(cid: CID | string, options?: FetchOptions): Promise<Uint8Array>
  status(): IpfsStatus
  on<K extends keyof IpfsEvents>(event: K, fn: (payload: IpfsEvents[K]) => void): void
  removeListener<K extends keyof IpfsEvents>(event: K, fn: (payload: IpfsEvents[K]) => void): void
  /** Closes the routes that hold resources (a Helia node a route started). */
  close(): Promise<void>
}
