/**
 * May a stream (subscriptions, filters) move to a polled head? Streams carry no label, so a head
 * fewer domains back than a confirmation needs waits while another domain, up, does not back it.
 * Pure; follow/streams.ts gives it the engine's sources. See docs/architecture.md.
 */
import type { SourceState } from '../sourceState.ts'

/**
 * Why block `n` with `hash` must not reach streams yet: the domains that are up (`up(s)`) and do
 * not back it, when fewer than `trustQuorum` domains back it. Undefined when it may: confirmed,
 * or every other domain is out (an outage: streams flow from the last domain standing).
 */
export function heldBack(
  n: number,
  hash: string,
  among: readonly SourceState[],
  trustQuorum: number,
  up: (s: SourceState) => boolean,
): string | undefined {
  const backing = new Set(among.filter((s) => s.hashes.get(n) === hash).map((s) => s.domain))
  if (backing.size >= trustQuorum) return undefined
  const against = among.filter((s) => !backing.has(s.domain) && up(s))
  if (against.length === 0) return undefined
  const domains = [...new Set(against.map((s) => s.domain))].join(', ')
  return `block #${n} is backed by fewer than ${trustQuorum} domains while ${domains}, up, stand at #${against[0]!.head?.number}: held until a second domain backs it`
}
