/**
 * Block bodies checked against their header: the transactions and withdrawals tries are rebuilt
 * (key = RLP(index)) and their roots compared with `transactionsRoot` and `withdrawalsRoot`.
 */
import * as Rlp from 'ox/Rlp'
import type { Hex } from '../shared/types.ts'
import { blockHeaderFields, type RpcBlock } from './block.ts'
import { mismatch, UnsupportedTypeError } from './errors.ts'
import { address, hash32, malformed, quantity, sameHex } from './fields.ts'
import {
  type RpcTransaction,
  serializeTransaction,
  toBigInt,
  transactionType,
} from './transaction.ts'
import { trieRoot } from './trieRoot.ts'

/** Root of the empty trie, keccak256(RLP("")): `storageHash` of an account without storage. */
export const EMPTY_TRIE_ROOT: Hex =
  '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421'

/** keccak256(RLP([])): `sha3Uncles` of a block without uncles (every block since the merge). */
export const EMPTY_UNCLES_HASH =
  '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347'

/** An EIP-4895 withdrawal as JSON-RPC returns it in a block. */
export type RpcWithdrawal = { index: Hex; validatorIndex: Hex; address: Hex; amount: Hex }

/** A JSON-RPC block with the body parts that its header commits to. */
export type RpcBlockWithBody = RpcBlock & {
  withdrawals?: readonly RpcWithdrawal[] | null | undefined
  uncles?: readonly Hex[] | null | undefined
}

/** Root of the trie mapping RLP(i) to `values[i]`, as used for transactions, receipts and withdrawals. */
export async function orderedTrieRoot(values: readonly Uint8Array[]): Promise<Hex> {
  return trieRoot(values.map((value, i) => [indexKey(i), value] as const))
}

/** RLP of the index: the key of the i-th item in an ordered trie. */
export const indexKey = (i: number): Uint8Array =>
  Rlp.fromHex(i === 0 ? '0x' : quantity(`0x${i.toString(16)}`, 'index'), { as: 'Bytes' })

/** `transactionsRoot` rebuilt from full transaction objects; throws `UnsupportedTypeError` for unknown types. */
export async function computeTransactionsRoot(
  transactions: readonly RpcTransaction[],
): Promise<Hex> {
  return orderedTrieRoot(transactionEnvelopes(transactions))
}

/** Each full transaction's signed envelope; throws `UnsupportedTypeError` for unknown types. */
function transactionEnvelopes(transactions: readonly RpcTransaction[]): Uint8Array[] {
  if (!Array.isArray(transactions)) malformed('transactions', 'an array', transactions)
  return transactions.map((tx: unknown, i) => {
    if (typeof tx !== 'object' || tx === null)
      malformed(`transactions[${i}]`, 'a full transaction object', tx)
    const envelope = serializeTransaction(tx as RpcTransaction)
    if (!envelope)
      throw new UnsupportedTypeError(`transactions[${i}]`, String((tx as RpcTransaction).type))
    return envelope
  })
}

/** `withdrawalsRoot` rebuilt from withdrawals: each item is RLP([index, validatorIndex, address, amount]). */
export async function computeWithdrawalsRoot(withdrawals: readonly RpcWithdrawal[]): Promise<Hex> {
  return orderedTrieRoot(withdrawalItems(withdrawals))
}

/** Each withdrawal's RLP([index, validatorIndex, address, amount]). */
function withdrawalItems(withdrawals: readonly RpcWithdrawal[]): Uint8Array[] {
  if (!Array.isArray(withdrawals)) malformed('withdrawals', 'an array', withdrawals)
  return withdrawals.map((w: unknown, i) => {
    const at = `withdrawals[${i}]`
    if (typeof w !== 'object' || w === null) malformed(at, 'a withdrawal object', w)
    const { index, validatorIndex, address: to, amount } = w as RpcWithdrawal
    return Rlp.fromHex(
      [
        quantity(index, `${at}.index`),
        quantity(validatorIndex, `${at}.validatorIndex`),
        address(to, `${at}.address`),
        quantity(amount, `${at}.amount`),
      ],
      { as: 'Bytes' },
    )
  })
}

/**
 * A block's `size`, the length of its RLP encoding: [header, transactions, uncles], and the
 * withdrawals from Shanghai on (geth counts them; anvil leaves them out: both lengths are given,
 * the encoding's first). A legacy transaction goes in as its list, a typed one as a byte string
 * of its envelope. Only for a body given whole without uncles.
 */
export function blockSizes(
  block: RpcBlockWithBody,
  transactions: readonly RpcTransaction[],
): number[] {
  const header = Rlp.fromHex(blockHeaderFields(block), { as: 'Bytes' }).length
  let txs = 0
  for (const envelope of transactionEnvelopes(transactions))
    txs += envelope[0]! >= 0xc0 ? envelope.length : prefix(envelope.length) + envelope.length
  const body = header + wrapped(txs) + wrapped(0)
  if (block.withdrawalsRoot == null) return [wrapped(body)]
  const withdrawals = withdrawalItems(block.withdrawals ?? []).reduce((n, w) => n + w.length, 0)
  return [wrapped(body + wrapped(withdrawals)), wrapped(body)]
}

/** The length of an RLP string or list prefix for `n` bytes of payload (strings past one byte). */
const prefix = (n: number) => (n < 56 ? 1 : 1 + Math.ceil(n.toString(16).length / 2))
/** An RLP list of `n` bytes of payload, prefix included. */
const wrapped = (n: number) => prefix(n) + n

/**
 * Checks a block's body against its header (whose hash the caller has checked): full transactions
 * against `transactionsRoot` (and their `transactionIndex` order), withdrawals against
 * `withdrawalsRoot`, and no uncles where `sha3Uncles` says there are none; a full transaction's
 * `gasPrice` and `blockTimestamp` against the header (`checkHeaderFields`). Transactions given
 * only as hashes (or not at all) cannot be checked against the root: that part is skipped.
 * Throws `VerificationError` naming the root or field that does not match.
 */
export async function verifyBlockBody(block: RpcBlockWithBody): Promise<void> {
  if (typeof block !== 'object' || block === null)
    malformed('block', 'a JSON-RPC block object', block)
  const transactions = block.transactions
  if (transactions != null) {
    if (!Array.isArray(transactions)) malformed('transactions', 'an array', transactions)
    const full = transactions.filter((tx) => typeof tx !== 'string') as RpcTransaction[]
    if (full.length > 0 && full.length !== transactions.length)
      malformed('transactions', 'all hashes or all full objects', '(a mix)')
    for (const [i, tx] of full.entries()) {
      // Required: every client sends a mined transaction's index (and `gasPrice`, below), and the
      // agreement key of a checked body leaves both out (txRules.ts `unhashed`): one dropped
      // would come back agreed without it.
      const index = (tx as { transactionIndex?: unknown }).transactionIndex
      if (quantity(index, `transactions[${i}].transactionIndex`) !== q(i))
        mismatch(`transactions[${i}].transactionIndex`, `is not ${i}`, index, i)
      checkHeaderFields(tx, block, `transactions[${i}]`)
    }
    // only hashes: the hashes cannot be checked against the root without the transactions
    if (full.length > 0 || transactions.length === 0) {
      const root = await computeTransactionsRoot(full)
      if (!sameHex(hash32(block.transactionsRoot, 'transactionsRoot'), root))
        mismatch(
          'transactionsRoot',
          'does not match the transactions',
          block.transactionsRoot,
          root,
        )
    }
  }
  if (block.withdrawalsRoot != null) {
    if (block.withdrawals == null)
      malformed('withdrawals', 'a list (the header has withdrawalsRoot)')
    const root = await computeWithdrawalsRoot(block.withdrawals)
    if (!sameHex(hash32(block.withdrawalsRoot, 'withdrawalsRoot'), root))
      mismatch('withdrawalsRoot', 'does not match the withdrawals', block.withdrawalsRoot, root)
  } else if (block.withdrawals != null && block.withdrawals.length > 0)
    malformed('withdrawals', 'none (the header has no withdrawalsRoot)', block.withdrawals.length)
  if (sameHex(block.sha3Uncles, EMPTY_UNCLES_HASH) && (block.uncles?.length ?? 0) > 0)
    mismatch(
      'uncles',
      'is not empty but sha3Uncles is the empty-list hash',
      block.uncles?.length,
      0,
    )
  // `size`, which no hash covers, is the length of the block's encoding: checked where the body
  // is whole (all transactions given in full, or none; no uncles). Given as hashes, it cannot be.
  const given = (block as { size?: unknown }).size
  const full = transactions?.every((tx) => typeof tx !== 'string') ?? false
  if (given != null && full && sameHex(block.sha3Uncles, EMPTY_UNCLES_HASH)) {
    const sizes = blockSizes(block, transactions as RpcTransaction[])
    if (!sizes.some((size) => toBigInt(quantity(given, 'size')) === BigInt(size)))
      mismatch('size', 'is not the length of the block’s encoding', given, sizes[0])
  }
}

/**
 * What no root covers in a full transaction but the header (whose hash was checked) fixes: a
 * mined typed transaction's `gasPrice`, required, is the price its block's base fee made it
 * (`effectiveGasPrice`), and `blockTimestamp`, where given (not every client sends it), is the
 * header's `timestamp`.
 */
function checkHeaderFields(tx: RpcTransaction, block: RpcBlockWithBody, at: string) {
  const paid = effectiveGasPrice(tx, block.baseFeePerGas)
  if (paid !== undefined && toBigInt(quantity(tx.gasPrice, `${at}.gasPrice`)) !== paid)
    mismatch(`${at}.gasPrice`, 'is not the price its block’s base fee made it', tx.gasPrice, paid)
  checkBlockTimestamp(tx, block.timestamp, `${at}.blockTimestamp`)
}

/**
 * An object's `blockTimestamp` (a transaction's, a receipt's, a log's: nodes add it, no hash
 * covers it), where given, must be its block header's `timestamp`; throws a `MismatchError`
 * naming `field`.
 */
export function checkBlockTimestamp(item: unknown, timestamp: unknown, field: string): void {
  const time = (item as { blockTimestamp?: unknown } | null)?.blockTimestamp
  if (time != null && seconds(time, field) !== seconds(timestamp, 'timestamp'))
    mismatch(field, 'is not its block’s', time, timestamp)
}

/** A timestamp as nodes give it: a hex quantity, or (some nodes' `blockTimestamp`) a JSON number. */
const seconds = (value: unknown, field: string): Hex =>
  quantity(Number.isSafeInteger(value) ? `0x${(value as number).toString(16)}` : value, field)

/**
 * What a mined transaction paid per gas in a block of base fee `baseFee`: its `gasPrice` for
 * types 0 and 1, min(baseFee + maxPriorityFeePerGas, maxFeePerGas) for types 2 to 4 (EIP-1559).
 * `undefined` when that cannot be told: another type, or a typed one without a base fee.
 */
export function effectiveGasPrice(tx: RpcTransaction, baseFee: unknown): bigint | undefined {
  const type = transactionType(tx)
  if (type === undefined) return undefined
  if (type < 2) return toBigInt(quantity(tx.gasPrice, 'gasPrice'))
  if (baseFee == null) return undefined
  const base = toBigInt(quantity(baseFee, 'baseFeePerGas'))
  const max = toBigInt(quantity(tx.maxFeePerGas, 'maxFeePerGas'))
  const tip = toBigInt(quantity(tx.maxPriorityFeePerGas, 'maxPriorityFeePerGas'))
  if (base + tip > max) return max // Math.min takes no bigints
  return base + tip
}

/** A non-negative number as a minimal quantity (as `quantity()` normalises). */
const q = (n: number): Hex => quantity(`0x${n.toString(16)}`, 'index')
