import { computeBlockHash } from '../verify/block.ts'
import { AllSourcesFailedError } from './errors.ts'
import type { SourceState } from './sourceState.ts'

export type Head = { number: number; hash: string }

export type HeadTrackerOptions = {
  sources: readonly SourceState[]
  /** Domains that must agree on a head (reduced to the domains that answer). */
  quorumDomains: number
  pollingInterval: number
  /** May this source be polled now? (chain ok, breaker, rate limit) */
  eligible(s: SourceState): boolean
  /** Sources to poll anyway when none is eligible (breakers open, our own 429 backoff). */
  lastResort?(): readonly SourceState[]
  /** One attempt through the engine's health accounting. */
  attempt(s: SourceState, method: string, params: unknown[], signal: AbortSignal): Promise<unknown>
  /** Per-poll timeout for a source. */
  pollTimeout(s: SourceState): number
  /**
   * How long, once one source answered a poll, to wait for the others (`silent`) before the
   * head is settled among those that answered. @default the poll timeout
   */
  patience?(silent: readonly SourceState[]): number
  onUpdate(head: Head): void
  /** A head agreed by at least `min(2, quorumDomains)` domains: its header can anchor proofs. */
  onTrusted?(header: RpcHeader): void
  /** A source sent a head whose header does not hash to its hash. */
  onBadHeader?(s: SourceState, reason: string): void
}

export type HeadTracker = {
  /** The agreed head, refreshed when older than the polling interval. */
  get(): Promise<Head>
  peek(): Head | undefined
  /** The agreed chain's hash at `n`, if known. */
  hashAt(n: number): string | undefined
  /** `eth_blockNumber`: the agreed head number, never lower than one returned before. */
  blockNumber(): Promise<number>
  refresh(): Promise<void>
}

const WINDOW = 128

export type RpcHeader = { number?: unknown; hash?: unknown } & Record<string, unknown>

/**
 * Tracks each source's head and the agreed head: the highest block whose hash sources in
 * `quorumDomains` failure domains report. Polls on demand (no timers), stale-while-revalidate.
 */
export function createHeadTracker(o: HeadTrackerOptions): HeadTracker {
  let agreed: Head | undefined
  let agreedAt = 0
  let highestReturned = -1
  let inflight: Promise<void> | undefined
  const agreedHashes = new Map<number, string>()
  const headers = new Map<string, RpcHeader>()
  const polling = new Set<SourceState>()
  const trustQuorum = Math.min(2, o.quorumDomains)

  const remember = (s: SourceState, header: RpcHeader) => {
    if (typeof header?.number !== 'string' || typeof header.hash !== 'string') return
    const number = Number.parseInt(header.number, 16)
    const hash = header.hash.toLowerCase()
    if (!headers.has(hash)) {
      let computed: string | undefined
      try {
        computed = computeBlockHash(header as never)
      } catch (error) {
        computed = (error as Error).message
      }
      if (computed !== hash) return o.onBadHeader?.(s, `head ${hash} does not hash to its hash`)
      headers.set(hash, header)
      if (headers.size > 2 * WINDOW) headers.delete(headers.keys().next().value as string)
    }
    s.hashes.set(number, hash)
    if (s.hashes.size > WINDOW) s.hashes.delete(s.hashes.keys().next().value as number)
    if (!s.head || number >= s.head.number) s.head = { number, hash, at: Date.now() }
  }

  /** Highest (number, hash) reported by sources in at least `q` domains. */
  const compute = (q: number, among: readonly SourceState[]): Head | undefined => {
    let top = -1
    for (const s of among) if (s.head && s.head.number > top) top = s.head.number
    for (let n = top; n >= 0 && n > top - WINDOW; n--) {
      const domainsByHash = new Map<string, Set<string>>()
      for (const s of among) {
        const h = s.hashes.get(n)
        if (!h) continue
        let set = domainsByHash.get(h)
        if (!set) {
          set = new Set()
          domainsByHash.set(h, set)
        }
        set.add(s.domain)
      }
      for (const [hash, domains] of domainsByHash) if (domains.size >= q) return { number: n, hash }
    }
    return undefined
  }

  /** When the sources that report `head` last said so: how old the head already is. */
  const seenAt = (head: Head, among: readonly SourceState[]) => {
    let at = Date.now()
    for (const s of among)
      if (s.head && s.hashes.get(head.number) === head.hash) at = Math.min(at, s.head.at)
    return at
  }

  const settle = (head: Head, among: readonly SourceState[], q: number) => {
    if (q >= trustQuorum) {
      const header = headers.get(head.hash)
      if (header) o.onTrusted?.(header)
    }
    if (agreed && head.number < agreed.number) return // a lagging subset can't move us back
    agreed = head
    // Its age counts from when the sources said so, not from when they agreed: a head settled
    // after waiting on silent sources is already that old.
    agreedAt = seenAt(head, among)
    agreedHashes.set(head.number, head.hash)
    if (agreedHashes.size > WINDOW) agreedHashes.delete(agreedHashes.keys().next().value as number)
    for (const s of among) {
      s.lag = s.head ? Math.max(0, head.number - s.head.number) : 0
      const mine = s.hashes.get(head.number)
      const theirs = s.head ? agreedHashes.get(s.head.number) : undefined
      s.forked =
        (mine !== undefined && mine !== head.hash) ||
        (theirs !== undefined && s.head !== undefined && theirs !== s.head.hash)
    }
    o.onUpdate(head)
  }

  /** True when the source answered (a poll already running counts as not answering now). */
  const poll = (s: SourceState): Promise<boolean> => {
    if (polling.has(s)) return Promise.resolve(false)
    const signal = AbortSignal.timeout(Math.ceil(o.pollTimeout(s)))
    polling.add(s)
    return o
      .attempt(s, 'eth_getBlockByNumber', ['latest', false], signal)
      .then((header) => {
        remember(s, header as RpcHeader)
        return true
      })
      .catch(() => false)
      .finally(() => polling.delete(s))
  }

  /** Fetches the block at `n` from sources that are past it but never told us its hash. */
  const fill = async (n: number, among: readonly SourceState[]) => {
    await Promise.all(
      among
        .filter((s) => s.head && s.head.number > n && !s.hashes.has(n))
        .map((s) =>
          o
            .attempt(
              s,
              'eth_getBlockByNumber',
              [`0x${n.toString(16)}`, false],
              AbortSignal.timeout(Math.ceil(o.pollTimeout(s))),
            )
            .then((header) => remember(s, header as RpcHeader))
            .catch(() => {}),
        ),
    )
  }

  const refresh = (): Promise<void> => {
    inflight ??= (async () => {
      let targets: readonly SourceState[] = o.sources.filter(o.eligible)
      const forced = targets.length === 0 && o.lastResort !== undefined
      if (forced) targets = o.lastResort!()
      const domains = new Set(targets.map((s) => s.domain)).size
      const want = Math.max(1, Math.min(o.quorumDomains, domains))
      const answered: SourceState[] = []
      let settled = false
      await new Promise<void>((resolve) => {
        let pending = targets.length
        if (pending === 0) return resolve()
        // Once some source answered, the silent rest get a few of their round trips, not the
        // whole poll timeout: then the head is settled among those that answered (below).
        let patience: ReturnType<typeof setTimeout> | undefined
        const done = () => {
          clearTimeout(patience)
          resolve()
        }
        for (const s of targets) {
          poll(s).then((ok) => {
            // A source that failed this poll does not vote with the head it had before.
            if (s.head && (ok || Date.now() - s.head.at < o.pollingInterval)) answered.push(s)
            const head = compute(want, answered)
            if (head && (!agreed || head.number >= agreed.number)) {
              settle(head, o.sources, want)
              settled = true
              done()
            }
            if (--pending === 0) done()
            else if (ok && !patience && o.patience)
              patience = setTimeout(done, o.patience(targets.filter((t) => !answered.includes(t))))
          })
        }
      })
      // Fill gaps when there was no agreement, or when the agreement trails what the sources
      // report (they polled on either side of a block: no common hash at the newest height).
      const responders = forced ? answered : answered.filter((s) => o.eligible(s))
      const responding = new Set(responders.map((s) => s.domain)).size
      const q = settled ? want : Math.max(1, Math.min(o.quorumDomains, responding))
      const heads = [...new Set(responders.map((s) => s.head!.number))].sort((a, b) => b - a)
      const target = heads[Math.min(q, heads.length) - 1]
      if (settled && (target === undefined || !agreed || target <= agreed.number)) return
      if (target !== undefined) await fill(target, responders)
      const head = compute(q, responders)
      if (head) settle(head, o.sources, q)
    })().finally(() => {
      inflight = undefined
    })
    return inflight
  }

  const get = async (): Promise<Head> => {
    const age = Date.now() - agreedAt
    // Slightly stale: answer now and refresh behind (stale-while-revalidate). After an idle
    // spell the cached head is too old to pin `latest` to: wait for a fresh one.
    if (!agreed || age >= 3 * Math.max(o.pollingInterval, 500)) await refresh()
    else if (age >= o.pollingInterval) refresh().catch(() => {})
    if (!agreed)
      throw new AllSourcesFailedError(
        'eth_getBlockByNumber(latest)',
        o.sources.map((s) => ({ source: s.name, reason: s.lastError ?? 'no agreed head' })),
      )
    return agreed
  }

  return {
    get,
    peek: () => agreed,
    hashAt: (n) => agreedHashes.get(n),
    refresh,
    async blockNumber() {
      const head = await get()
      highestReturned = Math.max(highestReturned, head.number)
      return highestReturned
    },
  }
}
