/**
 * verify/blobFee.ts: the blob base fee a header sets, and the blob gas a transaction uses. The
 * fork schedules are held equal to `@ethereumjs/common`'s (what `outlast/execute` goes by).
 */
import assert from 'node:assert/strict'
import { Holesky, Hoodi, Mainnet, Sepolia } from '@ethereumjs/common'
import { describe, test } from 'vitest'
import { hardforksOf } from '../execute/blockContext.ts'
import { BLOB_FRACTION, blobBaseFee, blobFee, blobGasUsed, GAS_PER_BLOB } from './blobFee.ts'
import type { RpcTransaction } from './transaction.ts'

const EXCESS = 0x4000000n
const hex = (n: number | bigint) => `0x${n.toString(16)}`
/** A post-merge header at `timestamp` with excess blob gas; Prague's fields unless `cancun`. */
const at = (timestamp: number, excess = EXCESS, cancun = false) => ({
  number: '0x1600000',
  timestamp: hex(timestamp),
  baseFeePerGas: '0x1',
  difficulty: '0x0',
  withdrawalsRoot: '0x',
  excessBlobGas: hex(excess),
  parentBeaconBlockRoot: '0x',
  ...(!cancun && { requestsHash: '0x' }),
})

/** Each timed fork's start (Unix seconds) on the chains @ethereumjs/common knows. */
const STARTS = [Mainnet, Sepolia, Holesky, Hoodi].map((chain) => ({
  chainId: Number(chain.chainId),
  starts: chain.hardforks.flatMap((f) => (f.timestamp == null ? [] : [Number(f.timestamp)])),
}))

describe('blobBaseFee', () => {
  test('on known chains, the update fraction of the fork @ethereumjs/common says is in force', () => {
    for (const { chainId, starts } of STARTS)
      for (const time of starts.flatMap((t) => [t - 1, t, t + 1]).filter((t) => t >= 0)) {
        const header = at(time)
        const fraction = BLOB_FRACTION[hardforksOf(header, chainId)[0]!]
        const expected = fraction === undefined ? undefined : blobFee(EXCESS, fraction)
        assert.equal(blobBaseFee(header, chainId), expected, `${chainId} at ${time}`)
      }
  })

  test('elsewhere nothing is derived: the fork cannot be told, nor the chain’s minimum fee', () => {
    // Gnosis (100) charges at least 1 gwei per blob gas: with no excess blob gas, not 1 wei.
    for (const chainId of [100, 31337, undefined]) {
      assert.equal(blobBaseFee(at(1, EXCESS, true), chainId), undefined, 'Cancun')
      assert.equal(blobBaseFee(at(1, 0n), chainId), undefined, 'no excess blob gas')
    }
    const { excessBlobGas: _, ...noBlobs } = at(1)
    assert.equal(blobBaseFee(noBlobs, 1), undefined, 'before blobs')
  })

  test('rises with the excess blob gas, from 1 wei', () => {
    const fraction = BLOB_FRACTION.prague!
    assert.equal(blobFee(0n, fraction), 1n)
    assert.ok(blobFee(EXCESS, fraction) > blobFee(EXCESS / 2n, fraction))
    assert.ok(blobFee(EXCESS, BLOB_FRACTION.cancun!) > blobFee(EXCESS, fraction))
  })
})

describe('blobGasUsed', () => {
  test('GAS_PER_BLOB per versioned hash of a type-3 transaction, else none', () => {
    const hashes = [`0x01${'aa'.repeat(31)}`, `0x01${'bb'.repeat(31)}`]
    const tx = (type: string) =>
      ({ type, blobVersionedHashes: hashes }) as unknown as RpcTransaction
    assert.equal(blobGasUsed(tx('0x3')), 2n * GAS_PER_BLOB)
    assert.equal(blobGasUsed(tx('0x2')), 0n)
    assert.equal(blobGasUsed({ type: '0x3' } as unknown as RpcTransaction), 0n)
  })
})
