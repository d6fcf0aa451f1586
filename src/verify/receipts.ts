/**
 * Receipts and logs checked locally. A block's receipts trie is rebuilt (key = RLP(index), value =
 * the typed receipt encoding) and compared with the header's `receiptsRoot`; each receipt's
 * `logsBloom` is recomputed from its logs; the fields the trie does not commit to (block hash,
 * indexes, transaction hash) are checked for consistency. `eth_getLogs` answers are then checked
 * against verified receipts: exactly the matching logs, none dropped, added or altered.
 */
import * as Bytes from 'ox/Bytes'
import * as Hash from 'ox/Hash'
import * as Rlp from 'ox/Rlp'
import type { Hex } from '../shared/types.ts'
import type { RpcBlockHeader } from './block.ts'
import { mismatch, UnsupportedTypeError } from './errors.ts'
import { address, bytes, hash32, malformed, quantity, sameHex } from './fields.ts'
import type { RpcTransaction } from './transaction.ts'
import { orderedTrieRoot } from './trie.ts'

/** A log as JSON-RPC returns it (in a receipt or from `eth_getLogs`). */
export type RpcLog = {
  address: Hex
  topics: readonly Hex[]
  data: Hex
  blockHash?: Hex | null | undefined
  blockNumber?: Hex | null | undefined
  transactionHash?: Hex | null | undefined
  transactionIndex?: Hex | null | undefined
  logIndex?: Hex | null | undefined
  removed?: boolean | undefined
}

/** A JSON-RPC receipt (`eth_getTransactionReceipt`, `eth_getBlockReceipts`). */
export type RpcReceipt = {
  /** Absent on nodes older than Berlin: legacy. */
  type?: Hex | undefined
  /** Since Byzantium: 0x1 success, 0x0 failure. */
  status?: Hex | null | undefined
  /** Before Byzantium: the post-transaction state root. */
  root?: Hex | null | undefined
  cumulativeGasUsed: Hex
  gasUsed?: Hex | undefined
  logsBloom: Hex
  logs: readonly RpcLog[]
  transactionHash: Hex
  transactionIndex: Hex
  blockHash: Hex
  blockNumber: Hex
}

/** An `eth_getLogs` filter's address and topics (EIP-1474). */
export type LogFilter = {
  address?: Hex | readonly Hex[] | null | undefined
  topics?: readonly (Hex | readonly Hex[] | null)[] | null | undefined
}

/** What `verifyReceipts` checks receipts against: a header, or only its `receiptsRoot`. */
export type ReceiptsHeader = Pick<RpcBlockHeader, 'receiptsRoot'> &
  Partial<Pick<RpcBlockHeader, 'hash' | 'number' | 'logsBloom'>> & {
    /** The block's transactions (hashes or objects) in order, checked already (e.g. against `transactionsRoot`). */
    transactions?: readonly (Hex | RpcTransaction)[] | undefined
  }

type Items = (Hex | Items)[]

/**
 * The outcome field a receipt's encoding commits to: a non-empty `root` (before Byzantium), else
 * `status`. The other is covered by nothing: a `status` beside a `root` is no outcome of the trie.
 */
export const outcomeField = (receipt: Pick<RpcReceipt, 'root'>): 'root' | 'status' =>
  receipt.root != null && receipt.root !== '0x' ? 'root' : 'status'

/** The consensus encoding of a receipt: type byte || RLP([status or root, cumulativeGasUsed, logsBloom, logs]). */
export function encodeReceipt(receipt: RpcReceipt, at = 'receipt'): Uint8Array {
  if (typeof receipt !== 'object' || receipt === null)
    malformed(at, 'a JSON-RPC receipt object', receipt)
  const type = receipt.type == null ? '0x' : quantity(receipt.type, `${at}.type`)
  if (type.length > 4 || (type !== '0x' && Number(type) > 4))
    throw new UnsupportedTypeError(`${at}.type`, String(receipt.type))
  let outcome: Hex
  if (outcomeField(receipt) === 'root') outcome = hash32(receipt.root, `${at}.root`)
  else {
    outcome = quantity(receipt.status, `${at}.status`)
    if (outcome !== '0x' && outcome !== '0x01')
      malformed(`${at}.status`, '0x0 or 0x1', receipt.status)
  }
  const body = Rlp.fromHex(
    [
      outcome,
      quantity(receipt.cumulativeGasUsed, `${at}.cumulativeGasUsed`),
      bytes(receipt.logsBloom, `${at}.logsBloom`, 256),
      list(receipt.logs, `${at}.logs`).map((log, i) => logItems(log, `${at}.logs[${i}]`)),
    ],
    { as: 'Bytes' },
  )
  return type === '0x' ? body : Bytes.concat(Bytes.fromHex(type), body)
}

/** `receiptsRoot` rebuilt from a block's receipts in order; throws `UnsupportedTypeError` for unknown types. */
export async function computeReceiptsRoot(receipts: readonly RpcReceipt[]): Promise<Hex> {
  return orderedTrieRoot(
    list(receipts, 'receipts').map((r, i) => encodeReceipt(r as RpcReceipt, `receipts[${i}]`)),
  )
}

/**
 * Checks a block's complete receipts (`eth_getBlockReceipts`) against its header, or only its
 * `receiptsRoot`: the rebuilt receipts trie, each `logsBloom` against its logs, the block's
 * `logsBloom` (when given) against all of them, and consistency of the fields that the trie does
 * not commit to: one `blockHash` and `blockNumber` (the header's when given), `transactionIndex`
 * 0, 1, 2…, `logIndex` 0, 1, 2… across the block, logs naming their receipt, non-decreasing
 * `cumulativeGasUsed` with `gasUsed` the difference, and `transactionHash` against the header's
 * `transactions` when given. Throws `VerificationError` naming the first bad field.
 */
export async function verifyReceipts(
  receipts: readonly RpcReceipt[],
  header: Hex | ReceiptsHeader,
): Promise<void> {
  const expected = typeof header === 'string' ? { receiptsRoot: header } : header
  const receiptsRoot = hash32(expected?.receiptsRoot, 'receiptsRoot')
  const all = list(receipts, 'receipts') as RpcReceipt[]
  const first = all[0]
  const blockHash = hash32(expected.hash ?? first?.blockHash ?? `0x${'00'.repeat(32)}`, 'hash')
  const blockNumber = quantity(expected.number ?? first?.blockNumber ?? '0x0', 'number')
  const txHashes = expected.transactions?.map((tx, i) =>
    typeof tx === 'string' ? tx : hash32(tx?.hash, `transactions[${i}].hash`),
  )
  if (txHashes && txHashes.length !== all.length)
    mismatch('receipts', `has ${all.length} receipts for ${txHashes.length} transactions`)
  const blockBloom = new Uint8Array(256)
  let logIndex = 0
  let gas = 0n
  for (const [i, receipt] of all.entries()) {
    const at = `receipts[${i}]`
    if (typeof receipt !== 'object' || receipt === null) malformed(at, 'a receipt object', receipt)
    same(`${at}.blockHash`, hash32(receipt.blockHash, `${at}.blockHash`), blockHash)
    same(`${at}.blockNumber`, quantity(receipt.blockNumber, `${at}.blockNumber`), blockNumber)
    same(
      `${at}.transactionIndex`,
      quantity(receipt.transactionIndex, `${at}.transactionIndex`),
      q(i),
    )
    const txHash = hash32(receipt.transactionHash, `${at}.transactionHash`)
    if (txHashes) same(`${at}.transactionHash`, txHash, txHashes[i] as Hex)
    const cumulative = big(quantity(receipt.cumulativeGasUsed, `${at}.cumulativeGasUsed`))
    if (cumulative < gas) mismatch(`${at}.cumulativeGasUsed`, 'decreases', cumulative, gas)
    // Every client sends `gasUsed`: one left out would be returned proven without it.
    const used = big(quantity(receipt.gasUsed, `${at}.gasUsed`))
    if (used !== cumulative - gas)
      mismatch(`${at}.gasUsed`, 'is not the rise in cumulativeGasUsed', used, cumulative - gas)
    gas = cumulative
    const logs = list(receipt.logs, `${at}.logs`) as RpcLog[]
    for (const [j, log] of logs.entries()) {
      const l = `${at}.logs[${j}]`
      if (typeof log !== 'object' || log === null) malformed(l, 'a log object', log)
      if (log.removed === true) mismatch(`${l}.removed`, 'is true in a receipt', true, false)
      same(`${l}.logIndex`, quantity(log.logIndex, `${l}.logIndex`), q(logIndex++))
      same(`${l}.transactionIndex`, quantity(log.transactionIndex, `${l}.transactionIndex`), q(i))
      same(`${l}.transactionHash`, hash32(log.transactionHash, `${l}.transactionHash`), txHash)
      same(`${l}.blockHash`, hash32(log.blockHash, `${l}.blockHash`), blockHash)
      same(`${l}.blockNumber`, quantity(log.blockNumber, `${l}.blockNumber`), blockNumber)
    }
    const bloom = computeLogsBloom(logs)
    same(`${at}.logsBloom`, bytes(receipt.logsBloom, `${at}.logsBloom`, 256), Bytes.toHex(bloom))
    for (let k = 0; k < 256; k++) blockBloom[k] = (blockBloom[k] ?? 0) | (bloom[k] ?? 0)
  }
  const root = await computeReceiptsRoot(all)
  if (!sameHex(receiptsRoot, root))
    mismatch('receiptsRoot', 'does not match the receipts', receiptsRoot, root)
  if (expected.logsBloom != null)
    same('logsBloom', bytes(expected.logsBloom, 'logsBloom', 256), Bytes.toHex(blockBloom))
}

/** The 2048-bit bloom of logs' addresses and topics (yellow paper, section 4.3.1). */
export function computeLogsBloom(logs: readonly RpcLog[]): Uint8Array {
  const bloom = new Uint8Array(256)
  for (const [i, log] of list(logs, 'logs').entries()) {
    const at = `logs[${i}]`
    if (typeof log !== 'object' || log === null) malformed(at, 'a log object', log)
    const { address: from, topics } = log as RpcLog
    addToBloom(bloom, address(from, `${at}.address`))
    for (const [j, topic] of list(topics, `${at}.topics`).entries())
      addToBloom(bloom, hash32(topic, `${at}.topics[${j}]`))
  }
  return bloom
}

/**
 * False when no log in a block with this `logsBloom` can match the filter's address and topics;
 * true when one may (blooms have false positives, never false negatives).
 */
export function logsBloomMayContain(
  bloom: Hex,
  addresses?: LogFilter['address'],
  topics?: LogFilter['topics'],
): boolean {
  const bits = Bytes.fromHex(bytes(bloom, 'logsBloom', 256))
  const anyOf = (values: readonly Hex[]) =>
    values.length === 0 || values.some((value) => bloomHas(bits, value))
  if (!anyOf(options(addresses))) return false
  return (topics ?? []).every((topic) => anyOf(topicOptions(topic)))
}

/**
 * Checks an `eth_getLogs` answer for `filter` against the verified receipts of every block it
 * covers (`receiptsByBlock`, blocks in ascending order, each checked with `verifyReceipts`): the
 * logs must be exactly the receipts' logs that match the filter, in order, with the same fields.
 * Throws `VerificationError` naming the dropped, added or altered log. Where clients differ on a
 * filter (a wildcard topic position beyond a log's topics) either answer is accepted.
 */
export function verifyLogsAgainstReceipts(
  logs: readonly RpcLog[],
  receiptsByBlock: readonly (readonly RpcReceipt[])[],
  filter: LogFilter = {},
): void {
  const candidates: { log: RpcLog; required: boolean }[] = []
  for (const receipts of list(receiptsByBlock, 'receiptsByBlock') as RpcReceipt[][])
    for (const receipt of list(receipts, 'receipts') as RpcReceipt[])
      for (const log of receipt.logs) {
        const match = logMatches(log, filter)
        if (match !== 'no') candidates.push({ log, required: match === 'yes' })
      }
  const position = new Map(candidates.map(({ log }, k) => [logKey(log, 'receipts'), k]))
  let next = 0
  const dropped = (until: number, before: string) => {
    for (; next < until; next++) {
      const candidate = candidates[next]
      if (candidate?.required)
        mismatch(
          before,
          `is preceded by a dropped log: block ${candidate.log.blockNumber} log index ${candidate.log.logIndex} matches the filter`,
        )
    }
  }
  for (const [i, log] of list(logs, 'logs').entries()) {
    const at = `logs[${i}]`
    if (typeof log !== 'object' || log === null) malformed(at, 'a log object', log)
    const k = position.get(logKey(log as RpcLog, at))
    if (k === undefined) mismatch(at, 'is not a matching log of the verified receipts (added)')
    if (k < next) mismatch(at, 'is a duplicate or out of order')
    dropped(k, at)
    next = k + 1
    sameLog(log as RpcLog, (candidates[k] as { log: RpcLog }).log, at)
  }
  dropped(candidates.length, `logs[${logs.length}]`)
}

function logItems(log: unknown, at: string): Items {
  if (typeof log !== 'object' || log === null) malformed(at, 'a log object', log)
  const { address: from, topics, data } = log as RpcLog
  return [
    address(from, `${at}.address`),
    list(topics, `${at}.topics`).map((t, j) => hash32(t, `${at}.topics[${j}]`)),
    bytes(data, `${at}.data`),
  ]
}

function addToBloom(bloom: Uint8Array, value: Hex): void {
  const hash = Hash.keccak256(Bytes.fromHex(value))
  for (let i = 0; i < 6; i += 2) {
    const bit = (((hash[i] ?? 0) << 8) | (hash[i + 1] ?? 0)) & 2047
    const index = 255 - (bit >> 3)
    bloom[index] = (bloom[index] ?? 0) | (1 << (bit & 7))
  }
}

function bloomHas(bits: Uint8Array, value: Hex): boolean {
  const probe = new Uint8Array(256)
  addToBloom(probe, value)
  return probe.every((byte, i) => ((bits[i] ?? 0) & byte) === byte)
}

/** A filter position or address as a list of alternatives; empty means any. */
function options(value: Hex | readonly Hex[] | null | undefined): readonly Hex[] {
  if (value == null) return []
  return typeof value === 'string' ? [value] : value
}

/** A topic position's alternatives: a list holding `null` takes any topic there (geth, anvil). */
function topicOptions(value: Hex | readonly Hex[] | null): readonly Hex[] {
  const list = options(value)
  return list.includes(null as never) ? [] : list
}

/**
 * Whether a log matches: 'maybe' where clients differ, a wildcard position beyond the log's
 * topics (go-ethereum: no match; reth, anvil and others: match).
 */
export function logMatches(log: RpcLog, filter: LogFilter): 'yes' | 'no' | 'maybe' {
  const addresses = options(filter.address)
  if (addresses.length > 0 && !addresses.some((a) => sameHex(log.address, a))) return 'no'
  let result: 'yes' | 'maybe' = 'yes'
  for (const [i, topic] of (filter.topics ?? []).entries()) {
    const alternatives = topicOptions(topic)
    const actual = log.topics[i]
    if (alternatives.length === 0) {
      if (actual === undefined) result = 'maybe'
    } else if (actual === undefined || !alternatives.some((t) => sameHex(actual, t))) return 'no'
  }
  return result
}

function logKey(log: RpcLog, at: string): string {
  const block = hash32(log.blockHash, `${at}.blockHash`).toLowerCase()
  return `${block}:${quantity(log.logIndex, `${at}.logIndex`)}`
}

function sameLog(log: RpcLog, expected: RpcLog, at: string): void {
  same(`${at}.address`, address(log.address, `${at}.address`), expected.address)
  const topics = list(log.topics, `${at}.topics`)
  if (topics.length !== expected.topics.length)
    mismatch(`${at}.topics`, 'differs from the receipt', topics.length, expected.topics.length)
  for (const [j, topic] of topics.entries())
    same(`${at}.topics[${j}]`, hash32(topic, `${at}.topics[${j}]`), expected.topics[j] as Hex)
  same(`${at}.data`, bytes(log.data, `${at}.data`), expected.data)
  same(`${at}.blockNumber`, quantity(log.blockNumber, `${at}.blockNumber`), q(expected.blockNumber))
  same(
    `${at}.transactionHash`,
    hash32(log.transactionHash, `${at}.transactionHash`),
    expected.transactionHash as Hex,
  )
  same(
    `${at}.transactionIndex`,
    quantity(log.transactionIndex, `${at}.transactionIndex`),
    q(expected.transactionIndex),
  )
  if (log.removed === true)
    mismatch(`${at}.removed`, 'is true for a log of a verified block', true, false)
}

/** Throws unless `claimed` and `computed` are the same hex (ignoring case). */
function same(field: string, claimed: Hex, computed: Hex): void {
  if (!sameHex(claimed, computed)) mismatch(field, 'does not match', claimed, computed)
}

/** A number or quantity as `quantity()` normalises it (minimal, 0 is 0x). */
function q(value: number | Hex | null | undefined): Hex {
  return quantity(typeof value === 'number' ? `0x${value.toString(16)}` : value, 'index')
}

const big = (quantity: Hex): bigint => (quantity === '0x' ? 0n : BigInt(quantity))

function list(value: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(value)) malformed(field, 'an array', value)
  return value
}
