/**
 * A block's body checked against its header's roots: loaded with the first block body to check
 * (rules.ts `blockRules`, handlers/agreedChain.ts `includes`), together with the trie code and
 * the code that rebuilds transaction hashes. Reads without a body never carry them.
 */
import { UnsupportedTypeError } from '../verify/errors.ts'
import { sameHex } from '../verify/fields.ts'
import { type RpcBlockWithBody, verifyBlockBody } from '../verify/trie.ts'
import { checkHashes, type Tx, unhashed } from './txRules.ts'
import { EMPTY_UNCLES_HASH } from './validate.ts'

export type Unhashed = (tx: Tx, inCheckedBody: boolean) => Record<string, unknown>

/**
 * Checks a block's body against its header (whose hash was checked): when that covers all of it
 * but what each transaction's hash leaves out, what tells that apart (txRules.ts `unhashed`);
 * undefined when part cannot be checked (transaction or uncle hashes, a transaction type this
 * version cannot rebuild). Throws `VerificationError` when the body contradicts the header (its
 * roots, or a typed transaction's `gasPrice`).
 */
export async function verifyBody(block: RpcBlockWithBody): Promise<Unhashed | undefined> {
  const transactions = block.transactions
  if (!Array.isArray(transactions)) return undefined
  checkHashes(transactions.filter((tx): tx is Tx => typeof tx === 'object' && tx !== null))
  try {
    await verifyBlockBody(block)
  } catch (error) {
    if (error instanceof UnsupportedTypeError) return undefined
    throw error
  }
  const full = transactions.every((tx) => typeof tx !== 'string')
  return full && sameHex(block.sha3Uncles, EMPTY_UNCLES_HASH) ? unhashed : undefined
}
