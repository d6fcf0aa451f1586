import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createWalletClient, type Hex, http, parseGwei, type WalletClient } from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, test } from 'vitest'
import { type Anvil, devAccounts, startAnvil } from '../../test/lab/anvil.ts'
import { VerificationError } from '../shared/errors.ts'
import { rawTransactionHash } from './rawTransaction.ts'
import {
  computeTransactionHash,
  type RpcAuthorization,
  type RpcTransaction,
  serializeTransaction,
  verifyTransactionHash,
} from './transaction.ts'

type Fixture = { comment: string; tx: RpcTransaction & { hash: Hex } }
const fixtures: Fixture[] = JSON.parse(
  readFileSync(new URL('./fixtures/transactions.json', import.meta.url), 'utf8'),
).transactions

const byHash = (prefix: string): RpcTransaction & { hash: Hex } => {
  const found = fixtures.find((f) => f.tx.hash.startsWith(prefix))
  assert.ok(found, `fixture ${prefix}`)
  return found.tx
}

/** Asserts that `fn` throws a VerificationError whose message names `field`. */
function assertMalformed(fn: () => unknown, field: string) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError, got ${err}`)
    assert.match(err.shortMessage, new RegExp(`"${field.replace(/[[\].]/g, '\\$&')}"`))
    return true
  })
}

/** A hex value changed by one unit (quantities) or one nibble (data), keeping its shape. */
function bump(value: Hex): Hex {
  if (value === '0x') return '0x01'
  const last = Number.parseInt(value.slice(-1), 16)
  return `${value.slice(0, -1)}${((last + 1) % 16).toString(16)}` as Hex
}

describe('computeTransactionHash: real transactions', () => {
  for (const { comment, tx } of fixtures) {
    test(`type ${tx.type} ${tx.hash.slice(0, 10)}: ${comment.slice(0, 60)}`, () => {
      assert.equal(computeTransactionHash(tx), tx.hash)
      assert.equal(verifyTransactionHash(tx), true)
      assert.equal(verifyTransactionHash(tx, tx.hash), true)
      assert.equal(verifyTransactionHash(tx, `0x${'00'.repeat(32)}`), false)
    })
  }

  test('fixtures cover every type 0x0 to 0x4', () => {
    assert.deepEqual([...new Set(fixtures.map((f) => f.tx.type))].sort(), [
      '0x0',
      '0x1',
      '0x2',
      '0x3',
      '0x4',
    ])
  })

  test('a legacy transaction without a type field (pre-Berlin node) is legacy', () => {
    const { type: _, ...tx } = byHash('0x4de72139')
    assert.equal(verifyTransactionHash(tx), true)
  })

  test('letter case of hex and leading zeros in quantities do not change the hash', () => {
    const tx = byHash('0xb478179e')
    const upper = {
      ...tx,
      to: tx.to?.toUpperCase().replace('0X', '0x') as Hex,
      nonce: '0x0022792c',
    }
    assert.equal(verifyTransactionHash(upper as RpcTransaction), true)
  })

  test('unknown types cannot be verified: undefined, not false', () => {
    const tx = byHash('0xb478179e')
    assert.equal(computeTransactionHash({ ...tx, type: '0x7e' }), undefined)
    assert.equal(verifyTransactionHash({ ...tx, type: '0x64' }), undefined)
    assert.equal(serializeTransaction({ ...tx, type: '0x5' }), undefined)
  })
})

describe('tampering: any signed field changed fails verification', () => {
  const signedFields: Record<string, readonly string[]> = {
    '0x0': ['nonce', 'gasPrice', 'gas', 'to', 'value', 'input', 'v', 'r', 's'],
    '0x1': [
      'chainId',
      'nonce',
      'gasPrice',
      'gas',
      'to',
      'value',
      'input',
      'yParity',
      'v',
      'r',
      's',
    ],
    '0x2': [
      'chainId',
      'nonce',
      'maxPriorityFeePerGas',
      'maxFeePerGas',
      'gas',
      'to',
      'value',
      'input',
      'yParity',
      'v',
      'r',
      's',
    ],
    '0x3': [
      'chainId',
      'nonce',
      'maxPriorityFeePerGas',
      'maxFeePerGas',
      'gas',
      'to',
      'value',
      'input',
      'maxFeePerBlobGas',
      'yParity',
      'v',
      'r',
      's',
    ],
    '0x4': [
      'chainId',
      'nonce',
      'maxPriorityFeePerGas',
      'maxFeePerGas',
      'gas',
      'to',
      'value',
      'input',
      'yParity',
      'v',
      'r',
      's',
    ],
  }
  for (const { tx } of fixtures) {
    const type = tx.type ?? '0x0'
    for (const field of signedFields[type] ?? []) {
      const value = (tx as Record<string, unknown>)[field]
      if (typeof value !== 'string') continue
      test(`type ${type} ${tx.hash.slice(0, 10)}: ${field}`, () => {
        const tampered: Record<string, unknown> = { ...tx, [field]: bump(value as Hex) }
        if (field === 'yParity' || field === 'v') {
          tampered[field] = flipParity(value as Hex)
          // the other spelling of the parity would disagree (malformed, tested below): drop it
          if (type !== '0x0') tampered[field === 'v' ? 'yParity' : 'v'] = undefined
        }
        assert.notEqual(computeTransactionHash(tampered as RpcTransaction), tx.hash)
        assert.equal(verifyTransactionHash(tampered as RpcTransaction), false)
      })
    }
  }

  test('type changed', () => {
    const tx = byHash('0xb478179e')
    assert.equal(verifyTransactionHash({ ...tx, type: '0x1' }), false)
  })

  test('contract creation: to removed', () => {
    assert.equal(verifyTransactionHash({ ...byHash('0xb478179e'), to: null }), false)
  })

  test('access list entry added or storage key changed', () => {
    const tx = byHash('0x48bff7b0')
    const [entry] = tx.accessList ?? []
    assert.ok(entry)
    const key = `0x${'00'.repeat(31)}01` as Hex
    assert.equal(
      verifyTransactionHash({ ...tx, accessList: [...(tx.accessList ?? []), entry] }),
      false,
    )
    assert.equal(
      verifyTransactionHash({ ...tx, accessList: [{ ...entry, storageKeys: [key] }] }),
      false,
    )
    assert.equal(verifyTransactionHash({ ...tx, accessList: [] }), false)
  })

  test('a blob versioned hash changed or dropped', () => {
    const tx = byHash('0x6c4aef4c')
    const hashes = tx.blobVersionedHashes ?? []
    assert.equal(verifyTransactionHash({ ...tx, blobVersionedHashes: hashes.slice(1) }), false)
    const changed = hashes.map((h, i) => (i === 2 ? bump(h) : h))
    assert.equal(verifyTransactionHash({ ...tx, blobVersionedHashes: changed }), false)
  })

  test('any authorization field changed', () => {
    const tx = byHash('0xba43fa28')
    const [auth] = tx.authorizationList ?? []
    assert.ok(auth)
    for (const field of ['chainId', 'address', 'nonce', 'r', 's'] as const) {
      const changed: RpcAuthorization[] = [{ ...auth, [field]: bump(auth[field]) }]
      assert.equal(verifyTransactionHash({ ...tx, authorizationList: changed }), false, field)
    }
    const flipped = [{ ...auth, yParity: flipParity(auth.yParity as Hex) }]
    assert.equal(verifyTransactionHash({ ...tx, authorizationList: flipped }), false, 'yParity')
    assert.equal(verifyTransactionHash({ ...tx, authorizationList: [] }), false, 'removed')
  })

  test('legacy EIP-155: a chainId that disagrees with v is rejected', () => {
    assertMalformed(
      () => computeTransactionHash({ ...byHash('0xb9b9c7f8'), chainId: '0x5' }),
      'chainId',
    )
  })

  test('typed: v that disagrees with yParity is rejected', () => {
    assertMalformed(() => computeTransactionHash({ ...byHash('0xb478179e'), v: '0x0' }), 'v')
  })
})

describe('malformed transactions name the field', () => {
  const tx1559 = byHash('0xb478179e')
  const cases: [string, RpcTransaction | null][] = [
    ['transaction', null],
    ['nonce', { ...tx1559, nonce: undefined as unknown as Hex }],
    ['gas', { ...tx1559, gas: '0xg' as Hex }],
    ['value', { ...tx1559, value: `0x${'f'.repeat(65)}` as Hex }],
    ['input', { ...tx1559, input: '0x123' }],
    ['to', { ...tx1559, to: '0x1234' }],
    ['r', { ...tx1559, r: 1 as unknown as Hex }],
    ['value', { ...tx1559, value: 10n as unknown as Hex }],
    ['yParity', { ...tx1559, yParity: '0x2', v: undefined }],
    ['yParity', { ...tx1559, yParity: undefined, v: undefined }],
    ['chainId', { ...tx1559, chainId: undefined }],
    ['type', { ...tx1559, type: 'eip1559' as Hex }],
    ['accessList', { ...tx1559, accessList: {} as unknown as [] }],
    ['accessList[0].address', { ...tx1559, accessList: [{ address: '0x01', storageKeys: [] }] }],
    [
      'accessList[0].storageKeys[0]',
      { ...tx1559, accessList: [{ address: tx1559.to as Hex, storageKeys: ['0x01'] }] },
    ],
    ['v', { ...byHash('0x4de72139'), v: '0x1d' }],
    ['gasPrice', { ...byHash('0x4de72139'), gasPrice: undefined }],
    ['to', { ...byHash('0x6c4aef4c'), to: null }],
    [
      'blobVersionedHashes[1]',
      { ...byHash('0x6c4aef4c'), blobVersionedHashes: [`0x${'01'.repeat(32)}`, '0x02'] },
    ],
    ['maxFeePerBlobGas', { ...byHash('0x6c4aef4c'), maxFeePerBlobGas: undefined }],
    [
      'authorizationList[0].address',
      {
        ...byHash('0xba43fa28'),
        authorizationList: [
          { chainId: '0x1', address: '0x', nonce: '0x0', v: '0x0', r: '0x1', s: '0x1' },
        ],
      },
    ],
    [
      'authorizationList[0].yParity',
      {
        ...byHash('0xba43fa28'),
        authorizationList: [
          { chainId: '0x1', address: tx1559.to as Hex, nonce: '0x0', r: '0x1', s: '0x1' },
        ],
      },
    ],
  ]
  for (const [field, tx] of cases)
    test(field, () => assertMalformed(() => computeTransactionHash(tx as RpcTransaction), field))
})

describe('rawTransactionHash', () => {
  test('real EIP-2930 raw transaction (Ropsten, from ethers v5 tests)', () => {
    const raw =
      '0x01f87c030d8465cf89a0825b689432162f3581e88a5f62e8a61892b42c46e2c18f7b8080d7d6940000000000000000000000000000000000000000c080a09659cba42376dbea1433cd6afc9c8ffa38dbeff5408ffdca0ebde6207281a3eca027efbab3e6ed30b088ce0a50533364778e101c9e52acf318daec131da64e7758'
    assert.equal(rawTransactionHash(raw), byHash('0x48bff7b0').hash)
  })

  test('equals keccak256 of every fixture envelope', () => {
    for (const { tx } of fixtures) {
      const envelope = serializeTransaction(tx)
      assert.ok(envelope)
      assert.equal(rawTransactionHash(`0x${Buffer.from(envelope).toString('hex')}`), tx.hash)
    }
  })
})

describe('against a real anvil node (Prague)', () => {
  let anvil: Anvil
  let wallet: WalletClient
  let account: PrivateKeyAccount
  let nonce = 0
  const to = devAccounts[2].address
  const sent: { label: string; raw: Hex; hash: Hex }[] = []

  beforeAll(async () => {
    anvil = await startAnvil({ blockTime: 0 })
    account = privateKeyToAccount(devAccounts[0].privateKey)
    wallet = createWalletClient({ account, chain: foundry, transport: http(anvil.url) })
  })
  afterAll(() => anvil?.stop())

  /** Sends a signed raw transaction (anvil mines it) and checks the locally computed hash. */
  async function send(label: string, raw: Hex) {
    const hash = await anvil.rpc<Hex>('eth_sendRawTransaction', [raw])
    assert.equal(rawTransactionHash(raw), hash, `${label}: rawTransactionHash`)
    sent.push({ label, raw, hash })
    nonce++
    await mined(hash)
    const tx = await anvil.rpc<RpcTransaction & { hash: Hex; blockHash: Hex }>(
      'eth_getTransactionByHash',
      [hash],
    )
    assert.equal(computeTransactionHash(tx), hash, `${label}: computeTransactionHash`)
    assert.equal(verifyTransactionHash(tx, hash), true)
    return tx
  }

  /** Waits (briefly) for anvil's automine to include the transaction. */
  async function mined(hash: Hex) {
    for (let i = 0; i < 100; i++) {
      if (await anvil.rpc('eth_getTransactionReceipt', [hash])) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.fail(`${hash} was not mined`)
  }

  const fees = { maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: parseGwei('1') }

  test('type 0x0, EIP-155', async () => {
    const raw = await wallet.signTransaction({
      account,
      chain: foundry,
      type: 'legacy',
      to,
      value: 1n,
      gas: 21_000n,
      gasPrice: parseGwei('20'),
      nonce,
    })
    const tx = await send('legacy EIP-155', raw)
    assert.equal(tx.chainId, '0x7a69')
    assert.equal(BigInt(tx.v as Hex) >= 35n, true)
  })

  test('type 0x0, pre-EIP-155 (v = 27/28, signed without a chain id)', async () => {
    const raw = await account.signTransaction({
      type: 'legacy',
      to,
      value: 2n,
      gas: 21_000n,
      gasPrice: parseGwei('20'),
      nonce,
    })
    const tx = await send('legacy pre-155', raw)
    assert.ok(['0x1b', '0x1c'].includes(tx.v as string), `v = ${tx.v}`)
  })

  test('type 0x1 with an access list', async () => {
    const raw = await wallet.signTransaction({
      account,
      chain: foundry,
      type: 'eip2930',
      to,
      value: 3n,
      gas: 60_000n,
      gasPrice: parseGwei('20'),
      nonce,
      accessList: [{ address: to, storageKeys: [`0x${'11'.repeat(32)}`, `0x${'00'.repeat(32)}`] }],
    })
    await send('eip2930', raw)
  })

  test('type 0x2, and a contract creation', async () => {
    const call = { account, chain: foundry, type: 'eip1559', ...fees, nonce } as const
    await send(
      'eip1559',
      await wallet.signTransaction({ ...call, to, value: 4n, gas: 30_000n, data: '0x1234' }),
    )
    const create = await wallet.signTransaction({
      ...call,
      nonce,
      gas: 100_000n,
      data: '0x600160005260206000f3',
    })
    const tx = await send('eip1559 create', create)
    assert.equal(tx.to, null)
  })

  test('type 0x3 blob transaction (network form with blobs)', async () => {
    // No KZG library is installed, so this sends the all-zero blob: its KZG commitment and proof
    // are both the G1 point at infinity, which anvil checks with its own KZG implementation.
    const infinity = new Uint8Array(48)
    infinity[0] = 0xc0
    const kzg = { blobToKzgCommitment: () => infinity, computeBlobKzgProof: () => infinity }
    const raw = await wallet.signTransaction({
      account,
      chain: foundry,
      type: 'eip4844',
      to,
      value: 5n,
      gas: 21_000n,
      ...fees,
      maxFeePerBlobGas: parseGwei('20'),
      nonce,
      blobs: [new Uint8Array(131_072)],
      kzg,
    })
    assert.ok(raw.length > 2 * 131_072, 'raw carries the blob')
    const tx = await send('eip4844', raw)
    assert.equal(tx.blobVersionedHashes?.length, 1)
  })

  test('type 0x4 with an EIP-7702 authorization', async () => {
    const authority = privateKeyToAccount(devAccounts[1].privateKey)
    const authorization = await wallet.signAuthorization({
      account: authority,
      contractAddress: devAccounts[3].address,
    })
    const raw = await wallet.signTransaction({
      account,
      chain: foundry,
      type: 'eip7702',
      to: authority.address,
      gas: 100_000n,
      ...fees,
      nonce,
      authorizationList: [authorization],
    })
    const tx = await send('eip7702', raw)
    assert.equal(tx.authorizationList?.length, 1)
  })

  test('every transaction again by block hash and index, and in full blocks', async () => {
    assert.equal(sent.length, 7)
    for (const { label, hash } of sent) {
      const receipt = await anvil.rpc<{ blockHash: Hex; transactionIndex: Hex }>(
        'eth_getTransactionReceipt',
        [hash],
      )
      const tx = await anvil.rpc<RpcTransaction>('eth_getTransactionByBlockHashAndIndex', [
        receipt.blockHash,
        receipt.transactionIndex,
      ])
      assert.equal(verifyTransactionHash(tx, hash), true, label)
      const block = await anvil.rpc<{ transactions: RpcTransaction[] }>('eth_getBlockByHash', [
        receipt.blockHash,
        true,
      ])
      for (const full of block.transactions) assert.equal(verifyTransactionHash(full), true, label)
    }
  })
})

function flipParity(value: Hex): Hex {
  const n = Number(value)
  if (n === 27 || n === 28) return n === 27 ? '0x1c' : '0x1b'
  if (n >= 35) return `0x${(n % 2 ? n + 1 : n - 1).toString(16)}`
  return n === 0 ? '0x1' : '0x0'
}
