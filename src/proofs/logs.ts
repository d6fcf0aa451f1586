/**
 * `eth_getLogs` proven against receipts. Every block the filter covers gets a trusted header
 * (the block's own for a `blockHash` filter; for a range, the headers chained by parent hash
 * to a trusted one). Blocks whose `logsBloom` may match the filter have their receipts
 * rebuilt against `receiptsRoot`; blocks whose bloom excludes it can hold no matching log.
 * The answer must then be exactly the matching logs: none dropped, added, altered or reordered.
 */
import type { ProverContext } from '../core/prover.ts'
import { readableFilter } from '../shared/logFilter.ts'
import { mapLimit } from '../shared/mapLimit.ts'
import { sameHex } from '../verify/fields.ts'
import {
  type LogFilter,
  logsBloomMayContain,
  type RpcLog,
  type RpcReceipt,
  verifyLogsAgainstReceipts,
} from '../verify/receipts.ts'
import { checkBlockTimestamp } from '../verify/trie.ts'
import { blockNumberOf, isHash } from './blockTag.ts'
import { fetchHeader, type Header, headersBelow } from './headers.ts'
import { provenLog, provenReceipts } from './receipts.ts'
import { movedUnderProof } from './reorg.ts'

export type LogRangeOptions = {
  /** Longest block range proven; longer ones are left to quorum. */
  maxLogRange: number
  /** Requests in flight at once to the source. */
  concurrency: number
}

type Filter = LogFilter & { blockHash?: unknown; fromBlock?: unknown; toBlock?: unknown }

/**
 * `eth_getLogs` with a `blockHash` filter (as subscriptions use) or a block range: the logs must
 * be exactly the matching logs of the proven receipts of the blocks whose bloom may match.
 */
export async function proveLogs(
  params: readonly unknown[],
  ctx: ProverContext,
  o: LogRangeOptions,
): Promise<unknown> {
  const filter = params[0] as Filter | undefined
  // A filter nodes do not read is the caller's error, as the nodes say by quorum: a source's
  // `[]` for it must not stand as proven (no bloom and no receipt holds such a value).
  if (!filter || typeof filter !== 'object' || !readableFilter(filter)) return undefined
  const byHash = filter.blockHash !== undefined
  const headers = byHash ? await blockHeader(filter, ctx) : await rangeHeaders(filter, ctx, o)
  if (!headers) return undefined
  const query = byHash
    ? filter
    : { ...filter, fromBlock: headers[0]!.number, toBlock: headers.at(-1)!.number }
  const [logs, receipts] = await Promise.all([
    ctx.call('eth_getLogs', [query]),
    mapLimit(headers, o.concurrency, (h) =>
      mayContain(h, filter) ? provenReceipts(ctx, h) : Promise.resolve([]),
    ),
  ])
  if (receipts.some((r) => r === undefined)) return undefined
  try {
    verifyLogsAgainstReceipts(logs as RpcLog[], receipts as RpcReceipt[][], filter)
  } catch (error) {
    // A range is read by number: a source that reorged between our headers and its logs
    // answered honestly about another chain. That proves nothing either way; it is no lie.
    const rs = receipts as RpcReceipt[][]
    if (!byHash && (await movedUnderProof(ctx, headers, logs, rs, filter, o.concurrency)))
      return undefined
    throw error
  }
  // No hash covers a log's `blockTimestamp` (nodes add it): its block's header fixes it.
  const times = new Map(headers.map((h) => [h.hash.toLowerCase(), h.timestamp]))
  for (const [i, log] of (logs as RpcLog[]).entries())
    checkBlockTimestamp(
      log,
      times.get(String(log.blockHash).toLowerCase()),
      `logs[${i}].blockTimestamp`,
    )
  // Whatever else a source adds to a log, nothing checked: not returned as proven.
  return (logs as RpcLog[]).map(provenLog)
}

async function blockHeader(filter: Filter, ctx: ProverContext) {
  const header = isHash(filter.blockHash) ? await ctx.trusted(filter.blockHash) : undefined
  return header && [header.raw as Header]
}

/**
 * A range's headers: the top one trusted (the agreed head when the range starts within
 * `maxLogRange` blocks of it, else through `ctx.trusted`), the rest chained below it.
 */
async function rangeHeaders(filter: Filter, ctx: ProverContext, o: LogRangeOptions) {
  const fromTag = blockNumberOf(filter.fromBlock)
  const toTag = blockNumberOf(filter.toBlock)
  if (fromTag === undefined || toTag === undefined) return undefined
  const head = await ctx.head?.()
  if (!head && (fromTag === 'latest' || toTag === 'latest')) return undefined
  const from = fromTag === 'latest' ? head!.number : fromTag
  const to = toTag === 'latest' ? head!.number : toTag
  if (from > to || to - from + 1 > o.maxLogRange) return undefined
  if (head && to > head.number) return undefined // beyond the agreed chain: nothing vouches for it
  const anchored = head !== undefined && head.number - from < o.maxLogRange

  const top = await fetchHeader(ctx.call, anchored ? head.number : to)
  if (!top) return undefined // the source lacks the block: lagging
  if (anchored ? !sameHex(top.hash, head.hash) : !(await ctx.trusted(top.hash))) return undefined
  const below = await headersBelow(ctx.call, from, top, o.concurrency)
  return below && [...below, top].slice(0, to - from + 1)
}

const EMPTY_BLOOM = `0x${'00'.repeat(256)}`

/** False when the block holds no log that can match: an empty bloom, or one that excludes the filter. */
const mayContain = (h: Header, filter: LogFilter) =>
  !sameHex(h.logsBloom, EMPTY_BLOOM) &&
  logsBloomMayContain(h.logsBloom, filter.address, filter.topics)
