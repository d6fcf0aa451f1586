import { ConfigError } from '../shared/errors.ts'
import { privateRoute } from '../shared/route.ts'
import { loadsOverNetwork } from '../shared/runtime.ts'
import type { Source } from '../shared/types.ts'
import type { BreakerOptions } from './breaker.ts'
import {
  checkBoolean,
  checkNumber,
  checkObject,
  checkOneOf,
  ms,
  type NumberRule,
  whole,
} from './options.ts'
import type { MethodPolicy, PolicyClass } from './policy.ts'
import { combineProvers, type Prover } from './prover.ts'
import type { RetryBudgetOptions } from './retryBudget.ts'
import type { TrustedHeaderHook } from './trust.ts'

export type OutlastOptions = {
  /** The chain every source must be on (a positive integer); checked on first contact and again later. */
  chainId: number
  /**
   * Where answers come from: `http(...)`, `webSocket(...)`, `eip1193(...)`, and the groups of
   * sources some factories return (`p2p(...)` from `outlast/p2p`: one source per relay), listed
   * as they are.
   */
  sources: readonly (Source | readonly Source[])[]
  /**
   * How many sources in how many distinct failure domains must agree on a state read (integers:
   * 1 <= domains <= sources; at most the configured domains and sources).
   * @default { domains: 2, sources: 2 }
   */
  quorum?: { domains?: number; sources?: number }
  /** When only one failure domain is left: answer from it and flag it, or fail. @default 'degrade' */
  onQuorumLoss?: 'degrade' | 'fail'
  /**
   * When sources name `eth_sendRawTransaction` in their `methods.include` (a private mempool
   * such as Flashbots Protect), transactions go to them only. `'strict'`: never anywhere else,
   * even when every private route fails; `'fallback'`: to the other sources once every private
   * route failed. @default 'strict'
   */
  privateTransactions?: 'strict' | 'fallback'
  /** Overall deadline for one request, in whole ms (1 to 2^31 − 1). @default 10_000 */
  timeout?: number
  /** How old the agreed head may get before it is polled again, in whole ms (0 to 2^31 − 1). @default 4_000 */
  pollingInterval?: number
  /** Sources further behind the agreed head than this many blocks (an integer >= 0) get no head-dependent reads. @default 2 */
  maxLag?: number
  /** Whole ms (1 to 2^31 − 1) a source's head may be old, by its timestamp, while another domain's is fresh and extends the agreed chain; older, the source is `lagging` and set aside. @default 60_000, or five block times on a slower chain */
  maxHeadAge?: number
  /** Whole ms (0 to 2^31 − 1) a head's timestamp may be ahead of the local clock; further, the head is refused unless two domains report it. @default 15_000 */
  maxClockSkew?: number
  /** Pin `latest` by block hash (EIP-1898) where the method allows; else by number. @default true */
  pinByHash?: boolean
  /** Hedge delays in whole ms (up to 2^31 − 1, min <= max): floor, ceiling, and the delay used before a source has latency data. @default { min: 10, max: 2_000, initial: 400 } */
  hedge?: { min?: number; max?: number; initial?: number }
  /** Circuit breaker per source. @default { threshold: 3, cooldown: 1_000, maxCooldown: 30_000 } */
  breaker?: BreakerOptions
  /** Share of extra attempts (hedges, retries). @default { ratio: 0.5, minPerSecond: 10 } */
  retryBudget?: RetryBudgetOptions
  /** How often each source's chain id is checked again, in whole ms (1 to 2^31 − 1). @default 300_000 */
  chainCheckInterval?: number
  /** Entries kept in the cache of immutable results (headers by hash, transactions by block hash and index; not full blocks). 0 turns it off; at most 2^24. @default 256 */
  cacheSize?: number
  /** Per-method overrides of the policy table, e.g. `{ eth_call: 'single' }` or `{ my_read: { class: 'quorum', blockParam: 1 } }`. @default {} */
  policies?: Record<string, PolicyClass | MethodPolicy>
  /** Answers from proofs where possible: `proofs()` from `outlast/proofs`, or several provers (the first that knows a method answers it). @default none (quorum) */
  prover?: Prover | readonly Prover[]
  /** Block hashes trusted as checkpoints (headers that anchor proofs). @default [] */
  trustedBlockHashes?: readonly string[]
  /** A light client's verified headers (e.g. from Helios or Lodestar's prover). @default none */
  trustedHeader?: TrustedHeaderHook
  /** Whole ms (0 to 2^31 − 1) a source that failed a proof gets no traffic. @default 60_000 */
  lieCooloff?: number
  /**
   * Once a first answer is out, load the code outlast otherwise loads on first use (sends, fee
   * medians, receipts, subscriptions…), so that it is there if the page's own host fails later.
   * @default true in browsers and workers, false in Node (its modules are local files)
   */
  preload?: boolean
}

export type ResolvedConfig = {
  chainId: number
  sources: readonly Source[]
  quorum: { domains: number; sources: number }
  onQuorumLoss: 'degrade' | 'fail'
  privateTransactions: 'strict' | 'fallback'
  timeout: number
  pollingInterval: number
  maxLag: number
  maxHeadAge: number | undefined
  maxClockSkew: number
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
  preload: boolean
  /** Every source is untrusted: heads and `latest` come from the light client (`trustedHeader`). */
  lightOnly: boolean
}

/** An options type's keys, listed once so that a key added to the type must be added here. */
const keysOf = <T>(keys: { [K in keyof Required<T>]: true }): readonly string[] => Object.keys(keys)

const known = keysOf<OutlastOptions>({
  chainId: true,
  sources: true,
  quorum: true,
  onQuorumLoss: true,
  privateTransactions: true,
  timeout: true,
  pollingInterval: true,
  maxLag: true,
  maxHeadAge: true,
  maxClockSkew: true,
  pinByHash: true,
  hedge: true,
  breaker: true,
  retryBudget: true,
  chainCheckInterval: true,
  cacheSize: true,
  policies: true,
  prover: true,
  trustedBlockHashes: true,
  trustedHeader: true,
  lieCooloff: true,
  preload: true,
})
const quorumKeys = keysOf<NonNullable<OutlastOptions['quorum']>>({ domains: true, sources: true })
const hedgeKeys = keysOf<NonNullable<OutlastOptions['hedge']>>({
  min: true,
  max: true,
  initial: true,
})
const breakerKeys = keysOf<BreakerOptions>({ threshold: true, cooldown: true, maxCooldown: true })
const budgetKeys = keysOf<RetryBudgetOptions>({ ratio: true, minPerSecond: true })
// `named` is outlast's own, for the methods it does not list (route.ts `handsOn`).
const policyKeys = keysOf<Omit<MethodPolicy, 'named'>>({
  class: true,
  blockParam: true,
  byHash: true,
  hashParam: true,
})

const classes: readonly PolicyClass[] = [
  'static',
  'head',
  'median',
  'verified',
  'quorum',
  'broadcast',
  'single',
  'subscription',
  'unsupported',
]

const WHERE = 'createOutlast()'
const num = (path: string, value: unknown, rule: NumberRule) =>
  checkNumber(WHERE, path, value, rule)
const obj = (path: string, value: unknown, keys?: readonly string[]) =>
  checkObject(WHERE, path, value, keys)

/** A `Map` holds at most 2^24 entries. */
const MAX_CACHE = 2 ** 24
/** A block parameter's index: JSON-RPC methods take a few parameters. */
const MAX_PARAM = 255

/** The sources (groups flattened), each once under its own name, and the domains they span. */
function checkSources(options: OutlastOptions) {
  if (!Array.isArray(options.sources) || options.sources.length === 0)
    throw new ConfigError(`${WHERE}: sources must be a non-empty array, e.g. [http(url)].`)
  // A group (`p2p()`'s relays) counts as its sources.
  const sources: readonly Source[] = options.sources.flat()
  if (sources.length === 0)
    throw new ConfigError(`${WHERE}: sources holds only empty groups; give it at least one source.`)
  const names = new Set<string>()
  const seen = new Set<Source>()
  sources.forEach((s, i) => {
    if (typeof s?.request !== 'function' || typeof s.config?.name !== 'string')
      throw new ConfigError(
        `${WHERE}: sources[${i}] is not a source; use http(url) or eip1193(provider).`,
      )
    if (seen.has(s)) throw new ConfigError(`${WHERE}: sources[${i}] is listed twice.`)
    if (names.has(s.config.name))
      throw new ConfigError(
        `${WHERE}: duplicate source name "${s.config.name}" (sources[${i}]); give each source a unique name.`,
      )
    seen.add(s)
    names.add(s.config.name)
  })
  // Untrusted sources never count toward a quorum: their domains cannot make one.
  const domains = new Set(sources.filter((s) => !s.config.untrusted).map((s) => s.config.domain))
  // Only untrusted sources: a light client and a prover stand in for agreement (reads are proven
  // at the light client's blocks); without both, nothing could be trusted.
  const lightOnly = domains.size === 0
  if (lightOnly && !(options.trustedHeader && options.prover))
    throw new ConfigError(
      `${WHERE}: every source is untrusted; at least one trusted source is needed (heads, and reads no proof covers, need one), unless a light client (trustedHeader) and a prover are configured.`,
    )
  return { sources, domains, lightOnly }
}

/** `quorum`, defaulted (two domains where there are two) and checked against the sources. */
function checkQuorum(
  options: OutlastOptions,
  sourceCount: number,
  domains: ReadonlySet<string>,
  lightOnly: boolean,
) {
  const quorum = obj('quorum', options.quorum, quorumKeys)
  const qDomains =
    num('quorum.domains', quorum?.domains, whole(1)) ?? Math.max(1, Math.min(2, domains.size))
  const qSources = num('quorum.sources', quorum?.sources, whole(1)) ?? qDomains
  if (lightOnly && quorum !== undefined)
    throw new ConfigError(
      `${WHERE}: quorum is set but every source is untrusted: no quorum can be formed (reads are proven through the light client).`,
    )
  if (!lightOnly && qDomains > domains.size)
    throw new ConfigError(
      `${WHERE}: quorum.domains is ${qDomains} but the sources span only ${domains.size} failure domain(s): ${[...domains].join(', ')}.`,
    )
  if (qSources < qDomains)
    throw new ConfigError(
      `${WHERE}: quorum.sources must be an integer >= quorum.domains (${qDomains}), got ${qSources}.`,
    )
  if (qSources > sourceCount)
    throw new ConfigError(
      `${WHERE}: quorum.sources is ${qSources} but only ${sourceCount} source(s) are configured.`,
    )
  return { domains: qDomains, sources: qSources }
}

/** Checks every option and fills defaults; throws a `ConfigError` naming what is wrong. */
export function resolveConfig(options: OutlastOptions): ResolvedConfig {
  if (!options || typeof options !== 'object' || Array.isArray(options))
    throw new ConfigError(`${WHERE} needs an options object with chainId and sources.`)
  obj('', options, known)

  const chainId = num('chainId', options.chainId, whole(1))
  if (chainId === undefined)
    throw new ConfigError(`${WHERE}: chainId is required, e.g. 1 for Ethereum mainnet.`)

  const { sources, domains, lightOnly } = checkSources(options)
  const quorum = checkQuorum(options, sources.length, domains, lightOnly)

  const hedgeOptions = obj('hedge', options.hedge, hedgeKeys)
  const hedge = {
    min: num('hedge.min', hedgeOptions?.min, ms(0)) ?? 10,
    max: num('hedge.max', hedgeOptions?.max, ms(1)) ?? 2_000,
    initial: num('hedge.initial', hedgeOptions?.initial, ms(1)) ?? 400,
  }
  if (hedge.min > hedge.max)
    throw new ConfigError(`${WHERE}: hedge.min (${hedge.min}) exceeds hedge.max (${hedge.max}).`)

  return {
    chainId,
    sources,
    quorum,
    lightOnly,
    onQuorumLoss:
      checkOneOf(WHERE, 'onQuorumLoss', options.onQuorumLoss, ['degrade', 'fail'] as const) ??
      'degrade',
    privateTransactions:
      checkOneOf(WHERE, 'privateTransactions', options.privateTransactions, [
        'strict',
        'fallback',
      ] as const) ?? 'strict',
    timeout: num('timeout', options.timeout, ms(1)) ?? 10_000,
    pollingInterval: num('pollingInterval', options.pollingInterval, ms(0)) ?? 4_000,
    maxLag: num('maxLag', options.maxLag, whole(0)) ?? 2,
    maxHeadAge: num('maxHeadAge', options.maxHeadAge, ms(1)),
    maxClockSkew: num('maxClockSkew', options.maxClockSkew, ms(0)) ?? 15_000,
    pinByHash: checkBoolean(WHERE, 'pinByHash', options.pinByHash) ?? true,
    hedge,
    breaker: checkBreaker(options.breaker),
    retryBudget: checkRetryBudget(options.retryBudget),
    chainCheckInterval: num('chainCheckInterval', options.chainCheckInterval, ms(1)) ?? 300_000,
    cacheSize: num('cacheSize', options.cacheSize, whole(0, MAX_CACHE)) ?? 256,
    policies: checkPolicies(options.policies, sources),
    prover: checkProver(options.prover),
    trustedBlockHashes: checkHashes(options.trustedBlockHashes ?? []),
    trustedHeader: checkHook(options.trustedHeader),
    lieCooloff: num('lieCooloff', options.lieCooloff, ms(0)) ?? 60_000,
    preload: checkBoolean(WHERE, 'preload', options.preload) ?? loadsOverNetwork(),
  }
}

/** Only the options given, checked (the breaker fills its own defaults). */
function checkBreaker(value: unknown): BreakerOptions {
  const o = obj('breaker', value, breakerKeys)
  const threshold = num('breaker.threshold', o?.threshold, whole(1))
  const cooldown = num('breaker.cooldown', o?.cooldown, ms(1))
  const maxCooldown = num('breaker.maxCooldown', o?.maxCooldown, ms(1))
  if (cooldown !== undefined && maxCooldown !== undefined && maxCooldown < cooldown)
    throw new ConfigError(
      `${WHERE}: breaker.maxCooldown (${maxCooldown}) is below breaker.cooldown (${cooldown}).`,
    )
  return defined({ threshold, cooldown, maxCooldown })
}

/** Only the options given, checked (the budget fills its own defaults). */
function checkRetryBudget(value: unknown): RetryBudgetOptions {
  const o = obj('retryBudget', value, budgetKeys)
  return defined({
    // Finagle's bound: at most 1,000 extra attempts per request.
    ratio: num('retryBudget.ratio', o?.ratio, { min: 0, max: 1_000 }),
    minPerSecond: num('retryBudget.minPerSecond', o?.minPerSecond, whole(0)),
  })
}

/**
 * A fresh table without a prototype (so `constructor` is no override), each entry checked. With
 * private routes, a send must stay a broadcast: under another rule it would pass them by.
 */
function checkPolicies(
  value: unknown,
  sources: readonly Source[],
): Record<string, PolicyClass | MethodPolicy> {
  const out: Record<string, PolicyClass | MethodPolicy> = Object.create(null)
  for (const [method, p] of Object.entries(obj('policies', value) ?? {})) {
    const path = `policies.${method}`
    if (typeof p === 'string') {
      out[method] = checkOneOf(WHERE, path, p, classes) as PolicyClass
      continue
    }
    const o = obj(path, p, policyKeys)
    const cls = checkOneOf(WHERE, `${path}.class`, o?.class ?? null, classes) as PolicyClass
    const blockParam = num(`${path}.blockParam`, o?.blockParam, whole(0, MAX_PARAM))
    const byHash = checkBoolean(WHERE, `${path}.byHash`, o?.byHash)
    const hashParam = num(`${path}.hashParam`, o?.hashParam, whole(0, MAX_PARAM))
    out[method] = defined({ class: cls, blockParam, byHash, hashParam })
  }
  for (const send of [
    'eth_sendRawTransaction',
    'eth_sendRawTransactionSync',
    'eth_sendRawTransactionConditional',
  ]) {
    const p = out[send]
    if (p && (p as MethodPolicy).class !== 'broadcast' && p !== 'broadcast')
      if (sources.some((s) => privateRoute(s.config.methods)))
        throw new ConfigError(
          `${WHERE}: policies.${send} must stay 'broadcast' while a source is a private route for transactions: under another rule, transactions would pass the private routes by.`,
        )
  }
  return out
}

/** `o` without its `undefined` entries. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

function checkProver(prover: Prover | readonly Prover[] | undefined): Prover | undefined {
  if (prover === undefined) return undefined
  const list: readonly Prover[] = Array.isArray(prover) ? prover : [prover as Prover]
  list.forEach((p, i) => {
    if (typeof p?.answer !== 'function' || !(p.methods instanceof Set))
      throw new ConfigError(
        `${WHERE}: prover${Array.isArray(prover) ? `[${i}]` : ''} must be a prover such as proofs() from 'outlast/proofs'.`,
      )
  })
  return list.length === 1 ? list[0] : combineProvers(list)
}

function checkHashes(hashes: readonly string[]): readonly string[] {
  if (!Array.isArray(hashes))
    throw new ConfigError(`${WHERE}: trustedBlockHashes must be an array of block hashes.`)
  for (const h of hashes)
    if (typeof h !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(h))
      throw new ConfigError(
        `${WHERE}: trustedBlockHashes has ${JSON.stringify(h)}, not a 32-byte hex hash.`,
      )
  return hashes
}

function checkHook(hook: TrustedHeaderHook | undefined): TrustedHeaderHook | undefined {
  if (hook !== undefined && typeof hook !== 'function')
    throw new ConfigError(
      `${WHERE}: trustedHeader must be a function ({ hash } | { number }) => header.`,
    )
  return hook
}
