import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { ProviderRpcError } from '../shared/errors.ts'
import { blockParam, checkedParams } from './params.ts'
import { classify } from './policy.ts'

const HASH = `0x${'Ab'.repeat(32)}`
const hash = HASH.toLowerCase()
const WHO = '0x00000000000000000000000000000000000b0b01'

describe('blockParam', () => {
  it('spells `latest` one way: omitted as null, in any case, as EIP-1898 { blockNumber }', () => {
    for (const v of [null, 'latest', 'LATEST', 'Latest', { blockNumber: 'latest' }])
      assert.equal(blockParam(v), 'latest', JSON.stringify(v))
    for (const tag of ['earliest', 'pending', 'safe', 'finalized']) {
      assert.equal(blockParam(tag.toUpperCase()), tag)
      assert.equal(blockParam({ blockNumber: tag }), tag)
    }
  })

  it('spells a number without leading zeros, in lower case, at most 64 bits', () => {
    for (const [v, n] of [
      ['0x0', '0x0'],
      ['0x00', '0x0'],
      ['0x0001', '0x1'],
      ['0xAbC', '0xabc'],
      [{ blockNumber: '0x010' }, '0x10'],
      ['0xffffffffffffffff', '0xffffffffffffffff'],
      [`0x${'0'.repeat(40)}1`, '0x1'],
    ] as const)
      assert.equal(blockParam(v), n, JSON.stringify(v))
  })

  it('keeps a block hash a hash, lower-cased, as a string or { blockHash, requireCanonical }', () => {
    assert.equal(blockParam(HASH), hash)
    assert.deepEqual(blockParam({ blockHash: HASH }), { blockHash: hash })
    assert.deepEqual(blockParam({ blockHash: HASH, requireCanonical: true }), {
      blockHash: hash,
      requireCanonical: true,
    })
  })

  it('is none for anything else', () => {
    for (const v of [
      undefined,
      1,
      '1',
      '',
      '0x',
      'foo',
      'latest ',
      '0x1ffffffffffffffff',
      HASH.slice(2),
      `0x${'ab'.repeat(31)}`,
      true,
      [],
      ['latest'],
      {},
      { blockNumber: null },
      { blockNumber: 1 },
      { blockNumber: HASH },
      { blockNumber: '0x1', requireCanonical: true },
      { blockHash: HASH.slice(2) },
      { blockHash: HASH, requireCanonical: 'yes' },
      { blockHash: HASH, blockNumber: '0x1' },
      { blockHash: HASH, extra: 1 },
    ])
      assert.equal(blockParam(v), undefined, JSON.stringify(v))
  })
})

describe('checkedParams', () => {
  const check = (method: string, params: unknown[]) =>
    checkedParams(method, params, classify(method))
  const refused = (method: string, params: unknown[]) =>
    assert.throws(
      () => check(method, params),
      (e: unknown) => e instanceof ProviderRpcError && e.code === -32602,
      `${method} ${JSON.stringify(params)}`,
    )

  it('refuses a hash that is not 0x and 64 hex digits, for every lookup by hash', () => {
    for (const method of [
      'eth_getBlockByHash',
      'eth_getTransactionByHash',
      'eth_getTransactionByBlockHashAndIndex',
      'eth_getRawTransactionByHash',
      'eth_getTransactionReceipt',
      'eth_getBlockTransactionCountByHash',
      'eth_getUncleCountByBlockHash',
    ]) {
      for (const bad of [HASH.slice(2), `0x${'ab'.repeat(31)}`, `${HASH}00`, 'latest', null, 1])
        refused(method, [bad, false])
      refused(method, [])
      const second = method === 'eth_getBlockByHash' ? false : '0x0'
      assert.deepEqual(check(method, [HASH, second]), [hash, second])
    }
  })

  it("refuses a block lookup's full-transactions flag that is no boolean, as nodes do (reviewOfSession39g)", () => {
    for (const method of ['eth_getBlockByHash', 'eth_getBlockByNumber'])
      for (const bad of ['false', 'true', 0, 1])
        refused(method, [method.endsWith('Hash') ? HASH : 'latest', bad])
    assert.deepEqual(check('eth_getBlockByNumber', ['latest']), ['latest'])
  })

  it('spells the block of a read one way, leaves an omitted one omitted, refuses the rest', () => {
    assert.deepEqual(check('eth_getBalance', [WHO, null]), [WHO, 'latest'])
    assert.deepEqual(check('eth_getBalance', [WHO, { blockNumber: 'LATEST' }]), [WHO, 'latest'])
    assert.deepEqual(check('eth_getStorageAt', [WHO, '0x0', '0x00a']), [WHO, '0x0', '0xa'])
    assert.deepEqual(check('eth_getBlockByNumber', ['PENDING', false]), ['pending', false])
    assert.deepEqual(check('eth_call', [{ to: WHO }]), [{ to: WHO }])
    refused('eth_getBalance', [WHO, 'newest'])
    refused('eth_getBalance', [WHO, 1])
    refused('eth_getBlockByNumber', [{ blockHash: HASH.slice(2) }, false])
    // What the method's params are otherwise is the nodes' to judge.
    assert.deepEqual(check('eth_getBalance', ['0xAB', 'latest']), ['0xAB', 'latest'])
  })

  it("spells a transaction's index as its block's lookups compare it", () => {
    assert.deepEqual(check('eth_getTransactionByBlockHashAndIndex', [HASH, '0x00']), [hash, '0x0'])
    assert.deepEqual(check('eth_getTransactionByBlockNumberAndIndex', ['0x01', '0X0A']), [
      '0x1',
      '0xa',
    ])
    for (const index of [undefined, null, 0, '0', 'latest', `0x1${'0'.repeat(16)}`])
      refused('eth_getTransactionByBlockNumberAndIndex', ['latest', index])
  })

  it("spells an eth_getLogs range one way: `null` left out, tags and numbers, a filter's hash", () => {
    assert.deepEqual(check('eth_getLogs', [{ fromBlock: null, toBlock: 'LATEST' }]), [
      { toBlock: 'latest' },
    ])
    assert.deepEqual(check('eth_getLogs', [{ fromBlock: '0x01', address: WHO }]), [
      { fromBlock: '0x1', address: WHO },
    ])
    assert.deepEqual(check('eth_getLogs', [{ blockHash: HASH }]), [{ blockHash: hash }])
    // A `blockHash` of null is none: the filter is a range (to `latest`), not a lookup by hash.
    assert.deepEqual(check('eth_getLogs', [{ blockHash: null }]), [{}])
    refused('eth_getLogs', [{ fromBlock: 'newest' }])
    refused('eth_getLogs', [{ toBlock: HASH }])
    refused('eth_getLogs', [{ blockHash: HASH.slice(2) }])
  })

  it('refuses a log range whose numbers run backwards, and compares no tags (reviewOfSession39e, 39g)', () => {
    refused('eth_getLogs', [{ fromBlock: '0x10', toBlock: '0xf' }])
    assert.deepEqual(check('eth_getLogs', [{ fromBlock: '0xf', toBlock: '0xf' }]), [
      { fromBlock: '0xf', toBlock: '0xf' },
    ])
    // `earliest` is no hex number (read as one it was block 234), nor is `finalized`.
    assert.deepEqual(check('eth_getLogs', [{ fromBlock: 'earliest', toBlock: '0x1' }]), [
      { fromBlock: 'earliest', toBlock: '0x1' },
    ])
    assert.deepEqual(check('eth_getLogs', [{ fromBlock: '0x20', toBlock: 'finalized' }]), [
      { fromBlock: '0x20', toBlock: 'finalized' },
    ])
  })

  it("leaves methods whose params it does not know to the nodes (a user's policy names them)", () => {
    assert.deepEqual(check('eth_getAccount', [WHO, 'LATEST']), [WHO, 'LATEST'])
    const own = { class: 'quorum', blockParam: 1 } as const
    assert.deepEqual(checkedParams('eth_getAccount', [WHO, 'LATEST'], own), [WHO, 'latest'])
  })
})
