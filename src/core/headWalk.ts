/**
 * The deep parent-hash walk: does a head extend the confirmed head when the gap is deeper than
 * the headers the head tracker keeps? Loaded on first use (a domain stuck for many minutes).
 * See docs/architecture.md.
 */
import type { Head, RpcHeader } from './head.ts'
import type { Link } from './headLink.ts'

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
