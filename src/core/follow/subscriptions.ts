import { ProviderRpcError } from '../../shared/errors.ts'
import { checkedHeader } from '../../verify/block.ts'
import {
  type ChainChange,
  type ChainFollower,
  type FollowerOptions,
  followChain,
  type HeadPusher,
  type Link,
  type RpcHeader,
} from './chainFollower.ts'
import {
  bloomMayMatch,
  byLogIndex,
  type LogFilter,
  logsOf,
  type Matcher,
  matcherOf,
  matches,
  type RpcLog,
  unionOf,
} from './logs.ts'
import { SentLogs, weightOf } from './sentLogs.ts'

/** What a consumer of the chain wants: heads or logs, pushed (subscription) or buffered (filter). */
type Consumer = HeadsConsumer | BlockFilter | LogConsumer
type HeadsConsumer = { kind: 'heads'; deliver(header: RpcHeader): void }
type BlockFilter = {
  kind: 'blocks'
  buffer: string[]
  polledAt: number
  /** Something buffered since the last poll came while one domain alone backed the head. */
  alone?: boolean
}
type LogConsumer = {
  kind: 'logs'
  filter: LogFilter
  /** The filter matched here; none for one only a node can read (it asks on its own). */
  matcher: Matcher | undefined
  /** Delivered logs per block hash, to send again with `removed: true` after a reorg. */
  sent: SentLogs
  deliver?(log: RpcLog): void
  buffer?: RpcLog[]
  /** What `buffer` weighs, in characters (`FILTER_BUDGET`). */
  buffered?: number
  polledAt?: number
  /** Its filter as given: its `fromBlock` and `toBlock` bound the blocks it takes, as nodes do. */
  criteria: { fromBlock?: unknown; toBlock?: unknown }
  alone?: boolean
  /** Blocks whose logs it has not had (their eth_getLogs failed), oldest first: asked again. */
  owed?: Link[]
}

type GetLogs = (filter: object) => Promise<RpcLog[]>

export type SubscriptionsOptions = {
  /** A request through the engine (verified, agreed). */
  request(method: string, params: unknown[]): Promise<unknown>
  /**
   * `eth_getLogs` through the engine, and whether its answer is less than agreed (one domain's):
   * what filters buffer from it is then labelled `degraded`. @default `request`, never degraded
   */
  getLogs?(filter: object): Promise<{ logs: RpcLog[]; degraded: boolean }>
  pollingInterval: number
  pushers(): readonly HeadPusher[]
  /** A pushed head as a hint: its header once the domains agree it is the head. */
  confirmHead(pusher: HeadPusher, header: unknown): Promise<RpcHeader | undefined>
  /** Asks every source for its head now. */
  refreshHead?(): Promise<void>
  /**
   * Why the stream must not move to this polled head yet (one domain backs it while others, up,
   * do not: heldBack.ts), else undefined. Streams carry no label, so they wait.
   */
  heldBack?(header: RpcHeader): string | undefined
  /** The hash of the newest head the domains confirmed: where a held stream stands meanwhile. */
  confirmedHead?(): string | undefined
  /**
   * Do two domains back the head now? When not (an outage: one domain left), what filters
   * buffer is labelled `degraded` when polled. @default always
   */
  confirmed?(): boolean
  /** EIP-1193 `message` event. */
  notify(subscription: string, result: unknown): void
  onError(error: unknown): void
  /** Filters not polled for this long are removed, as nodes do. @default 300_000 */
  filterTimeout?: number
}

export type Subscriptions = {
  /** `eth_subscribe`, `eth_unsubscribe` and the filter methods, emulated over the engine. */
  handle(method: string, params: readonly unknown[]): Promise<unknown>
  /** A log filter's criteria (`eth_getFilterLogs` is an `eth_getLogs` read of them). */
  criteria(id: unknown): object
  /**
   * `eth_getFilterChanges`, and whether any of it came while one domain alone backed the head
   * (`alone`); `logs` for a log filter.
   */
  changes(id: unknown): { result: unknown[]; alone: boolean; logs: boolean }
  readonly active: number
  close(): Promise<void>
}

/** Blocks whose logs one consumer may be owed at most (the newest kept; older ones are lost). */
const OWED = 256
/**
 * Characters of logs a filter may buffer between two polls: past them it is dropped, and its
 * next poll says why. Polled every few seconds, a filter of every log holds a few blocks'; left
 * unpolled for its 5 minutes, 25 mainnet blocks (~8 MB), or a lone domain's megabyte answers.
 */
const FILTER_BUDGET = 64 * 2 ** 20
/** Filters dropped whose next poll is told why (the newest kept). */
const GONE = 256

/**
 * One logical chain stream shared by every subscription and filter: it runs while at least one
 * exists, and gives each its heads or matching logs, reorged logs again with `removed: true`.
 * Filters live here, not on a node, so losing the node that served them loses nothing.
 */
export function createSubscriptions(o: SubscriptionsOptions): Subscriptions {
  const consumers = new Map<string, Consumer>()
  /** Why each filter dropped lately was dropped: told at its next poll, once. */
  const gone = new Map<string, string>()
  const filterTimeout = o.filterTimeout ?? 300_000
  let follower: ChainFollower | undefined

  const onChange = (change: ChainChange) => {
    // One domain alone backs the head, or answered the logs: what filters buffer is `degraded`.
    let alone = o.confirmed?.() === false
    const getLogs: GetLogs = async (filter) => {
      if (!o.getLogs) return (await o.request('eth_getLogs', [filter])) as RpcLog[]
      const answer = await o.getLogs(filter)
      alone ||= answer.degraded
      return answer.logs
    }
    // Filters it dropped (not polled in time, over their budget) may leave no one: then the
    // stream stops (not awaited: stopping waits for this change).
    return deliver(consumers, change, getLogs, { filterTimeout, alone: () => alone, gone }).finally(
      () => void stopIfIdle(),
    )
  }

  const stopIfIdle = async () => {
    if (consumers.size > 0 || !follower) return
    const f = follower
    follower = undefined
    await f.stop()
  }
  /**
   * Adds a consumer; its id once the stream has its start, as a node's subscription is live when
   * its id comes back: a block mined after that (the caller's own transaction) is delivered.
   */
  const add = async (id: string, consumer: Consumer) => {
    await readByNodes(o.request, consumer)
    consumers.set(id, consumer)
    follower ??= followChain({
      ...followerOptions(o, onChange),
      owes: () => [...consumers.values()].some((c) => c.kind === 'logs' && !!c.owed?.length),
    })
    await follower.started
    return id
  }
  const streams: Streams = { o, consumers, gone, add, stopIfIdle }
  return {
    get active() {
      return consumers.size
    },
    handle: (method, params) => handle(streams, method, params),
    criteria: (id) => criteriaOf(consumers, id),
    changes(id) {
      const c = filterIn(consumers, id, gone)
      const alone = !!c.alone
      c.alone = false
      return { result: changesOf(c), alone, logs: c.kind === 'logs' }
    },
    async close() {
      consumers.clear()
      await stopIfIdle()
    },
  }
}

/** What `handle` works on: the stream's consumers, and its ways to add one and to stop. */
type Streams = {
  o: SubscriptionsOptions
  consumers: Map<string, Consumer>
  gone: Map<string, string>
  add(id: string, consumer: Consumer): Promise<string>
  stopIfIdle(): Promise<void>
}

/** A subscription or filter method, answered as a node answers it. */
async function handle(s: Streams, method: string, params: readonly unknown[]): Promise<unknown> {
  const { consumers, gone } = s
  switch (method) {
    case 'eth_subscribe': {
      const id = randomId()
      return s.add(id, subscriptionOf(id, params, s.o.notify))
    }
    case 'eth_unsubscribe': {
      // A subscription's id only: a filter is uninstalled (nodes keep the two apart).
      const id = String(params[0])
      const removed = !isFilter(consumers.get(id)) && consumers.delete(id)
      await s.stopIfIdle()
      return removed
    }
    // Filter ids are random, as a node's are: through a shared proxy, one client cannot guess
    // another's filter.
    case 'eth_newBlockFilter':
      return s.add(randomId(), { kind: 'blocks', buffer: [], polledAt: Date.now() })
    case 'eth_newFilter':
      return s.add(randomId(), logFilterOf(params[0]))
    case 'eth_getFilterChanges':
      return changesOf(filterIn(consumers, params[0], gone))
    case 'eth_getFilterLogs':
      return s.o.request('eth_getLogs', [criteriaOf(consumers, params[0])])
    case 'eth_uninstallFilter': {
      const removed = uninstall(consumers, params[0])
      await s.stopIfIdle()
      return removed
    }
    default:
      throw new ProviderRpcError(4200, `${method} is not a subscription method`)
  }
}

/**
 * A log filter outlast cannot read (matcherOf: a value that is not an address or a topic, more
 * than 4 positions) is asked of the nodes once, when made: refused as they refuse it (-32602),
 * else taken and left to them at each block.
 */
async function readByNodes(request: SubscriptionsOptions['request'], c: Consumer) {
  if (c.kind !== 'logs' || c.matcher) return
  const probe = { ...c.filter, fromBlock: 'latest', toBlock: 'latest' }
  await request('eth_getLogs', [probe]).catch((error: { code?: unknown }) => {
    if (error?.code === -32602) throw error
  })
}

/** The chain follower's options: the engine's requests, pushers and head, and `onChange`. */
function followerOptions(
  o: SubscriptionsOptions,
  onChange: (change: ChainChange) => Promise<void>,
): FollowerOptions {
  /** The head last held back: it is said once (`onError`), not at every poll. */
  let held: string | undefined
  return {
    blockByNumber: async (n) => {
      const header = (await o.request('eth_getBlockByNumber', [
        n === 'latest' ? 'latest' : `0x${n.toString(16)}`,
        false,
      ])) as RpcHeader | null
      const why = n === 'latest' && header ? o.heldBack?.(header) : undefined
      if (!why) return header
      if (header!.hash !== held) o.onError(new Error(`newHeads, logs and filters: ${why}`))
      held = header!.hash
      // Held, the stream stands at the confirmed head: a subscription made meanwhile starts
      // there, and the next block the domains agree on is its first (none is skipped).
      const at = o.confirmedHead?.()
      return at ? (o.request('eth_getBlockByHash', [at, false]) as Promise<RpcHeader | null>) : null
    },
    blockByHash: (h) => o.request('eth_getBlockByHash', [h, false]) as Promise<RpcHeader | null>,
    pollingInterval: o.pollingInterval,
    pushers: o.pushers(),
    confirmHead: o.confirmHead,
    ...(o.refreshHead ? { refreshHead: o.refreshHead } : {}),
    onChange,
    onError: o.onError,
  }
}

/** An `eth_subscribe` consumer: `['newHeads']` or `['logs', filter]`, pushed to `id`. */
function subscriptionOf(
  id: string,
  [kind, raw]: readonly unknown[],
  notify: SubscriptionsOptions['notify'],
): Consumer {
  if (kind === 'newHeads') return { kind: 'heads', deliver: (h) => notify(id, h) }
  if (kind === 'logs') {
    const criteria = filterOf(raw)
    const { address, topics } = criteria
    return {
      kind: 'logs',
      filter: { address, topics },
      matcher: matcherOf({ address, topics }),
      sent: new SentLogs(),
      criteria,
      deliver: (l) => notify(id, l),
    }
  }
  throw new ProviderRpcError(
    -32602,
    `eth_subscribe: unsupported subscription ${JSON.stringify(kind)} (newHeads and logs are served).`,
  )
}

/** An `eth_newFilter` consumer: its logs buffered until polled. */
function logFilterOf(raw: unknown): LogConsumer {
  const criteria = filterOf(raw)
  const { address, topics } = criteria
  return {
    kind: 'logs',
    filter: { address, topics },
    matcher: matcherOf({ address, topics }),
    sent: new SentLogs(),
    buffer: [],
    polledAt: Date.now(),
    criteria,
  }
}

function filterOf(
  value: unknown,
): LogFilter & { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown } {
  if (value === undefined) return {}
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new ProviderRpcError(-32602, 'A logs filter must be an object { address?, topics? }.')
  return value as LogFilter
}

/** A filter (not a subscription): polled, its changes buffered. */
const isFilter = (c: Consumer | undefined): c is BlockFilter | LogConsumer =>
  !!c && c.kind !== 'heads' && (c.kind !== 'logs' || !!c.buffer)

function filterIn(
  consumers: Map<string, Consumer>,
  id: unknown,
  gone?: Map<string, string>,
): BlockFilter | LogConsumer {
  const c = typeof id === 'string' ? consumers.get(id) : undefined
  if (isFilter(c)) return c
  const why = gone?.get(id as string)
  gone?.delete(id as string)
  throw new ProviderRpcError(-32000, `filter not found: ${String(id)}${why ? ` (${why})` : ''}`)
}

const criteriaOf = (consumers: Map<string, Consumer>, id: unknown): object =>
  logFilterIn(consumers, id).criteria

function logFilterIn(consumers: Map<string, Consumer>, id: unknown): LogConsumer {
  const c = filterIn(consumers, id)
  if (c.kind !== 'logs')
    throw new ProviderRpcError(-32000, `filter ${String(id)} is a block filter`)
  return c
}

/** `eth_getFilterChanges`: what the filter buffered since it was last polled. */
function changesOf(c: BlockFilter | LogConsumer): unknown[] {
  c.polledAt = Date.now()
  if (c.kind === 'logs') c.buffered = 0
  return c.buffer!.splice(0)
}

/** `eth_uninstallFilter`: removes a filter (never a subscription). */
function uninstall(consumers: Map<string, Consumer>, id: unknown): boolean {
  const c = typeof id === 'string' ? consumers.get(id) : undefined
  return isFilter(c) && consumers.delete(id as string)
}

/**
 * Gives every consumer its part of a chain change; filters not polled in time, or past
 * `FILTER_BUDGET`, are dropped (`gone` says why).
 */
async function deliver(
  consumers: Map<string, Consumer>,
  change: ChainChange,
  getLogs: GetLogs,
  o: {
    filterTimeout: number
    /** One domain alone backs the head (or answered the logs, once asked): labelled `degraded`. */
    alone: () => boolean
    gone: Map<string, string>
  },
): Promise<void> {
  const { removed, added } = change
  const drop = (id: string, why: string) => {
    consumers.delete(id)
    o.gone.set(id, why)
    if (o.gone.size > GONE) o.gone.delete(o.gone.keys().next().value as string)
  }
  for (const [id, c] of consumers)
    if (isFilter(c) && Date.now() - c.polledAt! > o.filterTimeout)
      drop(id, `not polled for ${o.filterTimeout / 1000} s`)
  deliverBlocks(consumers.values(), added, o.alone)
  const due = dueOf(change)
  // Those here now: one added while the logs are fetched started after these blocks (as a
  // node's subscription starts after its head), so none of them is its.
  const present = new Set(consumers.values())
  // A failed request is reported once every consumer is served; those it was for are owed
  // these blocks' logs, asked again with the next change.
  let failure: { error: unknown } | undefined
  const failed = (error: unknown) => {
    failure ??= { error }
    return undefined
  }
  const shared = new Set<LogConsumer>()
  for (const c of consumers.values()) if (c.kind === 'logs' && c.matcher) shared.add(c)
  const fetched = await sharedLogs(shared, due, getLogs).catch(failed)
  /** Removed blocks whose logs a consumer was sent but let go (`SentLogs`' budget). */
  const lost = new Set<number>()
  /** Why owed logs were let go (`OWED`), if any were. */
  let lostLogs: string | undefined
  for (const [id, c] of consumers) {
    if (c.kind !== 'logs' || !present.has(c)) continue
    for (const b of removed) {
      const logs = c.sent.take(b.hash)
      if (!logs) lost.add(b.number)
      for (const log of [...(logs ?? [])].reverse()) emit(c, log, true)
    }
    // A filter only a node can read asks alone; its failure is its own.
    const own = c.matcher ? [c.matcher] : undefined
    const mine = due(c)
    const logs = shared.has(c)
      ? fetched
      : await logsOf(
          mine,
          c.filter,
          getLogs,
          own && ((b) => bloomMayMatch(b.header.logsBloom, own)),
        ).catch(failed)
    if (logs) sendLogs(c, mine, logs)
    const letGo = owe(c, mine, !!logs)
    if (letGo) {
      lostLogs = letGo
      if (c.buffer) {
        drop(id, letGo)
        continue
      }
    }
    // Owed logs delivered on a later poll (no block added) are labelled by their own answer.
    const moved = added.length > 0 || removed.length > 0 || mine.length > 0
    if (c.buffer) c.alone ||= !logs || (o.alone() && moved)
    if ((c.buffered ?? 0) > FILTER_BUDGET)
      drop(id, `over ${FILTER_BUDGET / 2 ** 20} MiB of logs buffered since it was last polled`)
  }
  report(failure, lostLogs, lost)
}

/**
 * Owed, a filter's changes meanwhile are less than agreed: `degraded` until they come (`got`:
 * the logs of `mine` came). Owed from before and now more than `OWED` blocks behind, they are
 * let go; why is returned (said, and a filter that lost them is dropped: its next poll says why,
 * and an app makes another and reads the gap with eth_getLogs). A change's own blocks stay owed
 * (the follower bounds a change).
 */
function owe(c: LogConsumer, mine: Link[], got: boolean): string | undefined {
  const before = new Set(c.owed?.map((b) => b.hash))
  const newest = mine.at(-1)?.number ?? 0
  const old = (b: Link) => before.has(b.hash) && b.number <= newest - OWED
  const letGo = got ? [] : mine.filter(old)
  c.owed = got ? undefined : mine.filter((b) => !old(b))
  if (letGo.length === 0) return undefined
  const [lo, hi] = [letGo[0]!.number, letGo.at(-1)!.number]
  return `the logs of blocks ${lo} to ${hi} could not be read while ${OWED} more blocks came: let go`
}

/**
 * What a delivery could not do, thrown once every consumer was served (the stream's onError
 * says it): a failed log request, logs let go (`owe`), a reorg's removed logs no longer kept.
 */
function report(failure: { error: unknown } | undefined, lostLogs?: string, lost?: Set<number>) {
  const told: string[] = lostLogs ? [lostLogs] : []
  if (lost && lost.size > 0) {
    const [lo, hi] = [Math.min(...lost), Math.max(...lost)]
    told.push(
      `a reorg took blocks ${lo} to ${hi}: their logs were sent, then let go (16 MiB are kept per subscription or filter), so they are not sent again with removed: true`,
    )
  }
  if (told.length === 0) {
    if (failure) throw failure.error
    return
  }
  if (failure) told.unshift(String((failure.error as Error)?.message ?? failure.error))
  throw new Error(told.join('; '))
}

/** The added blocks to heads subscribers and block filters: they wait for no log request. */
function deliverBlocks(
  consumers: Iterable<Consumer>,
  added: readonly Link[],
  alone: () => boolean,
) {
  for (const c of consumers) {
    if (c.kind === 'heads') for (const b of added) c.deliver(headerOf(b))
    if (c.kind === 'blocks') {
      c.buffer.push(...added.map((b) => b.hash))
      c.alone ||= alone() && added.length > 0
    }
  }
}

/**
 * The blocks whose logs a consumer is due: those it is owed (a fetch failed: no agreement,
 * every source down) first, unless the change's reorg took them; then the added ones its
 * `fromBlock` and `toBlock` admit (as numbers: a tag, `latest` or NaN, or none bounds nothing).
 */
function dueOf({ removed, added }: ChainChange): (c: LogConsumer) => Link[] {
  const taken = new Set(removed.map((b) => b.hash))
  return (c) => [
    ...(c.owed ?? []).filter((b) => !taken.has(b.hash)),
    ...added.filter(
      (b) =>
        !(
          b.number < Number(c.criteria.fromBlock) || b.number > Number(c.criteria.toBlock ?? 1 / 0)
        ),
    ),
  ]
}

/**
 * One eth_getLogs for every log consumer together: the union of their filters, asked only for
 * blocks whose logsBloom admits one of them; each then takes the logs its filter matches.
 */
async function sharedLogs(
  shared: ReadonlySet<LogConsumer>,
  due: (c: LogConsumer) => Link[],
  getLogs: GetLogs,
): Promise<Map<string, RpcLog[]>> {
  const blocks = [...new Map([...shared].flatMap((c) => due(c).map((b) => [b.hash, b])))]
    .map(([, b]) => b)
    .sort((a, b) => a.number - b.number)
  if (blocks.length === 0) return new Map() // nothing due: no request, nothing failed
  const matchers = [...shared].map((c) => c.matcher!)
  return logsOf(blocks, unionOf(matchers), getLogs, (b) =>
    bloomMayMatch(b.header.logsBloom, matchers),
  )
}

/** Each added block's logs that `c` matches, in order; kept to be sent again after a reorg. */
function sendLogs(c: LogConsumer, added: readonly Link[], logs: Map<string, RpcLog[]>) {
  for (const b of added) {
    const all = logs.get(b.hash) ?? []
    const list = (c.matcher ? all.filter((l) => matches(l, c.matcher!)) : all).sort(byLogIndex)
    c.sent.keep(b.hash, list)
    for (const log of list) emit(c, log, false)
  }
}

/**
 * Pushes a log to a subscription or buffers it for a filter: a copy of its own, `removed` set
 * (the shared answer is never handed out). A filter's buffer is weighed by the shared log, as
 * `SentLogs` weighed it: once for every consumer.
 */
function emit(c: LogConsumer, log: RpcLog, removed: boolean) {
  const own = {
    ...log,
    topics: Array.isArray(log.topics) ? [...log.topics] : log.topics,
    removed,
  }
  if (c.deliver) return c.deliver(own)
  c.buffer!.push(own)
  c.buffered = (c.buffered ?? 0) + weightOf(log)
}

/** The header a subscriber gets: the fields its hash covers, nothing a source added. */
function headerOf(link: Link): RpcHeader {
  return checkedHeader(link.header) as RpcHeader
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
