import { type BroadcastOutcome, broadcast } from './broadcast.ts'
import { canonical } from './canonical.ts'
import { type OutlastOptions, type ResolvedConfig, resolveConfig } from './config.ts'
import { createEmitter } from './emitter.ts'
import {
  AllSourcesFailedError,
  BaseError,
  ChainMismatchError,
  DeadlineError,
  ProviderRpcError,
  QuorumLostError,
  RpcResponseError,
  SourceError,
} from './errors.ts'
import { type FanOutContext, fanOut, type Need } from './fanOut.ts'
import { createHeadTracker, type Head } from './head.ts'
import { createLru } from './lru.ts'
import { classify, type PolicyClass } from './policy.ts'
import { createRetryBudget } from './retryBudget.ts'
import { checkAnswer, pinBlock } from './rules.ts'
import {
  conditionOf,
  createSourceState,
  expectedLatency,
  recordFailure,
  recordSuccess,
  type SourceCondition,
  type SourceState,
  score,
} from './sourceState.ts'
import { type OutlastStatus, statusOf } from './status.ts'
import type { Hex } from './types.ts'
import { invalidResult } from './validate.ts'

/** What outlast says about how an answer was reached. */
export type ResponseMeta = {
  method: string
  policy: PolicyClass
  /** Sources whose answers agreed (or the one whose answer verified). */
  sources: string[]
  domains: string[]
  /** `verified`: checked locally; `agreed`: quorum; `single`: one source; `degraded`: quorum lost. */
  consistency:
    | 'static'
    | 'verified'
    | 'agreed'
    | 'single'
    | 'degraded'
    | 'head'
    | 'median'
    | 'cached'
  /** The block `latest` was pinned to, if any. */
  block?: Head
  attempts: number
  ms: number
}

export type OutlastEvents = {
  /** A source changed condition (healthy, down, rate-limited, lagging, forked, wrong-chain...). */
  source: {
    source: string
    domain: string
    from: SourceCondition
    to: SourceCondition
    reason?: string
  }
  /** Sources answered the same request differently. */
  disagreement: { method: string; answers: { source: string; domain: string; answer: string }[] }
  /** Only one failure domain was left to answer. */
  quorumLoss: { method: string; domains: string[] }
  /** One request's outcome. */
  request: { method: string; ok: boolean; meta?: ResponseMeta; error?: string; ms: number }
  /** One source's outcome for a broadcast transaction. */
  broadcast: BroadcastOutcome
  /** The agreed head moved. */
  head: Head
  /** EIP-1193: a source is reachable again. */
  connect: { chainId: Hex }
  /** EIP-1193: every source is down. */
  disconnect: ProviderRpcError
}

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
  const states = config.sources.map((s) => createSourceState(s, config.breaker))
  const budget = createRetryBudget(config.retryBudget)
  const cache = createLru<unknown>(config.cacheSize)
  const inflightRequests = new Map<string, Promise<{ result: unknown; meta: ResponseMeta }>>()
  let closed = false
  let connected = true

  const updateCondition = (s: SourceState, reason?: string) => {
    const to = conditionOf(s, config.maxLag)
    if (to === s.condition) return
    const from = s.condition
    s.condition = to
    events.emit('source', {
      source: s.name,
      domain: s.domain,
      from,
      to,
      reason: reason ?? s.lastError,
    })
    const up = states.some((x) =>
      ['healthy', 'degraded', 'probing', 'lagging', 'unknown'].includes(x.condition),
    )
    if (connected && !up) {
      connected = false
      events.emit('disconnect', new ProviderRpcError(4900, 'Every source is down.'))
    } else if (!connected && up) {
      connected = true
      events.emit('connect', { chainId: chainHex })
    }
  }

  const checkChain = (s: SourceState): Promise<void> => {
    const stale = Date.now() - s.chainCheckedAt > config.chainCheckInterval
    if (s.chain === 'ok' && !stale) return Promise.resolve()
    s.chainCheck ??= (async () => {
      const started = Date.now()
      try {
        const answer = await s.source.request({ method: 'eth_chainId', params: [] })
        const bad = invalidResult('eth_chainId', answer)
        if (bad) throw new SourceError(s.name, 'body', `eth_chainId answer ${bad}`)
        recordSuccess(s, Date.now() - started)
        s.chainCheckedAt = Date.now()
        const actual = Number.parseInt(answer as string, 16)
        if (actual !== config.chainId) {
          s.chain = 'mismatch'
          const error = new ChainMismatchError(s.name, config.chainId, actual)
          s.lastError = error.shortMessage.replace(`${s.name}: `, '')
          updateCondition(s, error.shortMessage)
          throw error
        }
        s.chain = 'ok'
      } catch (error) {
        if (!(error instanceof ChainMismatchError)) recordFailure(s, error)
        updateCondition(s)
        throw error
      } finally {
        s.chainCheck = undefined
      }
    })()
    // A periodic re-check of a source already known to be right runs in the background.
    if (s.chain === 'ok') {
      s.chainCheck.catch(() => {})
      return Promise.resolve()
    }
    return s.chainCheck
  }

  /** One attempt at one source, with chain check, shape check and health accounting. */
  const attempt = async (
    s: SourceState,
    method: string,
    params: unknown[],
    signal: AbortSignal,
  ): Promise<unknown> => {
    if (s.chain !== 'ok' || Date.now() - s.chainCheckedAt > config.chainCheckInterval)
      await raceSignal(checkChain(s), signal, s.name)
    s.requests++
    const started = Date.now()
    try {
      const result = await s.source.request({ method, params }, { signal })
      const bad = invalidResult(method, result)
      if (bad) throw new SourceError(s.name, 'body', `${method} answer ${bad}`)
      recordSuccess(s, Date.now() - started)
      return result
    } catch (error) {
      const err =
        error instanceof SourceError ? error : new SourceError(s.name, 'network', String(error))
      if (err instanceof RpcResponseError && err.deterministic)
        recordSuccess(s, Date.now() - started)
      else recordFailure(s, err)
      throw err
    } finally {
      updateCondition(s)
    }
  }

  const eligible = (s: SourceState, now = Date.now()) =>
    s.chain !== 'mismatch' && s.rateLimitedUntil <= now && s.breaker.available

  const head = createHeadTracker({
    sources: states,
    quorumDomains: config.quorum.domains,
    pollingInterval: config.pollingInterval,
    eligible: (s) => eligible(s),
    attempt,
    pollTimeout: (s) => Math.min(config.timeout, Math.max(1_000, 4 * expectedLatency(s, 500))),
    onUpdate: (h) => {
      for (const s of states) updateCondition(s)
      events.emit('head', h)
    },
  })

  const ranked = (headDependent: boolean): SourceState[] => {
    const now = Date.now()
    return states
      .filter((s) => eligible(s, now) && !(headDependent && (s.forked || s.lag > config.maxLag)))
      .sort((a, b) => score(a) - score(b))
  }

  const ctx: FanOutContext = {
    attempt,
    budget,
    hedge: config.hedge,
    onDisagreement: (method, answers) => events.emit('disagreement', { method, answers }),
    penalize: (s, error) => {
      recordFailure(s, error)
      updateCondition(s)
    },
  }

  /** The quorum for this request, reduced (and flagged) when fewer domains are left. */
  const needFor = (candidates: readonly SourceState[], method: string) => {
    const domains = new Set(candidates.map((s) => s.domain))
    const need: Need = { ...config.quorum }
    if (domains.size >= need.domains) return { need, degraded: false }
    if (config.onQuorumLoss === 'fail' || domains.size === 0) {
      if (domains.size === 0) return { need, degraded: false }
      throw new QuorumLostError(
        `Quorum lost for ${method}: only ${[...domains].join(', ')} left and onQuorumLoss is 'fail'.`,
      )
    }
    return {
      need: { domains: domains.size, sources: Math.min(need.sources, candidates.length) },
      degraded: true,
    }
  }

  const run = async (
    method: string,
    params: unknown[],
  ): Promise<{ result: unknown; meta: ResponseMeta }> => {
    const started = Date.now()
    const classified = classify(method, config.policies)
    // A pending block is each node's own guess: take it from one source.
    const pending =
      classified.blockParam !== undefined && params[classified.blockParam] === 'pending'
    const policy = pending ? { class: 'single' as const } : classified
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
      case 'static':
        return {
          result: method === 'net_version' ? String(config.chainId) : chainHex,
          meta: meta({ consistency: 'static' }),
        }
      case 'head': {
        const n = await head.blockNumber()
        return {
          result: `0x${n.toString(16)}`,
          meta: meta({ consistency: 'head', block: head.peek()! }),
        }
      }
      case 'broadcast': {
        budget.deposit()
        const targets = states.filter((s) => s.chain !== 'mismatch')
        const { hash, accepted } = await broadcast(
          params[0],
          targets,
          (s, signal) => attempt(s, method, params, signal),
          deadline,
          (o) => events.emit('broadcast', o),
        )
        const domains = [
          ...new Set(states.filter((s) => accepted.includes(s.name)).map((s) => s.domain)),
        ]
        return { result: hash, meta: meta({ consistency: 'verified', sources: accepted, domains }) }
      }
      case 'median':
        return median(method, params, deadline, meta)
    }

    budget.deposit()
    const pinned = await beforeDeadline(
      pinBlock(method, params, policy, head, config.pinByHash),
      deadline,
      () =>
        new DeadlineError(`No agreed chain head to pin ${method} to before the deadline.`, {
          metaMessages: states.map((s) => `- ${s.name}: ${s.lastError ?? 'no answer yet'}`),
        }),
    )
    const candidates = ranked(pinned.headDependent)
    const { need, degraded } = needFor(candidates, method)
    const single = policy.class === 'single'
    const rules = checkAnswer(method, pinned.params, pinned.expectedHash)
    const result = await fanOut(ctx, {
      method,
      params: pinned.params,
      candidates,
      need: single ? { domains: 1, sources: 1 } : need,
      check: rules.check,
      standsAlone: single ? () => true : rules.standsAlone,
      key: rules.key,
      degrade: config.onQuorumLoss === 'degrade',
      deadline,
      // An answer that can verify alone needs one source first; hedging adds more if it is slow.
      ...(single || (policy.class === 'verified' && pinned.expectedHash) ? { initial: 1 } : {}),
    })
    const verified = !single && result.sources.length === 1 && rules.standsAlone?.(result.value)
    const lost = !single && !verified && (degraded || result.degraded)
    if (lost) events.emit('quorumLoss', { method, domains: result.domains })
    if (result.error) throw result.error
    return {
      result: result.value,
      meta: meta({
        consistency: single ? 'single' : verified ? 'verified' : lost ? 'degraded' : 'agreed',
        sources: result.sources,
        domains: result.domains,
        attempts: result.attempts,
        ...(pinned.block ? { block: pinned.block } : {}),
      }),
    }
  }

  /** Fee figures: the median of what up to three domains answer within a short window. */
  const median = async (
    method: string,
    params: unknown[],
    deadline: number,
    meta: (m: Partial<ResponseMeta> & Pick<ResponseMeta, 'consistency'>) => ResponseMeta,
  ) => {
    const picks: SourceState[] = []
    for (const s of ranked(false))
      if (picks.length < 3 && !picks.some((p) => p.domain === s.domain)) picks.push(s)
    const controller = new AbortController()
    const window = AbortSignal.any([
      controller.signal,
      AbortSignal.timeout(Math.max(0, deadline - Date.now())),
    ])
    const answers: { s: SourceState; value: bigint }[] = []
    const failures: { source: string; reason: string }[] = []
    await new Promise<void>((resolve) => {
      let pending = picks.length
      if (!pending) return resolve()
      for (const s of picks)
        attempt(s, method, params, window)
          .then((v) => {
            answers.push({ s, value: BigInt(v as string) })
            // After the first answer, wait briefly for the others.
            if (answers.length === 1) setTimeout(resolve, Math.max(20, expectedLatency(s, 100)))
          })
          .catch((e) =>
            failures.push({
              source: s.name,
              reason: e instanceof BaseError ? e.shortMessage : String(e),
            }),
          )
          .finally(() => {
            if (--pending === 0) resolve()
          })
    })
    controller.abort()
    if (answers.length === 0) throw new AllSourcesFailedError(method, failures)
    const sorted = answers.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    const mid = sorted[Math.floor((sorted.length - 1) / 2)]!
    return {
      result: `0x${mid.value.toString(16)}`,
      meta: meta({
        consistency: 'median',
        sources: sorted.map((a) => a.s.name),
        domains: [...new Set(sorted.map((a) => a.s.domain))],
        attempts: picks.length,
      }),
    }
  }

  const requestWithMeta = async (args: RequestArguments) => {
    if (closed) throw new ProviderRpcError(4900, 'This outlast client is closed.')
    if (!args || typeof args.method !== 'string')
      throw new ProviderRpcError(-32600, 'request() needs { method: string, params?: unknown[] }.')
    const params = args.params === undefined ? [] : args.params
    if (!Array.isArray(params))
      throw new ProviderRpcError(-32602, `${args.method}: params must be an array.`)
    const key = `${args.method}:${canonical(params)}`
    const cached = cache.get(key)
    if (cached !== undefined)
      return { result: cached, meta: cachedMeta(args.method, config.policies) }
    let pending = inflightRequests.get(key)
    if (!pending) {
      const started = Date.now()
      pending = run(args.method, params as unknown[])
        .then(
          (answer) => {
            if (isImmutable(args.method, answer.result)) cache.set(key, answer.result)
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
        .finally(() => inflightRequests.delete(key))
      inflightRequests.set(key, pending)
    }
    return pending
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
      await Promise.allSettled(states.map((s) => checkChain(s)))
      await head.refresh()
      events.emit('connect', { chainId: chainHex })
    },
    disconnect: () => client.close(),
    status: () => statusOf(config, states, head.peek()),
    async close() {
      closed = true
      await Promise.all(config.sources.map((s) => s.close?.()))
    },
  }
  return client
}

function beforeDeadline<T>(promise: Promise<T>, deadline: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), Math.max(0, deadline - Date.now()))
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

function raceSignal<T>(promise: Promise<T>, signal: AbortSignal, name: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new SourceError(name, 'aborted', 'attempt cancelled'))
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new SourceError(name, 'aborted', 'attempt cancelled'))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

const IMMUTABLE = new Set(['eth_getBlockByHash', 'eth_getTransactionByBlockHashAndIndex'])
function isImmutable(method: string, result: unknown): boolean {
  return IMMUTABLE.has(method) && result !== null
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
