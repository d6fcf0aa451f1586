/**
 * Fields that belong to another transaction type. `computeTransactionHash` and the transactions
 * trie rebuild a transaction from the fields of ITS type and ignore the rest, so the fastest
 * source could add an `authorizationList` (a made-up EIP-7702 delegation) to a type-2 transfer,
 * or an `accessList` to a legacy one, and the hash and root still check. Such a field is now in
 * the agreement key (txRules.ts `unhashed`: the fields a type's hash covers come from
 * verify/transaction.ts `hashedFields`, by type), and a proven answer carries only what its
 * proof checked (proofs/blocks.ts `provenOnly`). Before, the liar's fields came back as agreed
 * or proven.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { asReturned, CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

type Obj = Record<string, unknown>

let lab: Lab
let transfer: string
let legacy: string
let block: { hash: string; number: string }
const index: Record<string, string> = {}

const attacker = `0x${'ba'.repeat(20)}`

beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    // The liar answers 80 ms before any honest domain: a test whose liar was never heard (a
    // loaded machine) proves nothing, and fails on its own check.
    sources: [
      ...threeDomains.map((d) => ({ ...d, latency: d.latency + 60 })),
      { name: 'liar', domain: 'liar-host', latency: 0 },
    ],
  })
  await lab.anvil.rpc('evm_setAutomine', [false])
  transfer = await lab.anvil.rpc('eth_sendTransaction', [
    {
      from: devAccounts[1].address,
      to: devAccounts[2].address,
      value: '0x9',
      maxFeePerGas: '0x2540be400',
      maxPriorityFeePerGas: '0x3',
    },
  ])
  legacy = await lab.anvil.rpc('eth_sendTransaction', [
    {
      from: devAccounts[3].address,
      to: devAccounts[1].address,
      value: '0x1',
      gasPrice: '0x77359400',
    },
  ])
  await lab.anvil.rpc('evm_mine')
  await lab.anvil.rpc('evm_setAutomine', [true])
  await lab.anvil.rpc('evm_mine')
  for (const hash of [transfer, legacy]) {
    const r = await lab.anvil.rpc<Obj>('eth_getTransactionReceipt', [hash])
    index[hash] = String(r.transactionIndex)
    block = { hash: String(r.blockHash), number: String(r.blockNumber) }
  }
  const t = await lab.anvil.rpc<Obj>('eth_getTransactionByHash', [transfer])
  const l = await lab.anvil.rpc<Obj>('eth_getTransactionByHash', [legacy])
  assert.equal(t.type, '0x2')
  assert.equal(t.authorizationList, undefined)
  assert.equal(l.type, '0x0')
  assert.equal(l.accessList, undefined)
})
afterAll(() => lab.stop())

/** Fields of another type: none of them is in this transaction's signed envelope. */
function foreign(tx: Obj): Obj {
  if (!('nonce' in tx && 'input' in tx)) return tx
  if (tx.type === '0x2')
    return {
      ...tx,
      authorizationList: [
        {
          chainId: '0x7a69',
          address: attacker,
          nonce: '0x0',
          yParity: '0x0',
          r: `0x${'11'.repeat(32)}`,
          s: `0x${'22'.repeat(32)}`,
        },
      ],
    }
  if (tx.type === '0x0')
    return {
      ...tx,
      accessList: [{ address: attacker, storageKeys: [`0x${'33'.repeat(32)}`] }],
    }
  return tx
}

function rewrite(answer: unknown): unknown {
  if (!answer || typeof answer !== 'object' || Array.isArray(answer)) return answer
  const o = answer as Obj
  if (Array.isArray(o.transactions))
    return {
      ...o,
      transactions: o.transactions.map((t) => (typeof t === 'string' ? t : rewrite(t))),
    }
  return foreign(o)
}

const NAMES = [
  'type-2 transfer by hash',
  'legacy transfer by hash',
  'type-2 transfer by block hash and index',
  'full block by hash',
]

const requests = () => [
  { name: 'type-2 transfer by hash', method: 'eth_getTransactionByHash', params: [transfer] },
  { name: 'legacy transfer by hash', method: 'eth_getTransactionByHash', params: [legacy] },
  {
    name: 'type-2 transfer by block hash and index',
    method: 'eth_getTransactionByBlockHashAndIndex',
    params: [block.hash, index[transfer]],
  },
  { name: 'full block by hash', method: 'eth_getBlockByHash', params: [block.hash, true] },
]

for (const withProofs of [false, true])
  describe(`the fastest source adds fields of another transaction type, ${withProofs ? 'with' : 'without'} proofs()`, () => {
    for (const name of NAMES)
      it(name, async () => {
        const request = requests().find((r) => r.name === name)!
        const truth = asReturned(await lab.anvil.rpc(request.method, request.params))
        let altered = 0
        const liar = hostile(
          http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
          async (_m, _p, answer) => {
            const real = await answer()
            const told = rewrite(real)
            if (JSON.stringify(told) !== JSON.stringify(real)) altered++
            return told
          },
        )
        const rpc = createOutlast({
          chainId: CHAIN_ID,
          ...(withProofs ? { prover: proofs() } : {}),
          sources: [liar, ...labSources(lab, ['aws', 'gcp', 'home'])],
        })
        try {
          await rpc.connect()
          const { result, meta } = await rpc.requestWithMeta(request)
          assert.ok(altered > 0, 'the liar was asked and lied')
          assert.deepEqual(
            result,
            truth,
            `returned as ${meta.consistency} by ${meta.sources.join(', ')} with the liar's fields`,
          )
          // and nothing tampered is left in the cache for the next caller
          const again = await rpc.requestWithMeta(request)
          assert.deepEqual(again.result, truth, `then served as ${again.meta.consistency}`)
        } finally {
          await rpc.close()
        }
      })
  })
