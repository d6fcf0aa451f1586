import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { createWalletClient, type Hex, http, parseGwei } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, test } from 'vitest'
import { type Anvil, devAccounts, startAnvil } from '../../test/lab/anvil.ts'
import { VerificationError } from '../shared/errors.ts'
import {
  blockHeaderFields,
  computeBlockHash,
  type RpcBlock,
  type RpcBlockHeader,
  verifyBlockHash,
} from './block.ts'
import type { RpcTransaction } from './transaction.ts'
import { verifyTransactionHash } from './transaction.ts'

type Fixture = { file: string; comment: string; block: RpcBlock & { hash: Hex } }
const dir = new URL('./fixtures/', import.meta.url)
const fixtures: Fixture[] = readdirSync(dir)
  .filter((file) => file.startsWith('block-'))
  .map((file) => ({ file, ...JSON.parse(readFileSync(new URL(file, dir), 'utf8')) }))

const fixture = (name: string): RpcBlock & { hash: Hex } => {
  const found = fixtures.find((f) => f.file.includes(name))
  assert.ok(found, name)
  return found.block
}

const HEADER_KEYS = [
  'parentHash',
  'sha3Uncles',
  'miner',
  'stateRoot',
  'transactionsRoot',
  'receiptsRoot',
  'logsBloom',
  'difficulty',
  'number',
  'gasLimit',
  'gasUsed',
  'timestamp',
  'extraData',
  'mixHash',
  'nonce',
  'baseFeePerGas',
  'withdrawalsRoot',
  'blobGasUsed',
  'excessBlobGas',
  'parentBeaconBlockRoot',
  'requestsHash',
] as const

/** Asserts that `fn` throws a VerificationError whose message names every one of `fields`. */
function assertMalformed(fn: () => unknown, ...fields: string[]) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError, got ${err}`)
    for (const field of fields) assert.ok(err.shortMessage.includes(`"${field}"`), err.message)
    return true
  })
}

/** The same hex value with its last nibble changed. */
function bump(value: Hex): Hex {
  if (value === '0x') return '0x01'
  const last = Number.parseInt(value.slice(-1), 16)
  return `${value.slice(0, -1)}${((last + 1) % 16).toString(16)}` as Hex
}

describe('computeBlockHash: real mainnet blocks, one per fork era', () => {
  for (const { file, block } of fixtures) {
    test(file, () => {
      assert.equal(computeBlockHash(block), block.hash)
      assert.equal(verifyBlockHash(block), true)
      assert.equal(verifyBlockHash(block, block.hash), true)
      assert.equal(verifyBlockHash(block, block.parentHash), false)
    })
  }

  test('fixtures span Frontier-style headers to Prague', () => {
    const lengths = fixtures.map((f) => blockHeaderFields(f.block).length).sort((a, b) => a - b)
    assert.deepEqual([...new Set(lengths)], [15, 16, 17, 20, 21])
  })

  test('the transactions in full blocks verify too', () => {
    let count = 0
    for (const { block } of fixtures)
      for (const tx of block.transactions ?? [])
        if (typeof tx !== 'string') {
          assert.equal(verifyTransactionHash(tx), true, tx.hash)
          count++
        }
    assert.equal(count, 16)
  })

  test('fork fields given as null count as absent (Shanghai block from a Cancun-aware node)', () => {
    const block = fixture('shanghai')
    assert.equal(block.blobGasUsed, null)
    assert.equal(blockHeaderFields(block).length, 17)
  })

  test('letter case does not change the hash', () => {
    const block = fixture('cancun')
    const upper = { ...block, miner: block.miner.toUpperCase().replace('0X', '0x') as Hex }
    assert.equal(verifyBlockHash(upper, block.hash.toUpperCase().replace('0X', '0x') as Hex), true)
  })

  test('a pending block (hash null) does not verify', () => {
    assert.equal(verifyBlockHash({ ...fixture('prague-2318'), hash: null }), false)
  })
})

describe('tampering: any header field changed fails verification', () => {
  for (const { file, block } of fixtures) {
    for (const key of HEADER_KEYS) {
      const value = block[key]
      if (typeof value !== 'string') continue
      test(`${file}: ${key}`, () => {
        const tampered = { ...block, [key]: bump(value) }
        assert.notEqual(computeBlockHash(tampered), block.hash)
        assert.equal(verifyBlockHash(tampered), false)
      })
    }
  }

  test('a fork field removed from the end', () => {
    const { requestsHash: _, ...cancunShaped } = fixture('prague-2318')
    assert.equal(verifyBlockHash(cancunShaped), false)
  })

  test('the hash field itself changed', () => {
    const block = fixture('london')
    assert.equal(verifyBlockHash({ ...block, hash: bump(block.hash) }), false)
  })

  test('a full transaction that names another block hash or number', () => {
    const block = fixture('london')
    const txs = block.transactions as RpcTransaction[]
    const otherHash = txs.map((tx, i) => (i === 3 ? { ...tx, blockHash: block.parentHash } : tx))
    const otherNumber = txs.map((tx, i) =>
      i === 5 ? { ...tx, blockNumber: '0xd7ee22' as Hex } : tx,
    )
    const noHash = txs.map((tx, i) => (i === 0 ? { ...tx, blockHash: null } : tx))
    assert.equal(verifyBlockHash({ ...block, transactions: otherHash }), false)
    assert.equal(verifyBlockHash({ ...block, transactions: otherNumber }), false)
    assert.equal(verifyBlockHash({ ...block, transactions: noHash }), false)
    const padded = txs.map((tx) => ({ ...tx, blockNumber: '0x00d7ee23' as Hex }))
    assert.equal(verifyBlockHash({ ...block, transactions: padded }), true)
  })
})

describe('malformed blocks name the field', () => {
  const cancun = fixture('cancun')
  const without = (block: RpcBlockHeader, ...keys: (keyof RpcBlockHeader)[]) =>
    Object.fromEntries(
      Object.entries(block).filter(([key]) => !keys.includes(key as keyof RpcBlockHeader)),
    ) as RpcBlockHeader

  test('missing required field', () =>
    assertMalformed(() => computeBlockHash(without(cancun, 'stateRoot')), 'stateRoot'))
  test('hash of the wrong length', () =>
    assertMalformed(() => computeBlockHash({ ...cancun, parentHash: '0x1234' }), 'parentHash'))
  test('bloom of the wrong length', () =>
    assertMalformed(
      () => computeBlockHash({ ...cancun, logsBloom: `0x${'00'.repeat(255)}` }),
      'logsBloom',
    ))
  test('nonce of the wrong length', () =>
    assertMalformed(() => computeBlockHash({ ...cancun, nonce: '0x00' }), 'nonce'))
  test('quantity given as a JSON number', () =>
    assertMalformed(
      () => computeBlockHash({ ...cancun, difficulty: 0 as unknown as Hex }),
      'difficulty',
    ))
  test('quantity that is not hex', () =>
    assertMalformed(() => computeBlockHash({ ...cancun, gasUsed: '0x12z' as Hex }), 'gasUsed'))
  test('odd-length extraData', () =>
    assertMalformed(() => computeBlockHash({ ...cancun, extraData: '0xabc' }), 'extraData'))
  test('blobGasUsed without withdrawalsRoot', () =>
    assertMalformed(
      () => computeBlockHash(without(cancun, 'withdrawalsRoot')),
      'blobGasUsed',
      'withdrawalsRoot',
    ))
  test('requestsHash without parentBeaconBlockRoot', () =>
    assertMalformed(
      () => computeBlockHash(without(fixture('prague-2318'), 'parentBeaconBlockRoot')),
      'requestsHash',
      'parentBeaconBlockRoot',
    ))
  test('withdrawalsRoot without baseFeePerGas', () =>
    assertMalformed(
      () => computeBlockHash({ ...fixture('homestead'), withdrawalsRoot: cancun.withdrawalsRoot }),
      'withdrawalsRoot',
      'baseFeePerGas',
    ))
  test('not an object', () =>
    assertMalformed(() => computeBlockHash(null as unknown as RpcBlockHeader), 'block'))
  test('transactions that are not a list, or a full transaction without blockNumber', () => {
    const block = fixture('london')
    assertMalformed(
      () => verifyBlockHash({ ...block, transactions: {} as unknown as [] }),
      'transactions',
    )
    const [first, ...rest] = block.transactions as RpcTransaction[]
    const broken = [{ ...first, blockNumber: undefined } as RpcTransaction, ...rest]
    assertMalformed(
      () => verifyBlockHash({ ...block, transactions: broken }),
      'transactions[0].blockNumber',
    )
  })
})

describe('against a real anvil node (Prague)', () => {
  let anvil: Anvil

  beforeAll(async () => {
    anvil = await startAnvil({ blockTime: 0 })
    const account = privateKeyToAccount(devAccounts[0].privateKey)
    const wallet = createWalletClient({ account, chain: foundry, transport: http(anvil.url) })
    for (let i = 0; i < 3; i++)
      await wallet.sendTransaction({
        to: devAccounts[1].address,
        value: 1n,
        maxFeePerGas: parseGwei('20'),
      })
    await anvil.rpc('anvil_mine', ['0x2'])
  })
  afterAll(() => anvil?.stop())

  test('every block, by number and by hash, with and without full transactions', async () => {
    const latest = Number(await anvil.rpc<Hex>('eth_blockNumber'))
    assert.ok(latest >= 5, `latest = ${latest}`)
    let withTransactions = 0
    for (let n = 0; n <= latest; n++) {
      const block = await anvil.rpc<RpcBlock & { hash: Hex }>('eth_getBlockByNumber', [
        `0x${n.toString(16)}`,
        true,
      ])
      assert.equal(blockHeaderFields(block).length, 21, 'Prague header')
      assert.equal(verifyBlockHash(block), true, `block ${n}`)
      const byHash = await anvil.rpc<RpcBlock>('eth_getBlockByHash', [block.hash, false])
      assert.equal(verifyBlockHash(byHash, block.hash), true, `block ${n} by hash`)
      if (block.transactions?.length) withTransactions++
      const tampered = { ...block, gasUsed: bump(block.gasUsed) }
      assert.equal(verifyBlockHash(tampered), false)
    }
    assert.equal(withTransactions, 3)
  })
})
