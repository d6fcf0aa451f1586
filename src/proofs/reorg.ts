/**
 * A log range is read by number, so an honest source whose chain moves between our headers and
 * its logs answers about another chain: that proves nothing, and it is no lie. Only the blocks
 * at fault are excused, and only when the source's own header there has moved.
 */
import type { ProverContext } from '../core/prover.ts'
import { mapLimit } from '../shared/mapLimit.ts'
import { type LogFilter, logMatches, type RpcLog, type RpcReceipt } from '../verify/receipts.ts'
import { fetchHeader, type Header } from './headers.ts'

const FIELDS = ['address', 'topics', 'data', 'logIndex', 'transactionHash', 'blockNumber'] as const
const key = (log: RpcLog) =>
  `${String(log?.blockHash).toLowerCase()}:${String(log?.logIndex).toLowerCase()}`
const same = (a: RpcLog, b: RpcLog) =>
  FIELDS.every((f) => JSON.stringify(a[f])?.toLowerCase() === JSON.stringify(b[f])?.toLowerCase())

/**
 * True when every mismatch between `logs` and the proven `receipts` lies in a block the source
 * has since replaced: a log naming a block that is not the verified one at its height, or a
 * matching log of a verified block that is missing. A log that names a verified block must be
 * that block's proven log exactly; anything else there is a lie with no excuse.
 */
export async function movedUnderProof(
  ctx: ProverContext,
  headers: readonly Header[],
  logs: unknown,
  receipts: readonly (readonly RpcReceipt[])[],
  filter: LogFilter,
  concurrency: number,
): Promise<boolean> {
  if (!Array.isArray(logs)) return false
  const verified = new Map(
    headers.map((h) => [Number.parseInt(h.number, 16), h.hash.toLowerCase()]),
  )
  const verifiedHashes = new Set(verified.values())
  const proven = new Map<string, RpcLog>()
  for (const block of receipts)
    for (const r of block) for (const log of r.logs) proven.set(key(log), log)

  // Heights at fault, with the block the source's logs named there (none for a missing log).
  const atFault = new Map<number, string | undefined>()
  const answered = new Set<string>()
  for (const log of logs as RpcLog[]) {
    answered.add(key(log))
    const named = String(log?.blockHash).toLowerCase()
    if (verifiedHashes.has(named)) {
      const expected = proven.get(key(log))
      if (!expected || !same(log, expected)) return false
      continue
    }
    const n = Number.parseInt(String(log?.blockNumber), 16)
    if (!verified.has(n) || (atFault.has(n) && atFault.get(n) !== named)) return false
    atFault.set(n, named)
  }
  for (const [k, log] of proven)
    if (!answered.has(k) && logMatches(log, filter) === 'yes') {
      const n = Number.parseInt(String(log.blockNumber), 16)
      if (!atFault.has(n)) atFault.set(n, undefined)
    }
  if (atFault.size === 0) return false // reordered or duplicated: not a moved chain

  const heights = [...atFault.keys()]
  const now = await mapLimit(heights, concurrency, (n) => fetchHeader(ctx.call, n))
  return heights.every((n, i) => {
    const current = now[i]?.hash.toLowerCase()
    if (current === verified.get(n)) return false // that block did not move: a lie
    const named = atFault.get(n)
    return named === undefined || current === undefined || named === current
  })
}
