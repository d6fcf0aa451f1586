/**
 * `requestWithMeta`, the way in of every request (a caller's, or a handler's own question): the
 * arguments checked and bounded, hashes and blocks spelled one way (params.ts), the cache of
 * immutable answers and identical requests in flight consulted, the request handed to its
 * class's handler, and a `request` event once settled.
 */
import { BaseError, inNodesWords, ProviderRpcError, RpcResponseError } from '../shared/errors.ts'
import { createLru } from '../shared/lru.ts'
import { checkShape, measureShape } from './bounds.ts'
import { canonical } from './canonical.ts'
import type { RequestArguments } from './createOutlast.ts'
import type { Answer, Call, Engine } from './engine.ts'
import type { ResponseMeta } from './events.ts'
import { handlers } from './handlers/index.ts'
import { checkedParams, isHash } from './params.ts'
import { classify, type MethodPolicy } from './policy.ts'

/** `requestWithMeta` over `engine`: refused once `closed()`. */
export function createRequestWithMeta(
  engine: Engine,
  closed: () => boolean,
): (args: RequestArguments) => Promise<Answer> {
  const { config, events } = engine
  const cache = createLru<unknown>(config.cacheSize, CACHE_BYTES, (v) => {
    const shape = measureShape(v)
    return shape.chars + 16 * shape.nodes
  })
  const inflightRequests = new Map<string, Promise<Answer>>()

  return async (args) => {
    if (closed()) throw new ProviderRpcError(4900, 'This outlast client is closed.')
    const given = paramsOf(args)
    const policy = classify(args.method, config.policies)
    // Hashes and blocks spelled one way (params.ts): one key, and the spelling sources see.
    const params = checkedParams(args.method, given, policy)
    const key = `${args.method}:${canonical(params)}`
    const cached = cache.get(key)
    if (cached !== undefined) return { result: own(cached), meta: cachedMeta(args.method, policy) }
    // Each eth_subscribe / eth_newFilter creates its own stream: never shared. A request made
    // once a newer head is known, or a newer block was shown (a receipt: the head polls first),
    // shares none made before it, which may be pinned to an older block (a balance read just
    // after the caller's own receipt would show the old balance).
    const shared = policy.class !== 'subscription'
    const sharedKey = `${key}@${engine.head.peek()?.hash}>${engine.head.shownFloor()}`
    let pending = shared ? inflightRequests.get(sharedKey) : undefined
    if (!pending) {
      const started = Date.now()
      // Settled, it is no longer in flight: taken out first, before anything that could throw.
      pending = run(engine, args.method, params, policy, started).then(
        (answer) => {
          if (shared) inflightRequests.delete(sharedKey)
          shownBlock(engine, answer, params)
          if (isImmutable(args.method, params, answer)) cache.set(key, answer.result)
          events.emit('request', {
            method: args.method,
            ok: true,
            meta: answer.meta,
            ms: Date.now() - started,
          })
          return answer
        },
        (thrown: unknown) => {
          if (shared) inflightRequests.delete(sharedKey)
          const error = scrubbed(thrown, engine.redact)
          if (error instanceof RpcResponseError) inNodesWords(error)
          events.emit('request', {
            method: args.method,
            ok: false,
            error: error instanceof BaseError ? error.shortMessage : String(error),
            ...(error instanceof RpcResponseError ? { source: error.source } : {}),
            ...((error as { degraded?: true }).degraded ? { degraded: true as const } : {}),
            ms: Date.now() - started,
          })
          throw error
        },
      )
      if (shared) inflightRequests.set(sharedKey, pending)
    }
    // Each caller gets its own copy: callers that share a request, or a cached answer, must
    // not see each other's changes.
    const answer = await pending
    return { result: own(answer.result), meta: { ...answer.meta } }
  }
}

/**
 * The block an answer shows the caller (a receipt's or a transaction's `blockNumber`, a block's
 * `number`): reads of `latest` after it are not read below it (head.ts `shown`); where the
 * domains placed it on the chain (`PLACED`), with its hash, which such reads are pinned to.
 */
function shownBlock(engine: Engine, { result, meta }: Answer, params: readonly unknown[]) {
  // A pending block is no block of the chain yet (anvil gives it a number and a hash): pinned
  // there, every log range to `latest` failed (reviewOfSession39h).
  if (params.includes('pending')) return
  const r = result as {
    blockNumber?: unknown
    number?: unknown
    blockHash?: unknown
    hash?: unknown
  }
  if (typeof r !== 'object' || r === null) return
  const [n, hash] = r.blockNumber !== undefined ? [r.blockNumber, r.blockHash] : [r.number, r.hash]
  if (typeof n !== 'string' || !/^0x[0-9a-f]{1,13}$/.test(n)) return
  const placed = PLACED.has(meta.consistency) && isHash(hash)
  engine.head.shown(Number(n), placed ? hash.toLowerCase() : undefined)
}

/**
 * Labels that place an answer's block on the chain: agreed by the domains, or proven against a
 * trusted header. `verified` alone is not: a correctly hashed block made up by one source is
 * `verified` by its hash, and reads of `latest` pinned to it would be that source's alone.
 */
const PLACED: ReadonlySet<string> = new Set(['agreed', 'proven'])

/** The request's params, checked: an array, bounded like a source's answers. */
function paramsOf(args: RequestArguments): unknown[] {
  if (!args || typeof args.method !== 'string')
    throw new ProviderRpcError(-32600, 'request() needs { method: string, params?: unknown[] }.')
  const params = args.params === undefined ? [] : args.params
  if (!Array.isArray(params))
    throw new ProviderRpcError(-32602, `${args.method}: params must be an array.`)
  // The caller's params are bounded like a source's answers: too deep or wide is the caller's error.
  const shape = checkShape(params)
  if (shape) throw new ProviderRpcError(-32602, `${args.method}: params ${shape}.`)
  return params
}

/** Hands a classified request to its class's handler (src/core/handlers/). */
function run(
  engine: Engine,
  method: string,
  params: unknown[],
  policy: MethodPolicy,
  started: number,
): Promise<Answer> {
  const call: Call = {
    method,
    params,
    policy,
    started,
    deadline: started + engine.config.timeout,
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

/**
 * `error` (and its causes) with every source's secrets taken out of its text: reasons quote what
 * sources answered (a hash that is not the transaction's, a block's fields), and a node may put
 * its own URL's key there. Fields are rewritten in place, only where a secret was found.
 */
function scrubbed(error: unknown, redact: (text: string) => string): unknown {
  /** `v` cleaned, or `v` itself when nothing in it changed. */
  const clean = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return redact(v)
    if (!v || typeof v !== 'object' || v instanceof Error || depth > 3) return v
    const entries = Object.entries(v)
    const after = entries.map(([k, x]) => [k, clean(x, depth + 1)] as const)
    if (after.every(([, x], i) => x === entries[i]![1])) return v
    return Array.isArray(v) ? after.map(([, x]) => x) : Object.fromEntries(after)
  }
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++)
    for (const k of [...Object.keys(e), 'message', 'stack']) {
      const v = (e as unknown as Record<string, unknown>)[k]
      const after = clean(v, 0)
      if (after !== v)
        Object.defineProperty(e, k, { value: after, writable: true, configurable: true })
    }
  return error
}

/** Bytes the cache of immutable answers may hold (estimated: characters and values). */
const CACHE_BYTES = 8 * 1024 * 1024

/**
 * The caller's own copy of a result (plain JSON data: objects and arrays are copied), its hex in lower case as every client writes it (an address
 * as it came: clients write them checksummed or not). Answers agree whatever their letters
 * (canonical.ts), so without it a hash would come back in the spelling of whichever source
 * answered first, and a caller comparing hashes as strings would miss its own.
 */
function own<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value), lower)
}

const lower = (_: string, v: unknown) =>
  typeof v === 'string' && v.length !== 42 && /^0x[0-9a-fA-F]*$/.test(v) ? v.toLowerCase() : v

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
