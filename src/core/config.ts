import type { BreakerOptions } from './breaker.ts'
import { ConfigError } from './errors.ts'
import type { MethodPolicy, PolicyClass } from './policy.ts'
import { combineProvers, type Prover } from './prover.ts'
import type { RetryBudgetOptions } from './retryBudget.ts'
import type { TrustedHeaderHook } from './trust.ts'
import type { Source } from './types.ts'

export type OutlastOptions = {
  /** The chain every source must be on; checked on first contact and again later. */
  chainId: number
  /** Where answers come from: `http(...)`, `eip1193(...)`, later p2p and IPFS sources. */
  sources: readonly Source[]
  /**
   * How many sources in how many distinct failure domains must agree on a state read.
   * @default { domains: 2, sources: 2 }
   */
  quorum?: { domains?: number; sources?: number }
  /** When only one failure domain is left: answer from it and flag it, or fail. @default 'degrade' */
  onQuorumLoss?: 'degrade' | 'fail'
  /** Overall deadline for one request, in ms. @default 10_000 */
  timeout?: number
  /** How old the agreed head may get before it is polled again, in ms. @default 4_000 */
  pollingInterval?: number
  /** Sources further behind the agreed head than this many blocks get no head-dependent reads. @default 2 */
  maxLag?: number
  /** Pin `latest` by block hash (EIP-1898) where the method allows; else by number. @default true */
  pinByHash?: boolean
  /** Hedge delays in ms: floor, ceiling, and the delay used before a source has latency data. @default { min: 10, max: 2_000, initial: 400 } */
  hedge?: { min?: number; max?: number; initial?: number }
  /** Circuit breaker per source. @default { threshold: 3, cooldown: 1_000, maxCooldown: 30_000 } */
  breaker?: BreakerOptions
  /** Share of extra attempts (hedges, retries). @default { ratio: 0.5, minPerSecond: 10 } */
  retryBudget?: RetryBudgetOptions
  /** How often each source's chain id is checked again, in ms. @default 300_000 */
  chainCheckInterval?: number
  /** Entries kept in the cache of immutable results (headers by hash, transactions by block hash and index; not full blocks). 0 turns it off. @default 256 */
  cacheSize?: number
  /** Per-method overrides of the policy table, e.g. `{ eth_call: 'single' }`. @default {} */
  policies?: Record<string, PolicyClass | MethodPolicy>
  /** Answers from proofs where possible: `proofs()` from `outlast/proofs`, or several provers (the first that knows a method answers it). @default none (quorum) */
  prover?: Prover | readonly Prover[]
  /** Block hashes trusted as checkpoints (headers that anchor proofs). @default [] */
  trustedBlockHashes?: readonly string[]
  /** A light client's verified headers (e.g. from Helios or Lodestar's prover). @default none */
  trustedHeader?: TrustedHeaderHook
  /** Milliseconds a source that failed a proof gets no traffic. @default 60_000 */
  lieCooloff?: number
}

export type ResolvedConfig = {
  chainId: number
  sources: readonly Source[]
  quorum: { domains: number; sources: number }
  onQuorumLoss: 'degrade' | 'fail'
  timeout: number
  pollingInterval: number
  maxLag: number
  pinByHash: boolean
  hedge: { min: number; max: number; initial: number }
  breaker: BreakerOptions
  retryBudget: RetryBudgetOptions
  chainCheckInterval: number
  cacheSize: number
  policies: Record<string, PolicyClass | MethodPolicy>
  prover: Prover | undefined
  trustedBlockHashes: readonly string[]
  trustedHeader: TrustedHeaderHook | undefined
  lieCooloff: number
}

const known = new Set([
  'chainId',
  'sources',
  'quorum',
  'onQuorumLoss',
  'timeout',
  'pollingInterval',
  'maxLag',
  'pinByHash',
  'hedge',
  'breaker',
  'retryBudget',
  'chainCheckInterval',
  'cacheSize',
  'policies',
  'prover',
  'trustedBlockHashes',
  'trustedHeader',
  'lieCooloff',
])

const classes = new Set([
  'static',
  'head',
  'median',
  'verified',
  'quorum',
  'broadcast',
  'single',
  'subscription',
  'unsupported',
])

/** Checks every option and fills defaults; throws a `ConfigError` naming what is wrong. */
export function resolveConfig(options: OutlastOptions): ResolvedConfig {
  if (!options || typeof options !== 'object')
    throw new ConfigError('createOutlast() needs an options object with chainId and sources.')
  for (const key of Object.keys(options))
    if (!known.has(key)) throw new ConfigError(`createOutlast(): unknown option "${key}".`)

  const { chainId } = options
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId <= 0)
    throw new ConfigError(
      `createOutlast(): chainId must be a positive integer number, got ${typeof chainId} ${JSON.stringify(String(chainId))}.`,
    )

  const { sources } = options
  if (!Array.isArray(sources) || sources.length === 0)
    throw new ConfigError('createOutlast(): sources must be a non-empty array, e.g. [http(url)].')
  const names = new Set<string>()
  const seen = new Set<Source>()
  sources.forEach((s, i) => {
    if (typeof s?.request !== 'function' || typeof s.config?.name !== 'string')
      throw new ConfigError(
        `createOutlast(): sources[${i}] is not a source; use http(url) or eip1193(provider).`,
      )
    if (seen.has(s)) throw new ConfigError(`createOutlast(): sources[${i}] is listed twice.`)
    if (names.has(s.config.name))
      throw new ConfigError(
        `createOutlast(): duplicate source name "${s.config.name}" (sources[${i}]); give each source a unique name.`,
      )
    seen.add(s)
    names.add(s.config.name)
  })
  const domains = new Set(sources.map((s) => s.config.domain))

  const qDomains = options.quorum?.domains ?? Math.min(2, domains.size)
  const qSources = options.quorum?.sources ?? qDomains
  if (!Number.isInteger(qDomains) || qDomains < 1)
    throw new ConfigError(
      `createOutlast(): quorum.domains must be an integer >= 1, got ${qDomains}.`,
    )
  if (!Number.isInteger(qSources) || qSources < qDomains)
    throw new ConfigError(
      `createOutlast(): quorum.sources must be an integer >= quorum.domains (${qDomains}), got ${qSources}.`,
    )
  if (qDomains > domains.size)
    throw new ConfigError(
      `createOutlast(): quorum.domains is ${qDomains} but the sources span only ${domains.size} failure domain(s): ${[...domains].join(', ')}.`,
    )
  if (qSources > sources.length)
    throw new ConfigError(
      `createOutlast(): quorum.sources is ${qSources} but only ${sources.length} source(s) are configured.`,
    )

  const onQuorumLoss = options.onQuorumLoss ?? 'degrade'
  if (onQuorumLoss !== 'degrade' && onQuorumLoss !== 'fail')
    throw new ConfigError(
      `createOutlast(): onQuorumLoss must be 'degrade' or 'fail', got ${JSON.stringify(onQuorumLoss)}.`,
    )

  const positive = (name: string, value: number | undefined, fallback: number, min = 1) => {
    const v = value ?? fallback
    if (typeof v !== 'number' || !(v >= min) || !Number.isFinite(v))
      throw new ConfigError(
        `createOutlast(): ${name} must be a number >= ${min}, got ${JSON.stringify(v)}.`,
      )
    return v
  }

  const hedge = {
    min: positive('hedge.min', options.hedge?.min, 10, 0),
    max: positive('hedge.max', options.hedge?.max, 2_000),
    initial: positive('hedge.initial', options.hedge?.initial, 400),
  }
  if (hedge.min > hedge.max)
    throw new ConfigError(
      `createOutlast(): hedge.min (${hedge.min}) exceeds hedge.max (${hedge.max}).`,
    )

  const policies = options.policies ?? {}
  for (const [method, p] of Object.entries(policies)) {
    const cls = typeof p === 'string' ? p : p?.class
    if (!classes.has(cls))
      throw new ConfigError(
        `createOutlast(): policies.${method} must be one of ${[...classes].join(', ')}; got ${JSON.stringify(cls)}.`,
      )
  }

  return {
    chainId,
    sources,
    quorum: { domains: qDomains, sources: qSources },
    onQuorumLoss,
    timeout: positive('timeout', options.timeout, 10_000),
    pollingInterval: positive('pollingInterval', options.pollingInterval, 4_000, 0),
    maxLag: positive('maxLag', options.maxLag, 2, 0),
    pinByHash: options.pinByHash ?? true,
    hedge,
    breaker: options.breaker ?? {},
    retryBudget: options.retryBudget ?? {},
    chainCheckInterval: positive('chainCheckInterval', options.chainCheckInterval, 300_000),
    cacheSize: positive('cacheSize', options.cacheSize, 256, 0),
    policies,
    prover: checkProver(options.prover),
    trustedBlockHashes: checkHashes(options.trustedBlockHashes ?? []),
    trustedHeader: checkHook(options.trustedHeader),
    lieCooloff: positive('lieCooloff', options.lieCooloff, 60_000, 0),
  }
}

function checkProver(prover: Prover | readonly Prover[] | undefined): Prover | undefined {
  if (prover === undefined) return undefined
  const list: readonly Prover[] = Array.isArray(prover) ? prover : [prover as Prover]
  list.forEach((p, i) => {
    if (typeof p?.answer !== 'function' || !(p.methods instanceof Set))
      throw new ConfigError(
        `createOutlast(): prover${Array.isArray(prover) ? `[${i}]` : ''} must be a prover such as proofs() from 'outlast/proofs'.`,
      )
  })
  return list.length === 1 ? list[0] : combineProvers(list)
}

function checkHashes(hashes: readonly string[]): readonly string[] {
  if (!Array.isArray(hashes))
    throw new ConfigError('createOutlast(): trustedBlockHashes must be an array of block hashes.')
  for (const h of hashes)
    if (typeof h !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(h))
      throw new ConfigError(
        `createOutlast(): trustedBlockHashes has ${JSON.stringify(h)}, not a 32-byte hex hash.`,
      )
  return hashes
}

function checkHook(hook: TrustedHeaderHook | undefined): TrustedHeaderHook | undefined {
  if (hook !== undefined && typeof hook !== 'function')
    throw new ConfigError(
      'createOutlast(): trustedHeader must be a function ({ hash } | { number }) => header.',
    )
  return hook
}
