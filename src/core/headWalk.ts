/**
 * Linking a source's head to the confirmed head (head.ts `link`): the headers between fetched by
 * number, then by hash, and the deep parent-hash walk when the gap is deeper than the headers the
 * head tracker keeps (a domain stuck for many minutes). Loaded with the first head to link: a
 * first read has no confirmed head yet. See docs/architecture.md.
 */
import { computeBlockHash } from '../verify/block.ts'
// Types only from head.ts: a value imported from it would have an app's bundler (vite) split
// head.ts and what it imports into chunks of their own, ~0.9 kB more to load first.
import type { Head, RpcHeader } from './head.ts'
import type { ConfirmedHead } from './headChoice.ts'
import type { Link } from './headLink.ts'
import type { SourceState } from './sourceState.ts'

/** How often (ms) one source may make us walk far down its chain (`linkDeep`). */
const DEEP_WALK_EVERY = 30_000

/** What the head tracker lends `linkHead` to link `s`'s head (head.ts `walker`). */
export type Walker = {
  s: SourceState
  /** How many heights below a head are fetched by number at most (half the heights kept). */
  byNumber: number
  /** A header from `s` by number or hash (`eth_getBlockByNumber`, `eth_getBlockByHash`). */
  fetch(method: string, param: string): Promise<RpcHeader | null>
  /** Keeps a header `s` sent, hash-checked (not as its head). */
  remember(header: RpcHeader): void
  linkOf(hash: string): Link
  /** Blocks known to descend from the confirmed head, and their numbers. */
  linked: Map<string, number>
  /** Each source's last deep walk: the confirmed head it went to, when. */
  deepWalked: WeakMap<SourceState, { from: string; at: number }>
  now(): number
  /** A kept header's parent hash. */
  parentOf(hash: string): unknown
  confirmedHead(): ConfirmedHead | undefined
}

/**
 * Fetches from `s` the headers below its head that are missing (by number, at once: at most
 * `byNumber` heights down, not below the confirmed head; then a few by hash, for a branch the
 * numbers did not give), so that `linkOf` can tell whether its head extends the agreed chain.
 * Further above the confirmed head, down to the highest block already linked, else the deep
 * walk (`linkDeep`).
 */
export async function linkHead(w: Walker, top: Head, confirmedHead: ConfirmedHead): Promise<void> {
  const { s } = w
  const ask = (method: string, param: string) =>
    w
      .fetch(method, param)
      .then((header) => {
        if (header) w.remember(header)
        return header !== null && header !== undefined
      })
      .catch(() => false)
  let floor = Math.max(confirmedHead.number, top.number - w.byNumber)
  const deep = top.number - confirmedHead.number > w.byNumber + 8
  if (deep) {
    // Far above the confirmed head: the blocks down to the highest one already linked (a
    // head this source had before, walked down once), or the deep walk.
    const below = Math.max(-1, ...[...w.linked.values()].filter((n) => n < top.number))
    if (below < floor) return linkDeep(w, top)
    floor = below
  }
  const missing: number[] = []
  for (let n = top.number - 1; n > floor; n--) if (!s.hashes.has(n)) missing.push(n)
  await Promise.all(missing.map((n) => ask('eth_getBlockByNumber', `0x${n.toString(16)}`)))
  for (let i = 0; i < 8; i++) {
    const l = w.linkOf(top.hash)
    if (l.state !== 'unknown') return
    if (deep) return linkDeep(w, top)
    if (!(await ask('eth_getBlockByHash', l.missing))) return
  }
}

/**
 * Links `top` to a confirmed head further down than the kept headers reach (`walkDown`): once
 * per source, confirmed head and 30 s, so a liar's made-up chains cannot make us walk again and
 * again.
 */
async function linkDeep(w: Walker, top: Head): Promise<void> {
  const { s } = w
  const confirmedHead = w.confirmedHead()
  const parentHash = w.parentOf(top.hash)
  if (!confirmedHead || typeof parentHash !== 'string') return
  const last = w.deepWalked.get(s)
  if (last?.from === confirmedHead.hash && w.now() - last.at < DEEP_WALK_EVERY) return
  w.deepWalked.set(s, { from: confirmedHead.hash, at: w.now() })
  const fetch = (n: number) => w.fetch('eth_getBlockByNumber', `0x${n.toString(16)}`)
  const hashOf = (header: RpcHeader) => {
    try {
      const hash = computeBlockHash(header as never)
      return hash === String(header.hash).toLowerCase() ? hash : undefined
    } catch {
      return undefined
    }
  }
  const state = await walkDown({ ...top, parentHash }, confirmedHead, fetch, hashOf)
  if (state === 'linked' && w.confirmedHead()?.hash === confirmedHead.hash)
    w.linked.set(top.hash, top.number)
}

/** A header as a source sent it, checked by the caller or not at all: `walkDown` checks it. */
type Fetched = RpcHeader | null | undefined

/**
 * Does `top` extend `confirmed` when the gap is too deep for the kept headers (a domain stuck
 * for many minutes)? Walks the parent hashes down in pages of `page` heights fetched by number
 * (`fetch`), each header hash-checked, keeping none of them: `linked` once the walk reaches
 * `confirmed`, `broken` when a parent hash, number or hash is wrong, `unknown` when a header is
 * missing or the gap is deeper than `limit` blocks.
 */
export async function walkDown(
  top: Head & { parentHash: string },
  confirmed: Head,
  fetch: (n: number) => Promise<Fetched>,
  hashOf: (header: RpcHeader) => string | undefined,
  { page = 64, limit = 2_048 } = {},
): Promise<Link['state']> {
  if (top.number - confirmed.number > limit) return 'unknown'
  let parent = top.parentHash.toLowerCase()
  let n = top.number - 1
  while (n > confirmed.number) {
    const low = Math.max(confirmed.number + 1, n - page + 1)
    const numbers = Array.from({ length: n - low + 1 }, (_, i) => n - i)
    const headers = await Promise.all(numbers.map((m) => fetch(m).catch(() => undefined)))
    for (const [i, header] of headers.entries()) {
      if (!header) return 'unknown'
      const hash = hashOf(header)
      if (
        hash !== parent ||
        Number.parseInt(String(header.number), 16) !== numbers[i] ||
        typeof header.parentHash !== 'string'
      )
        return 'broken'
      parent = header.parentHash.toLowerCase()
    }
    n = low - 1
  }
  return parent === confirmed.hash ? 'linked' : 'broken'
}
