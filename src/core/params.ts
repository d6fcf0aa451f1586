/**
 * A caller's hash and block parameters, checked and spelled one way before anything reads them:
 * the request's key, the rules (rules.ts) and every source see that spelling. Nodes read some
 * other spellings their own way (anvil takes a hash without `0x`, `LATEST`, `null` for `latest`;
 * geth refuses some of them): a check that keys on one spelling must not be skipped by another.
 * What is no hash or block is the caller's error (-32602), and no source is asked.
 */
import { ProviderRpcError } from '../shared/errors.ts'
import { readableFilter, runsBackwards } from '../shared/logFilter.ts'
import type { MethodPolicy } from './policy.ts'

/** A block or transaction hash: `0x` and 64 hex digits. */
export const isHash = (v: unknown): v is string =>
  typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v)

const lowerHash = (v: unknown) => (isHash(v) ? v.toLowerCase() : undefined)

/** A block parameter spelled one way: a tag, a number, a block hash, or EIP-1898's hash form. */
export type BlockParam = string | { blockHash: string; requireCanonical?: boolean }

const TAGS = new Set(['latest', 'earliest', 'pending', 'safe', 'finalized'])

/**
 * A block parameter spelled one way, or undefined when it is none: `null` is `latest`; a tag in
 * lower case; a number without leading zeros (64 bits at most); a hash (66 characters, as geth
 * reads them) in lower case; `{ blockNumber: n }` is n; `{ blockHash, requireCanonical? }` stays
 * an object. Anything else (a JSON number, an unknown tag, other keys) is undefined.
 */
export function blockParam(value: unknown): BlockParam | undefined {
  if (value === null) return 'latest'
  if (typeof value === 'string') return lowerHash(value) ?? blockNumber(value)
  if (!value || typeof value !== 'object') return undefined
  const { blockNumber: n, blockHash, requireCanonical, ...rest } = value as Record<string, unknown>
  if (Object.keys(rest).length > 0) return undefined
  if (n !== undefined)
    return blockHash === undefined && requireCanonical === undefined ? blockNumber(n) : undefined
  const hash = lowerHash(blockHash)
  if (!hash || (requireCanonical !== undefined && typeof requireCanonical !== 'boolean'))
    return undefined
  return requireCanonical === undefined
    ? { blockHash: hash }
    : { blockHash: hash, requireCanonical }
}

/** A tag in lower case, or a quantity; else undefined. */
const blockNumber = (v: unknown) =>
  typeof v === 'string' && TAGS.has(v.toLowerCase()) ? v.toLowerCase() : quantity(v)

/** A quantity in lower case without leading zeros (at most 64 bits); else undefined. */
function quantity(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^0x[0-9a-f]+$/i.test(value)) return undefined
  const digits = value
    .slice(2)
    .toLowerCase()
    .replace(/^0+(?=.)/, '')
  return digits.length <= 16 ? `0x${digits}` : undefined
}

/** Block lookups whose second param says whether to give full transactions. */
const BLOCK_LOOKUP = /^eth_getBlockBy(Hash|Number)$/

/** Lookups whose second param is a transaction's index, compared as spelled (txRules.ts). */
const INDEXED = /^eth_getTransactionByBlock(Hash|Number)AndIndex$/

/**
 * `params` with the hash and block parameters `policy` names spelled one way (an omitted block
 * stays omitted: it is `latest`), a transaction's index, and an `eth_getLogs` filter's blocks;
 * throws the caller's -32602 for one that is none.
 */
export function checkedParams(
  method: string,
  params: readonly unknown[],
  policy: MethodPolicy,
): unknown[] {
  const out = [...params]
  const { hashParam: h, blockParam: b } = policy
  if (h !== undefined) out[h] = lowerHash(out[h]) ?? refuse(method, `param ${h} is no hash`)
  if (b !== undefined && out[b] !== undefined)
    out[b] = blockParam(out[b]) ?? refuse(method, `param ${b} is no block`)
  if (INDEXED.test(method)) out[1] = quantity(out[1]) ?? refuse(method, 'param 1 is no index')
  // A block's "full transactions" flag: a boolean, as nodes read it ('false' a string is -32602).
  if (BLOCK_LOOKUP.test(method) && out[1] != null && typeof out[1] !== 'boolean')
    refuse(method, 'param 1, full transactions or not, is no boolean', '')
  if (method === 'eth_getLogs') out[0] = logFilter(out[0])
  if (method === 'eth_feeHistory') feeHistoryParams(out)
  return out
}

/**
 * `eth_feeHistory`'s count (a quantity, a decimal string or a number, as geth reads it) and
 * reward percentiles (numbers from 0 to 100, none below the one before), checked here as nodes
 * check them: the nodes' -32602 is no one's failure (policy.ts `isCallersError`), and beside
 * it one domain's made-up history was the last answer standing (reviewOfSession39b).
 */
function feeHistoryParams([count, , percentiles, ...rest]: unknown[]) {
  const counts =
    (typeof count === 'string' && /^(?:0x[0-9a-f]{1,16}|\d{1,19})$/i.test(count)) ||
    (typeof count === 'number' && Number.isSafeInteger(count) && count >= 0)
  if (!counts) refuse('eth_feeHistory', 'param 0, the block count, is no number', '')
  const rising = (p: unknown, i: number, all: unknown[]) =>
    typeof p === 'number' && p >= 0 && p <= 100 && (i === 0 || p >= (all[i - 1] as number))
  if (percentiles != null && !(Array.isArray(percentiles) && percentiles.every(rising)))
    refuse('eth_feeHistory', 'param 2 is no list of percentiles from 0 to 100, rising', '')
  if (rest.length > 0) refuse('eth_feeHistory', 'it takes 3 params at most', '')
}

/**
 * A logs filter's `fromBlock` and `toBlock` spelled one way and its `blockHash` checked; `null`
 * is none (a bound is then `latest`, as geth reads it; rules.ts reads a filter with a
 * `blockHash` as one pinned by hash). Addresses and topics nodes cannot read (a 19-byte
 * address, five positions) and a `blockHash` beside a bound are refused as nodes refuse them:
 * the nodes' -32602 beside one domain's made-up `[]` left that standing (reviewOfSession39b).
 */
function logFilter(filter: unknown): Record<string, unknown> {
  if (!filter || typeof filter !== 'object' || Array.isArray(filter))
    refuse('eth_getLogs', 'param 0 is no filter object', '')
  if (!readableFilter(filter))
    refuse(
      'eth_getLogs',
      "the filter's address is no 20-byte address (or list of them), or its topics no list of at most 4 positions, each null, a 32-byte topic or a list of them",
      '',
    )
  const f: Record<string, unknown> = { ...filter }
  for (const key of ['fromBlock', 'toBlock', 'blockHash']) {
    if (f[key] === null || f[key] === undefined) delete f[key]
    else
      f[key] =
        (key === 'blockHash' ? lowerHash(f[key]) : blockNumber(f[key])) ??
        refuse('eth_getLogs', `the filter's ${key} is none`)
  }
  if (runsBackwards(f)) refuse('eth_getLogs', "the filter's fromBlock is past its toBlock", '')
  if (f.blockHash !== undefined && (f.fromBlock !== undefined || f.toBlock !== undefined))
    refuse(
      'eth_getLogs',
      'the filter names a blockHash and a fromBlock or toBlock: one or the other',
      '',
    )
  return f
}

/** The caller's own error (-32602): no source is asked. */
function refuse(method: string, why: string, hint = SPELLINGS): never {
  throw new ProviderRpcError(-32602, `${method}: ${why}${hint}.`)
}
const SPELLINGS = ' (a hash is 0x and 64 hex digits; a block a tag, a 0x number or a block hash)'
