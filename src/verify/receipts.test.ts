import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { verifyMerkleProof } from '@ethereumjs/mpt'
import * as Bytes from 'ox/Bytes'
import * as Rlp from 'ox/Rlp'
import { createWalletClient, type Hex, http, parseGwei } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, test } from 'vitest'
import { type Anvil, devAccounts, startAnvil } from '../../test/lab/anvil.ts'
import { VerificationError } from '../shared/errors.ts'
import { type RpcBlock, verifyBlockHash } from './block.ts'
import { UnsupportedTypeError } from './errors.ts'
import {
  computeLogsBloom,
  computeReceiptsRoot,
  encodeReceipt,
  type LogFilter,
  logsBloomMayContain,
  type RpcLog,
  type RpcReceipt,
  verifyLogsAgainstReceipts,
  verifyReceipts,
} from './receipts.ts'
import { type RpcTransaction, serializeTransaction } from './transaction.ts'
import {
  computeTransactionsRoot,
  computeWithdrawalsRoot,
  indexKey,
  orderedTrieRoot,
  type RpcBlockWithBody,
  verifyBlockBody,
} from './trie.ts'

/** Asserts that `fn` throws (or rejects with) a VerificationError whose short message names `field`. */
async function assertNames(fn: () => unknown, field: string) {
  await assert.rejects(
    async () => fn(),
    (err: unknown) => {
      assert.ok(err instanceof VerificationError, `expected VerificationError, got ${err}`)
      assert.ok(err.shortMessage.includes(`"${field}"`), err.message)
      return true
    },
  )
}

const bump = (value: Hex): Hex =>
  `${value.slice(0, -1)}${((Number.parseInt(value.slice(-1), 16) + 1) % 16).toString(16)}` as Hex

const clone = <T>(value: T): T => structuredClone(value)

describe('real mainnet receipt (block 21,925,176)', () => {
  const fixture: { receiptsRoot: Hex; receipt: RpcReceipt; receiptProof: Hex[] } = JSON.parse(
    readFileSync(new URL('./fixtures/receipt-proof-21925176.json', import.meta.url), 'utf8'),
  )
  const block = JSON.parse(
    readFileSync(new URL('./fixtures/block-cancun-21925176.json', import.meta.url), 'utf8'),
  ).block as RpcBlock & { hash: Hex }
  const leaf = () =>
    verifyMerkleProof(
      indexKey(Number(fixture.receipt.transactionIndex)),
      fixture.receiptProof.map((node) => Bytes.fromHex(node)),
      { root: Bytes.fromHex(fixture.receiptsRoot) },
    )

  test('the proof is for the receiptsRoot of the hash-checked header', () => {
    assert.equal(verifyBlockHash(block), true)
    assert.equal(block.receiptsRoot, fixture.receiptsRoot)
  })

  test('encodeReceipt gives exactly the leaf proven in the block’s receipts trie', async () => {
    const proven = await leaf()
    assert.ok(proven)
    assert.equal(Bytes.toHex(encodeReceipt(fixture.receipt)), Bytes.toHex(proven))
  })

  test('its logsBloom is the bloom of its logs; any changed field changes the encoding', async () => {
    assert.equal(Bytes.toHex(computeLogsBloom(fixture.receipt.logs)), fixture.receipt.logsBloom)
    const proven = Bytes.toHex((await leaf()) as Uint8Array)
    const [log] = fixture.receipt.logs as [RpcLog]
    const variants: RpcReceipt[] = [
      { ...fixture.receipt, status: '0x0' },
      { ...fixture.receipt, type: '0x1' },
      { ...fixture.receipt, cumulativeGasUsed: bump(fixture.receipt.cumulativeGasUsed) },
      { ...fixture.receipt, logs: [{ ...log, data: bump(log.data) }] },
      { ...fixture.receipt, logs: [] },
    ]
    for (const variant of variants) assert.notEqual(Bytes.toHex(encodeReceipt(variant)), proven)
  })
})

describe('encodeReceipt', () => {
  const base: RpcReceipt = {
    cumulativeGasUsed: '0x5208',
    logsBloom: `0x${'00'.repeat(256)}`,
    logs: [],
    transactionHash: `0x${'11'.repeat(32)}`,
    transactionIndex: '0x0',
    blockHash: `0x${'22'.repeat(32)}`,
    blockNumber: '0x1',
  }

  test('pre-Byzantium receipts commit to the state root, legacy ones have no type byte', () => {
    const root = `0x${'ab'.repeat(32)}` as Hex
    const encoded = encodeReceipt({ ...base, root })
    assert.deepEqual(Rlp.toHex(encoded), [root, '0x5208', base.logsBloom, []])
    assert.deepEqual(Rlp.toHex(encodeReceipt({ ...base, status: '0x1' })), [
      '0x01',
      '0x5208',
      base.logsBloom,
      [],
    ])
    assert.deepEqual(Rlp.toHex(encodeReceipt({ ...base, type: '0x0', status: '0x0' }))[0], '0x')
  })

  test('typed receipts are the type byte then the RLP list', () => {
    for (const type of ['0x1', '0x2', '0x3', '0x4'] as Hex[]) {
      const encoded = encodeReceipt({ ...base, type, status: '0x1' })
      assert.equal(encoded[0], Number(type))
      assert.deepEqual(Rlp.toHex(encoded.subarray(1)), ['0x01', '0x5208', base.logsBloom, []])
    }
  })

  test('unknown types are UnsupportedTypeError (no blame), malformed fields VerificationError', async () => {
    for (const type of ['0x5', '0x7e', '0x100'] as Hex[]) {
      assert.throws(() => encodeReceipt({ ...base, type, status: '0x1' }), UnsupportedTypeError)
      await assert.rejects(
        computeReceiptsRoot([{ ...base, type, status: '0x1' }]),
        (err: unknown) => {
          assert.ok(err instanceof UnsupportedTypeError && !(err instanceof VerificationError))
          assert.ok(err.message.startsWith(`Cannot verify "receipts[0].type": type ${type} `))
          return true
        },
      )
    }
    await assertNames(() => encodeReceipt({ ...base, status: '0x2' }), 'receipt.status')
    await assertNames(
      () => encodeReceipt({ ...base, status: '0x1', logsBloom: '0x00' }),
      'receipt.logsBloom',
    )
    await assertNames(() => encodeReceipt(base), 'receipt.status')
  })

  test('zero quantities (0x0) are read as 0, not as errors', async () => {
    const zero = { ...base, status: '0x1', cumulativeGasUsed: '0x0', gasUsed: '0x0' } as RpcReceipt
    await verifyReceipts([zero], await computeReceiptsRoot([zero]))
  })

  test('the empty block: the empty trie root', async () => {
    assert.equal(
      await computeReceiptsRoot([]),
      '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421',
    )
  })
})

describe('logsBloomMayContain and computeLogsBloom', () => {
  const address = '0x00000000219ab540356cbb839cbe05303d7705fa' as Hex
  const topic = '0x649bbc62d0e31342afea4e5cd82d4049e7e1ee912fc0889aa790803be39038c5' as Hex
  const other = `0x${'42'.repeat(32)}` as Hex
  const bloom = Bytes.toHex(computeLogsBloom([{ address, topics: [topic], data: '0x' }]))

  test('what was added may be there; what was not is (here) not', () => {
    assert.equal(logsBloomMayContain(bloom, address), true)
    assert.equal(logsBloomMayContain(bloom, address, [topic]), true)
    assert.equal(logsBloomMayContain(bloom, null, [null, null]), true)
    assert.equal(
      logsBloomMayContain(bloom, [other.slice(0, 42) as Hex, address], [[other, topic]]),
      true,
    )
    assert.equal(logsBloomMayContain(bloom, other.slice(0, 42) as Hex), false)
    assert.equal(logsBloomMayContain(bloom, address, [other]), false)
    assert.equal(logsBloomMayContain(bloom, address, [topic, other]), false)
    assert.equal(logsBloomMayContain(`0x${'00'.repeat(256)}`, null, []), true)
  })
})

describe('against a real anvil node (Prague): one block with every receipt type', () => {
  let anvil: Anvil
  let contract: Hex
  let block: RpcBlockWithBody & { hash: Hex; number: Hex; logsBloom: Hex }
  let receipts: RpcReceipt[]
  let blobRaw: Hex
  const range: RpcReceipt[][] = []
  const topicA = `0x${'aa'.padStart(64, '0')}` as Hex
  const topicB = `0x${'bb'.padStart(64, '0')}` as Hex

  beforeAll(async () => {
    anvil = await startAnvil({ noMining: true })
    const account = privateKeyToAccount(devAccounts[0].privateKey)
    // (dev account 3 signs here; account 2 works too since its key was fixed)
    const other = privateKeyToAccount(devAccounts[3].privateKey)
    const wallet = createWalletClient({ account, chain: foundry, transport: http(anvil.url) })
    // LOG1, LOG2 and LOG0 of the calldata, or REVERT on empty calldata (see proof.test.ts)
    const runtime = '3615601e5736600060003760aa366000a160bb60aa366000a2366000a0005b600080fd'
    await anvil.rpc('eth_sendTransaction', [
      { from: account.address, data: `0x6023600c60003960236000f3${runtime}`, gas: '0x100000' },
    ])
    await anvil.rpc('evm_mine')
    const [deployed] = await anvil.rpc<{ contractAddress: Hex }[]>('eth_getBlockReceipts', ['0x1'])
    contract = deployed?.contractAddress as Hex
    assert.equal(await anvil.rpc('eth_getCode', [contract, 'latest']), `0x${runtime}`)

    let nonce = 1
    const fees = { maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: parseGwei('1') }
    const send = async (raw: Hex) => anvil.rpc<Hex>('eth_sendRawTransaction', [raw])
    const base = { account, chain: foundry } as const
    const gasPrice = parseGwei('20')
    await send(
      await wallet.signTransaction({
        ...base,
        type: 'legacy',
        to: other.address,
        value: 1n,
        gas: 21_000n,
        gasPrice,
        nonce: nonce++,
      }),
    )
    await send(
      await wallet.signTransaction({
        ...base,
        type: 'eip2930',
        to: contract,
        data: '0x01',
        gas: 100_000n,
        gasPrice,
        nonce: nonce++,
        accessList: [{ address: contract, storageKeys: [`0x${'00'.repeat(32)}`] }],
      }),
    )
    await send(
      await wallet.signTransaction({
        ...base,
        type: 'eip1559',
        to: contract,
        data: '0xdeadbeef',
        gas: 100_000n,
        ...fees,
        nonce: nonce++,
      }),
    )
    // status 0: empty calldata reverts
    await send(
      await wallet.signTransaction({
        ...base,
        type: 'eip1559',
        to: contract,
        gas: 100_000n,
        ...fees,
        nonce: nonce++,
      }),
    )
    const infinity = new Uint8Array(48)
    infinity[0] = 0xc0
    const kzg = { blobToKzgCommitment: () => infinity, computeBlobKzgProof: () => infinity }
    blobRaw = await wallet.signTransaction({
      ...base,
      type: 'eip4844',
      to: other.address,
      gas: 21_000n,
      ...fees,
      maxFeePerBlobGas: parseGwei('20'),
      nonce: nonce++,
      blobs: [new Uint8Array(131_072)],
      kzg,
    })
    await send(blobRaw)
    const authority = privateKeyToAccount(devAccounts[1].privateKey)
    const authorization = await wallet.signAuthorization({
      account: authority,
      contractAddress: contract,
      nonce: 0,
    })
    await send(
      await wallet.signTransaction({
        ...base,
        type: 'eip7702',
        to: authority.address,
        data: '0xc0ffee',
        gas: 200_000n,
        ...fees,
        nonce: nonce++,
        authorizationList: [authorization],
      }),
    )
    // another sender, so that logs come from several transactions and senders
    const wallet2 = createWalletClient({
      account: other,
      chain: foundry,
      transport: http(anvil.url),
    })
    await send(
      await wallet2.signTransaction({
        account: other,
        chain: foundry,
        type: 'eip1559',
        to: contract,
        data: '0x02',
        gas: 100_000n,
        ...fees,
        nonce: 0,
      }),
    )
    await anvil.rpc('evm_mine')
    block = await anvil.rpc('eth_getBlockByNumber', ['0x2', true])
    receipts = await anvil.rpc('eth_getBlockReceipts', [block.hash])
    for (const n of ['0x0', '0x1', '0x2']) range.push(await anvil.rpc('eth_getBlockReceipts', [n]))
  })
  afterAll(() => anvil?.stop())

  test('the block has receipts of types 0 to 4, a failure and a transaction with several logs', () => {
    assert.equal(receipts.length, 7)
    assert.deepEqual([...new Set(receipts.map((r) => r.type))].sort(), [
      '0x0',
      '0x1',
      '0x2',
      '0x3',
      '0x4',
    ])
    assert.ok(receipts.some((r) => r.status === '0x0'))
    assert.ok(receipts.some((r) => r.logs.length >= 3))
    assert.ok(receipts.filter((r) => r.logs.length > 0).length >= 3)
  })

  test('receiptsRoot rebuilt from eth_getBlockReceipts matches the header', async () => {
    assert.equal(await computeReceiptsRoot(receipts), block.receiptsRoot)
    await verifyReceipts(receipts, block)
    await verifyReceipts(receipts, block.receiptsRoot)
    const hashes = (block.transactions ?? []).map(
      (tx) => (typeof tx === 'string' ? tx : tx.hash) as Hex,
    )
    await verifyReceipts(receipts, { ...block, transactions: hashes })
    for (const earlier of range) {
      const [first] = earlier
      const header = await anvil.rpc<RpcBlock>('eth_getBlockByNumber', [
        first?.blockNumber ?? '0x0',
        false,
      ])
      await verifyReceipts(earlier, header)
    }
  })

  test('each eth_getTransactionReceipt is the verified one at its index', async () => {
    for (const receipt of receipts)
      assert.deepEqual(
        await anvil.rpc('eth_getTransactionReceipt', [receipt.transactionHash]),
        receipt,
      )
  })

  test('transactionsRoot and withdrawalsRoot of anvil blocks match', async () => {
    assert.equal(verifyBlockHash(block), true)
    assert.equal(await computeWithdrawalsRoot(block.withdrawals ?? []), block.withdrawalsRoot)
    for (const n of ['0x0', '0x1']) {
      const earlier = await anvil.rpc<RpcBlockWithBody>('eth_getBlockByNumber', [n, true])
      assert.equal(
        await computeTransactionsRoot(earlier.transactions as never),
        earlier.transactionsRoot,
      )
      await verifyBlockBody(earlier)
    }
    await verifyBlockBody(await anvil.rpc('eth_getBlockByNumber', ['0x2', false]))
  })

  test('anvil commits to a blob transaction in its network form (with blobs), unlike consensus', async () => {
    // EIP-4844: the transactions trie holds 0x03 || rlp(tx body) without blobs, as mainnet does.
    // anvil puts the pooled form with blobs, commitments and proofs there instead, so its
    // transactionsRoot of a block with a blob transaction is not the consensus one. Every other
    // type (0, 1, 2, 4) in the same block is encoded exactly as anvil does.
    const txs = block.transactions as RpcTransaction[]
    const envelopes = txs.map((tx) =>
      tx.type === '0x3' ? Bytes.fromHex(blobRaw) : (serializeTransaction(tx) as Uint8Array),
    )
    assert.equal(await orderedTrieRoot(envelopes), block.transactionsRoot)
    assert.notEqual(await computeTransactionsRoot(txs), block.transactionsRoot)
    await assertNames(() => verifyBlockBody(block), 'transactionsRoot')
  })

  test('tampered receipts: swapped, dropped, altered, each named', async () => {
    const swap = (list: RpcReceipt[], i: number, j: number) => {
      const out = clone(list)
      ;[out[i], out[j]] = [out[j] as RpcReceipt, out[i] as RpcReceipt]
      return out
    }
    // swapped in place: the indexes give it away
    await assertNames(
      () => verifyReceipts(swap(receipts, 1, 2), block),
      'receipts[1].transactionIndex',
    )
    // swapped contents under the original indexes, hashes and log indexes: only the root can tell
    const contents = clone(receipts)
    const a = contents.find((r) => r.type === '0x0') as RpcReceipt
    const b = contents.find((r) => r.status === '0x0') as RpcReceipt
    ;[a.status, b.status] = [b.status, a.status]
    ;[a.type, b.type] = [b.type, a.type]
    await assertNames(() => verifyReceipts(contents, block), 'receiptsRoot')

    const withLogs = receipts.findIndex((r) => r.logs.length >= 3)
    const dropped = clone(receipts)
    const target = dropped[withLogs] as unknown as { logs: RpcLog[]; logsBloom: Hex }
    target.logs = target.logs.slice(1)
    await assertNames(
      () => verifyReceipts(dropped, block),
      `receipts[${withLogs}].logs[0].logIndex`,
    )
    // …and with the log indexes and bloom fixed up too
    let index = 0
    for (const r of dropped)
      for (const log of r.logs as RpcLog[]) log.logIndex = `0x${(index++).toString(16)}`
    target.logsBloom = Bytes.toHex(computeLogsBloom(target.logs))
    await assertNames(
      () => verifyReceipts(dropped, { receiptsRoot: block.receiptsRoot }),
      'receiptsRoot',
    )

    const altered = clone(receipts)
    const log = (altered[withLogs] as unknown as { logs: RpcLog[] }).logs[1] as { data: Hex }
    log.data = bump(log.data)
    await assertNames(() => verifyReceipts(altered, block), 'receiptsRoot')

    const failed = receipts.findIndex((r) => r.status === '0x0')
    const succeeded = clone(receipts)
    ;(succeeded[failed] as RpcReceipt).status = '0x1'
    await assertNames(() => verifyReceipts(succeeded, block), 'receiptsRoot')

    const bloom = clone(receipts)
    ;(bloom[withLogs] as RpcReceipt).logsBloom = `0x${'00'.repeat(256)}`
    await assertNames(() => verifyReceipts(bloom, block), `receipts[${withLogs}].logsBloom`)

    await assertNames(
      () => verifyReceipts(receipts.slice(0, -1), block.receiptsRoot),
      'receiptsRoot',
    )
    await assertNames(() => verifyReceipts(receipts.slice(0, -1), block), 'receipts')
    await assertNames(
      () => verifyReceipts(receipts, { ...block, logsBloom: `0x${'00'.repeat(256)}` }),
      'logsBloom',
    )
    await assertNames(
      () => verifyReceipts(receipts, { ...block, hash: bump(block.hash) }),
      'receipts[0].blockHash',
    )

    // the trie does not commit to transactionHash: only the block's transaction list can catch it
    const renamed = clone(receipts)
    ;(renamed[0] as RpcReceipt).transactionHash = (renamed[1] as RpcReceipt).transactionHash
    await verifyReceipts(renamed, block.receiptsRoot)
    await assertNames(() => verifyReceipts(renamed, block), 'receipts[0].transactionHash')

    const gas = clone(receipts)
    ;(gas[3] as RpcReceipt).gasUsed = bump((gas[3] as RpcReceipt).gasUsed as Hex)
    await assertNames(() => verifyReceipts(gas, block), 'receipts[3].gasUsed')
  })

  const filters: [string, () => LogFilter][] = [
    ['no filter', () => ({})],
    ['the contract', () => ({ address: contract })],
    ['the contract among others', () => ({ address: [devAccounts[2].address, contract] })],
    ['topic 0', () => ({ topics: [topicA] })],
    ['wildcard then topic 1', () => ({ topics: [null, topicB] })],
    ['either topic first', () => ({ topics: [[topicB, topicA]] })],
    ['a trailing wildcard (clients differ)', () => ({ topics: [topicA, null] })],
    ['nothing matches', () => ({ address: devAccounts[2].address as Hex })],
  ]
  for (const [name, makeFilter] of filters)
    test(`eth_getLogs (${name}) is exactly the matching logs of the verified receipts`, async () => {
      const filter = makeFilter()
      const logs = await anvil.rpc<RpcLog[]>('eth_getLogs', [
        { ...filter, fromBlock: '0x0', toBlock: '0x2' },
      ])
      if (name !== 'nothing matches') assert.ok(logs.length > 0, name)
      verifyLogsAgainstReceipts(logs, range, filter)
      for (const log of logs) {
        const header = await anvil.rpc<{ logsBloom: Hex }>('eth_getBlockByHash', [
          log.blockHash,
          false,
        ])
        assert.equal(logsBloomMayContain(header.logsBloom, log.address, log.topics), true)
      }
    })

  test('tampered eth_getLogs answers: dropped, added, altered, reordered, each named', async () => {
    const filter = { address: contract }
    const logs = await anvil.rpc<RpcLog[]>('eth_getLogs', [
      { ...filter, fromBlock: '0x0', toBlock: '0x2' },
    ])
    assert.ok(logs.length >= 6)
    await assertNames(
      () => verifyLogsAgainstReceipts(logs.toSpliced(2, 1), range, filter),
      'logs[2]',
    )
    await assertNames(
      () => verifyLogsAgainstReceipts(logs.slice(0, -1), range, filter),
      `logs[${logs.length - 1}]`,
    )
    const fake = { ...(logs[1] as RpcLog), logIndex: '0x99' as Hex }
    await assertNames(
      () => verifyLogsAgainstReceipts([...logs, fake], range, filter),
      `logs[${logs.length}]`,
    )
    const change = (i: number, patch: Partial<RpcLog>) =>
      logs.with(i, { ...(logs[i] as RpcLog), ...patch })
    const first = logs[0] as RpcLog
    await assertNames(
      () => verifyLogsAgainstReceipts(change(0, { data: bump(first.data) }), range, filter),
      'logs[0].data',
    )
    await assertNames(
      () => verifyLogsAgainstReceipts(change(0, { topics: [topicB] }), range, filter),
      'logs[0].topics[0]',
    )
    await assertNames(
      () => verifyLogsAgainstReceipts(change(0, { topics: [] }), range, filter),
      'logs[0].topics',
    )
    await assertNames(
      () =>
        verifyLogsAgainstReceipts(
          change(0, { transactionHash: bump(first.transactionHash as Hex) }),
          range,
          filter,
        ),
      'logs[0].transactionHash',
    )
    await assertNames(
      () => verifyLogsAgainstReceipts(change(0, { removed: true }), range, filter),
      'logs[0].removed',
    )
    await assertNames(() => verifyLogsAgainstReceipts(logs.toReversed(), range, filter), 'logs[0]')
    // a log of the block that does not match the filter counts as added
    await assertNames(() => verifyLogsAgainstReceipts(logs, range, { topics: [topicB] }), 'logs[0]')
    // receipts of a block left out of the range: its logs are not in the verified set
    await assertNames(() => verifyLogsAgainstReceipts(logs, range.slice(0, 2), filter), 'logs[0]')
  })
})
