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
 * Where trusted headers come from besides agreement: a light client (`@a16z/helios`,
 * `@lodestar/prover`) that follows the beacon chain's sync committee and hands outlast the
 * execution headers it verified. Return undefined for headers it does not know.
 */
export type TrustedHeaderHook = (
  block: { hash: Hex } | { number: bigint },
) => Promise<Record<string, unknown> | undefined>

export type TrustStoreOptions = {
  /** Block hashes the user trusts (checkpoints). */
  checkpoints: readonly string[]
  hook: TrustedHeaderHook | undefined
  /** A header by hash through the engine (it verifies the header hashes to its hash). */
  fetchHeader(hash: string): Promise<Record<string, unknown> | null>
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
}

const KEEP = 1_024

/**
 * Trusted headers: a header is trusted when sources in two failure domains agreed on its hash,
 * when it matches a checkpoint, when a light client vouches for it, or when a trusted header
 * descends from it by parent hashes. Every header is checked against its own hash first.
 */
export function createTrustStore(o: TrustStoreOptions): TrustStore {
  const byHash = new Map<string, TrustedHeader>()
  const checkpoints = new Set(o.checkpoints.map((h) => h.toLowerCase()))
  const maxDepth = o.maxDepth ?? 256
  let newest: TrustedHeader | undefined

  const add = (header: Record<string, unknown>, via: TrustedHeader['via']) => {
    let hash: string
    try {
      hash = computeBlockHash(header as never)
    } catch {
      return undefined
    }
    if (hash !== String(header.hash).toLowerCase()) return undefined
    const known = byHash.get(hash)
    if (known) return known
    const h: TrustedHeader = {
      number: Number.parseInt(String(header.number), 16),
      hash: hash as Hex,
      parentHash: String(header.parentHash).toLowerCase() as Hex,
      stateRoot: String(header.stateRoot).toLowerCase() as Hex,
      receiptsRoot: String(header.receiptsRoot).toLowerCase() as Hex,
      transactionsRoot: String(header.transactionsRoot).toLowerCase() as Hex,
      logsBloom: String(header.logsBloom).toLowerCase() as Hex,
      raw: checkedHeader(header),
      via,
    }
    byHash.set(hash, h)
    if (byHash.size > KEEP) byHash.delete(byHash.keys().next().value as string)
    if (!newest || h.number > newest.number) newest = h
    return h
  }

  const resolve = async (hashIn: string): Promise<TrustedHeader | undefined> => {
    const hash = hashIn.toLowerCase()
    const known = byHash.get(hash)
    if (known) return known
    if (o.hook) {
      const header = await o.hook({ hash: hash as Hex }).catch(() => undefined)
      const h = header && add(header, 'light-client')
      if (h) return h
    }
    const header = await o.fetchHeader(hash).catch(() => null)
    if (!header) return undefined
    if (checkpoints.has(hash)) return add(header, 'checkpoint')
    // Walk down from the nearest trusted header above it, by parent hash.
    const number = Number.parseInt(String(header.number), 16)
    let anchor: TrustedHeader | undefined
    for (const t of byHash.values())
      if (
        t.number > number &&
        t.number - number <= maxDepth &&
        (!anchor || t.number < anchor.number)
      )
        anchor = t
    for (let at = anchor; at && at.number > number; ) {
      const parent = byHash.get(at.parentHash) ?? (await fetchAndTrust(at.parentHash))
      if (!parent) return undefined
      at = parent
      if (at.number === number) return at.hash === hash ? at : undefined
    }
    return undefined
  }

  const fetchAndTrust = async (hash: string) => {
    const header = await o.fetchHeader(hash).catch(() => null)
    const h = header ? add(header, 'ancestor') : undefined
    return h?.hash === hash.toLowerCase() ? h : undefined
  }

  return { add, get: (h) => byHash.get(h.toLowerCase()), newest: () => newest, resolve }
}
