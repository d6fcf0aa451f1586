/**
 * validate.ts `withoutUnchecked`: a block keeps only what a check covers. Real chain data: a
 * Goerli Shanghai block with 16 withdrawals, mainnet London 14,151,203 with full transactions.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'vitest'
import london from '../verify/fixtures/block-london-14151203.json' with { type: 'json' }
import goerli from '../verify/fixtures/withdrawals-goerli-8705029.json' with { type: 'json' }
import { withoutUnchecked } from './validate.ts'

type Obj = Record<string, unknown>
const withdrawalsBlock = goerli.block as Obj
const fullBlock = london.block as unknown as Obj & { transactions: Obj[] }
/** What a source may add: no hash or root covers any of it. */
const ADDED = {
  totalDifficulty: '0x1',
  prevRandao: `0x${'66'.repeat(32)}`,
  author: `0x${'ba'.repeat(20)}`,
}

describe('withoutUnchecked', () => {
  test('drops what a source adds to a block, and to each withdrawal', () => {
    const padded = {
      ...withdrawalsBlock,
      ...ADDED,
      withdrawals: (withdrawalsBlock.withdrawals as Obj[]).map((w) => ({ ...w, amountWei: '0x1' })),
    }
    assert.deepEqual(withoutUnchecked('eth_getBlockByHash', padded), withdrawalsBlock)
  })

  test('keeps a full block’s size (its body measures it); drops it where the transactions are hashes', () => {
    const { totalDifficulty: _, ...checked } = fullBlock
    assert.deepEqual(withoutUnchecked('eth_getBlockByNumber', fullBlock), checked)
    const hashes: Obj = { ...checked, transactions: fullBlock.transactions.map((tx) => tx.hash) }
    const { size: __, ...unmeasured } = hashes
    assert.deepEqual(withoutUnchecked('eth_getBlockByNumber', hashes), unmeasured)
  })

  test('an uncle keeps its header fields, not its size; other answers and null stay as they are', () => {
    const { size: _, ...header } = withdrawalsBlock
    assert.deepEqual(
      withoutUnchecked('eth_getUncleByBlockHashAndIndex', {
        ...withdrawalsBlock,
        size: '0x200',
        ...ADDED,
      }),
      header,
    )
    // A receipt stays whole here (agreed whole); a proven one keeps only what its proof checked
    // (proofs/receipts.ts `provenOnly`).
    const receipt = { status: '0x1', extra: 1 }
    assert.equal(withoutUnchecked('eth_getTransactionReceipt', receipt), receipt)
    assert.equal(withoutUnchecked('eth_getBlockByHash', null), null)
  })
})
