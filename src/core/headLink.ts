/**
 * Does a head extend the agreed chain? Its parent hashes walked down to the confirmed head
 * through the headers the head tracker (head.ts) kept. See docs/architecture.md.
 */
import type { Head, RpcHeader } from './head.ts'

/** `unknown` names the first block whose header is missing. */
export type Link = { state: 'linked' | 'broken' } | { state: 'unknown'; missing: string }

/**
 * Does `hash` extend the agreed chain, walking parent hashes down to `confirmed` through
 * `headers`? `linked` holds the blocks known to descend from `confirmed` and their numbers (the
 * caller clears it when `confirmed` moves): a walk that links adds its path, keeping at most
 * `keep` of them.
 */
export function linkOf(
  hash: string,
  confirmed: Head | undefined,
  headers: ReadonlyMap<string, RpcHeader>,
  linked: Map<string, number>,
  keep: number,
): Link {
  if (!confirmed) return { state: 'broken' }
  const path: [string, number][] = []
  let h = hash
  /** The number the block at `h` must have: its child's, less one. */
  let expected: number | undefined
  const found = () => {
    for (const [p, n] of path) linked.set(p, n)
    while (linked.size > keep) linked.delete(linked.keys().next().value as string)
    return { state: 'linked' as const }
  }
  for (;;) {
    if (h === confirmed.hash)
      return expected === undefined || expected === confirmed.number ? found() : { state: 'broken' }
    const known = linked.get(h)
    if (known !== undefined)
      return expected === undefined || expected === known ? found() : { state: 'broken' }
    const header = headers.get(h)
    if (!header) return { state: 'unknown', missing: h }
    const number = Number.parseInt(String(header.number), 16)
    if ((expected !== undefined && number !== expected) || number <= confirmed.number)
      return { state: 'broken' }
    path.push([h, number])
    expected = number - 1
    h = String(header.parentHash).toLowerCase()
  }
}
