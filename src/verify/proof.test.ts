import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, test } from 'vitest'
import { type Anvil, devAccounts, mined, startAnvil } from '../../test/lab/anvil.ts'
import { VerificationError } from '../shared/errors.ts'
import {
  EMPTY_CODE_HASH,
  type ProvableMethod,
  proofParams,
  provenAnswer,
  type RpcProof,
  verifyAccountProof,
  verifyCode,
  verifyStorageProof,
} from './proof.ts'
import { EMPTY_TRIE_ROOT } from './trie.ts'

type Fixture = { comment: string; network: string; stateRoot: Hex; proof: RpcProof }
const fixtures: Fixture[] = JSON.parse(
  readFileSync(new URL('./fixtures/proofs.json', import.meta.url), 'utf8'),
).proofs
const [deposit, miner, sepolia] = fixtures as [Fixture, Fixture, Fixture]

/** Asserts that `promise` rejects with a VerificationError whose short message names `field`. */
async function assertNames(promise: Promise<unknown>, field: string) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError, got ${err}`)
    assert.ok(err.shortMessage.includes(`"${field}"`), err.message)
    return true
  })
}

/** The same hex with its last nibble changed (a different value of the same shape). */
function bump(value: Hex): Hex {
  const last = Number.parseInt(value.slice(-1), 16)
  return `${value.slice(0, -1)}${((last + 1) % 16).toString(16)}` as Hex
}

/** The same hex with the nibble at `at` (counted after 0x) changed. */
function flipNibble(value: Hex, at: number): Hex {
  const i = 2 + at
  const nibble = (Number.parseInt(value[i] as string, 16) ^ 1).toString(16)
  return `${value.slice(0, i)}${nibble}${value.slice(i + 1)}` as Hex
}

describe('real chain proofs (mainnet, Sepolia)', () => {
  for (const { comment, stateRoot, proof } of fixtures) {
    test(comment.slice(0, 90), async () => {
      const account = await verifyAccountProof(stateRoot, proof.address, proof)
      assert.ok(account)
      assert.equal(account.balance, BigInt(proof.balance))
      assert.equal(account.nonce, BigInt(proof.nonce))
      assert.equal(account.storageHash, proof.storageHash)
      assert.equal(account.codeHash, proof.codeHash)
      const ask = (method: ProvableMethod) =>
        provenAnswer(method, [proof.address, 'latest'], proof, stateRoot)
      assert.equal(await ask('eth_getBalance'), proof.balance)
      assert.equal(await ask('eth_getTransactionCount'), proof.nonce)
    })
  }

  test('checksummed or upper-case addresses and hashes are the same', async () => {
    const { stateRoot, proof } = miner
    const upper = `0x${proof.address.slice(2).toUpperCase()}` as Hex
    const shouting = { ...proof, codeHash: proof.codeHash.toUpperCase().replace('0X', '0x') as Hex }
    assert.ok(
      await verifyAccountProof(stateRoot.toUpperCase().replace('0X', '0x') as Hex, upper, shouting),
    )
  })

  test('storage slot 1 of the deposit contract, in every spelling of the slot', async () => {
    const { stateRoot, proof } = deposit
    const [item] = proof.storageProof
    assert.ok(item)
    for (const slot of ['0x1', '0x01', item.key] as Hex[]) {
      assert.equal(await verifyStorageProof(proof.storageHash, slot, item), BigInt(item.value))
      assert.equal(
        await provenAnswer('eth_getStorageAt', [proof.address, slot, 'latest'], proof, stateRoot),
        item.value,
      )
    }
  })

  test('eth_getCode: empty for an EOA without fetching code; a contract needs its code', async () => {
    assert.equal(
      await provenAnswer(
        'eth_getCode',
        [miner.proof.address, 'latest'],
        miner.proof,
        miner.stateRoot,
      ),
      '0x',
    )
    await assert.rejects(
      provenAnswer(
        'eth_getCode',
        [deposit.proof.address, 'latest'],
        deposit.proof,
        deposit.stateRoot,
      ),
      TypeError,
    )
    await assertNames(
      provenAnswer(
        'eth_getCode',
        [deposit.proof.address, 'l'],
        deposit.proof,
        deposit.stateRoot,
        '0x00',
      ),
      'code',
    )
  })

  test('proofParams asks for the account and the 32-byte slot', () => {
    assert.deepEqual(proofParams('eth_getBalance', [miner.proof.address, 'latest'], '0x1'), [
      miner.proof.address,
      [],
      '0x1',
    ])
    assert.deepEqual(proofParams('eth_getStorageAt', [miner.proof.address, '0x1', 'latest'], 'x'), [
      miner.proof.address,
      [`0x${'00'.repeat(31)}01`],
      'x',
    ])
  })
})

describe('tampering with real proofs is caught and named', () => {
  const { stateRoot, proof } = deposit
  const { address } = proof

  for (const field of ['balance', 'nonce', 'storageHash', 'codeHash'] as const)
    test(`altered ${field} with the original proof`, async () => {
      await assertNames(
        verifyAccountProof(stateRoot, address, { ...proof, [field]: bump(proof[field]) }),
        field,
      )
    })

  test('altered balance reaches provenAnswer as an error, not an answer', async () => {
    const lie = { ...proof, balance: '0x1' as Hex }
    await assertNames(
      provenAnswer('eth_getBalance', [address, 'latest'], lie, stateRoot),
      'balance',
    )
  })

  test('any altered byte of any proof node', async () => {
    for (const [i, node] of proof.accountProof.entries())
      for (const at of [0, 10, node.length / 2, node.length - 4]) {
        const accountProof = proof.accountProof.with(i, flipNibble(node, at))
        await assertNames(
          verifyAccountProof(stateRoot, address, { ...proof, accountProof }),
          'accountProof',
        )
      }
  })

  test('a node dropped, the proof emptied, or proofs swapped between accounts', async () => {
    const dropped = proof.accountProof.toSpliced(3, 1)
    await assertNames(
      verifyAccountProof(stateRoot, address, { ...proof, accountProof: dropped }),
      'accountProof',
    )
    await assertNames(
      verifyAccountProof(stateRoot, address, { ...proof, accountProof: [] }),
      'accountProof',
    )
    const swapped = { ...miner.proof, address }
    await assertNames(verifyAccountProof(stateRoot, address, swapped), 'accountProof')
  })

  test('a proof against another block’s stateRoot', async () => {
    await assertNames(verifyAccountProof(sepolia.stateRoot, address, proof), 'accountProof')
  })

  test('an answer about another address', async () => {
    await assertNames(verifyAccountProof(stateRoot, miner.proof.address, proof), 'address')
  })

  test('storage: wrong value, altered node, another slot’s entry, no entry', async () => {
    const [item] = proof.storageProof
    assert.ok(item)
    await assertNames(
      verifyStorageProof(proof.storageHash, '0x1', { ...item, value: '0x1' }),
      'value',
    )
    await assertNames(
      verifyStorageProof(proof.storageHash, '0x1', { ...item, value: '0x0' }),
      'value',
    )
    const bad = { ...item, proof: item.proof.with(1, flipNibble(item.proof[1] as Hex, 20)) }
    await assertNames(verifyStorageProof(proof.storageHash, '0x1', bad), 'proof')
    await assertNames(verifyStorageProof(proof.storageHash, '0x2', item), 'key')
    await assertNames(verifyStorageProof(EMPTY_TRIE_ROOT, '0x1', item), 'proof')
    await assertNames(
      provenAnswer('eth_getStorageAt', [address, '0x2', 'latest'], proof, stateRoot),
      'storageProof',
    )
  })

  test('verifyCode', () => {
    verifyCode(EMPTY_CODE_HASH, '0x')
    assert.throws(() => verifyCode(EMPTY_CODE_HASH, '0x00'), VerificationError)
    assert.throws(() => verifyCode(proof.codeHash, '0x'), /"code"/)
  })

  test('requests it cannot answer are TypeErrors, not blame on the source', async () => {
    await assert.rejects(
      provenAnswer('eth_call' as ProvableMethod, [address], proof, stateRoot),
      TypeError,
    )
    await assert.rejects(provenAnswer('eth_getBalance', ['0x12'], proof, stateRoot), TypeError)
    await assert.rejects(provenAnswer('eth_getStorageAt', [address], proof, stateRoot), TypeError)
  })
})

describe('against a real anvil node', () => {
  let anvil: Anvil
  let contract: Hex
  let block: { number: Hex; hash: Hex; stateRoot: Hex }
  const eoa = devAccounts[1].address as Hex
  const absent = '0x000000000000000000000000000000000000dEaD'
  const big = `0x${'ab'.repeat(32)}` as Hex
  /** Runtime (35 bytes): LOG1, LOG2 and LOG0 of the calldata, or REVERT on empty calldata. */
  const runtime = [
    '0x3615601e57', // CALLDATASIZE ISZERO PUSH1 0x1e JUMPI
    '3660006000 37', // CALLDATACOPY(0, 0, CALLDATASIZE)
    '60aa 366000 a1', // LOG1(0, CALLDATASIZE, 0xaa)
    '60bb 60aa 366000 a2', // LOG2(0, CALLDATASIZE, 0xaa, 0xbb)
    '366000 a0 00', // LOG0(0, CALLDATASIZE) STOP
    '5b 6000 80 fd', // JUMPDEST REVERT(0, 0)
  ]
    .join('')
    .replaceAll(' ', '')
  /** Init code: SSTORE(0, 0x2a), SSTORE(1, 0x1234), SSTORE(5, 0xabab…ab), RETURN the runtime. */
  const init = [
    '0x602a600055 611234600155', // SSTORE(0, 0x2a) SSTORE(1, 0x1234)
    `7f${big.slice(2)} 600555`, // SSTORE(5, big)
    '6023603b6000 39', // CODECOPY(0, 0x3b, 0x23)
    '60236000 f3', // RETURN(0, 0x23)
    runtime.slice(2),
  ]
    .join('')
    .replaceAll(' ', '')

  const getProof = (address: Hex, slots: Hex[] = []) =>
    anvil.rpc<RpcProof>('eth_getProof', [address, slots.map(pad32), block.number])
  const pad32 = (slot: Hex) => `0x${BigInt(slot).toString(16).padStart(64, '0')}` as Hex

  /** Every provable answer computed from the proof equals the node's own answer. */
  async function sameAsNode(address: Hex, slots: Hex[] = []) {
    const proof = await getProof(address, slots)
    for (const method of ['eth_getBalance', 'eth_getTransactionCount'] as const) {
      const params = [address, block.number]
      assert.equal(
        await provenAnswer(method, params, proof, block.stateRoot),
        await anvil.rpc(method, params),
      )
    }
    const code = await anvil.rpc<Hex>('eth_getCode', [address, block.number])
    assert.equal(
      await provenAnswer('eth_getCode', [address, block.number], proof, block.stateRoot, code),
      code,
    )
    for (const slot of slots) {
      const params = [address, slot, block.number]
      assert.equal(
        await provenAnswer('eth_getStorageAt', params, proof, block.stateRoot),
        await anvil.rpc('eth_getStorageAt', params),
      )
    }
    return proof
  }

  beforeAll(async () => {
    anvil = await startAnvil({ blockTime: 0 })
    const from = devAccounts[0].address
    // Block 1 deploys the contract, block 2 pays the EOA (the tampering test needs both).
    for (const tx of [
      { from, data: init, gas: '0x100000' },
      { from, to: eoa, value: '0x1234567' },
    ])
      await mined(anvil, await anvil.rpc<string>('eth_sendTransaction', [tx]))
    const receipts = await anvil.rpc<{ contractAddress: Hex }[]>('eth_getBlockReceipts', ['0x1'])
    contract = receipts[0]?.contractAddress as Hex
    block = await anvil.rpc('eth_getBlockByNumber', ['latest', false])
    assert.equal(await anvil.rpc('eth_getCode', [contract, 'latest']), runtime)
  })
  afterAll(() => anvil?.stop())

  test('an existing EOA (balance, nonce, empty code)', async () => {
    await sameAsNode(eoa)
    const sender = await sameAsNode(devAccounts[0].address as Hex, ['0x0'])
    assert.equal(sender.nonce, '0x2')
  })

  test('an absent account: proven empty, zero slot', async () => {
    const proof = await sameAsNode(absent, ['0x0', '0x5'])
    assert.equal(await verifyAccountProof(block.stateRoot, absent, proof), undefined)
    assert.equal(
      await provenAnswer('eth_getStorageAt', [absent, '0x5', 'latest'], proof, block.stateRoot),
      `0x${'00'.repeat(32)}`,
    )
  })

  test('a contract with storage: present and absent slots, code', async () => {
    const proof = await sameAsNode(contract, ['0x0', '0x1', '0x5', '0x2', `0x${'ff'.repeat(32)}`])
    const values = proof.storageProof.map((item) => BigInt(item.value))
    assert.deepEqual(values, [0x2an, 0x1234n, BigInt(big), 0n, 0n])
    const account = await verifyAccountProof(block.stateRoot, contract, proof)
    assert.ok(account)
    verifyCode(account.codeHash, runtime as Hex)
  })

  test('tampering: balance, storage value, stale proof, wrong slot', async () => {
    const proof = await getProof(contract, ['0x1'])
    const [item] = proof.storageProof
    assert.ok(item)
    await assertNames(
      verifyAccountProof(block.stateRoot, contract, { ...proof, balance: '0x1' }),
      'balance',
    )
    const lie = { ...proof, storageProof: [{ ...item, value: '0x1235' as Hex }] }
    await assertNames(
      provenAnswer('eth_getStorageAt', [contract, '0x1', 'latest'], lie, block.stateRoot),
      'value',
    )
    const absentLie = { ...(await getProof(absent)), balance: '0x1' as Hex }
    await assertNames(verifyAccountProof(block.stateRoot, absent, absentLie), 'balance')
    // the sender's proof at block 1 against block 2's root (its balance and nonce changed since)
    const stale = await anvil.rpc<RpcProof>('eth_getProof', [devAccounts[0].address, [], '0x1'])
    await assertNames(
      verifyAccountProof(block.stateRoot, devAccounts[0].address as Hex, stale),
      'accountProof',
    )
    await assert.rejects(
      verifyStorageProof(proof.storageHash, '0x0', { ...item, key: pad32('0x0') }),
      VerificationError,
    )
  })
})
