import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as Bytes from 'ox/Bytes'
import type { Hex } from 'viem'
import { describe, test } from 'vitest'
import { VerificationError } from '../shared/errors.ts'
import { computeBlockHash, verifyBlockHash } from './block.ts'
import { UnsupportedTypeError } from './errors.ts'
import type { RpcTransaction } from './transaction.ts'
import {
  blockSizes,
  computeTransactionsRoot,
  computeWithdrawalsRoot,
  EMPTY_TRIE_ROOT,
  indexKey,
  orderedTrieRoot,
  type RpcBlockWithBody,
  type RpcWithdrawal,
  verifyBlockBody,
} from './trie.ts'

type Block = RpcBlockWithBody & { hash: Hex }
const read = (file: string): Block =>
  JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8')).block
const goerli = read('withdrawals-goerli-8705029.json')
const mainnet = [read('block-homestead-2000004.json'), read('block-london-14151203.json')]
const london = mainnet[1] as Block

async function assertNames(fn: () => Promise<unknown>, field: string) {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError, got ${err}`)
    assert.ok(err.shortMessage.includes(`"${field}"`), err.message)
    return true
  })
}

const bump = (value: Hex): Hex =>
  `${value.slice(0, -1)}${((Number.parseInt(value.slice(-1), 16) + 1) % 16).toString(16)}` as Hex

describe('ordered tries', () => {
  test('keys are RLP(index)', () => {
    assert.equal(Bytes.toHex(indexKey(0)), '0x80')
    assert.equal(Bytes.toHex(indexKey(1)), '0x01')
    assert.equal(Bytes.toHex(indexKey(127)), '0x7f')
    assert.equal(Bytes.toHex(indexKey(128)), '0x8180')
    assert.equal(Bytes.toHex(indexKey(300)), '0x82012c')
  })

  test('nothing: the empty trie root', async () => {
    assert.equal(await orderedTrieRoot([]), EMPTY_TRIE_ROOT)
    assert.equal(await computeTransactionsRoot([]), EMPTY_TRIE_ROOT)
    assert.equal(await computeWithdrawalsRoot([]), EMPTY_TRIE_ROOT)
  })
})

describe('real blocks: transactionsRoot (mainnet) and withdrawalsRoot (Goerli)', () => {
  for (const block of mainnet)
    test(`mainnet block ${Number(block.number)}: ${block.transactions?.length} transactions`, async () => {
      assert.equal(verifyBlockHash(block), true)
      const txs = block.transactions as RpcTransaction[]
      assert.equal(await computeTransactionsRoot(txs), block.transactionsRoot)
      await verifyBlockBody(block)
    })

  test('Goerli block 8,705,029: 16 withdrawals', async () => {
    assert.equal(computeBlockHash(goerli), goerli.hash)
    assert.equal(await computeWithdrawalsRoot(goerli.withdrawals ?? []), goerli.withdrawalsRoot)
    await verifyBlockBody(goerli)
    // with only transaction hashes the transactions cannot be checked, the withdrawals still are
    await verifyBlockBody({ ...goerli, transactions: [`0x${'11'.repeat(32)}`] })
  })
})

describe('tampered block bodies are caught and named', () => {
  const txs = london.transactions as (RpcTransaction & { transactionIndex: Hex })[]
  const reindex = (list: typeof txs) =>
    list.map((tx, i) => ({ ...tx, transactionIndex: `0x${i.toString(16)}` as Hex }))

  test('transactions reordered, dropped, added or altered', async () => {
    await assertNames(
      () => verifyBlockBody({ ...london, transactions: reindex(txs.toReversed()) }),
      'transactionsRoot',
    )
    await assertNames(
      () => verifyBlockBody({ ...london, transactions: txs.slice(1) }),
      'transactions[0].transactionIndex',
    )
    await assertNames(
      () => verifyBlockBody({ ...london, transactions: txs.slice(0, -1) }),
      'transactionsRoot',
    )
    await assertNames(
      () =>
        verifyBlockBody({
          ...london,
          transactions: reindex([...txs, txs[0] as RpcTransaction & { transactionIndex: Hex }]),
        }),
      'transactionsRoot',
    )
    const altered = txs.with(3, {
      ...(txs[3] as (typeof txs)[number]),
      value: bump((txs[3] as RpcTransaction).value),
    })
    await assertNames(
      () => verifyBlockBody({ ...london, transactions: altered }),
      'transactionsRoot',
    )
    await assertNames(() => verifyBlockBody({ ...london, transactions: [] }), 'transactionsRoot')
    await assertNames(
      () => verifyBlockBody({ ...london, transactions: [txs[0]?.hash as Hex, ...txs.slice(1)] }),
      'transactions',
    )
  })

  test('a transaction without its index, or a typed one without its gasPrice: malformed (every client sends both)', async () => {
    const i = txs.findIndex((tx) => tx.type === '0x2')
    const without = (field: string) =>
      txs.map((tx, j) => (j === i ? { ...tx, [field]: undefined } : tx))
    await assertNames(
      () => verifyBlockBody({ ...london, transactions: without('transactionIndex') }),
      `transactions[${i}].transactionIndex`,
    )
    await assertNames(
      () => verifyBlockBody({ ...london, transactions: without('gasPrice') }),
      `transactions[${i}].gasPrice`,
    )
  })

  test('a transaction of an unknown type cannot be checked: UnsupportedTypeError, not blame', async () => {
    const deposit = txs.with(0, { ...(txs[0] as (typeof txs)[number]), type: '0x7e' })
    await assert.rejects(
      verifyBlockBody({ ...london, transactions: deposit }),
      (err: unknown) => err instanceof UnsupportedTypeError && !(err instanceof VerificationError),
    )
  })

  test('withdrawals altered, dropped, missing or unexpected', async () => {
    const withdrawals = goerli.withdrawals as RpcWithdrawal[]
    const w5 = withdrawals[5] as RpcWithdrawal
    for (const field of ['index', 'validatorIndex', 'address', 'amount'] as const) {
      const altered = withdrawals.with(5, { ...w5, [field]: bump(w5[field]) })
      await assertNames(
        () => verifyBlockBody({ ...goerli, withdrawals: altered }),
        'withdrawalsRoot',
      )
    }
    await assertNames(
      () => verifyBlockBody({ ...goerli, withdrawals: withdrawals.slice(1) }),
      'withdrawalsRoot',
    )
    await assertNames(() => verifyBlockBody({ ...goerli, withdrawals: undefined }), 'withdrawals')
    await assertNames(
      () => verifyBlockBody({ ...london, withdrawals: withdrawals.slice(0, 1) }),
      'withdrawals',
    )
    await assertNames(
      () => verifyBlockBody({ ...goerli, withdrawals: [{ ...w5, amount: '0xzz' as Hex }] }),
      'withdrawals[0].amount',
    )
  })

  test('uncles in a block whose header says it has none', async () => {
    await assertNames(() => verifyBlockBody({ ...london, uncles: [london.hash] }), 'uncles')
  })
})

describe('size: the length of the block’s encoding, where the body is whole', () => {
  test('real mainnet blocks (Homestead, London): the size their node gave', () => {
    for (const block of mainnet)
      assert.deepEqual(blockSizes(block, block.transactions as RpcTransaction[]), [
        Number((block as { size?: unknown }).size),
      ])
  })

  test('from Shanghai on: with the withdrawals list (geth) or without it (anvil)', () => {
    const address = `0x${'11'.repeat(20)}` as Hex
    const withdrawals = [{ index: '0x1', validatorIndex: '0x2', address, amount: '0x3' }] as const
    const txs = london.transactions as RpcTransaction[]
    const sizes = (w: readonly RpcWithdrawal[]) =>
      blockSizes({ ...london, withdrawalsRoot: EMPTY_TRIE_ROOT, withdrawals: w } as Block, txs)
    // RLP([1, 2, 20 bytes, 3]) is 25 bytes; its list adds 1: 26 bytes more. An empty list: 1.
    const [geth, anvil] = sizes(withdrawals)
    assert.equal(geth! - anvil!, 26)
    const [gethEmpty, anvilEmpty] = sizes([])
    assert.equal(gethEmpty! - anvilEmpty!, 1)
    assert.equal(anvilEmpty, anvil)
  })

  test('a size that is not the block’s is a lie, named', async () => {
    await assertNames(() => verifyBlockBody({ ...london, size: '0x1' } as Block), 'size')
    await verifyBlockBody(london) // as given
    await verifyBlockBody({ ...london, size: undefined } as Block) // none given: nothing to check
  })
})
