/**
 * A transaction's hash proves its signed envelope, not where it stands. Without a prover, a
 * source that moves a real transaction to another block or index, calls a mined one pending, or
 * names another sender must be outvoted: inclusion, `from` and every field its hash does not cover
 * (the gas price a typed transaction paid, its block's timestamp, fields of a source's own, every
 * field of a type that cannot be rebuilt) need agreement.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http } from '../../src/index.ts'
import { CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

type Tx = Record<string, unknown> & { hash: string; blockHash: string | null }

let lab: Lab
let tx: Tx
let otherBlock: string
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
  await lab.anvil.rpc('evm_mine')
  otherBlock = (await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['0x1', false])).hash
  const hash = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[1]!.address, to: devAccounts[2]!.address, value: '0x5' },
  ])
  while (!(await lab.anvil.rpc('eth_getTransactionReceipt', [hash])))
    await new Promise((r) => setTimeout(r, 10))
  tx = await lab.anvil.rpc<Tx>('eth_getTransactionByHash', [hash])
})
afterAll(() => lab.stop())

const lies: [string, (t: Tx) => Tx][] = [
  ['another block', (t) => ({ ...t, blockHash: otherBlock, blockNumber: '0x1' })],
  ['another block number', (t) => ({ ...t, blockNumber: '0x1' })],
  ['another index', (t) => ({ ...t, transactionIndex: '0x3' })],
  ['still pending', (t) => ({ ...t, blockHash: null, blockNumber: null, transactionIndex: null })],
  ['another sender', (t) => ({ ...t, from: devAccounts[3]!.address.toLowerCase() })],
  [
    'another gas price',
    (t) => ({ ...t, gasPrice: `0x${(BigInt(String(t.gasPrice)) + 1n).toString(16)}` }),
  ],
  ['another block timestamp', (t) => ({ ...t, blockTimestamp: '0x1' })],
  ['a field of its own', (t) => ({ ...t, isSystemTx: true })],
  // A type outlast cannot rebuild is not checked by its hash: every field must agree.
  ['an unknown type, another value', (t) => ({ ...t, type: '0x64', value: '0xde0b6b3a7640000' })],
]

const lookups = () =>
  [
    ['eth_getTransactionByHash', [tx.hash]],
    ['eth_getTransactionByBlockHashAndIndex', [tx.blockHash, tx.transactionIndex]],
    ['eth_getTransactionByBlockNumberAndIndex', [tx.blockNumber, tx.transactionIndex]],
  ] as const

describe('a source that relabels a real transaction', () => {
  for (const [name, lie] of lies)
    it(`${name}: outvoted for every lookup`, async () => {
      const liar = hostile(
        http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
        async (method, _params, answer) => {
          const real = await answer()
          return method.startsWith('eth_getTransactionBy') && real ? lie(real as Tx) : real
        },
      )
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        sources: [liar, ...labSources(lab, ['aws', 'gcp', 'home'])],
      })
      try {
        for (const [method, params] of lookups()) {
          const { result, meta } = await rpc.requestWithMeta({ method, params: [...params] })
          assert.deepEqual(result, tx, method)
          assert.equal(meta.consistency, 'agreed', method)
          assert.ok(!meta.sources.includes('liar'), method)
        }
      } finally {
        await rpc.close()
      }
    })
})
