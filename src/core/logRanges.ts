/**
 * Providers' limits on `eth_getLogs`: a range too wide (most cap it between 500 and 10,000
 * blocks) or too many results (10,000 logs) is refused with an error whose wording differs per
 * provider. Each source's refusal is read here: what span to ask instead, and whether that span
 * is the source's own limit (learned, so that its next wide query is split before it is sent)
 * or only fits this query (a result cap depends on how many logs the blocks hold).
 *
 * A source's answer is the join of its parts, in order; the quorum compares joined answers, so
 * a split changes how a source is asked, never what counts as its answer.
 */
import { RpcResponseError } from '../shared/errors.ts'

/** What a refusal says to do instead. */
export type SpanHint = {
  /** Blocks per query to ask instead (at least 1, below the refused span). */
  span: number
  /** The source's own range limit, kept for its next queries (else it fits this query only). */
  learned: boolean
}

/** Most parts one source's answer may be joined from, so that no limit (or liar) makes a flood. */
export const MAX_LOG_PARTS = 1_000

/** A count as providers write it: `10000`, `10,000`, `10.000`, `2K`. */
function count(text: string): number {
  const k = /k$/i.test(text)
  const n = Number(text.replace(/[,.]|k$/gi, ''))
  return k ? n * 1_000 : n
}

/**
 * A provider's stated range limit, in blocks (Alchemy "up to a 2K block range", QuickNode
 * "limited to a 10,000 range", Cloudflare "Max range: 800", publicnode "maximum block range:
 * 50000", thirdweb, Avalanche, Coinbase, BlockPI, Moonbeam, Ankr, Base-style "greater than N
 * max"…). The wording varies; each pattern carries the number.
 */
const RANGE_LIMITS: ReadonlyArray<[RegExp, (n: number) => number]> = [
  [/up to an? ([\d,.]+k?) block range/i, (n) => n],
  [/limited to an? ([\d,.]+k?) (?:block )?range/i, (n) => n],
  [/limited to ([\d,.]+k?) blocks?/i, (n) => n],
  [/max(?:imum)? (?:block )?range(?: is|:)? ([\d,.]+k?)/i, (n) => n],
  [/maximum is set to ([\d,.]+)/i, (n) => n],
  [/at most ([\d,.]+k?) blocks/i, (n) => n],
  [/exceeds max block range ([\d,.]+)/i, (n) => n],
  [/block range (?:greater than|exceeds) ([\d,.]+k?)/i, (n) => n],
  [/blocks distance: ([\d,.]+)/i, (n) => n],
  [/number of requested blocks is ([\d,.]+)/i, (n) => n],
  [/range allowed for your plan \(\d+ > (\d+)\)/i, (n) => n],
  [/range is too large, max is ([\d,.]+k?) blocks/i, (n) => n],
  [/block range is too wide \(maximum (\d+)\)/i, (n) => n],
]

/** "Try with this block range [0x1, 0x7d0]" (Infura, zkSync), "should work: [0x…, 0x…]" (Alchemy). */
const SUGGESTED = /\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]/i

/** A refusal that names no number: a range or result limit; half the span is asked. */
const TOO_MUCH =
  /range (?:is )?too (?:large|wide|big)|range limit exceeded|too many (?:blocks|results|logs)|more than [\d,.]+ (?:results|logs)|exceeds? max(?:imum)? results|response size|response too large|logs matched by query exceeds|exceed(?:s|ed)? (?:the )?(?:max(?:imum)? )?(?:block )?range/i

/**
 * What `error`, a source's refusal of an `eth_getLogs` over `span` blocks, says to ask instead;
 * `undefined` if it is no limit (or no narrower span is left to try).
 */
export function spanHint(error: unknown, span: number): SpanHint | undefined {
  if (!(error instanceof RpcResponseError) || span <= 1) return undefined
  const text = `${error.reason} ${typeof error.data === 'string' ? error.data : ''}`
  const fits = (n: number, learned: boolean): SpanHint | undefined =>
    Number.isSafeInteger(n) && n >= 1 && n < span ? { span: n, learned } : undefined
  for (const [pattern, toSpan] of RANGE_LIMITS) {
    const m = pattern.exec(text)
    // A stated limit is the source's own; a limit no narrower than what it refused is no hint.
    if (m?.[1]) return fits(toSpan(count(m[1])), true) ?? fits(Math.floor(span / 2), false)
  }
  const suggested = SUGGESTED.exec(text)
  if (suggested?.[1] && suggested[2]) {
    const n = Number(BigInt(suggested[2]) - BigInt(suggested[1])) + 1
    return fits(n, false) ?? fits(Math.floor(span / 2), false)
  }
  return TOO_MUCH.test(text) ? fits(Math.floor(span / 2), false) : undefined
}

/** An `eth_getLogs` filter over numbered blocks, `from` to `to` inclusive. */
export type LogRange = { from: number; to: number }

const blockNumber = (v: unknown): number | undefined =>
  typeof v === 'string' && /^0x[0-9a-f]{1,13}$/i.test(v) ? Number.parseInt(v, 16) : undefined

/** The filter's numbered range, or `undefined` (a `blockHash` filter, a tag, a bad range). */
export function rangeOf(filter: unknown): LogRange | undefined {
  if (!filter || typeof filter !== 'object' || 'blockHash' in filter) return undefined
  const f = filter as Record<string, unknown>
  const from = blockNumber(f.fromBlock)
  const to = blockNumber(f.toBlock)
  return from !== undefined && to !== undefined && from <= to ? { from, to } : undefined
}

/** `range` cut into consecutive parts of at most `span` blocks, in order. */
export function partsOf({ from, to }: LogRange, span: number): LogRange[] {
  const parts: LogRange[] = []
  for (let start = from; start <= to; start += span)
    parts.push({ from: start, to: Math.min(to, start + span - 1) })
  return parts
}

const hex = (n: number) => `0x${n.toString(16)}`

/** The filter narrowed to `range`. */
export const withRange = (filter: object, { from, to }: LogRange): object => ({
  ...filter,
  fromBlock: hex(from),
  toBlock: hex(to),
})
