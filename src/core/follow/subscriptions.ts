import { ProviderRpcError } from '../../shared/errors.ts'
import { checkedHeader } from '../../verify/block.ts'
import {
  type ChainChange,
  type ChainFollower,
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

/** What a consumer of the chain wants: heads or logs, pushed (subscription) or buffered (filter). */
type Consumer =
  | { kind: 'heads'; deliver(header: RpcHeader): void }
  | { kind: 'blocks'; buffer: string[]; polledAt: number }
  | {
      kind: 'logs'
      filter: LogFilter
      /** The filter matched here; none for one only a node can read (it asks on its own). */
      matcher: Matcher | undefined
      /** Delivered logs per block hash, to send again with `removed: true` after a reorg. */
      sent: Map<string, RpcLog[]>
      deliver?(log: RpcLog): void
      buffer?: RpcLog[]
      polledAt?: number
      criteria?: object
    }

export type SubscriptionsOptions = {
  /** A request through the engine (verified, agreed). */
  request(method: string, params: unknown[]): Promise<unknown>
  pollingInterval: number
  pushers(): readonly HeadPusher[]
  /** A pushed head as a hint: its header once the domains agree it is the head. */
  confirmHead(pusher: HeadPusher, header: unknown): Promise<RpcHeader | undefined>
  /** Asks every source for its head now. */
  refreshHead?(): Promise<void>
  /** EIP-1193 `message` event. */
  notify(subscription: string, result: unknown): void
  onError(error: unknown): void
  /** Filters not polled for this long are removed, as nodes do. @default 300_000 */
  filterTimeout?: number
}

export type Subscriptions = {
  /** `eth_subscribe`, `eth_unsubscribe` and the filter methods, emulated over the engine. */
  handle(method: string, params: readonly unknown[]): Promise<unknown>
  readonly active: number
  close(): Promise<void>
}

const HISTORY = 128

/**
 * One logical chain stream shared by every subscription and filter: it runs while at least one
 * exists, and gives each its heads or matching logs, reorged logs again with `removed: true`.
 * Filters live here, not on a node, so losing the node that served them loses nothing.
 */
export function createSubscriptions(o: SubscriptionsOptions): Subscriptions {
  const consumers = new Map<string, Consumer>()
  const filterTimeout = o.filterTimeout ?? 300_000
  let follower: ChainFollower | undefined
  let nextFilter = 0

  const getLogs = (filter: object) => o.request('eth_getLogs', [filter]) as Promise<RpcLog[]>

  const onChange = async ({ removed, added }: ChainChange) => {
    const now = Date.now()
    for (const [id, c] of consumers) {
      const polledAt = c.kind === 'blocks' ? c.polledAt : c.kind === 'logs' ? c.polledAt : undefined
      if (polledAt !== undefined && now - polledAt > filterTimeout) consumers.delete(id)
    }
    // Heads first: they wait for no log request.
    for (const c of consumers.values()) {
      if (c.kind === 'heads') for (const b of added) c.deliver(headerOf(b))
      if (c.kind === 'blocks') c.buffer.push(...added.map((b) => b.hash))
    }
    // One eth_getLogs for every log consumer together: the union of their filters, asked only
    // for blocks whose logsBloom admits one of them; each then gets the logs its filter matches.
    const shared = new Set<Consumer>()
    for (const c of consumers.values()) if (c.kind === 'logs' && c.matcher) shared.add(c)
    let fetched: Map<string, RpcLog[]> | undefined
    let failure: { error: unknown } | undefined
    // A failed request is reported once every consumer is served; as before, those it was for
    // miss these blocks' logs.
    const failed = (error: unknown) => {
      failure ??= { error }
      return undefined
    }
    if (shared.size > 0 && added.length > 0) {
      const matchers = [...shared].map((c) => (c as { matcher: Matcher }).matcher)
      fetched = await logsOf(added, unionOf(matchers), getLogs, (b) =>
        bloomMayMatch(b.header.logsBloom, matchers),
      ).catch(failed)
    }
    for (const c of consumers.values()) {
      if (c.kind !== 'logs') continue
      const emit = (log: RpcLog) => (c.deliver ? c.deliver(copy(log)) : c.buffer!.push(copy(log)))
      for (const b of removed) {
        for (const log of [...(c.sent.get(b.hash) ?? [])].reverse()) emit({ ...log, removed: true })
        c.sent.delete(b.hash)
      }
      // A filter only a node can read asks alone, as does one added while the shared request
      // ran; its failure is its own.
      const own = c.matcher ? [c.matcher] : undefined
      const logs = shared.has(c)
        ? fetched
        : await logsOf(
            added,
            c.filter,
            getLogs,
            own && ((b) => bloomMayMatch(b.header.logsBloom, own)),
          ).catch(failed)
      if (!logs) continue
      for (const b of added) {
        const all = logs.get(b.hash) ?? []
        const list = (c.matcher ? all.filter((l) => matches(l, c.matcher!)) : all).sort(byLogIndex)
        c.sent.set(b.hash, list)
        for (const log of list) emit({ ...log, removed: false })
      }
      while (c.sent.size > HISTORY) c.sent.delete(c.sent.keys().next().value as string)
    }
    if (failure) throw failure.error
  }

  const start = () => {
    follower ??= followChain({
      blockByNumber: (n) =>
        o.request('eth_getBlockByNumber', [
          n === 'latest' ? 'latest' : `0x${n.toString(16)}`,
          false,
        ]) as Promise<RpcHeader | null>,
      blockByHash: (h) => o.request('eth_getBlockByHash', [h, false]) as Promise<RpcHeader | null>,
      pollingInterval: o.pollingInterval,
      pushers: o.pushers(),
      confirmHead: o.confirmHead,
      ...(o.refreshHead ? { refreshHead: o.refreshHead } : {}),
      onChange,
      onError: o.onError,
    })
  }

  const stopIfIdle = async () => {
    if (consumers.size > 0 || !follower) return
    const f = follower
    follower = undefined
    await f.stop()
  }

  const add = (id: string, consumer: Consumer) => {
    consumers.set(id, consumer)
    start()
    return id
  }

  const filterOf = (
    value: unknown,
  ): LogFilter & { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown } => {
    if (value === undefined) return {}
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new ProviderRpcError(-32602, 'A logs filter must be an object { address?, topics? }.')
    return value as LogFilter
  }

  const filter = (id: unknown) => {
    const c = typeof id === 'string' ? consumers.get(id) : undefined
    if (!c || c.kind === 'heads' || (c.kind === 'logs' && !c.buffer))
      throw new ProviderRpcError(-32000, `filter not found: ${String(id)}`)
    return c
  }

  return {
    get active() {
      return consumers.size
    },
    async handle(method, params) {
      switch (method) {
        case 'eth_subscribe': {
          const [kind, raw] = params
          const id = randomId()
          if (kind === 'newHeads')
            return add(id, { kind: 'heads', deliver: (h) => o.notify(id, h) })
          if (kind === 'logs') {
            const { address, topics } = filterOf(raw)
            return add(id, {
              kind: 'logs',
              filter: { address, topics },
              matcher: matcherOf({ address, topics }),
              sent: new Map(),
              deliver: (l) => o.notify(id, l),
            })
          }
          throw new ProviderRpcError(
            -32602,
            `eth_subscribe: unsupported subscription ${JSON.stringify(kind)} (newHeads and logs are served).`,
          )
        }
        case 'eth_unsubscribe': {
          const removed = consumers.delete(String(params[0]))
          await stopIfIdle()
          return removed
        }
        case 'eth_newBlockFilter':
          return add(`0x${(++nextFilter).toString(16)}`, {
            kind: 'blocks',
            buffer: [],
            polledAt: Date.now(),
          })
        case 'eth_newFilter': {
          const criteria = filterOf(params[0])
          const { address, topics } = criteria
          return add(`0x${(++nextFilter).toString(16)}`, {
            kind: 'logs',
            filter: { address, topics },
            matcher: matcherOf({ address, topics }),
            sent: new Map(),
            buffer: [],
            polledAt: Date.now(),
            criteria,
          })
        }
        case 'eth_getFilterChanges': {
          const c = filter(params[0])
          c.polledAt = Date.now()
          const out = c.buffer!.splice(0)
          return out
        }
        case 'eth_getFilterLogs': {
          const c = filter(params[0])
          if (c.kind !== 'logs')
            throw new ProviderRpcError(-32000, `filter ${String(params[0])} is a block filter`)
          return getLogs(c.criteria ?? {})
        }
        case 'eth_uninstallFilter': {
          const c = typeof params[0] === 'string' ? consumers.get(params[0]) : undefined
          const removed =
            !!c &&
            c.kind !== 'heads' &&
            (c.kind !== 'logs' || !!c.buffer) &&
            consumers.delete(params[0] as string)
          await stopIfIdle()
          return removed
        }
        default:
          throw new ProviderRpcError(4200, `${method} is not a subscription method`)
      }
    },
    async close() {
      consumers.clear()
      await stopIfIdle()
    },
  }
}

/** A log of its own for each subscriber (the shared answer is never handed out). */
function copy(log: RpcLog): RpcLog {
  return { ...log, topics: Array.isArray(log.topics) ? [...log.topics] : log.topics }
}

/** The header a subscriber gets: the fields its hash covers, nothing a source added. */
function headerOf(link: Link): RpcHeader {
  return checkedHeader(link.header) as RpcHeader
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
