import { keccak256 } from 'ox/Hash'
import { computeBlockHash } from '../verify/block.ts'
import { beforeDeadline } from './abort.ts'
import { checkShape, measureShape } from './bounds.ts'
import { canonical } from './canonical.ts'
import { type OutlastOptions, type ResolvedConfig, resolveConfig } from './config.ts'
import { createEmitter } from './emitter.ts'
import {
  BaseError,
  DeadlineError,
  ProviderRpcError,
  QuorumError,
  QuorumLostError,
  RpcResponseError,
  SourceError,
  UnanchoredProofError,
  VerificationError,
} from './errors.ts'
import type { OutlastEvents, ResponseMeta } from './events.ts'
import { type FanOutContext, fanOut, type Need } from './fanOut.ts'
import type { RpcHeader as FollowedHeader, HeadPusher } from './follow/chainFollower.ts'
import type { Subscriptions, SubscriptionsOptions } from './follow/subscriptions.ts'
import { createHeadTracker, type Head } from './head.ts'
import { createLru } from './lru.ts'
import { classify, isCallersError, type MethodPolicy } from './policy.ts'
import type { Prover } from './prover.ts'
import { createRetryBudget } from './retryBudget.ts'
import { checkAnswer, type Pinned, pinBlock, verifyingCall } from './rules.ts'
import { createSourcePool } from './sourcePool.ts'
import { expectedLatency, type SourceState } from './sourceState.ts'
import { type OutlastStatus, statusOf } from './status.ts'
import type { TrustedHeader } from './trust.ts'
import type { Hex } from './types.ts'

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

  /** `rounds` of `s`'s expected latency, at least `floor` ms and at most the request timeout. */
  const roundTrips = (s: SourceState, rounds: number, floor: number) =>
    Math.ceil(Math.min(config.timeout, Math.max(floor, rounds * expectedLatency(s, 250))))
  /** How long a head poll may take at `s`. */
  const pollTimeout = (s: SourceState) => roundTrips(s, 4, 1_000)

  // Trusted headers anchor proofs: the store loads only when a prover is configured.
  const trustStore = config.prover
    ? import('./trust.ts').then((m) =>
        m.createTrustStore({
          checkpoints: config.trustedBlockHashes,
          hook: config.trustedHeader,
          fetchHeader: (hash) => headerByHash(hash),
        }),
      )
    : undefined

  const head = createHeadTracker({
    sources: states,
    quorumDomains: config.quorum.domains,
    pollingInterval: config.pollingInterval,
    maxLead: config.maxLag,
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

  const subscriptionOptions: SubscriptionsOptions = {
    request: async (method, params) => (await requestWithMeta({ method, params })).result,
    pollingInterval: config.pollingInterval,
    pushers: () =>
      states.flatMap((s) =>
        s.source.subscribe
          ? [
              {
                name: s.name,
                subscribe: s.source.subscribe.bind(s.source),
                onState: (s.source as Partial<HeadPusher>).onState?.bind(s.source),
              },
            ]
          : [],
      ),
    // A pushed head is a hint, like a polled one: it reaches subscribers once agreed.
    confirmHead: (pusher, header) => {
      const s = states.find((x) => x.name === pusher.name)
      if (s?.chain !== 'ok' || s.forked) return Promise.resolve(undefined)
      return head.confirm(s, header) as Promise<FollowedHeader | undefined>
    },
    refreshHead: () => head.refresh(),
    notify: (subscription, result) =>
      events.emit('message', { type: 'eth_subscription', data: { subscription, result } }),
    onError: (error) =>
      events.emit('streamError', {
        message: error instanceof BaseError ? error.shortMessage : String(error),
      }),
  }
  // Subscriptions and filters load on first use: a dApp that never subscribes never bundles them.
  let subscriptions: Promise<Subscriptions> | undefined
  const streams = () =>
    (subscriptions ??= import('./follow/subscriptions.ts').then((m) =>
      m.createSubscriptions(subscriptionOptions),
    ))

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

  /** The quorum for this request, reduced (and flagged) when fewer domains are left. */
  const needFor = (candidates: readonly SourceState[], method: string) => {
    // A domain whose only sources are on probation (half-open) is not counted on: waiting for
    // its probe would hold every request up; head polls probe it and bring it back.
    const firm = candidates.filter((s) => s.breaker.state !== 'half-open')
    const counted = config.onQuorumLoss === 'degrade' && firm.length > 0 ? firm : candidates
    const domains = new Set(counted.map((s) => s.domain))
    const need: Need = { ...config.quorum }
    if (domains.size >= need.domains) return { need, degraded: false }
    if (config.onQuorumLoss === 'fail' || domains.size === 0) {
      if (domains.size === 0) return { need, degraded: false }
      throw new QuorumLostError(
        `Quorum lost for ${method}: only ${[...domains].join(', ')} left and onQuorumLoss is 'fail'.`,
      )
    }
    return {
      need: { domains: domains.size, sources: Math.min(need.sources, counted.length) },
      degraded: true,
    }
  }

  const run = async (
    method: string,
    params: unknown[],
  ): Promise<{ result: unknown; meta: ResponseMeta }> => {
    const started = Date.now()
    const classified = classify(method, config.policies)
    // A pending block is each node's own guess: asked of every domain like any read, so that no
    // value only one source claims is returned (a pending nonce falls back to the latest one).
    const pending =
      classified.blockParam !== undefined && params[classified.blockParam] === 'pending'
    const policy = classified
    const meta = (m: Partial<ResponseMeta> & Pick<ResponseMeta, 'consistency'>): ResponseMeta => ({
      method,
      policy: policy.class,
      sources: [],
      domains: [],
      attempts: 0,
      ms: Date.now() - started,
      ...m,
    })
    const deadline = started + config.timeout

    switch (policy.class) {
      case 'unsupported':
        throw new ProviderRpcError(
          4200,
          `${method} is not served by outlast: the wallet (or a later outlast release) handles it.`,
        )
      case 'subscription':
        return {
          result: await (await streams()).handle(method, params),
          meta: meta({ consistency: 'verified' }),
        }
      case 'static':
        return { result: staticAnswer(method, params), meta: meta({ consistency: 'static' }) }
      case 'head': {
        const n = await beforeDeadline(head.blockNumber(), deadline, () => noHead(method))
        return {
          result: `0x${n.toString(16)}`,
          meta: meta({ consistency: head.confirmed() ? 'head' : 'degraded', block: head.peek()! }),
        }
      }
      case 'broadcast': {
        budget.deposit()
        const targets = states.filter((s) => s.chain !== 'mismatch')
        // Loaded with the first send: a dApp that only reads never carries it.
        const { broadcast } = await import('./broadcast.ts')
        const { hash, accepted } = await broadcast(
          params[0],
          targets,
          (s, signal) => attempt(s, method, params, signal),
          deadline,
          (o) => events.emit('broadcast', o.reason ? { ...o, reason: redact(o.reason) } : o),
          (s, hash, signal) => attempt(s, 'eth_getTransactionByHash', [hash], signal),
        )
        const domains = [
          ...new Set(states.filter((s) => accepted.includes(s.name)).map((s) => s.domain)),
        ]
        // A synchronous send answers with a receipt: the one returned is checked like any
        // eth_getTransactionReceipt (agreed or proven), never the sender's own.
        if (method === 'eth_sendRawTransactionSync') {
          const receipt = await receiptOf(hash, deadline)
          return { result: receipt.result, meta: { ...receipt.meta, method, policy: 'broadcast' } }
        }
        return { result: hash, meta: meta({ consistency: 'verified', sources: accepted, domains }) }
      }
      case 'median': {
        const { candidates, reserve } = candidatesFor(false)
        const { medianAnswer } = await import('./median.ts')
        const m = await medianAnswer({
          candidates,
          ...(reserve ? { reserve } : {}),
          attempt: (s, signal) => attempt(s, method, params, signal),
          method,
          deadline,
          quorum: Math.min(2, config.quorum.domains),
        })
        const sources = m.sources.map((s) => s.name)
        const domains = [...new Set(m.sources.map((s) => s.domain))]
        if (m.degraded) events.emit('quorumLoss', { method, domains })
        return {
          result: m.value,
          meta: meta({
            consistency: m.degraded ? 'degraded' : 'median',
            sources,
            domains,
            attempts: m.attempts,
          }),
        }
      }
    }

    budget.deposit()
    if (config.prover?.methods.has(method)) {
      const proven = await prove(config.prover, method, params, deadline)
      if (proven) return { result: proven.result, meta: meta(proven.meta) }
    }
    const pin = () =>
      beforeDeadline(
        pinBlock(method, params, policy, head, config.pinByHash, resolveTag),
        deadline,
        () => noHead(method),
      )
    const read: Read = { method, params, policy, pending, started, deadline, meta }
    const first = await pin()
    if (!first.unpinned) return agreeOn(read, first)
    try {
      return await agreeOn(read, first)
    } catch (error) {
      // Cold, the domains answered at different blocks: ask again at the agreed head.
      if (!(error instanceof QuorumError)) throw error
      return agreeOn(read, await pin())
    }
  }

  /** A read settled by fan-out: agreed by the quorum, or checked alone. */
  const agreeOn = async (
    { method, params, policy, pending, started, deadline, meta }: Read,
    pinned: Pinned,
  ) => {
    const { candidates, force, reserve } = candidatesFor(pinned.headDependent)
    const { need, degraded } = needFor(candidates, method)
    const single = policy.class === 'single'
    const rules = checkAnswer(method, pinned.params, pinned.expectedHash, onAgreedChain)
    const verifying = single
      ? undefined
      : verifyingCall(
          rules,
          (s, signal) => attempt(s, method, pinned.params, signal),
          (s, why) => pool.markLying(s, `${method}: ${why}`),
        )
    const asked = fanOut(ctx, {
      method,
      params: pinned.params,
      candidates,
      ...(reserve ? { reserve } : {}),
      need: single ? { domains: 1, sources: 1 } : need,
      check: rules.check,
      standsAlone: single ? () => true : rules.standsAlone,
      key: rules.key,
      pending: rules.pending,
      ...(rules.beatsNotYet ? { beatsNotYet: rules.beatsNotYet } : {}),
      callersError: (e) => isCallersError(method, e),
      ...(verifying ? { call: verifying } : {}),
      degrade: config.onQuorumLoss === 'degrade',
      deadline,
      force,
      // An answer that can verify alone needs one source first; hedging adds more if it is slow.
      ...(single || (policy.class === 'verified' && pinned.expectedHash) ? { initial: 1 } : {}),
    })
    // Nodes' pending nonces differ while a transaction spreads: with no agreement, the agreed
    // (or proven) latest nonce is the answer, the floor no pending nonce can be below.
    if (pending && method === 'eth_getTransactionCount')
      try {
        await asked
      } catch (error) {
        if (!(error instanceof QuorumError)) throw error
        const latest = await requestWithMeta({ method, params: [params[0], 'latest'] })
        return { result: latest.result, meta: { ...latest.meta, method, ms: Date.now() - started } }
      }
    const result = await asked
    const verified = !single && result.sources.length === 1 && rules.standsAlone?.(result.value)
    // A read pinned to a head that no second domain confirmed is no better than that domain.
    const unconfirmed =
      !head.confirmed() && !!pinned.expectedHash && pinned.expectedHash === head.peek()?.hash
    const lost = !single && (unconfirmed || (!verified && (degraded || result.degraded)))
    if (lost) events.emit('quorumLoss', { method, domains: result.domains })
    if (result.error) throw result.error
    return {
      result: result.value,
      meta: meta({
        consistency: single ? 'single' : lost ? 'degraded' : verified ? 'verified' : 'agreed',
        sources: result.sources,
        domains: result.domains,
        attempts: result.attempts,
        ...(pinned.block ? { block: pinned.block } : {}),
      }),
    }
  }

  /**
   * A header by hash for the trust store: its hash is the whole check (the body is not used),
   * so one source's answer stands; `null` needs agreement.
   */
  const headerByHash = async (hash: string): Promise<Record<string, unknown> | null> => {
    const method = 'eth_getBlockByHash'
    const { candidates, force, reserve } = candidatesFor(false)
    const r = await fanOut(ctx, {
      method,
      params: [hash, false],
      candidates,
      force,
      ...(reserve ? { reserve } : {}),
      need: needFor(candidates, method).need,
      check: (h) => (h === null || headerHashes(h, hash) ? undefined : `header is not ${hash}`),
      standsAlone: (h) => h !== null,
      key: (h) => (h === null ? 'null' : hash),
      pending: (h) => h === null,
      degrade: true,
      deadline: Date.now() + config.timeout,
      initial: 1,
    })
    if (r.error) throw r.error
    return r.value as Record<string, unknown> | null
  }

  /**
   * Is `hash` the agreed chain's block at `n`? The head tracker knows recent heights; below them,
   * the block at `n` is asked of the domains (agreed, or checked against the agreed chain).
   */
  const onAgreedChain = async (n: number, hash: string): Promise<boolean> => {
    if (!Number.isSafeInteger(n) || n < 0) return false
    const known = head.confirmed() ? head.hashAt(n) : undefined
    if (known) return known === hash
    const { result, meta } = await requestWithMeta({
      method: 'eth_getBlockByNumber',
      params: [`0x${n.toString(16)}`, false],
    })
    const ok =
      meta.consistency === 'verified' ||
      meta.consistency === 'agreed' ||
      meta.consistency === 'cached'
    return ok && String((result as { hash?: unknown } | null)?.hash).toLowerCase() === hash
  }

  /** The receipt of a transaction just sent, as the domains agree (or prove) it, once it is out. */
  const receiptOf = async (hash: Hex, deadline: number) => {
    for (;;) {
      const r = await requestWithMeta({ method: 'eth_getTransactionReceipt', params: [hash] })
      if (r.result !== null) return r
      if (Date.now() + 250 > deadline)
        throw new DeadlineError(`No agreed receipt for ${hash} before the deadline.`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }

  /** The block `safe` or `finalized` stands for, as the domains agree (or verify) it. */
  const resolveTag = async (tag: 'safe' | 'finalized'): Promise<Head> => {
    const { result, meta } = await requestWithMeta({
      method: 'eth_getBlockByNumber',
      params: [tag, false],
    })
    const block = result as { number?: unknown; hash?: unknown } | null
    if (!block || typeof block.hash !== 'string' || meta.consistency === 'single')
      throw new ProviderRpcError(-32000, `No agreed ${tag} block.`)
    return { number: Number(block.number), hash: block.hash.toLowerCase() }
  }

  /** `eth_chainId`, `net_version` from the configuration; `web3_sha3` computed here. */
  const staticAnswer = (method: string, params: unknown[]) => {
    if (method === 'net_version') return String(config.chainId)
    if (method !== 'web3_sha3') return chainHex
    const data = params[0]
    if (typeof data !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(data))
      throw new ProviderRpcError(-32602, 'web3_sha3 needs one hex string of whole bytes.')
    return keccak256(data as Hex)
  }

  const noHead = (method: string) =>
    new DeadlineError(`No agreed chain head for ${method} before the deadline.`, {
      metaMessages: states.map((s) => `- ${s.name}: ${s.lastError ?? 'no answer yet'}`),
    })

  /**
   * Eligible sources, or as a last resort those held back by an open breaker or our own 429
   * backoff (then asked anyway); those are also the reserve when every eligible source fails.
   */
  const candidatesFor = (headDependent: boolean) => {
    const ranked = pool.ranked(headDependent)
    const last = pool.lastResort(headDependent)
    if (ranked.length === 0) return { candidates: last, force: true }
    return { candidates: ranked, force: false, reserve: last.filter((s) => !ranked.includes(s)) }
  }

  /**
   * A proven read: one source's data checked against a trusted header. Undefined when nothing
   * can be proven here (no trusted header, proofs unsupported): the caller falls back to quorum.
   * A source whose data fails the proof is cut off; if only liars answered, the error names them.
   */
  const prove = async (prover: Prover, method: string, params: unknown[], deadline: number) => {
    const trust = (await trustStore)!
    let header: TrustedHeader | undefined
    if (prover.stateMethods.has(method)) {
      header = await trustedHeaderFor(params[classify(method).blockParam ?? params.length])
      if (!header) return undefined
    }
    /** Sources whose data failed the proof: liars, unless every domain's proof failed to reach the trusted root the same way. */
    const failed: { s: SourceState; why: string; unanchored: boolean }[] = []
    // A source's own error passed through by the prover is not a proven answer (only an error
    // the prover made itself, such as a revert it executed, is).
    const fromSources = new WeakSet<object>()
    const call = async (s: SourceState, signal: AbortSignal) => {
      try {
        const answer = await prover.answer(method, params, {
          header,
          trusted: trust.resolve,
          head: () => trustedHeaderFor('latest'),
          chainId: config.chainId,
          signal,
          call: (m, p) =>
            attempt(s, m, p, signal).catch((error: unknown) => {
              if (error instanceof Error) fromSources.add(error)
              throw error
            }),
        })
        if (answer === undefined)
          throw new SourceError(s.name, 'unavailable', 'nothing to prove with')
        return answer
      } catch (error) {
        if (error instanceof RpcResponseError && fromSources.has(error))
          throw new SourceError(
            s.name,
            'unavailable',
            `cannot prove: ${error.shortMessage.replace(`${s.name}: `, '')}`,
          )
        if (!(error instanceof VerificationError)) throw error
        failed.push({
          s,
          why: error.shortMessage,
          unanchored: error instanceof UnanchoredProofError,
        })
        throw new SourceError(s.name, 'body', `failed the proof: ${error.shortMessage}`)
      }
    }
    const proofCandidates = candidatesFor(header !== undefined)
    try {
      const r = await fanOut(ctx, {
        method,
        params,
        // Not the reserve: a request no source can prove goes to quorum, not to cut-off sources.
        candidates: proofCandidates.candidates,
        force: proofCandidates.force,
        need: { sources: 1, domains: 1 },
        initial: 1,
        roundTrips: prover.roundTrips?.(method) ?? 1,
        call,
        standsAlone: () => true,
        degrade: true,
        deadline,
      })
      // Another source's data passed the same proof: those that failed it lied.
      for (const f of failed) pool.markLying(f.s, `${method}: ${f.why}`)
      if (r.error) throw new ProvenError(r.error) // a revert the prover executed itself
      const block = header ? { block: { number: header.number, hash: header.hash } } : {}
      return {
        result: r.value,
        meta: {
          consistency: 'proven' as const,
          sources: r.sources,
          domains: r.domains,
          attempts: r.attempts,
          ...block,
        },
      }
    } catch (error) {
      if (error instanceof ProvenError) throw error.answer
      const domains = [...new Set(failed.map((f) => f.s.domain))]
      // Every domain's proof missed the trusted root the same way: a state that cannot be proven
      // here (anvil's genesis), not a lie. Say so, and answer by quorum. A proof that
      // contradicts its own claim is a lie however many domains send it.
      if (domains.length >= 2 && failed.every((f) => f.unanchored && f.why === failed[0]!.why)) {
        events.emit('unproven', { method, reason: failed[0]!.why, domains })
        return undefined
      }
      for (const f of failed) pool.markLying(f.s, `${method}: ${f.why}`)
      if (failed.length > 0) throw error // only liars answered: say so rather than trust a vote
      return undefined
    }
  }

  /** The trusted header for a block parameter: the agreed head's (or the newest trusted), a hash, a number. */
  const trustedHeaderFor = async (tag: unknown): Promise<TrustedHeader | undefined> => {
    const trust = await trustStore
    if (!trust) return undefined
    if (tag === undefined || tag === 'latest') {
      const h = await head.get().catch(() => undefined)
      return (h && trust.get(h.hash)) ?? trust.newest()
    }
    if (tag && typeof tag === 'object' && 'blockHash' in tag)
      return trust.resolve(String(tag.blockHash))
    if (typeof tag === 'string' && /^0x[0-9a-fA-F]{64}$/.test(tag)) return trust.resolve(tag)
    if (typeof tag === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(tag)) {
      const hash = head.hashAt(Number.parseInt(tag, 16))
      return hash ? trust.resolve(hash) : undefined
    }
    return undefined
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
    const cached = cache.get(key)
    if (cached !== undefined)
      return { result: own(cached), meta: cachedMeta(args.method, config.policies) }
    // Each eth_subscribe / eth_newFilter creates its own stream: never shared.
    const shared = classify(args.method, config.policies).class !== 'subscription'
    let pending = shared ? inflightRequests.get(key) : undefined
    if (!pending) {
      const started = Date.now()
      pending = run(args.method, params as unknown[])
        .then(
          (answer) => {
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
            events.emit('request', {
              method: args.method,
              ok: false,
              error: error instanceof BaseError ? error.shortMessage : String(error),
              ms: Date.now() - started,
            })
            throw error
          },
        )
        .finally(() => {
          if (shared) inflightRequests.delete(key)
        })
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

/** A request on its way through the read path. */
type Read = {
  method: string
  params: unknown[]
  policy: MethodPolicy
  /** A `pending` block parameter. */
  pending: boolean
  started: number
  deadline: number
  meta(m: Partial<ResponseMeta> & Pick<ResponseMeta, 'consistency'>): ResponseMeta
}

/** Bytes the cache of immutable answers may hold (estimated: characters and values). */
const CACHE_BYTES = 8 * 1024 * 1024

/** A caller's own copy of an answer (plain JSON data: objects and arrays are copied). */
function own<T>(value: T): T {
  return value !== null && typeof value === 'object' ? structuredClone(value) : value
}

/** Does `header` hash to `hash`? */
function headerHashes(header: unknown, hash: string): boolean {
  try {
    return computeBlockHash(header as never) === hash.toLowerCase()
  } catch {
    return false
  }
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

function cachedMeta(method: string, policies: ResolvedConfig['policies']): ResponseMeta {
  return {
    method,
    policy: classify(method, policies).class,
    sources: [],
    domains: [],
    consistency: 'cached',
    attempts: 0,
    ms: 0,
  }
}

/** Carries a proven error answer (a revert) past the fallback to quorum. */
class ProvenError extends Error {
  readonly answer: RpcResponseError
  constructor(answer: RpcResponseError) {
    super(answer.message)
    this.answer = answer
  }
}
