/**
 * A whole block checked against its own hash: the header is rebuilt and hashed, every full
 * transaction is rebuilt and hashed, and the body is checked against the header's roots
 * (`transactionsRoot`, `withdrawalsRoot`, no uncles where `sha3Uncles` says none). Of what no
 * root commits to, a mined typed transaction's `gasPrice` is checked to be the effective price
 * the header's base fee gives, and `blockTimestamp` to be the header's (trie.ts
 * `verifyBlockBody`). Left unchecked here: `from`, which only recovering the sender from the
 * signature can check (~1.5 ms a transaction: outlast/proofs does it, verify/sender.ts; the
 * core has the senders agreed instead), and `totalDifficulty`. `size` is checked with the body
 * (trie.ts `blockSizes`).
 */
import type { Hex } from '../shared/types.ts'
import { verifyBlockHash } from './block.ts'
import { mismatch, UnsupportedTypeError } from './errors.ts'
import { malformed, sameHex } from './fields.ts'
import { computeTransactionHash, type RpcTransaction } from './transaction.ts'
import { type RpcBlockWithBody, verifyBlockBody } from './trie.ts'

/**
 * Checks a block with full transaction objects (`eth_getBlockBy*(…, true)`): each transaction
 * hashes to its `hash`; the header hashes to `block.hash` (and to `expectedHash` when given) and
 * every transaction names it (`blockHash`, `blockNumber`; else the field named is `hash`); the
 * transactions, in `transactionIndex` order, and the withdrawals match the header's roots; each
 * transaction's `gasPrice` and `blockTimestamp` are what the header makes them.
 * Throws `VerificationError` naming the bad field, `UnsupportedTypeError` for a transaction type
 * that cannot be rebuilt.
 */
export async function verifyFullBlock(block: RpcBlockWithBody, expectedHash?: Hex): Promise<void> {
  const transactions = block?.transactions
  if (!Array.isArray(transactions)) malformed('transactions', 'an array', transactions)
  for (const [i, tx] of (transactions as RpcTransaction[]).entries()) {
    const computed = computeTransactionHash(tx)
    if (computed === undefined)
      throw new UnsupportedTypeError(`transactions[${i}]`, String(tx.type))
    if (!sameHex(tx.hash, computed))
      mismatch(`transactions[${i}].hash`, 'is not the hash of the transaction', tx.hash, computed)
  }
  if (!verifyBlockHash(block, expectedHash))
    mismatch(
      'hash',
      'is not the hash asked for, of the header, and of the block each transaction names',
    )
  await verifyBlockBody(block)
}
