import { AllSourcesFailedError } from '../shared/errors.ts'
import { checkedHeader, computeBlockHash } from '../verify/block.ts'
import { checkShape } from './bounds.ts'
import { type Clock, realClock } from './clock.ts'
import { defaultMaxAge, fromTheFuture, judgeHeads, type TimedHead } from './headClock.ts'
import type { SourceState } from './sourceState.ts'

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
  /** `eth_blockNumber`: never lower than a confirmed height returned before. */
  blockNumber(): Promise<number>
  refresh(): Promise<void>
  /**
   * A head a source pushed (a WebSocket `newHeads`): a hint like a polled head. Resolves with
   * its header once it is the head the domains agree on, else undefined.
   */
  confirm(s: SourceState, header: unknown): Promise<RpcHeader | undefined>
}

const WINDOW = 128

export type RpcHeader = { number?: unknown; hash?: unknown } & Record<string, unknown>

type Candidate = Head & { backers: SourceState[]; domains: number }

/**
 * Tracks each source's head and the agreed head: the highest block whose hash sources in
 * `quorumDomains` failure domains report. A head one domain alone reports is a hint: it may
 * carry reads (flagged) while the other domains are out, but it never becomes the floor that
 * `eth_blockNumber` keeps, never anchors proofs, and gives way to the next confirmed head.
 * Polls on demand (no timers), stale-while-revalidate. See docs/architecture.md.
 */
export function createHeadTracker(o: HeadTrackerOptions): HeadTracker {
  const clock = o.clock ?? realClock
  const now = () => clock.now()
  const maxSkew = o.maxClockSkew ?? 15_000
  let agreed: Head | undefined
  let agreedConfirmed = false
  let agreedAt = 0
  /**
   * The newest head confirmed by `trustQuorum` domains: what the chain is known to have reached,
   * when it was seen (`at`) and made (`time`, its timestamp; ms).
   */
  let confirmedHead: (Head & { at: number; time: number }) | undefined
  /** Blocks known to descend from the confirmed head by parent hash, and their numbers (cleared when it moves). */
  const linked = new Map<string, number>()
  /** Recent confirmed heads and when they were seen: how fast the chain is known to move. */
  const pace: { number: number; at: number }[] = []
  let highestReturned = -1
  /** The highest pushed height the other sources were asked about. */
  let askedFor = -1
  let inflight: Promise<void> | undefined
  const confirmedHashes = new Map<number, string>()
  const headers = new Map<string, RpcHeader>()
  const polling = new Set<SourceState>()
  const trustQuorum = Math.min(2, o.quorumDomains)

  /** Records a header a source sent; `latest` marks it as the source's current head. */
  const remember = (s: SourceState, header: RpcHeader, latest: boolean) => {
    if (typeof header?.number !== 'string' || typeof header.hash !== 'string') return
    const number = Number.parseInt(header.number, 16)
    const hash = header.hash.toLowerCase()
    if (!Number.isSafeInteger(number)) return
    if (!headers.has(hash)) {
      let computed: string | undefined
      try {
        computed = computeBlockHash(header as never)
      } catch (error) {
        computed = (error as Error).message
      }
      if (computed !== hash) return o.onBadHeader?.(s, `head ${hash} does not hash to its hash`)
      headers.set(hash, checkedHeader(header)) // only what the hash covers is kept
      if (headers.size > 2 * WINDOW) headers.delete(headers.keys().next().value as string)
    }
    s.hashes.set(number, hash)
    if (s.hashes.size > WINDOW) s.hashes.delete(s.hashes.keys().next().value as number)
    if (!latest) return
    // A source's `latest` is its head now, even when lower than before (a rollback, a reorg
    // to a shorter chain): what it said about the heights above is no longer its chain.
    if (s.head && number < s.head.number)
      for (const n of s.hashes.keys()) if (n > number) s.hashes.delete(n)
    s.head = { number, hash, at: now() }
  }

  /** The timestamp (ms) of a block whose header was kept. */
  const timeOf = (hash: string): number | undefined => {
    const t = headers.get(hash)?.timestamp
    return typeof t === 'string' ? Number.parseInt(t, 16) * 1_000 : undefined
  }
  const future = (hash: string) => {
    const t = timeOf(hash)
    return t !== undefined && fromTheFuture(t, { now: now(), maxSkew })
  }

  /** The highest (number, hash) that sources in at least `q` domains report, whatever the gaps. */
  const compute = (q: number, among: readonly SourceState[]): Candidate | undefined => {
    const byBlock = new Map<string, Candidate & { set: Set<string> }>()
    let best: (Candidate & { set: Set<string> }) | undefined
    for (const s of among)
      for (const [number, hash] of s.hashes) {
        const key = `${number}:${hash}`
        let c = byBlock.get(key)
        if (!c) {
          c = { number, hash, backers: [], domains: 0, set: new Set() }
          byBlock.set(key, c)
        }
        c.backers.push(s)
        c.set.add(s.domain)
        c.domains = c.set.size
        // A head from the future that fewer domains than a confirmation report never counts.
        if (c.domains < q || (best && number <= best.number)) continue
        if (c.domains < trustQuorum && future(hash)) continue
        best = c
      }
    return best
  }

  /** When the sources that report `head` last said so: how old the head already is. */
  const seenAt = (head: Head, among: readonly SourceState[]) => {
    let at = now()
    for (const s of among)
      if (s.head && s.hashes.get(head.number) === head.hash) at = Math.min(at, s.head.at)
    return at
  }

  /**
   * May `c` (backed by `q` domains) become the head? A confirmed head replaces any unconfirmed
   * one and moves forward; it moves back only when its backers themselves stand at it now (a
   * rollback or a reorg to a shorter chain, not a lagging subset). An unconfirmed head only
   * stands in while nothing confirmed is newer.
   */
  const accepts = (c: Candidate): boolean => {
    if (c.domains < trustQuorum)
      return (
        !confirmedHead ||
        (c.number > confirmedHead.number &&
          plausible(c.number) &&
          linkOf(c.hash).state === 'linked')
      )
    if (!confirmedHead || c.number >= confirmedHead.number) return true
    return c.backers.every((s) => s.head?.number === c.number && s.head.hash === c.hash)
  }

  /**
   * How high the chain can be now, as far as anyone confirmed: the confirmed head, `maxLead`
   * blocks, and one block per block time since. One domain's claim beyond it is not believed.
   * While a domain is set aside as stale, the confirmed head may be one it held back: "since"
   * then counts from the confirmed head's own timestamp, if earlier than when it was seen.
   */
  const reach = () => {
    if (!confirmedHead) return Number.POSITIVE_INFINITY
    const stale = o.sources.some((s) => s.headVerdict?.kind === 'stale')
    const since = stale ? Math.min(confirmedHead.at, confirmedHead.time) : confirmedHead.at
    return confirmedHead.number + o.maxLead + Math.floor(Math.max(0, now() - since) / blockTime())
  }
  /**
   * Milliseconds per block the chain may take at its fastest: half what the confirmed heads
   * showed over the last half second or more, else a second (a block a second, as on a chain
   * whose blocks carry whole-second timestamps).
   */
  const blockTime = () => {
    const first = pace[0]
    const last = pace.at(-1)
    if (!first || !last || last.at - first.at < 500 || last.number - first.number < 2) return 1_000
    return Math.max(10, (last.at - first.at) / (last.number - first.number) / 2)
  }
  const plausible = (n: number) => n <= reach()
  /** `maxHeadAge`, or a minute (five block times on a slower chain, as measured). */
  const maxAge = () => o.maxHeadAge ?? defaultMaxAge(blockTime() * 2)

  /**
   * Does `hash` extend the agreed chain, walking parent hashes down to the confirmed head through
   * the headers kept? `unknown` names the first block whose header is missing.
   */
  const linkOf = (
    hash: string,
  ): { state: 'linked' | 'broken' } | { state: 'unknown'; missing: string } => {
    if (!confirmedHead) return { state: 'broken' }
    const path: [string, number][] = []
    let h = hash
    /** The number the block at `h` must have: its child's, less one. */
    let expected: number | undefined
    const found = () => {
      for (const [p, n] of path) linked.set(p, n)
      while (linked.size > 2 * WINDOW) linked.delete(linked.keys().next().value as string)
      return { state: 'linked' as const }
    }
    for (;;) {
      if (h === confirmedHead.hash)
        return expected === undefined || expected === confirmedHead.number
          ? found()
          : { state: 'broken' }
      const known = linked.get(h)
      if (known !== undefined)
        return expected === undefined || expected === known ? found() : { state: 'broken' }
      const header = headers.get(h)
      if (!header) return { state: 'unknown', missing: h }
      const number = Number.parseInt(String(header.number), 16)
      if ((expected !== undefined && number !== expected) || number <= confirmedHead.number)
        return { state: 'broken' }
      path.push([h, number])
      expected = number - 1
      h = String(header.parentHash).toLowerCase()
    }
  }

  /**
   * Fetches from `s` the headers below its head that are missing (by number, at once: at most
   * `WINDOW / 2` heights down, not below the confirmed head; then a few by hash, for a branch the
   * numbers did not give), so that `linkOf` can tell whether its head extends the agreed chain.
   */
  const link = async (s: SourceState) => {
    const top = s.head
    if (!top || !confirmedHead || top.number <= confirmedHead.number) return
    const ask = (method: string, param: string) =>
      o
        .attempt(s, method, [param, false], AbortSignal.timeout(Math.ceil(o.pollTimeout(s))))
        .then((header) => {
          if (header) remember(s, header as RpcHeader, false)
          return header !== null && header !== undefined
        })
        .catch(() => false)
    const missing: number[] = []
    const floor = Math.max(confirmedHead.number, top.number - WINDOW / 2)
    for (let n = top.number - 1; n > floor; n--) if (!s.hashes.has(n)) missing.push(n)
    await Promise.all(missing.map((n) => ask('eth_getBlockByNumber', `0x${n.toString(16)}`)))
    for (let i = 0; i < 8; i++) {
      const l = linkOf(top.hash)
      if (l.state !== 'unknown' || !(await ask('eth_getBlockByHash', l.missing))) return
    }
  }

  /**
   * Should `s`'s head be linked to the agreed chain before deciding? Only where the answer
   * matters: it could stand in alone (fewer domains than a confirmation count), or show that
   * another domain's old head is stale.
   */
  const wantsLink = (s: SourceState, among: readonly SourceState[]) => {
    if (!confirmedHead || !s.head || s.head.number <= confirmedHead.number) return false
    if (linkOf(s.head.hash).state !== 'unknown') return false
    const t = now()
    const old = (x: SourceState) => {
      const time = x.head ? timeOf(x.head.hash) : undefined
      return time !== undefined && time < t - maxAge()
    }
    return (
      quorumAmong(among.filter(counts)) < trustQuorum ||
      o.sources.some((x) => x.domain !== s.domain && old(x))
    )
  }

  /**
   * Judges every source's head by its timestamp (headClock.ts): stale ones are set aside, future
   * ones refused. True if a verdict changed.
   */
  const judge = (): boolean => {
    const t = now()
    const heads = o.sources.map((s): TimedHead | undefined => {
      const time = s.head ? timeOf(s.head.hash) : undefined
      if (!s.head || time === undefined || !o.eligible(s)) return undefined
      const { number, hash } = s.head
      const domains = new Set(
        o.sources.filter((x) => x.hashes.get(number) === hash).map((x) => x.domain),
      ).size
      return {
        domain: s.domain,
        number,
        time,
        domains,
        extendsAgreed:
          confirmedHashes.get(number) === hash ||
          (!!confirmedHead &&
            number > confirmedHead.number &&
            linkOf(hash).state === 'linked' &&
            plausibleAt(number, t)),
      }
    })
    const verdicts = judgeHeads(heads, {
      now: t,
      maxAge: maxAge(),
      maxSkew,
      maxLag: o.maxLead,
      trustQuorum,
    })
    let changed = false
    o.sources.forEach((s, i) => {
      const v = verdicts[i]
      if (v?.kind !== s.headVerdict?.kind) changed = true
      s.headVerdict = v
    })
    return changed
  }
  /** Could the chain be at `n`, counting the confirmed head's age from its timestamp? */
  const plausibleAt = (n: number, t: number) =>
    !confirmedHead ||
    n <=
      confirmedHead.number +
        o.maxLead +
        Math.floor(Math.max(0, t - Math.min(confirmedHead.at, confirmedHead.time)) / blockTime())
  /** A source whose head is stale is set aside: it neither backs heads nor counts in the quorum. */
  const counts = (s: SourceState) => s.headVerdict?.kind !== 'stale'

  /** Each source's standing against the head: lag, fork, a head ahead of what can be. */
  const mark = (head: Head) => {
    judge()
    for (const s of o.sources) {
      s.lag = s.head ? Math.max(0, head.number - s.head.number) : 0
      const mine = s.hashes.get(head.number)
      const theirs = s.head ? confirmedHashes.get(s.head.number) : undefined
      s.forked =
        (mine !== undefined && mine !== head.hash) ||
        (theirs !== undefined && s.head !== undefined && theirs !== s.head.hash)
      s.unconfirmed = s.head !== undefined && !plausible(s.head.number)
    }
  }

  /** Makes `c` the head if `accepts` allows; true if it is the head now. */
  const settle = (c: Candidate): boolean => {
    if (!accepts(c)) {
      // A lower confirmed head from a lagging subset: at least stop standing on a claim
      // that no second domain backs.
      if (c.domains >= trustQuorum && !agreedConfirmed && confirmedHead)
        return settle(backers(confirmedHead))
      return false
    }
    const confirmed = c.domains >= trustQuorum
    const head: Head = { number: c.number, hash: c.hash }
    if (confirmed) {
      const header = headers.get(c.hash)
      if (header) o.onTrusted?.(header)
      if (confirmedHead && c.number < confirmedHead.number) {
        for (const n of confirmedHashes.keys()) if (n > c.number) confirmedHashes.delete(n)
        askedFor = Math.min(askedFor, c.number)
      }
      if (confirmedHead?.hash !== c.hash) linked.clear()
      confirmedHead = {
        ...head,
        at: seenAt(head, o.sources),
        time: timeOf(c.hash) ?? Number.POSITIVE_INFINITY,
      }
      pace.push({ number: c.number, at: confirmedHead.at })
      if (pace.length > 32) pace.shift()
      confirmedHashes.set(c.number, c.hash)
      if (confirmedHashes.size > WINDOW)
        confirmedHashes.delete(confirmedHashes.keys().next().value as number)
    }
    agreed = head
    agreedConfirmed = confirmed
    // Its age counts from when the sources said so, not from when they agreed: a head settled
    // after waiting on silent sources is already that old.
    agreedAt = seenAt(head, o.sources)
    mark(head)
    o.onUpdate(head)
    return true
  }

  /** A confirmed head as a candidate again (its backers are whoever reports it now). */
  const backers = (h: Head): Candidate => ({
    ...h,
    backers: o.sources.filter((s) => s.hashes.get(h.number) === h.hash),
    domains: trustQuorum,
  })

  /**
   * True when the source answered (a poll already running counts as not answering now). Its
   * head is linked to the agreed chain first where that matters (`wantsLink`, among `targets`).
   */
  const poll = (s: SourceState, targets: readonly SourceState[]): Promise<boolean> => {
    if (polling.has(s)) return Promise.resolve(false)
    const signal = AbortSignal.timeout(Math.ceil(o.pollTimeout(s)))
    polling.add(s)
    return o
      .attempt(s, 'eth_getBlockByNumber', ['latest', false], signal)
      .then(async (header) => {
        remember(s, header as RpcHeader, true)
        if (wantsLink(s, targets)) await link(s)
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
            .then((header) => remember(s, header as RpcHeader, false))
            .catch(() => {}),
        ),
    )
  }

  /** Domains to agree: the configured quorum, reduced to the domains among `among`. */
  const quorumAmong = (among: readonly SourceState[]) =>
    Math.max(1, Math.min(o.quorumDomains, new Set(among.map((s) => s.domain)).size))

  const refresh = (): Promise<void> => {
    inflight ??= (async () => {
      let targets: readonly SourceState[] = o.sources.filter(o.eligible)
      const forced = targets.length === 0 && o.lastResort !== undefined
      if (forced) targets = o.lastResort!()
      // Sources set aside as stale are not waited for: they no longer count in the quorum.
      const want = () => quorumAmong(targets.filter(counts))
      const answered: SourceState[] = []
      let settled = false
      await new Promise<void>((resolve) => {
        let pending = targets.length
        if (pending === 0) return resolve()
        // Once some source answered, the silent rest get a few of their round trips, not the
        // whole poll timeout: then the head is settled among those that answered (below).
        let patience: unknown
        const done = () => {
          clock.clearTimeout(patience)
          resolve()
        }
        for (const s of targets) {
          poll(s, targets).then((ok) => {
            // A source that failed this poll does not vote with the head it had before.
            if (s.head && (ok || now() - s.head.at < o.pollingInterval)) answered.push(s)
            judge()
            const head = compute(want(), answered.filter(counts))
            if (head && settle(head)) {
              settled = true
              done()
            }
            if (--pending === 0) done()
            else if (ok && patience === undefined && o.patience)
              patience = clock.setTimeout(
                done,
                o.patience(targets.filter((t) => !answered.includes(t))),
              )
          })
        }
      })
      const responders = forced ? answered : answered.filter((s) => o.eligible(s))
      // Twice at most: the first head ever confirmed here may show at once that a domain whose
      // old head backed it is stale (a fresh head extends it).
      for (let round = 0; round < 2; round++) {
        // Heads whose place matters (one could stand in alone, or show another domain stale)
        // and whose link to the agreed chain is not known: fetch the blocks between, judge again.
        const linking = responders.filter((s) => wantsLink(s, responders))
        if (round > 0 && linking.length === 0) return
        await Promise.all(linking.map(link))
        const changed = judge()
        const among = responders.filter(counts)
        // Fill gaps when there was no agreement, or when the agreement trails what the sources
        // report (they polled on either side of a block: no common hash at the newest height).
        const q = settled && !changed ? want() : quorumAmong(among)
        const heads = [...new Set(among.map((s) => s.head!.number))].sort((a, b) => b - a)
        const target = heads[Math.min(q, heads.length) - 1]
        if (settled && !changed && (target === undefined || !agreed || target <= agreed.number))
          return
        if (target !== undefined) await fill(target, among)
        const head = compute(q, among)
        if (head && settle(head)) settled = true
        else if (agreed) mark(agreed)
      }
    })().finally(() => {
      inflight = undefined
    })
    return inflight
  }

  const get = async (): Promise<Head> => {
    const age = now() - agreedAt
    // Slightly stale: answer now and refresh behind (stale-while-revalidate). After an idle
    // spell the cached head is too old to pin `latest` to: wait for a fresh one. A head no
    // second domain confirmed is asked again each time: the others may be back.
    if (!agreed || age >= 3 * Math.max(o.pollingInterval, 500)) await refresh()
    else if (age >= o.pollingInterval || !agreedConfirmed) refresh().catch(() => {})
    if (!agreed)
      throw new AllSourcesFailedError(
        'eth_getBlockByNumber(latest)',
        o.sources.map((s) => ({ source: s.name, reason: s.lastError ?? 'no agreed head' })),
      )
    return agreed
  }

  const confirm = async (s: SourceState, header: unknown): Promise<RpcHeader | undefined> => {
    const h = header as RpcHeader
    const hash = typeof h?.hash === 'string' ? h.hash.toLowerCase() : undefined
    // Pushed, it did not pass through an attempt: bounded here like any answer.
    if (!hash || checkShape(h)) return undefined
    remember(s, h, true)
    const number = Number.parseInt(String(h.number), 16)
    if (s.hashes.get(number) !== hash) return undefined
    if (agreed?.hash !== hash) {
      const fresh = o.sources.filter(
        (x) => x.head && now() - x.head.at < o.pollingInterval && o.eligible(x) && counts(x),
      )
      const c = compute(quorumAmong(o.sources.filter((x) => o.eligible(x) && counts(x))), fresh)
      // Ask the others once per new plausible height: a source pushing heads (siblings, made-up
      // heights) cannot make us poll everyone faster than the chain moves.
      if ((!c || c.hash !== hash || !settle(c)) && number > askedFor && plausible(number)) {
        askedFor = number
        await refresh()
      }
    }
    return agreed?.hash === hash && agreedConfirmed ? headers.get(hash) : undefined
  }

  return {
    get,
    peek: () => agreed,
    confirmed: () => agreedConfirmed,
    hashAt: (n) =>
      confirmedHashes.get(n) ??
      (agreed?.number === n && !agreedConfirmed ? agreed.hash : undefined),
    refresh,
    confirm,
    async blockNumber() {
      const head = await get()
      // One domain's claim counts only as far as the chain could have moved since the last
      // confirmed head: a fake height far ahead is never returned, so nothing sticks to it.
      const n = agreedConfirmed ? head.number : Math.min(head.number, reach())
      highestReturned = Math.max(highestReturned, n)
      return highestReturned
    },
  }
}
