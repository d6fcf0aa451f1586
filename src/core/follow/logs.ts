import * as Bloom from 'ox/Bloom'
import { readableFilter } from '../../shared/logFilter.ts'
import type { Link } from './chainFollower.ts'

/** A log as JSON-RPC gives it. */
export type RpcLog = {
  address: string
  topics: string[]
  data: string
  blockNumber: string
  blockHash: string
  transactionHash: string
  transactionIndex: string
  logIndex: string
  removed?: boolean
}

/** The address and topics part of an `eth_subscribe('logs')` / `eth_newFilter` filter. */
export type LogFilter = {
  address?: string | string[]
  topics?: (string | string[] | null)[]
}

/**
 * A filter read for matching here: lowercased addresses (none: any address) and one set of
 * topics per position (none: any topic there).
 */
export type Matcher = {
  addresses: ReadonlySet<string> | undefined
  topics: readonly (ReadonlySet<string> | undefined)[]
}

/** Blocks per `eth_getLogs` range when backfilling. */
const RANGE = 100
/** A range's newest blocks without logs asked again by hash (a lagging logs index). */
const TRAILING = 8

const hex = (n: number) => `0x${n.toString(16)}`
const BLOOM = /^0x[0-9a-fA-F]{512}$/
const EMPTY_BLOOM = /^0x0{512}$/

/**
 * The matcher of a filter's `address` and `topics`, with the rules of geth's `filterLogs`: an
 * address list (empty: any) is an OR; each topic position is `null` (any), one topic, or an
 * OR-list (empty, or holding `null`: any); a log with fewer topics than the filter has
 * positions does not match. Undefined for a filter it cannot read (a value that is not an
 * address or a 32-byte topic, more than 4 positions): those are left to the node.
 */
export function matcherOf(filter: LogFilter): Matcher | undefined {
  if (!readableFilter(filter)) return undefined
  const { address, topics } = filter
  const lower = (list: readonly (string | null)[]) =>
    list.length === 0 || list.includes(null)
      ? undefined
      : new Set((list as string[]).map((x) => x.toLowerCase()))
  return {
    addresses: address == null ? undefined : lower([address].flat()),
    topics: (topics ?? []).map((t) => (t == null ? undefined : lower([t].flat()))),
  }
}

/** Whether `log` matches (see `matcherOf` for the rules). */
export function matches(log: RpcLog, m: Matcher): boolean {
  if (m.addresses && !m.addresses.has(String(log.address).toLowerCase())) return false
  const topics = Array.isArray(log.topics) ? log.topics : []
  if (m.topics.length > topics.length) return false
  return m.topics.every((set, i) => !set || set.has(String(topics[i]).toLowerCase()))
}

/**
 * One filter whose logs include every log any of `matchers` matches: no address if one of them
 * takes any address, else all their addresses; at each topic position, any topic if one of
 * them takes any topic there, else all their topics; no wildcard positions at the end (nodes
 * differ on whether those need the log to have as many topics). Each subscriber's own logs are
 * then picked out with `matches`.
 */
export function unionOf(matchers: readonly Matcher[]): LogFilter {
  const filter: LogFilter = {}
  if (matchers.every((m) => m.addresses)) {
    const all = [...new Set(matchers.flatMap((m) => [...m.addresses!]))].sort()
    filter.address = all.length === 1 ? all[0]! : all
  }
  const topics: (string | string[] | null)[] = []
  for (let i = 0; i < 4; i++) {
    if (!matchers.every((m) => m.topics[i])) {
      topics.push(null)
      continue
    }
    const all = [...new Set(matchers.flatMap((m) => [...m.topics[i]!]))].sort()
    topics.push(all.length === 1 ? all[0]! : all)
  }
  while (topics.length > 0 && topics.at(-1) === null) topics.pop()
  if (topics.length > 0) filter.topics = topics
  return filter
}

/**
 * Whether a block whose header carries `bloom` (its `logsBloom`, covered by the block hash)
 * may hold a log one of `matchers` matches: false when the bloom is empty (no logs at all), or
 * when for every matcher none of its addresses, or none of one position's topics, is in it
 * (keccak of the value, 3 × 11-bit indexes, `ox/Bloom`). True when the bloom is missing or
 * malformed: the logs are asked for.
 */
export function bloomMayMatch(bloom: unknown, matchers: readonly Matcher[]): boolean {
  if (typeof bloom !== 'string' || !BLOOM.test(bloom)) return true
  if (EMPTY_BLOOM.test(bloom)) return false
  const seen = new Map<string, boolean>()
  const has = (value: string) => {
    const known = seen.get(value)
    if (known !== undefined) return known
    const found = Bloom.contains(bloom as `0x${string}`, value as `0x${string}`)
    seen.set(value, found)
    return found
  }
  const any = (set: ReadonlySet<string> | undefined) => !set || [...set].some(has)
  return matchers.some((m) => any(m.addresses) && m.topics.every(any))
}

/**
 * The matching logs of `blocks` (consecutive, oldest first), grouped by block hash. Blocks
 * `ask` turns down get none without a request; the rest are fetched by hash one at a time,
 * or in ranges of at most 100 blocks. A log from a block that is not in `blocks` means the
 * chain moved under the query: those blocks are fetched again by hash.
 */
export async function logsOf(
  blocks: readonly Link[],
  filter: LogFilter,
  getLogs: (filter: object) => Promise<RpcLog[]>,
  ask: (block: Link) => boolean = () => true,
): Promise<Map<string, RpcLog[]>> {
  const byBlock = new Map<string, RpcLog[]>(blocks.map((b) => [b.hash, []]))
  const base = {
    ...(filter.address ? { address: filter.address } : {}),
    ...(filter.topics ? { topics: filter.topics } : {}),
  }
  const ranges: Link[][] = []
  for (const b of blocks) {
    if (!ask(b)) continue
    const range = ranges.at(-1)
    if (range && b.number - range[0]!.number < RANGE) range.push(b)
    else ranges.push([b])
  }
  const stale = new Set<Link>()
  for (const range of ranges) {
    if (range.length === 1) {
      const only = range[0]!
      byBlock.set(only.hash, await getLogs({ ...base, blockHash: only.hash }))
      continue
    }
    const hashes = new Set(range.map((b) => b.hash))
    const logs = await getLogs({
      ...base,
      fromBlock: hex(range[0]!.number),
      toBlock: hex(range.at(-1)!.number),
    })
    let last = -1
    for (const log of logs) {
      const hash = log.blockHash.toLowerCase()
      if (hashes.has(hash)) {
        byBlock.get(hash)!.push(log)
        last = Math.max(last, Number(log.blockNumber))
      } else
        for (const b of range) if (hex(b.number) === log.blockNumber.toLowerCase()) stale.add(b)
    }
    // A node lagging its logs index leaves out a range's newest blocks: the last few after its
    // last log are asked again by hash, where an agreed `[]` is checked (streams.ts; logSweep).
    for (const b of range.slice(-TRAILING)) if (last >= 0 && b.number > last) stale.add(b)
  }
  for (const b of stale) byBlock.set(b.hash, await getLogs({ ...base, blockHash: b.hash }))
  return byBlock
}

/** Orders logs as a node delivers them. */
export function byLogIndex(a: RpcLog, b: RpcLog): number {
  return Number.parseInt(a.logIndex, 16) - Number.parseInt(b.logIndex, 16)
}
