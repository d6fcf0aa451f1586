/**
 * A caller's hash and block parameters, checked and spelled one way before anything reads them:
 * the request's key, the rules (rules.ts) and every source see that spelling. Nodes read some
 * other spellings their own way (anvil takes a hash without `0x`, `LATEST`, `null` for `latest`;
 * geth refuses some of them): a check that keys on one spelling must not be skipped by another.
 * What is no hash or block is the caller's error (-32602), and no source is asked.
 */
import { ProviderRpcError } from '../shared/errors.ts'
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
  const filter = out[0]
  if (method === 'eth_getLogs' && filter && typeof filter === 'object' && !Array.isArray(filter))
    out[0] = logFilter(filter)
  return out
}

/**
 * A logs filter's `fromBlock` and `toBlock` spelled one way and its `blockHash` checked; `null`
 * is none (a bound is then `latest`, as geth reads it; rules.ts reads a filter with a
 * `blockHash` as one pinned by hash).
 */
function logFilter(filter: object): Record<string, unknown> {
  const f: Record<string, unknown> = { ...filter }
  for (const key of ['fromBlock', 'toBlock', 'blockHash']) {
    if (f[key] === null || f[key] === undefined) delete f[key]
    else
      f[key] =
        (key === 'blockHash' ? lowerHash(f[key]) : blockNumber(f[key])) ??
        refuse('eth_getLogs', `the filter's ${key} is none`)
  }
  return f
}

/** The caller's own error (-32602): no source is asked. */
function refuse(method: string, why: string): never {
  throw new ProviderRpcError(
    -32602,
    `${method}: ${why} (a hash is 0x and 64 hex digits; a block a tag, a 0x number or a block hash).`,
  )
}
