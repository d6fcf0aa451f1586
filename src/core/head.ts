import { AllSourcesFailedError } from '../shared/errors.ts'
import { checkedHeader, computeBlockHash } from '../verify/block.ts'
import { checkShape } from './bounds.ts'
import { type Clock, realClock } from './clock.ts'
import {
  accepts,
  backersOf,
  blockTimeOf,
  type Candidate,
  type ConfirmedHead,
  counts,
  fillTarget,
  highestAgreed,
  type Pace,
  quorumAmong,
  reachOf,
  seenAt,
  steppedBackTo,
} from './headChoice.ts'
import { defaultMaxAge, fromTheFuture, judgeHeads, type TimedHead } from './headClock.ts'
import { type Link, linkOf } from './headLink.ts'
import type { Walker } from './headWalk.ts'
import { lastAttemptFailed, type SourceState } from './sourceState.ts'
import { invalidResult } from './validate.ts'

export type Head = { number: number; hash: string }

export type HeadTrackerOptions = {
  sources: readonly SourceState[]
  /** Domains that must agree on a head (reduced to the domains that answer). */
  quorumDomains: number
  pollingInterval: number
  /** Blocks a source may run ahead of the confirmed head before it is marked unconfirmed. */
  maxLead: number
  /**
   * How old (ms, by its timestamp) a source's head may be while another domain's is fresh and
   * extends the agreed chain; an older one is stale. @default a minute, or five block times
   */
  maxHeadAge?: number
  /** How far ahead of the clock (ms) a head's timestamp may be. @default 15_000 */
  maxClockSkew?: number
  /** The engine's clock: the time heads are judged by, and the patience timer. @default realClock */
  clock?: Clock
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
  /** The head reads of `latest` are pinned to, refreshed when older than the polling interval. */
  get(): Promise<Head>
  peek(): Head | undefined
  /**
   * False while the head is backed by fewer domains than a confirmation needs (the others are
   * out): such a head is used, flagged, and never kept once confirmed domains say otherwise.
   */
  confirmed(): boolean
  /** The agreed chain's hash at `n`, if known (the confirmed chain's, or the unconfirmed head's). */
  hashAt(n: number): string | undefined
  /**
   * Is `hash` (lowercase) the confirmed chain's block at its height (`at`, when known: one look),
   * among the heights kept?
   */
  holds(hash: string, at?: number): boolean
  /** The height of a block the confirmed chain holds (or the placed block's), if kept. */
  heightOf(hash: string): number | undefined
  /** The newest head domains enough to confirm it agreed on (the agreed head, or below it). */
  confirmedHead(): Readonly<Head> | undefined
  /**
   * `eth_blockNumber`: never lower than a confirmed height returned before; and whether it is
   * confirmed (`confirmed()` then, read with it: a poll settling after could relabel it).
   */
  blockNumber(): Promise<[number: number, confirmed: boolean]>
  /**
   * A caller was shown block `n` (a receipt's, a transaction's, a block's), `hash` where the
   * domains agreed on it: the next read of `latest` below it polls once first, so that it is read
   * at that block once sources agree on it.
   */
  shown(n: number, hash?: string): void
  /** The newest block a caller was shown (`shown`), or -1: a read of `latest` is at or after it. */
  shownFloor(): number
  /**
   * The block shown with its agreed hash while the agreed head is still below it (one domain's
   * `latest` a block behind): a read of `latest` is pinned to it, by hash, not to the head
   * below (reviewOfSession39c). Undefined once the head reaches it, or confirms another block
   * at its height (a reorg).
   */
  shownAbove(): Readonly<Head> | undefined
  /**
   * The domains are split over `b`: one that stood on it left it, and some but fewer than a
   * confirmation's stand on it (none: it is gone, read.ts `gone`). An honest rollback with a liar
   * still on the dropped block, and a liar's step back beside an endpoint whose head flapped
   * back, look the same (reviewOfSession40e 1, 40g): no read of `latest` is pinned there, and no
   * proof is made at it.
   */
  contested(b: Head): boolean
  /** The shown block `hash` is none every source has (a reorg took it): not pinned to again. */
  forgetShown(hash: string): void
  refresh(): Promise<void>
  /**
   * A head a source pushed (a WebSocket `newHeads`): a hint like a polled head. Resolves with
   * its header once it is the head the domains agree on, else undefined.
   */
  confirm(s: SourceState, header: unknown): Promise<RpcHeader | undefined>
}

const WINDOW = 128
/**
 * `extraData`, the one header field a source sizes, in hex characters: a header carrying more
 * than 64 KiB is not kept (mainnet allows 32 bytes, PoA chains a signer list), and the kept
 * headers carry at most 4 MiB of it: past that, the oldest go.
 */
const MAX_EXTRA = 2 * 64 * 1024 + 2
const EXTRA_BUDGET = 2 * 4 * 1024 * 1024
const extraOf = (h: RpcHeader | undefined) =>
  typeof h?.extraData === 'string' ? h.extraData.length : 0

export type RpcHeader = { number?: unknown; hash?: unknown } & Record<string, unknown>

/**
 * Tracks each source's head and the agreed head: the highest block whose hash sources in
 * `quorumDomains` failure domains report. A head one domain alone reports is a hint: it may
 * carry reads (flagged) while the other domains are out, but it never becomes the floor that
 * `eth_blockNumber` keeps, never anchors proofs, and gives way to the next confirmed head.
 * Polls on demand (no timers), stale-while-revalidate. See docs/architecture.md.
 */
export function createHeadTracker(o: HeadTrackerOptions): HeadTracker {
  return new Tracker(o).api()
}

/**
 * The head tracker's state, polling and timers; the decisions are in headChoice.ts. Its members
 * are `#private` but `api()`: a minifier shortens those names, never a public one's.
 */
class Tracker {
  readonly #o: HeadTrackerOptions
  readonly #clock: Clock
  readonly #maxSkew: number
  readonly #trustQuorum: number
  #agreed: Head | undefined
  #agreedConfirmed = false
  /** The confirmed head is old and a fresh head in another domain far past it (`#overtakenBy`). */
  #overtaken = false
  #agreedAt = 0
  #confirmedHead: ConfirmedHead | undefined
  /** Blocks known to descend from the confirmed head by parent hash, and their numbers (cleared when it moves). */
  readonly #linked = new Map<string, number>()
  /** Recent confirmed heads and when they were seen: how fast the chain is known to move. */
  readonly #pace: Pace[] = []
  #highestReturned = -1
  /** The lone head eth_blockNumber was last asked at, and the height it gave (`n`). */
  #loneReturned: (Head & { n: number }) | undefined
  /** The highest block a caller was shown, and the highest a read waited for a poll to reach. */
  #shown = -1
  #shownPolled = -1
  /**
   * The highest block shown with its hash placed (agreed, proven): kept apart from `#shown`, which
   * a block shown by number only (verified by its hash alone) may raise without it.
   */
  #placed: Head | undefined
  /**
   * Per pushing source, the highest height it pushed that the others were asked about: a liar
   * pushing first at each height must not spend the ask an honest push needs (reviewOfWsBeside).
   */
  readonly #askedFor = new Map<SourceState, number>()
  #inflight: Promise<void> | undefined
  readonly #confirmedHashes = new Map<number, string>()
  readonly #headers = new Map<string, RpcHeader>()
  /** The kept headers' `extraData`, in hex characters (`EXTRA_BUDGET`). */
  #extraChars = 0
  readonly #polling = new Set<SourceState>()
  /** Sources whose head is being linked (`link`), and the last head each was linked for. */
  readonly #linking = new Set<SourceState>()
  readonly #linkTried = new WeakMap<SourceState, { hash: string; from: string; at: number }>()
  /** Each source's last head that extended the agreed chain, and the confirmed head it did. */
  readonly #lastExtending = new WeakMap<SourceState, { head: TimedHead; from: string }>()
  /** Each source's last deep link walk (`linkDeep`): the confirmed head it went to, when. */
  readonly #deepWalked = new WeakMap<SourceState, { from: string; at: number }>()

  /** The tracker as the engine holds it (`HeadTracker`). */
  api(): HeadTracker {
    return {
      get: () => this.#get(),
      peek: () => this.#agreed,
      confirmed: () => this.#agreedConfirmed && !this.#overtaken,
      hashAt: (n) =>
        this.#confirmedHashes.get(n) ??
        (this.#agreed?.number === n && !this.#agreedConfirmed ? this.#agreed.hash : undefined),
      holds: (hash, at) =>
        at === undefined
          ? [...this.#confirmedHashes.values()].includes(hash)
          : this.#confirmedHashes.get(at) === hash,
      heightOf: (hash) => {
        for (const [n, h] of this.#confirmedHashes) if (h === hash) return n
        return this.#placed?.hash === hash ? this.#placed.number : undefined
      },
      confirmedHead: () => this.#confirmedHead,
      refresh: () => this.#refresh(),
      confirm: (s, header) => this.#confirm(s, header),
      blockNumber: () => this.#blockNumber(),
      // Only a height the chain could have reached: a source's made-up one costs no poll.
      shown: (n, hash) => {
        if (!this.#plausible(n)) return
        if (n > this.#shown) this.#shown = n
        // A later placed block moves it up; one at the same height (a reorg at the edge) too.
        if (hash && (!this.#placed || n >= this.#placed.number)) this.#placed = { number: n, hash }
      },
      shownFloor: () => this.#shown,
      forgetShown: (hash) => {
        if (this.#placed?.hash === hash) this.#placed = undefined
      },
      contested: (b) => {
        const standing = this.#standing(b)
        return standing > 0 && standing < this.#trustQuorum && this.#left(b) > 0
      },
      shownAbove: () => {
        const p = this.#placed
        if (!p || !this.#agreed || this.#agreed.number >= p.number) return undefined
        const there = this.#confirmedHashes.get(p.number)
        return there === undefined || there === p.hash ? p : undefined
      },
    }
  }

  constructor(o: HeadTrackerOptions) {
    // Untrusted sources neither report nor back heads: one operator can run any number of them.
    this.#o = { ...o, sources: o.sources.filter((s) => !s.untrusted) }
    this.#clock = o.clock ?? realClock
    this.#maxSkew = o.maxClockSkew ?? 15_000
    this.#trustQuorum = Math.min(2, o.quorumDomains)
  }

  #now(): number {
    return this.#clock.now()
  }

  /**
   * Records a header a source sent (its hash checked); `latest` marks it as the source's
   * current head. Returns the block, or undefined when the header is not one.
   */
  #remember(s: SourceState, header: RpcHeader, latest: boolean): Head | undefined {
    if (typeof header?.number !== 'string' || typeof header.hash !== 'string') return
    const number = Number.parseInt(header.number, 16)
    const hash = header.hash.toLowerCase()
    if (!Number.isSafeInteger(number)) return
    if (!this.#headers.has(hash)) {
      if (extraOf(header) > MAX_EXTRA) return
      let computed: string | undefined
      try {
        computed = computeBlockHash(header as never)
      } catch (error) {
        computed = (error as Error).message
      }
      if (computed !== hash) {
        this.#o.onBadHeader?.(s, `head ${hash} does not hash to its hash`)
        return
      }
      this.#headers.set(hash, checkedHeader(header)) // only what the hash covers is kept
      this.#extraChars += extraOf(header)
      while (this.#headers.size > 2 * WINDOW || this.#extraChars > EXTRA_BUDGET) {
        const oldest = this.#headers.keys().next().value as string
        this.#extraChars -= extraOf(this.#headers.get(oldest))
        this.#headers.delete(oldest)
      }
    }
    s.hashes.set(number, hash)
    if (s.hashes.size > WINDOW) s.hashes.delete(s.hashes.keys().next().value as number)
    if (!latest) return { number, hash }
    s.heads.delete(hash)
    s.heads.add(hash)
    if (s.heads.size > WINDOW) s.heads.delete(s.heads.values().next().value as string)
    // A source's `latest` is its head now, even when lower than before (a rollback, a reorg
    // to a shorter chain): what it said about the heights above is no longer its chain.
    if (s.head && number < s.head.number)
      for (const n of s.hashes.keys()) if (n > number) s.hashes.delete(n)
    s.head = { number, hash, at: this.#now() }
    s.peak = Math.max(s.peak, number)
    // Its lag, as `mark` counts it, now rather than at the next head (a source polled after the
    // head was settled would keep the lag its previous head had).
    if (this.#agreed) s.lag = Math.max(0, this.#agreed.number - number)
    return { number, hash }
  }

  /**
   * Makes a header `s` sent as its `latest` its head, once its place is known where that matters
   * (`wantsLink`, among `targets`): the blocks between fetched first. Until then the source keeps
   * its previous head, so a fresh head not yet linked does not, meanwhile, stop showing that
   * another domain's old head is stale (and bring that old head back).
   */
  async #adopt(s: SourceState, header: RpcHeader, targets: readonly SourceState[]): Promise<void> {
    const before = s.head
    const top = this.#remember(s, header, false)
    if (!top || !this.#wantsLink(s, top, targets)) return void this.#remember(s, header, true)
    await this.#link(s, top)
    // A head as high that it sent meanwhile (pushed while this one was linked) stays its head.
    if (s.head !== before && s.head && s.head.number >= top.number) return
    this.#remember(s, header, true)
  }

  /**
   * Is the confirmed head stale: older than `maxHeadAge` by its timestamp while a domain that
   * counts reports a fresh head (`fresh`: the timed heads judged neither stale nor future) that
   * extends it, more than `maxLag` blocks on? No second domain backs anything newer (one domain
   * out, another on a chain of its own: a liar forging fresh blocks keeps its head from going
   * stale), so reads of it say `degraded`, not `agreed`. Found at each `#judge`, kept in
   * `#overtaken`: `confirmed()` is asked at every read.
   */
  #overtakenBy(fresh: readonly (TimedHead | undefined)[], t: number): boolean {
    const a = this.#agreed
    if (!a || !this.#agreedConfirmed || !this.#old(a.hash)) return false
    return fresh.some(
      (h) =>
        !!h?.extendsAgreed && h.number > a.number + this.#o.maxLead && h.time >= t - this.#maxAge(),
    )
  }

  /** Is this kept block older than `maxHeadAge` by its timestamp? */
  #old(hash: string): boolean {
    const time = this.#timeOf(hash)
    return time !== undefined && time < this.#now() - this.#maxAge()
  }

  /** The timestamp (ms) of a block whose header was kept. */
  #timeOf(hash: string): number | undefined {
    const t = this.#headers.get(hash)?.timestamp
    return typeof t === 'string' ? Number.parseInt(t, 16) * 1_000 : undefined
  }

  #future(hash: string): boolean {
    const t = this.#timeOf(hash)
    return t !== undefined && fromTheFuture(t, { now: this.#now(), maxSkew: this.#maxSkew })
  }

  /** The highest (number, hash) that sources in at least `q` domains report, whatever the gaps. */
  #compute(q: number, among: readonly SourceState[]): Candidate | undefined {
    return highestAgreed(q, among, this.#trustQuorum, (hash) => this.#future(hash))
  }

  /** May `c` become the head? (headChoice.ts `accepts`) */
  #accepts(c: Candidate): boolean {
    return accepts(
      c,
      this.#confirmedHead,
      this.#trustQuorum,
      () => this.#plausible(c.number) && this.#linkOf(c.hash).state === 'linked',
      () => this.#disowned(),
      () => steppedBackTo(c, this.#o.sources.filter(counts)),
    )
  }

  /** The domains that count, up and not cut off as lying, standing at or above `b` on its chain. */
  #standing(b: Head): number {
    return new Set(
      this.#o.sources
        .filter(
          (s) =>
            counts(s) &&
            s.lyingUntil <= Date.now() &&
            // Not one that is down: its head is what it said before (reviewOfSession40g).
            !lastAttemptFailed(s) &&
            (s.head?.number ?? -1) >= b.number &&
            s.hashes.get(b.number) === b.hash,
        )
        .map((s) => s.domain),
    ).size
  }

  /** The domains that stood at or above `b` and now stand below it or on another chain. */
  #left(b: Head): number {
    return new Set(
      this.#o.sources
        .filter((s) => {
          const there = s.hashes.get(b.number)
          const below = (s.head?.number ?? -1) < b.number
          return (
            counts(s) && s.peak >= b.number && (below || (there !== undefined && there !== b.hash))
          )
        })
        .map((s) => s.domain),
    ).size
  }

  /** Is the head a lone one whose every backer was cut off as lying since? */
  #disowned(): boolean {
    const a = this.#agreed
    if (!a || this.#agreedConfirmed) return false
    const backers = this.#o.sources.filter((s) => s.hashes.get(a.number) === a.hash)
    return backers.length > 0 && backers.every((s) => s.lyingUntil > Date.now())
  }

  /**
   * How high the chain can be now (headChoice.ts `reachOf`). While a domain is set aside as
   * stale, the confirmed head may be one it held back: counted from its own timestamp.
   */
  #reach(): number {
    return reachOf(this.#confirmedHead, {
      maxLead: this.#o.maxLead,
      blockTime: this.#blockTime(),
      now: this.#now(),
      fromTimestamp: this.#o.sources.some((s) => s.headVerdict?.kind === 'stale'),
    })
  }

  #blockTime(): number {
    return blockTimeOf(this.#pace)
  }

  #plausible(n: number): boolean {
    return n <= this.#reach()
  }

  /** Could the chain be at `n`, counting the confirmed head's age from its timestamp? */
  #plausibleAt(n: number, t: number): boolean {
    return (
      n <=
      reachOf(this.#confirmedHead, {
        maxLead: this.#o.maxLead,
        blockTime: this.#blockTime(),
        now: t,
        fromTimestamp: true,
      })
    )
  }

  /** `maxHeadAge`, or a minute (five block times on a slower chain, as measured). */
  #maxAge(): number {
    return this.#o.maxHeadAge ?? defaultMaxAge(this.#blockTime() * 2)
  }

  /** Does `hash` extend the agreed chain? (headLink.ts) */
  #linkOf(hash: string): Link {
    return linkOf(hash, this.#confirmedHead, this.#headers, this.#linked, 2 * WINDOW)
  }

  /**
   * Fetches from `s` the headers between its head and the confirmed head that are missing
   * (headWalk.ts `linkHead`), so that `linkOf` can tell whether its head extends the agreed chain.
   */
  async #link(s: SourceState, top: Head | undefined = s.head): Promise<void> {
    const confirmedHead = this.#confirmedHead
    if (!top || !confirmedHead || top.number <= confirmedHead.number) return
    // One walk at a time per source, and one per head and confirmed head each polling interval:
    // a head pushed again and again (one that cannot be linked) is not walked again each time.
    const tried = this.#linkTried.get(s)
    const again =
      tried?.hash === top.hash &&
      tried.from === confirmedHead.hash &&
      this.#now() - tried.at < Math.max(this.#o.pollingInterval, 1_000)
    if (this.#linking.has(s) || again) return
    this.#linking.add(s)
    this.#linkTried.set(s, { hash: top.hash, from: confirmedHead.hash, at: this.#now() })
    try {
      // Loaded with the first head to link: a first read has no confirmed head to link to.
      const { linkHead } = await import('./headWalk.ts')
      await linkHead(this.#walker(s), top, confirmedHead)
    } finally {
      this.#linking.delete(s)
    }
  }

  /** What headWalk.ts `linkHead` works with to link `s`'s head (its fetches, the kept headers). */
  #walker(s: SourceState): Walker {
    return {
      s,
      byNumber: WINDOW / 2,
      fetch: (method, param) =>
        this.#o.attempt(
          s,
          method,
          [param, false],
          AbortSignal.timeout(Math.ceil(this.#o.pollTimeout(s))),
        ) as Promise<RpcHeader | null>,
      remember: (header) => this.#remember(s, header, false),
      linkOf: (hash) => this.#linkOf(hash),
      linked: this.#linked,
      deepWalked: this.#deepWalked,
      now: () => this.#now(),
      parentOf: (hash) => this.#headers.get(hash)?.parentHash,
      confirmedHead: () => this.#confirmedHead,
    }
  }

  /**
   * Should `s`'s head (or `top`, a head it just sent) be linked to the agreed chain before
   * deciding? Only where the answer matters: it could stand in alone (fewer domains than a
   * confirmation count), or show that another domain's old head is stale.
   */
  #wantsLink(s: SourceState, top: Head | undefined, among: readonly SourceState[]): boolean {
    const confirmedHead = this.#confirmedHead
    if (!confirmedHead || !top || top.number <= confirmedHead.number) return false
    // A head the chain cannot have reached since the confirmed head was made is not walked down.
    if (this.#linkOf(top.hash).state !== 'unknown' || !this.#plausibleAt(top.number, this.#now()))
      return false
    return (
      this.#quorumAmong(among.filter(counts)) < this.#trustQuorum ||
      this.#o.sources.some((x) => x.domain !== s.domain && x.head && this.#old(x.head.hash)) ||
      // or show the confirmed head stale (`overtaken`)
      (this.#agreedConfirmed && this.#agreed !== undefined && this.#old(this.#agreed.hash))
    )
  }

  /**
   * `s`'s head as headClock.ts judges it, if its header was kept and `s` may be polled. Else, or
   * while its newest head is not linked yet, the last head it had that extended the agreed chain
   * (this confirmed head's): the chain is known to have moved that far, so a domain older than
   * that stays stale while that head is fresh, even with `s` out or failing.
   */
  #timedHead(s: SourceState, t: number): TimedHead | undefined {
    const last = this.#lastExtending.get(s)
    const known = last?.from === this.#confirmedHead?.hash ? last?.head : undefined
    const time = s.head ? this.#timeOf(s.head.hash) : undefined
    if (!s.head || time === undefined || !this.#o.eligible(s)) return known
    const { number, hash } = s.head
    const confirmedHead = this.#confirmedHead
    const domains = new Set(
      this.#o.sources.filter((x) => x.hashes.get(number) === hash).map((x) => x.domain),
    ).size
    const head: TimedHead = {
      domain: s.domain,
      number,
      time,
      domains,
      extendsAgreed:
        this.#confirmedHashes.get(number) === hash ||
        (!!confirmedHead &&
          number > confirmedHead.number &&
          this.#linkOf(hash).state === 'linked' &&
          this.#plausibleAt(number, t)),
    }
    if (!confirmedHead) return head
    if (head.extendsAgreed) this.#lastExtending.set(s, { head, from: confirmedHead.hash })
    else if (known && known.number < number && this.#linkOf(hash).state === 'unknown') return known
    return head
  }

  /**
   * Judges every source's head by its timestamp (headClock.ts): stale ones are set aside, future
   * ones refused. True if a verdict changed.
   */
  #judge(): boolean {
    const t = this.#now()
    const heads = this.#o.sources.map((s) => this.#timedHead(s, t))
    const verdicts = judgeHeads(heads, {
      now: t,
      maxAge: this.#maxAge(),
      maxSkew: this.#maxSkew,
      maxLag: this.#o.maxLead,
      trustQuorum: this.#trustQuorum,
    })
    let changed = false
    this.#o.sources.forEach((s, i) => {
      const v = verdicts[i]
      if (v?.kind !== s.headVerdict?.kind) changed = true
      s.headVerdict = v
    })
    this.#overtaken = this.#overtakenBy(
      heads.filter((_, i) => !verdicts[i]),
      t,
    )
    return changed
  }

  /** Each source's standing against the head: lag, fork, a head ahead of what can be. */
  #mark(head: Head): void {
    this.#judge()
    for (const s of this.#o.sources) {
      s.lag = s.head ? Math.max(0, head.number - s.head.number) : 0
      const mine = s.hashes.get(head.number)
      const theirs = s.head ? this.#confirmedHashes.get(s.head.number) : undefined
      s.forked =
        (mine !== undefined && mine !== head.hash) ||
        (theirs !== undefined && s.head !== undefined && theirs !== s.head.hash)
      s.unconfirmed = s.head !== undefined && !this.#plausible(s.head.number)
    }
  }

  /** Makes `c` the head if `accepts` allows; true if it is the head now. */
  #settle(c: Candidate): boolean {
    if (!this.#accepts(c)) {
      // A lower confirmed head from a lagging subset: at least stop standing on a claim
      // that no second domain backs.
      if (c.domains >= this.#trustQuorum && !this.#agreedConfirmed && this.#confirmedHead)
        return this.#settle(backersOf(this.#confirmedHead, this.#o.sources, this.#trustQuorum))
      return false
    }
    const confirmed = c.domains >= this.#trustQuorum
    const head: Head = { number: c.number, hash: c.hash }
    if (confirmed) this.#confirmAt(c, head)
    this.#agreed = head
    this.#agreedConfirmed = confirmed
    // Its age counts from when the sources said so, not from when they agreed: a head settled
    // after waiting on silent sources is already that old.
    this.#agreedAt = seenAt(head, this.#o.sources, this.#now())
    this.#mark(head)
    this.#o.onUpdate(head)
    return true
  }

  /** Makes `c` (backed by a confirmation's domains) the confirmed head. */
  #confirmAt(c: Candidate, head: Head): void {
    // Confirmed again: the chain is known to stand there still only if domains enough stand at it
    // (their head). Else (one domain out, the other two on chains of their own) it was seen
    // when it was: `reach()` grows from then, so the honest domain's head does not run past it
    // for good (test/adversarial/reviewOfFlapping.test.ts).
    if (
      this.#confirmedHead?.hash === c.hash &&
      new Set(this.#o.sources.filter((s) => s.head?.hash === c.hash).map((s) => s.domain)).size <
        this.#trustQuorum
    )
      return
    const header = this.#headers.get(c.hash)
    if (header) this.#o.onTrusted?.(header)
    if (this.#confirmedHead && c.number < this.#confirmedHead.number) {
      for (const n of this.#confirmedHashes.keys())
        if (n > c.number) this.#confirmedHashes.delete(n)
      // A block shown above a rollback is gone with it (reads of `latest` are not pinned to it)
      // once none stands on it; while one does, it is `contested` (reviewOfSession40b 1, 40e 1,
      // 40g 1).
      const p = this.#placed
      if (p && p.number > c.number && this.#standing(p) === 0) this.#placed = undefined
      for (const [x, n] of this.#askedFor) this.#askedFor.set(x, Math.min(n, c.number))
    }
    if (this.#confirmedHead?.hash !== c.hash) this.#linked.clear()
    this.#confirmedHead = {
      ...head,
      at: seenAt(head, this.#o.sources, this.#now()),
      time: this.#timeOf(c.hash) ?? Number.POSITIVE_INFINITY,
    }
    this.#pace.push({ number: c.number, at: this.#confirmedHead.at })
    if (this.#pace.length > 32) this.#pace.shift()
    this.#confirmedHashes.set(c.number, c.hash)
    this.#descendFrom(c)
    if (this.#confirmedHashes.size > WINDOW)
      this.#confirmedHashes.delete(this.#confirmedHashes.keys().next().value as number)
  }

  /**
   * The heights below a confirmed head hold the blocks it descends from: after a reorg the kept
   * hashes there are another chain's (proofs of blocks and receipts check against them). Walked
   * down by parent hash, across heights not kept too (the head jumped: a missed poll, an idle
   * tab, a chain faster than the polling), each height on the way kept as its child names it,
   * until a kept hash matches (in steady progress the first parent does: nothing to do). Where a
   * header on the way is not kept, the heights below are forgotten rather than kept unchecked:
   * asked of the domains again when needed.
   */
  #descendFrom(c: Candidate): void {
    // Down to the parent at least: a first head's parent is the chain's too.
    const lowest = Math.min(...this.#confirmedHashes.keys(), c.number - 1)
    let at = this.#headers.get(c.hash)
    for (let n = c.number - 1; n >= lowest; n--) {
      const parent = typeof at?.parentHash === 'string' ? at.parentHash.toLowerCase() : undefined
      if (parent === undefined) {
        for (const k of this.#confirmedHashes.keys()) if (k <= n) this.#confirmedHashes.delete(k)
        return
      }
      if (this.#confirmedHashes.get(n) === parent) return
      // A hash-checked header names its parent: the chain's block there, kept or not (a block
      // mined between two polls was never held: one source's "unknown block" for it went
      // uncharged while it split every read of it, reviewOfSession39b).
      this.#confirmedHashes.set(n, parent)
      at = this.#headers.get(parent)
    }
  }

  /**
   * True when the source answered (a poll already running counts as not answering now). Its
   * head is linked to the agreed chain first where that matters (`wantsLink`, among `targets`).
   */
  #poll(s: SourceState, targets: readonly SourceState[]): Promise<boolean> {
    if (this.#polling.has(s)) return Promise.resolve(false)
    const signal = AbortSignal.timeout(Math.ceil(this.#o.pollTimeout(s)))
    this.#polling.add(s)
    return this.#o
      .attempt(s, 'eth_getBlockByNumber', ['latest', false], signal)
      .then(async (header) => {
        await this.#adopt(s, header as RpcHeader, targets)
        return true
      })
      .catch(() => false)
      .finally(() => this.#polling.delete(s))
  }

  /** Fetches the block at `n` from sources that are past it but never told us its hash. */
  async #fill(n: number, among: readonly SourceState[]): Promise<void> {
    await Promise.all(
      among
        .filter((s) => s.head && s.head.number > n && !s.hashes.has(n))
        .map((s) =>
          this.#o
            .attempt(
              s,
              'eth_getBlockByNumber',
              [`0x${n.toString(16)}`, false],
              AbortSignal.timeout(Math.ceil(this.#o.pollTimeout(s))),
            )
            .then((header) => this.#remember(s, header as RpcHeader, false))
            .catch(() => {}),
        ),
    )
  }

  /** Domains to agree: the configured quorum, reduced to the domains among `among`. */
  #quorumAmong(among: readonly SourceState[]): number {
    return quorumAmong(this.#o.quorumDomains, among)
  }

  #refresh(): Promise<void> {
    this.#inflight ??= this.#update().finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  /** One refresh: poll every eligible source, then link, judge and fill where that matters. */
  async #update(): Promise<void> {
    const o = this.#o
    let targets: readonly SourceState[] = o.sources.filter(o.eligible)
    const forced = targets.length === 0 && o.lastResort !== undefined
    if (forced) targets = o.lastResort!()
    // Sources set aside as stale are not waited for: they no longer count in the quorum.
    const want = () => this.#quorumAmong(targets.filter(counts))
    const answered: SourceState[] = []
    // Set by a poll that settles the head, even one answering after the others were given up on.
    const run = { settled: false }
    await this.#pollAll(targets, want, answered, run)
    const responders = forced ? answered : answered.filter((s) => o.eligible(s))
    await this.#catchUp(responders, want, run)
  }

  /**
   * Polls `targets`, adding those that answered to `answered`; the head is settled as soon as
   * their answers agree (then `run.settled`).
   */
  #pollAll(
    targets: readonly SourceState[],
    want: () => number,
    answered: SourceState[],
    run: { settled: boolean },
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      let pending = targets.length
      if (pending === 0) return resolve()
      // Once some source answered, the silent rest get a few of their round trips, not the
      // whole poll timeout: then the head is settled among those that answered (below).
      let patience: unknown
      let tieBreak = false
      const started = this.#now()
      const done = () => {
        this.#clock.clearTimeout(patience)
        resolve()
      }
      for (const s of targets) {
        this.#poll(s, targets).then((ok) => {
          // A source that failed this poll does not vote with the head it had before.
          if (s.head && (ok || this.#now() - s.head.at < this.#o.pollingInterval)) answered.push(s)
          this.#judge()
          const head = this.#compute(want(), answered.filter(counts))
          // A head older than maxHeadAge is an idle chain or stale domains: only the sources
          // still to answer can tell which, so it waits for them (up to the patience).
          const waitForOthers = pending > 1 && head !== undefined && this.#old(head.hash)
          if (head && !waitForOthers && this.#settle(head)) {
            run.settled = true
            done()
          }
          const silent = () => targets.filter((t) => !answered.includes(t))
          if (--pending === 0) done()
          else if (ok && patience === undefined && this.#o.patience)
            patience = this.#clock.setTimeout(done, this.#o.patience(silent()))
          // An old head the answers agree on waits for a tie-breaker three times as long as they
          // took at most: a source slow of its own doing does not hold every refresh up.
          if (waitForOthers && ok && !tieBreak && this.#o.patience) {
            tieBreak = true
            this.#clock.clearTimeout(patience)
            const took = Math.max(250, 3 * (this.#now() - started))
            patience = this.#clock.setTimeout(done, Math.min(took, this.#o.patience(silent())))
          }
        })
      }
    })
  }

  /** After the polls: heads linked, judged again, gaps filled, settled again where that helps. */
  async #catchUp(
    responders: readonly SourceState[],
    want: () => number,
    run: { settled: boolean },
  ): Promise<void> {
    // Twice at most: the first head ever confirmed here may show at once that a domain whose
    // old head backed it is stale (a fresh head extends it).
    for (let round = 0; round < 2; round++) {
      // Heads whose place matters (one could stand in alone, or show another domain stale)
      // and whose link to the agreed chain is not known: fetch the blocks between, judge again.
      const linking = responders.filter((s) => this.#wantsLink(s, s.head, responders))
      if (round > 0 && linking.length === 0) return
      await Promise.all(linking.map((s) => this.#link(s)))
      const changed = this.#judge()
      const among = responders.filter(counts)
      // Fill gaps when there was no agreement, or when the agreement trails what the sources
      // report (they polled on either side of a block: no common hash at the newest height).
      const q = run.settled && !changed ? want() : this.#quorumAmong(among)
      const target = fillTarget(among, q)
      if (
        run.settled &&
        !changed &&
        (target === undefined || !this.#agreed || target <= this.#agreed.number)
      )
        return
      if (target !== undefined) await this.#fill(target, among)
      const head = this.#compute(q, among)
      if (head && this.#settle(head)) run.settled = true
      else if (this.#agreed) this.#mark(this.#agreed)
    }
  }

  async #get(): Promise<Head> {
    const age = this.#now() - this.#agreedAt
    // Slightly stale: answer now and refresh behind (stale-while-revalidate). After an idle
    // spell the cached head is too old to pin `latest` to: wait for a fresh one. A head no
    // second domain confirmed is asked again each time: the others may be back.
    if (!this.#agreed || age >= 3 * Math.max(this.#o.pollingInterval, 500)) await this.#refresh()
    else if (this.#agreed.number < this.#shown && this.#shownPolled < this.#shown) {
      // A caller saw a newer block (its transaction's receipt): a read of `latest` now must not
      // show the state before it. One poll begun after it, per such block, is waited for.
      this.#shownPolled = this.#shown
      await this.#inflight
      if (this.#agreed.number < this.#shown) await this.#refresh()
    } else if (age >= this.#o.pollingInterval || !this.#agreedConfirmed)
      this.#refresh().catch(() => {})
    if (!this.#agreed)
      throw new AllSourcesFailedError(
        'eth_getBlockByNumber(latest)',
        this.#o.sources.map((s) => ({ source: s.name, reason: s.lastError ?? 'no agreed head' })),
      )
    return this.#agreed
  }

  async #confirm(s: SourceState, header: unknown): Promise<RpcHeader | undefined> {
    const o = this.#o
    const h = header as RpcHeader
    const hash = typeof h?.hash === 'string' ? h.hash.toLowerCase() : undefined
    // Pushed, it did not pass through an attempt: bounded and format-checked here like any
    // answer (a quantity padded with zeros hashes the same, and must not reach subscribers).
    if (!hash || checkShape(h) || invalidResult('eth_getBlockByNumber', h)) return undefined
    const number = Number.parseInt(String(h.number), 16)
    // Below the source's own head it is no rollback: a gossiped head may be an old one replayed
    // (signed, correctly hashed). Polls learn a source's rollbacks.
    if (s.head && number < s.head.number) return undefined
    await this.#adopt(s, h, o.sources.filter(o.eligible))
    if (s.hashes.get(number) !== hash) return undefined
    if (this.#agreed?.hash !== hash) {
      const fresh = o.sources.filter(
        (x) => x.head && this.#now() - x.head.at < o.pollingInterval && o.eligible(x) && counts(x),
      )
      const c = this.#compute(
        this.#quorumAmong(o.sources.filter((x) => o.eligible(x) && counts(x))),
        fresh,
      )
      // Ask the others once per new plausible height and pusher: a source pushing heads
      // (siblings, made-up heights) cannot make us poll everyone faster than the chain moves,
      // nor spend an honest push's ask. A refresh already under way may predate this block.
      if (
        (!c || c.hash !== hash || !this.#settle(c)) &&
        number > (this.#askedFor.get(s) ?? -1) &&
        this.#plausible(number)
      ) {
        this.#askedFor.set(s, number)
        const joined = this.#inflight !== undefined
        await this.#refresh()
        if (joined && this.#agreed?.hash !== hash) await this.#refresh()
      }
    }
    return this.#agreed?.hash === hash && this.#agreedConfirmed
      ? this.#headers.get(hash)
      : undefined
  }

  async #blockNumber(): Promise<[number, boolean]> {
    const head = await this.#get()
    const lone = this.#loneReturned
    this.#loneReturned = undefined
    if (this.#agreedConfirmed) {
      this.#highestReturned = Math.max(this.#highestReturned, head.number)
      return [this.#highestReturned, !this.#overtaken]
    }
    // One domain's claim counts only as far as the chain could have moved since the last
    // confirmed head, and is never the floor: once confirmed domains say otherwise, a height
    // only it backed is not returned again (labelled `head`, past the chain). But while it
    // stands alone, the lone height returned last is the floor of the lone heads below it on its
    // chain (by the kept headers' parent hashes): a backend a block behind does not take it back.
    let n = Math.max(this.#highestReturned, Math.min(head.number, this.#reach()))
    let hash = lone?.hash
    for (let k = lone?.number ?? 0; hash && k-- > head.number; )
      hash = (this.#headers.get(hash)?.parentHash as string | undefined)?.toLowerCase()
    if (hash === head.hash) n = Math.max(n, lone!.n)
    this.#loneReturned = { ...head, n }
    return [n, false]
  }
}
