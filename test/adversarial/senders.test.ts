/**
 * Fields no hash or trie covers, rewritten by the fastest source: a transaction's `from` (to
 * another real account), a creation receipt's `contractAddress`, a mined typed transaction's
 * `gasPrice` (to its `maxFeePerGas`). Everything else is the node's, so each block still hashes
 * right and matches its roots. In full blocks, transactions by hash and by block and index,
 * receipts and block receipts, with and without `proofs()`, the caller gets the node's answer.
 * (Without proofs, `from` in lookups and receipts, and `contractAddress`, were agreed already:
 * those cases guard the agreement keys.)
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { asProven, asReturned, CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { ANSWER_INIT } from '../workload.ts'
import { hostile, labSources } from './hostile.ts'

type Obj = Record<string, unknown>

let lab: Lab
/** A type-2 transfer whose tip leaves it well under its fee cap. */
let transfer: string
/** A type-2 contract creation. */
let creation: string
/** A legacy (EIP-155) transfer. */
let legacy: string
let block: { hash: string; number: string }
const index: Record<string, string> = {}

/** A real account that sent none of the transactions: the `from` the liar puts in. */
const impostor = devAccounts[0].address.toLowerCase()

beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    // The liar answers 80 ms before any honest domain: on a loaded machine 20 ms did not always do it,
    // and a test whose liar was never heard proves nothing.
    sources: [
      ...threeDomains.map((d) => ({ ...d, latency: d.latency + 60 })),
      { name: 'liar', domain: 'liar-host', latency: 0 },
    ],
  })
  await lab.anvil.rpc('evm_setAutomine', [false])
  const fees = { maxFeePerGas: '0x2540be400', maxPriorityFeePerGas: '0x3' }
  transfer = await lab.anvil.rpc('eth_sendTransaction', [
    { from: devAccounts[1].address, to: devAccounts[2].address, value: '0x9', ...fees },
  ])
  creation = await lab.anvil.rpc('eth_sendTransaction', [
    { from: devAccounts[2].address, data: ANSWER_INIT, gas: '0x30000', ...fees },
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
  for (const hash of [transfer, creation, legacy]) {
    const r = await lab.anvil.rpc<Obj>('eth_getTransactionReceipt', [hash])
    index[hash] = String(r.transactionIndex)
    block = { hash: String(r.blockHash), number: String(r.blockNumber) }
  }
  const created = await lab.anvil.rpc<Obj>('eth_getTransactionReceipt', [creation])
  assert.ok(created.contractAddress, 'the creation deployed a contract')
  const tx = await lab.anvil.rpc<Obj>('eth_getTransactionByHash', [transfer])
  assert.notEqual(tx.gasPrice, tx.maxFeePerGas, 'the transfer paid less than its fee cap')
})
afterAll(() => lab.stop())

const isReceipt = (o: Obj) => 'cumulativeGasUsed' in o
const isTransaction = (o: Obj) => 'nonce' in o && 'input' in o

/** What the liar does to one transaction object or receipt (the rest is passed as it is). */
const lies: Record<'from' | 'contractAddress' | 'gasPrice', (o: Obj) => Obj> = {
  from: (o) => (isReceipt(o) || isTransaction(o) ? { ...o, from: impostor } : o),
  contractAddress: (o) => {
    if (!isReceipt(o)) return o
    // A creation's address changed in its last byte; a call given one it never created.
    const other = o.contractAddress
      ? `0x${String(o.contractAddress).slice(2, 40)}ff`
      : String(o.to).replace(/..$/, 'ee')
    return { ...o, contractAddress: other }
  },
  gasPrice: (o) =>
    isTransaction(o) && o.maxFeePerGas !== undefined && o.blockHash
      ? { ...o, gasPrice: o.maxFeePerGas }
      : o,
}

/** `answer` with `lie` applied to every transaction and receipt in it. */
function rewrite(answer: unknown, lie: (o: Obj) => Obj): unknown {
  if (Array.isArray(answer)) return answer.map((a) => rewrite(a, lie))
  if (!answer || typeof answer !== 'object') return answer
  const o = answer as Obj
  if (Array.isArray(o.transactions))
    return { ...o, transactions: o.transactions.map((t) => rewrite(t, lie)) }
  return lie(o)
}

const requests = () => [
  { name: 'full block by hash', method: 'eth_getBlockByHash', params: [block.hash, true] },
  { name: 'full block by number', method: 'eth_getBlockByNumber', params: [block.number, true] },
  { name: 'transfer by hash', method: 'eth_getTransactionByHash', params: [transfer] },
  { name: 'creation by hash', method: 'eth_getTransactionByHash', params: [creation] },
  { name: 'legacy by hash', method: 'eth_getTransactionByHash', params: [legacy] },
  {
    name: 'transfer by block hash and index',
    method: 'eth_getTransactionByBlockHashAndIndex',
    params: [block.hash, index[transfer]],
  },
  {
    name: 'creation by block number and index',
    method: 'eth_getTransactionByBlockNumberAndIndex',
    params: [block.number, index[creation]],
  },
  { name: 'transfer receipt', method: 'eth_getTransactionReceipt', params: [transfer] },
  { name: 'creation receipt', method: 'eth_getTransactionReceipt', params: [creation] },
  { name: 'block receipts', method: 'eth_getBlockReceipts', params: [block.hash] },
]

/** Asks `request` of a client whose fastest source applies `lie`; returns what it got. */
async function ask(
  request: { method: string; params: unknown[] },
  lie: (o: Obj) => Obj,
  withProofs: boolean,
) {
  const counter = { altered: 0 }
  const liar = hostile(
    http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
    async (_method, _params, answer) => {
      const real = await answer()
      const told = rewrite(real, lie)
      if (JSON.stringify(told) !== JSON.stringify(real)) counter.altered++
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
    const outcome = await rpc.requestWithMeta(request).catch((error: Error) => ({ error }))
    return { outcome, counter }
  } finally {
    await rpc.close()
  }
}

/** The answers each lie has something to rewrite in. */
const targets: Record<keyof typeof lies, readonly string[]> = {
  from: [
    'full block by hash',
    'full block by number',
    'transfer by hash',
    'creation by hash',
    'legacy by hash',
    'transfer by block hash and index',
    'creation by block number and index',
    'transfer receipt',
    'creation receipt',
    'block receipts',
  ],
  contractAddress: ['transfer receipt', 'creation receipt', 'block receipts'],
  gasPrice: [
    'full block by hash',
    'full block by number',
    'transfer by hash',
    'creation by hash',
    'transfer by block hash and index',
    'creation by block number and index',
  ],
}

for (const withProofs of [true, false])
  describe(`the fastest source rewrites what no hash covers, ${withProofs ? 'with' : 'without'} proofs()`, () => {
    for (const [what, names] of Object.entries(targets))
      for (const name of names)
        it(`${what}: ${name}`, async () => {
          const lie = lies[what as keyof typeof lies]
          const request = requests().find((q) => q.name === name)!
          const truth = asReturned(await lab.anvil.rpc(request.method, request.params))
          assert.notDeepEqual(rewrite(truth, lie), truth, `a ${what} to rewrite`)
          const { outcome, counter } = await ask(request, lie, withProofs)
          assert.ok(counter.altered > 0, 'the liar was asked and lied')
          // Three honest domains stand: the node's answer, never the rewritten one.
          if ('error' in outcome) assert.fail(String(outcome.error))
          const proven = outcome.meta.consistency === 'proven' && /receipt/.test(name)
          assert.deepEqual(outcome.result, proven ? asProven(truth) : truth)
          assert.ok(!outcome.meta.sources.includes('liar'), `answered by ${outcome.meta.sources}`)
        })
  })
