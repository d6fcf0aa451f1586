import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'vitest'
import { VerificationError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import { UnsupportedTypeError } from './errors.ts'
import { verifyFullBlock } from './fullBlock.ts'
import type { RpcTransaction } from './transaction.ts'
import type { RpcBlockWithBody } from './trie.ts'

type Block = Omit<RpcBlockWithBody, 'transactions'> & { hash: Hex; transactions: RpcTransaction[] }
const read = (file: string): Block =>
  JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8')).block
const homestead = read('block-homestead-2000004.json')
const london = read('block-london-14151203.json')

async function assertNames(fn: () => Promise<unknown>, field: string) {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError, got ${err}`)
    assert.ok(err.shortMessage.includes(`"${field}"`), err.message)
    return true
  })
}

const withTxs = (block: Block, transactions: RpcTransaction[]): Block => ({
  ...block,
  transactions,
})
const at = (i: number) => `0x${i.toString(16)}` as Hex

describe('verifyFullBlock on real mainnet blocks', () => {
  for (const block of [homestead, london])
    test(`block ${Number(block.number)} (${block.transactions.length} transactions) verifies whole`, async () => {
      await verifyFullBlock(block)
      await verifyFullBlock(block, block.hash)
      await verifyFullBlock(block, block.hash.toUpperCase().replace('0X', '0x') as Hex)
    })

  test('another expected hash is a lie about which block this is', async () => {
    await assertNames(() => verifyFullBlock(london, homestead.hash), 'hash')
  })

  test('an altered header field no longer hashes to the hash', async () => {
    await assertNames(() => verifyFullBlock({ ...london, gasUsed: '0x1' }), 'hash')
  })

  test('two transactions swapped (indexes rewritten, each still hashing right): transactionsRoot', async () => {
    const txs = london.transactions.map((tx) => ({ ...tx }))
    ;[txs[0], txs[1]] = [
      { ...txs[1]!, transactionIndex: at(0) } as RpcTransaction,
      { ...txs[0]!, transactionIndex: at(1) } as RpcTransaction,
    ]
    await assertNames(() => verifyFullBlock(withTxs(london, txs)), 'transactionsRoot')
  })

  test('a transaction dropped from the end: transactionsRoot', async () => {
    await assertNames(
      () => verifyFullBlock(withTxs(london, london.transactions.slice(0, -1))),
      'transactionsRoot',
    )
  })

  test('a transaction from another block (its fields rewritten to this one): transactionsRoot', async () => {
    const foreign = {
      ...homestead.transactions[0]!,
      blockHash: london.hash,
      blockNumber: london.number,
      transactionIndex: at(london.transactions.length - 1),
    } as RpcTransaction
    const txs = [...london.transactions.slice(0, -1), foreign]
    await assertNames(() => verifyFullBlock(withTxs(london, txs)), 'transactionsRoot')
  })

  test('an altered transaction keeping its hash: its hash', async () => {
    const txs = london.transactions.map((tx, i) => (i === 3 ? { ...tx, value: '0x1' as Hex } : tx))
    await assertNames(() => verifyFullBlock(withTxs(london, txs)), 'transactions[3].hash')
  })

  test('a transaction naming another block or position', async () => {
    const other = london.transactions.map((tx, i) =>
      i === 2 ? { ...tx, blockHash: homestead.hash } : tx,
    )
    await assertNames(() => verifyFullBlock(withTxs(london, other)), 'hash')
    const number = london.transactions.map((tx, i) =>
      i === 2 ? { ...tx, blockNumber: '0x1' as Hex } : tx,
    )
    await assertNames(() => verifyFullBlock(withTxs(london, number)), 'hash')
    const index = london.transactions.map((tx, i) =>
      i === 2 ? { ...tx, transactionIndex: at(5) } : tx,
    )
    await assertNames(
      () => verifyFullBlock(withTxs(london, index)),
      'transactions[2].transactionIndex',
    )
  })

  test('hashes only, or no transactions field: malformed (a full block was asked for)', async () => {
    const hashes = london.transactions.map((tx) => tx.hash as Hex)
    await assertNames(
      () => verifyFullBlock({ ...london, transactions: hashes } as never),
      'transaction',
    )
    const { transactions: _, ...bare } = london
    await assertNames(() => verifyFullBlock(bare as never), 'transactions')
  })

  test('a typed transaction’s gasPrice is the price the base fee made it (no hash covers it)', async () => {
    const i = london.transactions.findIndex((tx) => tx.type === '0x2')
    const tx = london.transactions[i]!
    assert.notEqual(tx.gasPrice, tx.maxFeePerGas, 'it paid less than its fee cap')
    const capped = london.transactions.map((t, j) =>
      j === i ? { ...t, gasPrice: t.maxFeePerGas } : t,
    )
    await assertNames(() => verifyFullBlock(withTxs(london, capped)), `transactions[${i}].gasPrice`)
    // A legacy transaction's gasPrice is signed: another one is another transaction.
    const legacy = london.transactions.map((t, j) =>
      j === 0 ? { ...t, gasPrice: '0x1' as Hex } : t,
    )
    await assertNames(() => verifyFullBlock(withTxs(london, legacy)), 'transactions[0].hash')
  })

  test('a transaction’s blockTimestamp, where given, is its header’s', async () => {
    const stamped = (time: Hex) =>
      withTxs(
        london,
        london.transactions.map((t, j) => (j === 1 ? { ...t, blockTimestamp: time } : t)),
      )
    await verifyFullBlock(stamped(london.timestamp))
    await verifyFullBlock(stamped(Number(london.timestamp) as never)) // as a JSON number
    await assertNames(
      () => verifyFullBlock(stamped(`0x${(Number(london.timestamp) + 12).toString(16)}` as Hex)),
      'transactions[1].blockTimestamp',
    )
  })

  test('a type it cannot rebuild is unsupported, not a lie', async () => {
    const txs = london.transactions.map((tx, i) => (i === 0 ? { ...tx, type: '0x7e' as Hex } : tx))
    await assert.rejects(() => verifyFullBlock(withTxs(london, txs)), UnsupportedTypeError)
  })
})
