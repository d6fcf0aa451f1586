import { mapLimit } from '../shared/mapLimit.ts'
import type { Hex } from '../shared/types.ts'
import { checkedHeader, computeBlockHash } from '../verify/block.ts'

/** The header fields that proofs are checked against. */
export type TrustedHeader = {
  number: number
  hash: Hex
  parentHash: Hex
  stateRoot: Hex
  receiptsRoot: Hex
  transactionsRoot: Hex
  logsBloom: Hex
  /** The header fields its hash covers (timestamp, base fee, withdrawalsRoot...), checked; nothing else a source sent. */
  raw: Readonly<Record<string, unknown>>
  /** Why it is trusted: agreed by domains, a configured checkpoint, a light client, or an ancestor of a trusted header. */
  via: 'agreed' | 'checkpoint' | 'light-client' | 'ancestor'
}

/**
 * Where trusted headers come from besides agreement: a light client that follows the beacon
 * chain's sync committee. For `{ hash }` it returns the execution header it verified, or `true`
 * to vouch for the hash alone (what `light()` from `outlast/light` knows: verified block hashes
 * and numbers, not whole headers): the header is then fetched by hash through the engine,
 * checked against that hash, and trusted. For `{ number }` it returns the verified block hash
 * at that height (or the header), for `{ latest: true }` that of the newest block it verified:
 * with a hook, state reads at `latest` are proven there, not at the head the sources agree on.
 * Undefined for blocks it does not know.
 */
export type TrustedHeaderHook = (
  block: { hash: Hex } | { number: bigint } | { latest: true },
) => Promise<Record<string, unknown> | Hex | true | undefined>

export type TrustStoreOptions = {
  /** Block hashes the user trusts (checkpoints). */
  checkpoints: readonly string[]
  hook: TrustedHeaderHook | undefined
  /** A header by hash through the engine (it verifies the header hashes to its hash). */
  fetchHeader(hash: string): Promise<Record<string, unknown> | null>
  /**
   * The block at a height from any source, unchecked: only a walk by parent hash that reaches
   * it makes it trusted. Lets `ancestorAt` ask for a stretch of headers at once, not one by one.
   * `agreed`: the block two domains agree on there, asked where the first answers did not link.
   */
  fetchHeaderAt?(number: number, agreed?: boolean): Promise<Record<string, unknown> | null>
  /** How far below the nearest trusted header an ancestor is looked for. @default 256 */
  maxDepth?: number
}

export type TrustStore = {
  /** A header that hashes to its hash, trusted for the reason given. */
  add(header: Record<string, unknown>, via: TrustedHeader['via']): TrustedHeader | undefined
  get(hash: string): TrustedHeader | undefined
  /** The newest trusted header. */
  newest(): TrustedHeader | undefined
  /** The header of `hash` if it can be trusted: known, a checkpoint, from the hook, or an ancestor of a trusted one. */
  resolve(hash: string): Promise<TrustedHeader | undefined>
  /** The hook's newest verified block, trusted (fetched by hash and checked); undefined without one. */
  latest(): Promise<TrustedHeader | undefined>
  /** The hook's verified block at height `number`, trusted; undefined without one. */
  verifiedAt(number: number): Promise<TrustedHeader | undefined>
  /**
   * Does `h` lie below `top` on its chain (walked down by parent hash, headers fetched and
   * checked where missing)? Undefined when it is further down than `maxDepth` or a header on the
   * way cannot be had.
   */
  descends(top: TrustedHeader, h: TrustedHeader): Promise<boolean | undefined>
  /**
   * The header at height `number` on `top`'s chain, walked down by parent hash (headers fetched
   * and checked where missing). Undefined above `top`, further down than `maxDepth`, or when a
   * header on the way cannot be had, or once `signal` aborts (nothing more is asked then).
   */
  ancestorAt(
    top: TrustedHeader,
    number: number,
    signal?: AbortSignal,
  ): Promise<TrustedHeader | undefined>
}

const KEEP = 1_024
/** Headers asked at once while walking down to a height (`ancestorAt`). */
const AT_ONCE = 16

/** The header's own block hash if it hashes to the hash it claims (lowercase), else undefined. */
function hashOf(header: Record<string, unknown>): string | undefined {
  try {
    const hash = computeBlockHash(header as never)
    return hash === String(header.hash).toLowerCase() ? hash : undefined
  } catch {
    return undefined
  }
}

/** A header checked by its hash, as the trust store keeps it. */
function trustedFrom(
  header: Record<string, unknown>,
  hash: Hex,
  via: TrustedHeader['via'],
): TrustedHeader {
  const hex = (key: string) => String(header[key]).toLowerCase() as Hex
  return {
    number: Number.parseInt(String(header.number), 16),
    hash,
    parentHash: hex('parentHash'),
    stateRoot: hex('stateRoot'),
    receiptsRoot: hex('receiptsRoot'),
    transactionsRoot: hex('transactionsRoot'),
    logsBloom: hex('logsBloom'),
    raw: checkedHeader(header),
    via,
  }
}

/** The lowest trusted header above `number`, at most `maxDepth` blocks above it. */
function nearestAbove(
  trusted: Iterable<TrustedHeader>,
  number: number,
  maxDepth: number,
): TrustedHeader | undefined {
  let anchor: TrustedHeader | undefined
  for (const t of trusted)
    if (t.number > number && t.number - number <= maxDepth && (!anchor || t.number < anchor.number))
      anchor = t
  return anchor
}

/**
 * Trusted headers: a header is trusted when sources in two failure domains agreed on its hash,
 * when it matches a checkpoint, when a light client vouches for it, or when a trusted header
 * descends from it by parent hashes. Every header is checked against its own hash first.
 */
export function createTrustStore(o: TrustStoreOptions): TrustStore {
  return new Store(o)
}

/** The trust store; its methods are bound (callers pass `store.resolve` on its own). */
class Store implements TrustStore {
  readonly #o: TrustStoreOptions
  readonly #byHash = new Map<string, TrustedHeader>()
  readonly #checkpoints: Set<string>
  readonly #maxDepth: number
  #newest: TrustedHeader | undefined
  /** Headers asked for by height while any walk is on (`#walks`): walks at once share them. */
  readonly #atHeight = new Map<number, Promise<Record<string, unknown> | undefined>>()
  #walks = 0

  constructor(o: TrustStoreOptions) {
    this.#o = o
    this.#checkpoints = new Set(o.checkpoints.map((h) => h.toLowerCase()))
    this.#maxDepth = o.maxDepth ?? 256
  }

  add = (header: Record<string, unknown>, via: TrustedHeader['via']) => {
    const hash = hashOf(header)
    if (hash === undefined) return undefined
    const known = this.#byHash.get(hash)
    if (known) return known
    const h = trustedFrom(header, hash as Hex, via)
    this.#byHash.set(hash, h)
    if (this.#byHash.size > KEEP) this.#byHash.delete(this.#byHash.keys().next().value as string)
    if (!this.#newest || h.number > this.#newest.number) this.#newest = h
    return h
  }

  get = (hash: string) => this.#byHash.get(hash.toLowerCase())

  newest = () => this.#newest

  resolve = async (hashIn: string): Promise<TrustedHeader | undefined> => {
    const hash = hashIn.toLowerCase()
    const known = this.#byHash.get(hash)
    if (known) return known
    const hooked = await this.#fromHook(hash)
    if (hooked.trusted) return hooked.trusted
    const header =
      'fetched' in hooked ? hooked.fetched : await this.#o.fetchHeader(hash).catch(() => null)
    if (!header) return undefined
    if (this.#checkpoints.has(hash)) return this.add(header, 'checkpoint')
    // Walk down from the nearest trusted header above it, by parent hash.
    const number = Number.parseInt(String(header.number), 16)
    const anchor = nearestAbove(this.#byHash.values(), number, this.#maxDepth)
    const at = anchor && (await this.#walkDown(anchor, number))
    return at?.number === number && at.hash === hash ? at : undefined
  }

  latest = () => this.#named({ latest: true })

  verifiedAt = async (number: number) => {
    const h = await this.#named({ number: BigInt(number) })
    return h?.number === number ? h : undefined
  }

  descends = async (top: TrustedHeader, h: TrustedHeader) => {
    if (h.number > top.number) return false
    if (top.number - h.number > this.#maxDepth) return undefined
    const at = await this.ancestorAt(top, h.number)
    return at && at.hash === h.hash // undefined: a header on the way could not be had
  }

  ancestorAt = async (top: TrustedHeader, number: number, signal?: AbortSignal) => {
    if (number > top.number || top.number - number > this.#maxDepth) return undefined
    this.#walks++
    try {
      return await this.#walkTo(top, number, signal)
    } finally {
      if (--this.#walks === 0) this.#atHeight.clear()
    }
  }

  /** What the hook says of `hash`: a header it vouches for, trusted, or the one fetched to check. */
  async #fromHook(hash: string) {
    const answer = await this.#o.hook?.({ hash: hash as Hex }).catch(() => undefined)
    if (answer === true) {
      // Vouched for by hash: the header must come from a source and hash to exactly that hash.
      const fetched = await this.#o.fetchHeader(hash).catch(() => null)
      const match = fetched && String(fetched.hash).toLowerCase() === hash
      return { trusted: match ? this.add(fetched, 'light-client') : undefined, fetched }
    }
    if (answer && typeof answer === 'object') return { trusted: this.add(answer, 'light-client') }
    return {}
  }

  /** The block the hook names for `block` (by its hash, or the header itself), trusted. */
  async #named(block: { number: bigint } | { latest: true }) {
    const answer = await this.#o.hook?.(block).catch(() => undefined)
    if (typeof answer === 'string') return this.resolve(answer)
    if (answer && typeof answer === 'object') return this.add(answer, 'light-client')
    return undefined
  }

  async #walkTo(top: TrustedHeader, number: number, signal?: AbortSignal) {
    // Down what is trusted already; the rest of the way asked for at once, then walked.
    let from = this.#linked(top, number)
    const ahead = new Map<string, Record<string, unknown>>()
    if (this.#o.fetchHeaderAt && from.number - number > 1) {
      from = this.#linked(from, number, await this.#headersAt(number, from.number, ahead, signal))
      // A height's first answer did not link (a node on a fork, or one answering with blocks off
      // the chain, fastest): the rest asked again, as two domains agree on it, then walked; not
      // one parent at a time past the deadline (test/adversarial/reviewOfWiderQuorums.test.ts).
      if (from.number - number > 1 && !signal?.aborted)
        from = this.#linked(
          from,
          number,
          await this.#headersAt(number, from.number, ahead, signal, true),
        )
    }
    const at = await this.#walkDown(from, number, ahead, signal)
    return at?.number === number ? at : undefined
  }

  /**
   * The header at height `number` below `top` by parent hash, fetched (trusted as ancestors)
   * where neither the trusted headers nor `ahead` have it (see `#linked`).
   */
  async #walkDown(
    top: TrustedHeader,
    number: number,
    ahead?: ReadonlyMap<string, Record<string, unknown>>,
    signal?: AbortSignal,
  ) {
    let at: TrustedHeader | undefined = top
    while (at && at.number > number && !signal?.aborted) {
      const linked = this.#linked(at, number, ahead)
      at = linked !== at ? linked : await this.#fetchAndTrust(at.parentHash)
    }
    return at
  }

  /**
   * The lowest header down to height `number` below `top` by parent hash that the trusted
   * headers and `ahead` reach (headers asked for by height, keyed by the hash they hash to: each
   * is trusted only if the walk reaches that hash).
   */
  #linked(
    top: TrustedHeader,
    number: number,
    ahead?: ReadonlyMap<string, Record<string, unknown>>,
  ) {
    let at = top
    for (let next: TrustedHeader | undefined = at; next && at.number > number; ) {
      const fetched = ahead?.get(at.parentHash)
      next = this.#byHash.get(at.parentHash) ?? (fetched && this.add(fetched, 'ancestor'))
      if (next) at = next
    }
    return at
  }

  /**
   * Headers at heights `from` to `to` - 1 added to `ahead`, keyed by the hash they hash to (only
   * the fields it covers kept), asked for at once (`agreed`: as two domains agree on each); none
   * more once `signal` aborts. Walks at the same time share their heights: each is asked once
   * while any walk is on.
   */
  async #headersAt(
    from: number,
    to: number,
    ahead: Map<string, Record<string, unknown>>,
    signal?: AbortSignal,
    agreed = false,
  ) {
    const heights = Array.from({ length: to - from }, (_, i) => to - 1 - i)
    await mapLimit(heights, AT_ONCE, async (n) => {
      if (signal?.aborted) return undefined
      const header = await this.#headerAt(n, agreed)
      const hash = header?.hash as string | undefined
      if (header && hash && !this.#byHash.has(hash)) ahead.set(hash, header)
      return true
    })
    return ahead
  }

  /**
   * The header at height `n` from any source (`agreed`: as two domains agree on it), if it hashes
   * to its hash; asked once per walk (agreed asks kept under -1 - n).
   */
  #headerAt(n: number, agreed: boolean) {
    const key = agreed ? -1 - n : n
    let asked = this.#atHeight.get(key)
    if (!asked) {
      asked = (this.#o.fetchHeaderAt?.(n, agreed) ?? Promise.resolve(null)).then(
        (h) => (h && hashOf(h) ? checkedHeader(h) : undefined),
        () => undefined,
      )
      this.#atHeight.set(key, asked)
    }
    return asked
  }

  async #fetchAndTrust(hash: string) {
    const header = await this.#o.fetchHeader(hash).catch(() => null)
    const h = header ? this.add(header, 'ancestor') : undefined
    return h?.hash === hash.toLowerCase() ? h : undefined
  }
}
