import { BaseError, ProviderRpcError } from '../shared/errors.ts'
import { createLru } from '../shared/lru.ts'
import type { Hex } from '../shared/types.ts'
import { checkShape, measureShape } from './bounds.ts'
import { canonical } from './canonical.ts'
import { type OutlastOptions, type ResolvedConfig, resolveConfig } from './config.ts'
import { createEmitter } from './emitter.ts'
import type { Answer, Call, Engine } from './engine.ts'
import type { OutlastEvents, ResponseMeta } from './events.ts'
import type { FanOutContext } from './fanOut.ts'
import type { Subscriptions } from './follow/subscriptions.ts'
import { handlers } from './handlers/index.ts'
import { createHeadTracker } from './head.ts'
import { classify, type MethodPolicy } from './policy.ts'
import { candidatesFor, needFor } from './quorumNeed.ts'
import { createRetryBudget } from './retryBudget.ts'
import { createSourcePool } from './sourcePool.ts'
import { expectedLatency, type SourceState } from './sourceState.ts'
import { type OutlastStatus, statusOf } from './status.ts'

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
  const chainHex = `0x${config.chainId.toString(16)}` as Hex
  const events = createEmitter<OutlastEvents>()
  const pool = createSourcePool(config, events)
  const { states, attempt } = pool
  const budget = createRetryBudget(config.retryBudget)
  const cache = createLru<unknown>(config.cacheSize, CACHE_BYTES, (v) => {
    const shape = measureShape(v)
    return shape.chars + 16 * shape.nodes
  })
  const inflightRequests = new Map<string, Promise<{ result: unknown; meta: ResponseMeta }>>()
  let closed = false

  /**
   * `rounds` of `s`'s expected latency, at least `floor` ms and at most the request timeout. The
   * expected latency is capped at the hedge ceiling: a source's own slow answers never make its
   * silence look normal (to a probe or a head poll, as to a hedge).
   */
  const roundTrips = (s: SourceState, rounds: number, floor: number) => {
    const expected = Math.min(config.hedge.max, expectedLatency(s, 250))
    return Math.ceil(Math.min(config.timeout, Math.max(floor, rounds * expected)))
  }
  /** How long a head poll may take at `s`. */
  const pollTimeout = (s: SourceState) => roundTrips(s, 4, 1_000)

  // Trusted headers anchor proofs: the store loads only when a prover is configured.
  const trustStore = config.prover
    ? Promise.all([import('./trust.ts'), import('./handlers/agreedChain.ts')]).then(
        ([{ createTrustStore }, { headerByHash }]) =>
          createTrustStore({
            checkpoints: config.trustedBlockHashes,
            hook: config.trustedHeader,
            fetchHeader: (hash) => headerByHash(engine, hash),
          }),
      )
    : undefined

  const head = createHeadTracker({
    sources: states,
    quorumDomains: config.quorum.domains,
    pollingInterval: config.pollingInterval,
    maxLead: config.maxLag,
    ...(config.maxHeadAge === undefined ? {} : { maxHeadAge: config.maxHeadAge }),
    maxClockSkew: config.maxClockSkew,
    eligible: pool.eligible,
    lastResort: () => pool.lastResort(false),
    attempt,
    pollTimeout,
    // A few round trips of the slowest silent source: a blackholed one costs no more.
    patience: (silent) =>
      Math.max(250, ...silent.map((s) => Math.min(pollTimeout(s), roundTrips(s, 3, 0)))),
    onUpdate: (h) => {
      pool.refreshConditions()
      events.emit('head', h)
    },
    ...(trustStore
      ? { onTrusted: (header) => void trustStore.then((t) => t.add(header, 'agreed')) }
      : {}),
    onBadHeader: (s, reason) => pool.markLying(s, reason),
  })

  // Subscriptions and filters load on first use: a dApp that never subscribes never bundles them.
  let subscriptions: Promise<Subscriptions> | undefined
  const streams = () =>
    (subscriptions ??= import('./follow/streams.ts').then((m) => m.engineStreams(engine)))

  /** Every source's secrets removed from a text the engine shows (a node may echo its key). */
  const redact = (text: string) => states.reduce((t, s) => s.source.config.redact?.(t) ?? t, text)

  const ctx: FanOutContext = {
    redact,
    attempt,
    budget,
    hedge: config.hedge,
    onDisagreement: (method, answers) => events.emit('disagreement', { method, answers }),
    penalize: pool.penalize,
    // A live source answers this within a couple of its round trips.
    probe: (s) =>
      attempt(s, 'eth_blockNumber', [], AbortSignal.timeout(roundTrips(s, 2, 500))).then(
        () => {},
        () => {},
      ),
  }

  const engine: Engine = {
    config,
    pool,
    head,
    events,
    budget,
    fan: ctx,
    trust: trustStore,
    streams,
    redact,
    candidatesFor: (headDependent) => candidatesFor(pool, headDependent),
    needFor: (candidates, method) => needFor(config, candidates, method),
    request: (method, params) => requestWithMeta({ method, params }),
  }

  /** Hands a classified request to its class's handler (src/core/handlers/). */
  const run = (
    method: string,
    params: unknown[],
    policy: MethodPolicy,
    started: number,
  ): Promise<Answer> => {
    const call: Call = {
      method,
      params,
      policy,
      started,
      deadline: started + config.timeout,
      meta: (m) => ({
        method,
        policy: policy.class,
        sources: [],
        domains: [],
        attempts: 0,
        ms: Date.now() - started,
        ...m,
      }),
    }
    return handlers[policy.class](engine, call)
  }

  const requestWithMeta = async (args: RequestArguments) => {
    if (closed) throw new ProviderRpcError(4900, 'This outlast client is closed.')
    if (!args || typeof args.method !== 'string')
      throw new ProviderRpcError(-32600, 'request() needs { method: string, params?: unknown[] }.')
    const params = args.params === undefined ? [] : args.params
    if (!Array.isArray(params))
      throw new ProviderRpcError(-32602, `${args.method}: params must be an array.`)
    // The caller's params are bounded like a source's answers: too deep or wide is the caller's error.
    const shape = checkShape(params)
    if (shape) throw new ProviderRpcError(-32602, `${args.method}: params ${shape}.`)
    const key = `${args.method}:${canonical(params)}`
    const policy = classify(args.method, config.policies)
    const cached = cache.get(key)
    if (cached !== undefined) return { result: own(cached), meta: cachedMeta(args.method, policy) }
    // Each eth_subscribe / eth_newFilter creates its own stream: never shared.
    const shared = policy.class !== 'subscription'
    let pending = shared ? inflightRequests.get(key) : undefined
    if (!pending) {
      const started = Date.now()
      // Settled, it is no longer in flight: taken out first, before anything that could throw.
      pending = run(args.method, params as unknown[], policy, started).then(
        (answer) => {
          if (shared) inflightRequests.delete(key)
          if (isImmutable(args.method, params as unknown[], answer)) cache.set(key, answer.result)
          events.emit('request', {
            method: args.method,
            ok: true,
            meta: answer.meta,
            ms: Date.now() - started,
          })
          return answer
        },
        (error: unknown) => {
          if (shared) inflightRequests.delete(key)
          events.emit('request', {
            method: args.method,
            ok: false,
            error: error instanceof BaseError ? error.shortMessage : String(error),
            ms: Date.now() - started,
          })
          throw error
        },
      )
      if (shared) inflightRequests.set(key, pending)
    }
    // Each caller gets its own copy: callers that share a request, or a cached answer, must
    // not see each other's changes.
    const answer = await pending
    return { result: own(answer.result), meta: { ...answer.meta } }
  }

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
        let left = states.length
        if (left === 0) resolve()
        for (const s of states)
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
      events.emit('connect', { chainId: chainHex })
    },
    async subscribe(params, onData) {
      const id = (await client.request({ method: 'eth_subscribe', params })) as string
      const listener = (m: OutlastEvents['message']) => {
        if (m.data.subscription === id) onData(m.data.result)
      }
      events.on('message', listener)
      return {
        id,
        // Never rejects: after close() (or any failure) the subscription is gone either way.
        async unsubscribe() {
          events.removeListener('message', listener)
          if (closed) return false
          return (await client
            .request({ method: 'eth_unsubscribe', params: [id] })
            .catch(() => false)) as boolean
        },
      }
    },
    disconnect: () => client.close(),
    status: () => statusOf(config, states, head.peek(), head.confirmed()),
    async close() {
      closed = true
      await (await subscriptions)?.close()
      await Promise.all(config.sources.map((s) => s.close?.()))
    },
  }
  return client
}

/** Bytes the cache of immutable answers may hold (estimated: characters and values). */
const CACHE_BYTES = 8 * 1024 * 1024

/** A caller's own copy of an answer (plain JSON data: objects and arrays are copied). */
function own<T>(value: T): T {
  return value !== null && typeof value === 'object' ? structuredClone(value) : value
}

const IMMUTABLE = new Set(['eth_getBlockByHash', 'eth_getTransactionByBlockHashAndIndex'])
/** Checked answers: a degraded or single-source one must not outlive its request. */
const KEEPS: ReadonlySet<ResponseMeta['consistency']> = new Set(['verified', 'agreed', 'proven'])
/**
 * Worth caching: immutable, found, checked (verified, agreed or proven), and small (a full
 * mainnet block is megabytes of objects).
 */
function isImmutable(
  method: string,
  params: readonly unknown[],
  { result, meta }: { result: unknown; meta: ResponseMeta },
): boolean {
  if (method === 'eth_getBlockByHash' && params[1] === true) return false
  return IMMUTABLE.has(method) && result !== null && KEEPS.has(meta.consistency)
}

function cachedMeta(method: string, policy: MethodPolicy): ResponseMeta {
  return {
    method,
    policy: policy.class,
    sources: [],
    domains: [],
    consistency: 'cached',
    attempts: 0,
    ms: 0,
  }
}
