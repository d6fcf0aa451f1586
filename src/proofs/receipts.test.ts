/**
 * proofs/receipts.ts: a proven receipt keeps only what a check covers; its blob fields are the
 * ones its transaction and header give. One block holding the signed blob transaction of
 * test/adversarial/fixtures/blobTransaction.json (one blob), its header built here and hashed.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'vitest'
import type { ProverContext } from '../core/prover.ts'
import { createTrustStore } from '../core/trust.ts'
import { VerificationError } from '../shared/errors.ts'
import { BLOB_FRACTION, blobFee } from '../verify/blobFee.ts'
import { computeBlockHash, type RpcBlockHeader } from '../verify/block.ts'
import { computeReceiptsRoot, type RpcReceipt } from '../verify/receipts.ts'
import type { RpcTransaction } from '../verify/transaction.ts'
import { computeTransactionsRoot, EMPTY_TRIE_ROOT, EMPTY_UNCLES_HASH } from '../verify/trie.ts'
import { proofs } from './index.ts'

type Obj = Record<string, unknown>

/** The fixture's transaction as a block lists it (without its place); chain 31337. */
const TX = {
  type: '0x3',
  chainId: '0x7a69',
  nonce: '0x0',
  gas: '0x5208',
  maxFeePerGas: '0x174876e800',
  maxPriorityFeePerGas: '0x3b9aca00',
  to: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  value: '0x1',
  accessList: [],
  blobVersionedHashes: ['0x0133a2cf9258b75c22ae68984cb201d23f546a2e46a4ae2f90af978d0f2bb655'],
  maxFeePerBlobGas: '0x174876e800',
  input: '0x',
  r: '0xde280f880888640730457956a03efcaaa77d0f107151e6073cdce2def8f4261c',
  s: '0x2a6610c7ec6f6a3c1035a475663cc73ae16f7497d52db5cff201c6995a50dac2',
  yParity: '0x1',
  v: '0x1',
  hash: '0x7d0b38ad28d36150adcd428325d4d74708c25816bbd304029038ac2052b183fb',
  from: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
} as const
const BLOOM = `0x${'00'.repeat(256)}`
/** 0x7 base fee + 1 gwei tip, under the 100 gwei cap. */
const PAID = '0x3b9aca07'
const EXCESS = 0x4000000n

/**
 * A block of that one transaction, with `excessBlobGas`; a Prague header (with `requestsHash`)
 * unless `cancun`. Its receipt as an honest node gives it, `blobGasPrice` as given.
 */
async function chain(excess: bigint, blobGasPrice: bigint, cancun = false) {
  const receipt = {
    type: '0x3',
    status: '0x1',
    cumulativeGasUsed: '0x5208',
    logs: [],
    logsBloom: BLOOM,
  }
  const fields = {
    parentHash: `0x${'11'.repeat(32)}`,
    sha3Uncles: EMPTY_UNCLES_HASH,
    miner: `0x${'c0'.repeat(20)}`,
    stateRoot: EMPTY_TRIE_ROOT,
    transactionsRoot: await computeTransactionsRoot([TX as unknown as RpcTransaction]),
    receiptsRoot: await computeReceiptsRoot([receipt as unknown as RpcReceipt]),
    logsBloom: BLOOM,
    difficulty: '0x0',
    number: '0x100',
    gasLimit: '0x1c9c380',
    gasUsed: '0x5208',
    timestamp: '0x67000000',
    extraData: '0x',
    mixHash: `0x${'22'.repeat(32)}`,
    nonce: '0x0000000000000000',
    baseFeePerGas: '0x7',
    withdrawalsRoot: EMPTY_TRIE_ROOT,
    blobGasUsed: '0x20000',
    excessBlobGas: `0x${excess.toString(16)}`,
    parentBeaconBlockRoot: `0x${'33'.repeat(32)}`,
    ...(!cancun && { requestsHash: `0x${'44'.repeat(32)}` }),
  }
  const hash = computeBlockHash(fields as unknown as RpcBlockHeader)
  const place = { blockHash: hash, blockNumber: '0x100', transactionIndex: '0x0' }
  const block = {
    ...fields,
    hash,
    withdrawals: [],
    transactions: [{ ...TX, ...place, gasPrice: PAID }],
  }
  const honest: Obj = {
    ...receipt,
    ...place,
    transactionHash: TX.hash,
    gasUsed: '0x5208',
    effectiveGasPrice: PAID,
    blobGasUsed: '0x20000',
    blobGasPrice: `0x${blobGasPrice.toString(16)}`,
    from: TX.from,
    to: TX.to,
    contractAddress: null,
  }
  return { block, honest }
}

/**
 * A prover context over one source that serves `block` and `receipt` as its receipts, on
 * `chainId` (mainnet: its blob forks are known; the block's timestamp is in Cancun's time).
 */
function ctxFor(block: Obj & { hash: string }, receipt: Obj, chainId: number): ProverContext {
  const store = createTrustStore({
    checkpoints: [],
    hook: undefined,
    fetchHeader: async () => null,
  })
  assert.ok(store.add(block, 'agreed'), 'the header hashes to its hash')
  return {
    header: undefined,
    trusted: store.resolve,
    chainId,
    call: async (method) => {
      if (method === 'eth_getTransactionReceipt') return receipt
      if (method === 'eth_getBlockReceipts') return [receipt]
      if (method === 'eth_getBlockByHash') return block
      throw new Error(`unexpected ${method}`)
    },
  }
}

/** The receipt proven both ways: by transaction hash, and among its block's receipts. */
async function proven(block: Obj & { hash: string }, receipt: Obj, chainId = 1) {
  const ctx = ctxFor(block, receipt, chainId)
  const one = await proofs().answer('eth_getTransactionReceipt', [TX.hash], ctx)
  const all = (await proofs().answer('eth_getBlockReceipts', [block.hash], ctx)) as Obj[]
  assert.deepEqual(all, [one], 'the same receipt both ways')
  return one as Obj
}

describe('a proven blob receipt', () => {
  test('keeps what an honest node sends: its blob gas, and the blob base fee of its block', async () => {
    const { block, honest } = await chain(0n, 1n)
    assert.deepEqual(await proven(block, honest), honest)
  })

  test('a Cancun block’s blob base fee is derived under Cancun’s update fraction, and checked', async () => {
    const fee = blobFee(EXCESS, BLOB_FRACTION.cancun!)
    const { block, honest } = await chain(EXCESS, fee, true)
    assert.deepEqual(await proven(block, honest), honest)
    const prague = `0x${blobFee(EXCESS, BLOB_FRACTION.prague!).toString(16)}`
    await assert.rejects(proven(block, { ...honest, blobGasPrice: prague }), VerificationError)
  })

  test('on a chain whose blob forks are not known, the blob base fee is dropped, not derived', async () => {
    // Neither its fork nor its minimum fee can be told (Gnosis charges at least 1 gwei).
    for (const [excess, fee] of [
      [EXCESS, 0x5n],
      [0n, 1n],
    ] as const) {
      const { block, honest } = await chain(excess, fee)
      const { blobGasPrice: _, ...derived } = honest
      assert.deepEqual(await proven(block, honest, 31337), derived)
    }
  })

  test('a field a source blanks is refused where every client sends it, else dropped, never proven null', async () => {
    const { block, honest } = await chain(0n, 1n)
    // `from` and `gasUsed` every client sends: blanked, the receipt is malformed.
    for (const field of ['from', 'gasUsed'])
      await assert.rejects(proven(block, { ...honest, [field]: null }), (e: Error) => {
        assert.ok(e instanceof VerificationError && e.message.includes(field), e.message)
        return true
      })
    // `blockTimestamp` (not every client's) is dropped.
    const got = await proven(block, { ...honest, blockTimestamp: null })
    assert.ok(got.blockTimestamp !== null, 'blockTimestamp: null returned as proven')
    assert.equal(got.contractAddress, null, 'a null that was checked stays')
  })

  test('blob gas that is not its blobs’ is a lie; a field no check covers is dropped', async () => {
    const { block, honest } = await chain(0n, 1n)
    await assert.rejects(proven(block, { ...honest, blobGasUsed: '0x40000' }), VerificationError)
    const padded = { ...honest, l1Fee: '0x5', blobGasPrice: undefined }
    const { blobGasPrice: _, ...plain } = honest
    assert.deepEqual(await proven(block, padded), plain)
  })
})
