import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as Rlp from 'ox/Rlp'
import { describe, test } from 'vitest'
import { VerificationError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import { createAddress, recoverSender, recoverSenders, signingPayload } from './sender.ts'
import type { RpcTransaction } from './transaction.ts'

type Tx = RpcTransaction & { hash: Hex; from: Hex }
const read = (file: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8'))
const fixtures: { comment: string; tx: Tx }[] = read('transactions.json').transactions
const blocks: { number: Hex; transactions: Tx[] }[] = [
  read('block-homestead-2000004.json').block,
  read('block-london-14151203.json').block,
]
const byHash = (prefix: string): Tx => {
  const found = fixtures.find((f) => f.tx.hash.startsWith(prefix))
  assert.ok(found, `fixture ${prefix}`)
  return found.tx
}

describe('recoverSender: real signed transactions', () => {
  for (const { comment, tx } of fixtures)
    test(`type ${tx.type} ${tx.hash.slice(0, 10)}: ${comment.slice(0, 60)}`, () => {
      assert.equal(recoverSender(tx), tx.from.toLowerCase())
    })

  test('fixtures cover pre-EIP-155 (v = 27 and 28), EIP-155 and types 0x1 to 0x4', () => {
    const legacy = fixtures.filter((f) => f.tx.type === '0x0').map((f) => f.tx.v)
    assert.deepEqual(legacy, ['0x1b', '0x1c', '0x26'])
    assert.deepEqual([...new Set(fixtures.map((f) => f.tx.type))].sort(), [
      '0x0',
      '0x1',
      '0x2',
      '0x3',
      '0x4',
    ])
  })

  for (const block of blocks)
    test(`every sender of mainnet block ${Number(block.number)} (${block.transactions.length} transactions)`, async () => {
      const senders = await recoverSenders(block.transactions)
      assert.deepEqual(
        senders,
        block.transactions.map((tx) => tx.from.toLowerCase()),
      )
    })

  test('a legacy transaction without a type field (pre-Berlin node) is legacy', () => {
    const { type: _, ...tx } = byHash('0x4de72139')
    assert.equal(recoverSender(tx), tx.from)
  })
})

describe('recoverSender: what a source could change', () => {
  test('any signed field changed recovers another sender (or none), never the claimed one', () => {
    for (const prefix of ['0x4de72139', '0xb9b9c7f8', '0x48bff7b0', '0xb478179e', '0xba43fa28']) {
      const tx = byHash(prefix)
      for (const [field, value] of [
        ['value', '0x1'],
        ['nonce', '0x12345'],
        ['input', '0xdeadbeef'],
      ] as const) {
        // The claimed hash is kept: the cache is keyed by the hash computed, not the one claimed.
        const altered = recoverSender({ ...tx, [field]: value })
        assert.notEqual(altered, tx.from.toLowerCase(), `${prefix} ${field}`)
      }
    }
  })

  test('an EIP-155 signature under another chain id is malformed', () => {
    const tx = byHash('0xb9b9c7f8') // chainId 1, v = 38
    assert.throws(
      () => recoverSender({ ...tx, chainId: '0x5' }),
      (e: unknown) => e instanceof VerificationError && /"chainId"/.test(e.shortMessage),
    )
  })

  test('a signature that recovers no key gives undefined, as does a type it cannot rebuild', () => {
    const tx = byHash('0xb478179e')
    assert.equal(recoverSender({ ...tx, r: '0x0' }), undefined)
    assert.equal(recoverSender({ ...tx, type: '0x7e' }), undefined)
    assert.equal(signingPayload({ ...tx, type: '0x7e' }), undefined)
  })

  test('the signing payload leaves the signature out', () => {
    const tx = byHash('0xb478179e')
    assert.deepEqual(signingPayload({ ...tx, r: '0x1', s: '0x2' }), signingPayload(tx))
    // Legacy: six fields; EIP-155 adds the chain id and two empty items (chain id 1 here).
    const items = (t: Tx) => Rlp.toHex(signingPayload(t)!) as Hex[]
    const eip155 = items(byHash('0xb9b9c7f8'))
    assert.equal(eip155.length, 9)
    assert.deepEqual(eip155.slice(6), ['0x01', '0x', '0x'])
    assert.equal(items(byHash('0x4de72139')).length, 6)
    // Typed: the type byte, then the fields without yParity, r, s.
    const typed = signingPayload(tx)!
    assert.equal(typed[0], 2)
    assert.equal((Rlp.toHex(typed.subarray(1)) as Hex[]).length, 9)
  })
})

describe('recoverSenders', () => {
  test('lets the event loop run while recovering a block', async () => {
    const txs = blocks.flatMap((b) => b.transactions)
    assert.ok(txs.length > 8)
    let ticked = false
    setTimeout(() => {
      ticked = true
    }, 0)
    const senders = await recoverSenders(txs)
    assert.ok(ticked, 'a timer ran before the senders were all recovered')
    assert.equal(senders.length, txs.length)
  })
})

describe('createAddress', () => {
  test('CREATE addresses of known deployers', () => {
    // The first contract deployed by anvil's (and hardhat's) first dev account.
    assert.equal(
      createAddress('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266', '0x0'),
      '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    )
    assert.equal(
      createAddress('0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0', '0x1'),
      '0x343c43a37d37dff08ae8c4a11544c718abb4fcf8',
    )
    assert.equal(
      createAddress('0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0', '0x00'),
      '0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d',
    )
  })
})
