import { lazy } from '../shared/lazy.ts'
import { serves } from '../shared/route.ts'
import type { Hex } from '../shared/types.ts'
import { realClock } from './clock.ts'
import { type OutlastOptions, type ResolvedConfig, resolveConfig } from './config.ts'
import { createEmitter, type Emitter } from './emitter.ts'
import type { Engine } from './engine.ts'
import type { OutlastEvents, ResponseMeta } from './events.ts'
import { createHeadTracker, type HeadTracker } from './head.ts'
import type { Prover } from './prover.ts'
import { candidatesFor, needFor } from './quorumNeed.ts'
import { createRequestWithMeta } from './requestWithMeta.ts'
import { createRetryBudget } from './retryBudget.ts'
import { createSourcePool, type SourcePool } from './sourcePool.ts'
import { expectedLatency, type SourceState } from './sourceState.ts'
import { type OutlastStatus, statusOf } from './status.ts'
import type { TrustStore } from './trust.ts'

export type { OutlastEvents, ResponseMeta } from './events.ts'

export type RequestArguments = { method: string; params?: readonly unknown[] | object | undefined }

export type Outlast = {
  /** EIP-1193 `request`: resolves with the answer or rejects with an error carrying `code`. */
  request(args: RequestArguments): Promise<unknown>
  /** Like `request`, with how the answer was reached. */
  requestWithMeta(args: RequestArguments): Promise<{ result: unknown; meta: ResponseMeta }>
  on<K extends keyof OutlastEvents>(event: K, fn: (payload: OutlastEvents[K]) => void): Outlast
  removeListener<K extends keyof OutlastEvents>(
    event: K,
    fn: (payload: OutlastEvents[K]) => void,
  ): Outlast
  /**
   * `eth_subscribe` with a callback: `['newHeads']` or `['logs', { address, topics }]`. One
   * gap-free stream over every source; reorged logs come again with `removed: true`.
   */
  subscribe(
    params: readonly unknown[],
    onData: (result: unknown) => void,
  ): Promise<{ id: string; unsubscribe(): Promise<boolean> }>
  /** Checks every source's chain id and the head now, instead of on first use. */
  connect(): Promise<void>
  /** Same as `close()` (EIP-1193 naming). */
  disconnect(): Promise<void>
  /** Each source's state, latency, errors, head and breaker; `String(status)` is a table. */
  status(): OutlastStatus
  close(): Promise<void>
  readonly chainId: number
}

/** Creates an outlast client: an EIP-1193 provider over many sources. See DESIGN.md. */
export function createOutlast(options: OutlastOptions): Outlast {
  const config: ResolvedConfig = resolveConfig(options)
  const events = createEmitter<OutlastEvents>()
  const pool = createSourcePool(
    config,
    events,
    (hash) => engine.head.holds(hash),
    (hash) => engine.head.heightOf(hash),
  )
  const { attempt } = pool
  const budget = createRetryBudget(config.retryBudget)
  let closed = false

  // Trusted headers anchor proofs: the store loads only when a prover is configured.
  const trust = config.prover ? lazy(() => loadTrustStore(config, () => engine)) : undefined
  trust?.().catch(() => {}) // begun now, for the first proof; tried again on use if it fails

  // Subscriptions and filters load on first use: a dApp that never subscribes never bundles them.
  const streams = lazy(() => import('./follow/streams.ts').then((m) => m.engineStreams(engine)))

  const { redact } = pool

  const engine: Engine = {
    config,
    pool,
    head: headTrackerOf(config, pool, events, trust),
    events,
    budget,
    fan: {
      redact,
      attempt,
      budget,
      hedge: config.hedge,
      onDisagreement: (method, answers) => events.emit('disagreement', { method, answers }),
      penalize: pool.penalize,
      lie: pool.markLying,
      // A live source answers this within a couple of its round trips.
      probe: (s) =>
        attempt(s, 'eth_blockNumber', [], AbortSignal.timeout(roundTrips(config, s, 2, 500))).then(
          () => {},
          () => {},
        ),
    },
    trust,
    streams,
    redact,
    candidatesFor: (headDependent, checkedAlone, method) =>
      candidatesFor(pool, headDependent, checkedAlone, method),
    needFor: (candidates, method) => needFor(config, candidates, method),
    request: (method, params) => requestWithMeta({ method, params }),
    closed: () => closed,
  }
  const requestWithMeta = createRequestWithMeta(engine, () => closed)
  if (config.preload) preloadAfterFirstAnswer(events, config.prover)

  const close = async () => {
    closed = true
    await (await streams.started())?.close()
    await Promise.all(config.sources.map((s) => s.close?.()))
  }
  return clientOf(engine, requestWithMeta, () => closed, close)
}

/**
 * `rounds` of `s`'s expected latency, at least `floor` ms and at most the request timeout. The
 * expected latency is capped at the hedge ceiling: a source's own slow answers never make its
 * silence look normal (to a probe or a head poll, as to a hedge).
 */
function roundTrips(config: ResolvedConfig, s: SourceState, rounds: number, floor: number) {
  const expected = Math.min(config.hedge.max, expectedLatency(s, 250))
  return Math.ceil(Math.min(config.timeout, Math.max(floor, rounds * expected)))
}

/**
 * Once a first request is answered, and the caller has it, the code that loads on first use
 * loads (src/core/preload.ts): it must not be left to fetch from a host that failed since.
 */
function preloadAfterFirstAnswer(events: Emitter<OutlastEvents>, prover: Prover | undefined) {
  const first = (e: OutlastEvents['request']) => {
    if (!e.ok) return
    events.removeListener('request', first)
    // If the host fails first, each part is fetched at its first use instead (and says so).
    const load = () => import('./preload.ts').then((m) => m.preload(prover))
    realClock.setTimeout(() => void load().catch(() => {}), 0)
  }
  events.on('request', first)
}

/** The store of trusted headers (agreed heads, checkpoints, the hook) that anchors proofs. */
function loadTrustStore(config: ResolvedConfig, engine: () => Engine): Promise<TrustStore> {
  return Promise.all([import('./trust.ts'), import('./handlers/agreedChain.ts')]).then(
    ([{ createTrustStore }, { headersThrough }]) =>
      createTrustStore({
        checkpoints: config.trustedBlockHashes,
        hook: config.trustedHeader,
        ...headersThrough(engine),
      }),
  )
}

/**
 * The head tracker, polling through the pool's attempts: a moved head re-evaluates the sources'
 * conditions and is told of (`head`); an agreed head's header joins the trusted headers.
 */
function headTrackerOf(
  config: ResolvedConfig,
  pool: SourcePool,
  events: Emitter<OutlastEvents>,
  trustStore: (() => Promise<TrustStore>) | undefined,
): HeadTracker {
  /**
   * How long a head poll may take at `s`: a few of its round trips, or most of the request
   * timeout at a source that never answered yet (a cold dial, a peer's first stream: its pace is
   * unknown), ending before the request's deadline so that a failed request can say why. The
   * patience below still bounds the wait for it once another source answered.
   */
  const pollTimeout = (s: SourceState) =>
    s.latency.ewma === undefined ? 0.8 * config.timeout : roundTrips(config, s, 4, 1_000)
  return createHeadTracker({
    sources: pool.states,
    quorumDomains: config.quorum.domains,
    pollingInterval: config.pollingInterval,
    maxLead: config.maxLag,
    ...(config.maxHeadAge === undefined ? {} : { maxHeadAge: config.maxHeadAge }),
    maxClockSkew: config.maxClockSkew,
    // Heads are polled from sources that are asked for blocks.
    eligible: (s) => pool.eligible(s) && serves(s.source.config.methods, 'eth_getBlockByNumber'),
    lastResort: () =>
      pool.lastResort(false).filter((s) => serves(s.source.config.methods, 'eth_getBlockByNumber')),
    attempt: pool.attempt,
    pollTimeout,
    // A few round trips of the slowest silent source: a blackholed one costs no more.
    patience: (silent) =>
      Math.max(250, ...silent.map((s) => Math.min(pollTimeout(s), roundTrips(config, s, 3, 0)))),
    onUpdate: (h) => {
      pool.refreshConditions()
      events.emit('head', h)
    },
    // Heads the domains agree on anchor proofs, unless a light client does: then only what it
    // verified is trusted (agreeing liars cannot make a head real).
    ...(trustStore && !config.trustedHeader
      ? {
          onTrusted: (header) =>
            void trustStore().then(
              (t) => t.add(header, 'agreed'),
              () => {},
            ),
        }
      : {}),
    onBadHeader: (s, reason) => pool.markLying(s, reason),
  })
}

/** The EIP-1193 provider a caller holds, over the engine. */
function clientOf(
  engine: Engine,
  requestWithMeta: Outlast['requestWithMeta'],
  closed: () => boolean,
  close: () => Promise<void>,
): Outlast {
  const { config, pool, head, events } = engine
  const client: Outlast = {
    chainId: config.chainId,
    request: async (args) => (await requestWithMeta(args)).result,
    requestWithMeta,
    on(event, fn) {
      events.on(event, fn)
      return client
    },
    removeListener(event, fn) {
      events.removeListener(event, fn)
      return client
    },
    async connect() {
      // Back once a quorum of domains is checked (or every check settled): a source that
      // trickles its answer must not hold the page up; the rest are checked behind.
      await new Promise<void>((resolve) => {
        const ok = new Set<string>()
        let left = pool.states.length
        if (left === 0) resolve()
        for (const s of pool.states)
          pool.checkChain(s).then(
            () => {
              ok.add(s.domain)
              if (ok.size >= config.quorum.domains) resolve()
              if (--left === 0) resolve()
            },
            () => {
              if (--left === 0) resolve()
            },
          )
      })
      await head.refresh()
      events.emit('connect', { chainId: `0x${config.chainId.toString(16)}` as Hex })
    },
    // With the subscriptions it needs: its code loads with them.
    subscribe: (params, onData) =>
      import('./follow/streams.ts').then((m) => m.subscribe(client, closed, params, onData)),
    disconnect: () => client.close(),
    status: () => statusOf(config, pool, head.peek(), head.confirmed()),
    close,
  }
  return client
}
