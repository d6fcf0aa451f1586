/** A block header as JSON-RPC gives it (`newHeads`, or a block without its transactions). */
export type RpcHeader = { number: string; hash: string; parentHash: string } & Record<
  string,
  unknown
>

export type Link = { number: number; hash: string; parentHash: string; header: RpcHeader }

/** A change of the canonical chain: blocks that left it (newest first) and blocks that joined it (oldest first). */
export type ChainChange = { removed: Link[]; added: Link[] }

/** A source that can push `newHeads` (a WebSocket source). */
export type HeadPusher = {
  name: string
  subscribe(
    params: readonly unknown[],
    onMessage: (result: unknown) => void,
    handlers?: { onError?(error: unknown): void; onResubscribe?(event: unknown): void },
  ): Promise<{ unsubscribe(): Promise<void> }>
  /** Socket state changes (a WebSocket source): a closed socket means no more pushes for now. */
  onState?(listener: (event: { state: string }) => void): () => void
}

export type FollowerOptions = {
  /** A block header by number (or the agreed head) through the engine, so it is verified. */
  blockByNumber(n: number | 'latest'): Promise<RpcHeader | null>
  /** A block header by hash through the engine. */
  blockByHash(hash: string): Promise<RpcHeader | null>
  /** Milliseconds between polls while no pusher delivered a head recently. */
  pollingInterval: number
  pushers: readonly HeadPusher[]
  /**
   * A pushed head is one source's hint: resolves with the header once the domains agree it is
   * the head (else undefined). Only confirmed heads move the stream.
   */
  confirmHead(pusher: HeadPusher, header: unknown): Promise<RpcHeader | undefined>
  /** Asks every source for its head now (a pusher was lost: the cached head is going stale). */
  refreshHead?(): Promise<void>
  /** Called for each change, in order; the next change waits for it. */
  onChange(change: ChainChange): Promise<void>
  onError(error: unknown): void
  /** Longest gap that is backfilled; a longer outage restarts the stream at the head. @default 2_048 */
  maxGap?: number
  /** Headers kept to find where a reorg forked off. @default 128 */
  history?: number
}

export type ChainFollower = { stop(): Promise<void>; readonly tip: Link | undefined }

const PARALLEL = 16

const toLink = (h: RpcHeader): Link => ({
  number: Number.parseInt(h.number, 16),
  hash: h.hash.toLowerCase(),
  parentHash: h.parentHash.toLowerCase(),
  header: h,
})

/**
 * Follows the canonical chain without gaps or duplicates. Heads arrive pushed (WebSocket
 * `newHeads`, deduplicated by hash) or polled; every new head is linked by parent hash to the
 * blocks already delivered, backfilling missed blocks (by number, in parallel, then by hash)
 * and reporting reorgs as removed + added blocks, as a node's subscription does.
 */
export function followChain(o: FollowerOptions): ChainFollower {
  const maxGap = o.maxGap ?? 2_048
  const history = o.history ?? 128
  let chain: Link[] = []
  const known = new Set<string>()
  let running: Promise<void> | undefined
  let again = false
  let pendingHint: Link | undefined
  let stopped = false
  let lastPush = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const subscriptions: Promise<{ unsubscribe(): Promise<void> } | undefined>[] = []
  const unlisten: (() => void)[] = []

  const kick = (hint?: Link) => {
    if (stopped) return
    if (hint && (!pendingHint || hint.number > pendingHint.number)) pendingHint = hint
    if (running) {
      again = true
      return
    }
    running = (async () => {
      do {
        again = false
        const h = pendingHint
        pendingHint = undefined
        try {
          await advance(h)
        } catch (error) {
          if (!stopped) o.onError(error)
        }
      } while (again && !stopped)
    })().finally(() => {
      running = undefined
    })
  }

  const remember = (links: Link[]) => {
    chain = chain.concat(links)
    for (const l of links) known.add(l.hash)
    while (chain.length > history) known.delete(chain.shift()!.hash)
  }

  const advance = async (hint?: Link) => {
    const head = hint ?? (await o.blockByNumber('latest').then((h) => (h ? toLink(h) : undefined)))
    if (!head || stopped || known.has(head.hash)) return
    const tip = chain.at(-1)
    if (!tip) return remember([head]) // the stream starts after the current head, as a node's does
    if (head.number - tip.number > maxGap) {
      o.onError(
        new Error(
          `gap of ${head.number - tip.number} blocks is longer than maxGap; restarting at ${head.number}`,
        ),
      )
      chain = []
      known.clear()
      return remember([head])
    }
    const branch = [head]
    while (!known.has(branch[0]!.parentHash)) {
      const first = branch[0]!
      if (first.number <= chain[0]!.number) {
        o.onError(
          new Error(`reorg deeper than the ${history} blocks kept; restarting at ${head.number}`),
        )
        chain = []
        known.clear()
        return remember([head])
      }
      let linked = 0
      if (first.number - 1 > tip.number) {
        const lo = Math.max(tip.number + 1, first.number - PARALLEL)
        const numbers = Array.from({ length: first.number - lo }, (_, i) => lo + i)
        const headers = await Promise.all(numbers.map((n) => o.blockByNumber(n)))
        for (let i = headers.length - 1; i >= 0; i--) {
          const h = headers[i]
          if (!h || h.hash.toLowerCase() !== branch[0]!.parentHash) break
          branch.unshift(toLink(h))
          linked++
        }
      }
      if (linked === 0) {
        const parent = await o.blockByHash(first.parentHash)
        if (!parent)
          throw new Error(`parent ${first.parentHash} of block ${first.number} not found`)
        branch.unshift(toLink(parent))
      }
      if (stopped) return
    }
    const at = chain.findIndex((l) => l.hash === branch[0]!.parentHash)
    const removed = chain.slice(at + 1).reverse()
    for (const l of removed) known.delete(l.hash)
    chain = chain.slice(0, at + 1)
    remember(branch)
    await o.onChange({ removed, added: branch })
  }

  const poll = () => {
    if (stopped) return
    if (Date.now() - lastPush >= 2 * o.pollingInterval) kick()
    timer = setTimeout(poll, o.pollingInterval)
  }

  for (const pusher of o.pushers) {
    const onHead = (result: unknown) => {
      o.confirmHead(pusher, result).then(
        (header) => {
          if (!header || stopped) return
          // Only a confirmed push stands in for polling: a source pushing heads nobody
          // confirms (siblings, made-up blocks) must not silence the poll.
          lastPush = Date.now()
          kick(toLink(header))
        },
        () => {},
      )
    }
    // A pusher that lost its socket pushes nothing: poll now instead of after 2 silent intervals.
    const off = pusher.onState?.((e) => {
      if (e.state !== 'closed' || stopped) return
      lastPush = 0
      const refreshed = o.refreshHead?.().catch(() => {}) ?? Promise.resolve()
      refreshed.then(() => kick())
    })
    if (off) unlisten.push(off)
    subscriptions.push(
      pusher
        .subscribe(['newHeads'], onHead, { onError: () => {}, onResubscribe: () => kick() })
        .catch(() => undefined),
    )
  }
  kick()
  timer = setTimeout(poll, o.pollingInterval)

  return {
    get tip() {
      return chain.at(-1)
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      for (const off of unlisten) off()
      const subs = await Promise.all(subscriptions)
      await Promise.all(subs.map((s) => s?.unsubscribe().catch(() => {})))
      await running
    },
  }
}
