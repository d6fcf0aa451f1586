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
  /** Is something of a change still owed (logs not agreed yet)? Then each poll passes an empty one. */
  owes?(): boolean
  onError(error: unknown): void
  /** Longest gap that is backfilled; a longer outage restarts the stream at the head. @default 2_048 */
  maxGap?: number
  /** Headers kept to find where a reorg forked off. @default 128 */
  history?: number
}

export type ChainFollower = {
  stop(): Promise<void>
  readonly tip: Link | undefined
  /**
   * Settles once the first look at the head did (the stream's start, or a failure said to
   * `onError`): every block after that start is delivered.
   */
  readonly started: Promise<void>
}

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
  let stopped = false
  let lastPush = 0
  /** The last pushed head that stood in for polling: the same one again is no news. */
  let lastPushed: string | undefined
  /** When a lost socket last made us refresh the head: a socket dropping again and again cannot make us poll everyone faster than `pollingInterval`. */
  let lastLossRefresh = Number.NEGATIVE_INFINITY
  let timer: ReturnType<typeof setTimeout> | undefined
  const isStopped = () => stopped
  const chain = keptChain(o, o.history ?? 128, o.maxGap ?? 2_048, isStopped)
  let markStarted = () => {}
  const started = new Promise<void>((resolve) => {
    markStarted = resolve
  })
  /** Links the head (the hint, else the agreed head) to the chain, and reports the change. */
  const advance = async (hint?: Link) => {
    try {
      const head =
        hint ?? (await o.blockByNumber('latest').then((h) => (h ? toLink(h) : undefined)))
      if (!head || stopped) return
      const change = await chain.link(head)
      if (change) await o.onChange(change)
      else if (o.owes?.()) await o.onChange({ removed: [], added: [] })
    } finally {
      markStarted()
    }
  }
  const kick = serially(advance, isStopped, o.onError)

  const poll = () => {
    if (stopped) return
    if (Date.now() - lastPush >= 2 * o.pollingInterval) kick()
    timer = setTimeout(poll, o.pollingInterval)
  }

  // A pusher that lost its socket pushes nothing: poll now instead of after 2 silent intervals.
  const onClosed = () => {
    if (stopped) return
    lastPush = 0
    if (Date.now() - lastLossRefresh < o.pollingInterval) return // the poll takes over
    lastLossRefresh = Date.now()
    const refreshed = o.refreshHead?.().catch(() => {}) ?? Promise.resolve()
    refreshed.then(() => void kick())
  }
  const onHead = (header: RpcHeader) => {
    if (stopped) return
    // Only a confirmed, new push stands in for polling: a source pushing heads nobody
    // confirms (siblings, made-up blocks), or the same real head again and again, must not
    // silence the poll.
    const link = toLink(header)
    if (link.hash === lastPushed) return
    lastPushed = link.hash
    lastPush = Date.now()
    kick(link)
  }
  const unlisten = o.pushers.map((p) =>
    listen(p, o.confirmHead, onHead, onClosed, () => void kick()),
  )
  kick()
  timer = setTimeout(poll, o.pollingInterval)

  return {
    started,
    get tip() {
      return chain.tip()
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      for (const off of unlisten) off()
      await kick() // once stopped, only the step in progress
    },
  }
}

/**
 * Subscribes to a pusher's `newHeads` (each pushed head it confirms goes to `onHead`) and to its
 * socket closing (`onClosed`). Returns what undoes both.
 */
function listen(
  pusher: HeadPusher,
  confirmHead: FollowerOptions['confirmHead'],
  onHead: (header: RpcHeader) => void,
  onClosed: () => void,
  onResubscribe: () => void,
): () => void {
  const off = pusher.onState?.((e) => {
    if (e.state === 'closed') onClosed()
  })
  // One push confirmed at a time: pushed meanwhile, the newest waits and those before it are
  // dropped (the stream backfills by parent hash). A pusher flooding distinct, correctly hashed
  // headers then costs a hash per confirmation, not one per push
  // (test/adversarial/reviewOfWsPushes.test.ts).
  let waiting: [unknown] | undefined
  let busy = false
  const pushed = async (result: unknown) => {
    waiting = [result]
    if (busy) return
    busy = true
    while (waiting) {
      const [next] = waiting
      waiting = undefined
      // A head the follower cannot take is dropped like an unconfirmed one (the poll covers
      // it): it must neither end this pusher's pushes nor reject unhandled.
      await confirmHead(pusher, next)
        .then((header) => header && onHead(header))
        .catch(() => {})
    }
    busy = false
  }
  const subscription = pusher
    .subscribe(['newHeads'], pushed, { onError: () => {}, onResubscribe })
    .catch(() => undefined)
  return () => {
    off?.()
    // Undone behind, not awaited: a pusher that leaves eth_subscribe or eth_unsubscribe
    // unanswered (its socket alive) must not hold the caller's eth_unsubscribe or close() for
    // its timeout (test/adversarial/reviewOfWsPushes.test.ts). A WebSocket source drops a
    // subscription's pushes as soon as it is undone, before the node answers.
    void subscription.then((sub) => sub?.unsubscribe()).catch(() => {})
  }
}

/**
 * Runs `step` one call at a time: a kick while it runs makes it run once more afterwards, with
 * the highest hint given meanwhile; its errors go to `onError` unless stopped. A kick returns
 * the run in progress, if any.
 */
function serially(
  step: (hint?: Link) => Promise<void>,
  stopped: () => boolean,
  onError: (error: unknown) => void,
): (hint?: Link) => Promise<void> | undefined {
  let running: Promise<void> | undefined
  let again = false
  let pendingHint: Link | undefined
  const loop = async () => {
    do {
      again = false
      const h = pendingHint
      pendingHint = undefined
      try {
        await step(h)
      } catch (error) {
        if (!stopped()) onError(error)
      }
    } while (again && !stopped())
  }
  return (hint) => {
    if (stopped()) return running
    if (hint && (!pendingHint || hint.number > pendingHint.number)) pendingHint = hint
    if (running) again = true
    else
      running = loop().finally(() => {
        running = undefined
      })
    return running
  }
}

/**
 * The chain delivered (its last `keep` blocks), and `link(head)`: the change a new head makes
 * to it, once linked by parent hash (a gap longer than `maxGap`, or a fork deeper than the
 * blocks kept, restarts it at the head).
 */
function keptChain(o: FollowerOptions, keep: number, maxGap: number, stopped: () => boolean) {
  let chain: Link[] = []
  const known = new Set<string>()
  const remember = (links: Link[]): undefined => {
    chain = chain.concat(links)
    for (const l of links) known.add(l.hash)
    while (chain.length > keep) known.delete(chain.shift()!.hash)
    return undefined
  }
  const restart = (head: Link, why: string) => {
    o.onError(new Error(`${why}; restarting at ${head.number}`))
    chain = []
    known.clear()
    return remember([head])
  }
  return {
    tip: () => chain.at(-1),
    async link(head: Link): Promise<ChainChange | undefined> {
      if (known.has(head.hash)) return
      const tip = chain.at(-1)
      if (!tip) return remember([head]) // the stream starts after the current head, as a node's does
      const gap = head.number - tip.number
      if (gap > maxGap) return restart(head, `gap of ${gap} blocks is longer than maxGap`)
      const branch = await branchTo(o, known, head, tip, chain[0]!.number, stopped)
      if (branch === DEEP) return restart(head, `reorg deeper than the ${keep} blocks kept`)
      if (!branch) return
      const at = chain.findIndex((l) => l.hash === branch[0]!.parentHash)
      const removed = chain.slice(at + 1).reverse()
      for (const l of removed) known.delete(l.hash)
      chain = chain.slice(0, at + 1)
      remember(branch)
      return { removed, added: branch }
    },
  }
}

/** A fork deeper than the blocks kept. */
const DEEP = 'deep'

/**
 * The blocks from the kept chain (the hashes `known`) up to `head`, found down its parent
 * hashes: missed blocks by number (in parallel), else by hash. `DEEP` when the walk reaches
 * `floor` (the oldest block kept) without joining; undefined once stopped.
 */
async function branchTo(
  o: FollowerOptions,
  known: ReadonlySet<string>,
  head: Link,
  tip: Link,
  floor: number,
  stopped: () => boolean,
): Promise<Link[] | typeof DEEP | undefined> {
  const branch = [head]
  while (!known.has(branch[0]!.parentHash)) {
    const first = branch[0]!
    if (first.number <= floor) return DEEP
    let linked = 0
    if (first.number - 1 > tip.number) {
      // Up to `PARALLEL` missed blocks by number, at once: those that link go in front.
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
      if (!parent) throw new Error(`parent ${first.parentHash} of block ${first.number} not found`)
      branch.unshift(toLink(parent))
    }
    if (stopped()) return undefined
  }
  return branch
}
