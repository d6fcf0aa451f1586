/**
 * A made-up receipt placed in a block that IS on the agreed chain. A receipt beats an honest
 * domain's "not found" only when its block is on the agreed chain AND that block's checked body
 * (header hash, transactions hashed, transactionsRoot) holds the transaction where the receipt
 * says (rules.ts `beatsNotYet`, handlers/agreedChain.ts `includes`). Here a hostile source
 * answers the receipt of a transaction still in the mempool (or of none at all) with "mined,
 * status 1" in the head block: the body refutes it, the liar is cut off as lying, and the honest
 * "not found" stands (flagged degraded: one domain). Without the body check the forged receipt
 * came back, and a wallet or a synchronous send took the transaction as mined.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http } from '../../src/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

type Obj = Record<string, unknown>

let lab: Lab
let mined: string
let pending: string

beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'aws', domain: 'aws-us-east-1', latency: 20 },
      { name: 'liar', domain: 'liar-host', latency: 0 },
    ],
  })
  mined = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[1].address, to: devAccounts[2].address, value: '0x1' },
  ])
  await lab.anvil.rpc('evm_setAutomine', [false])
  // Sent, never mined: every honest node says "not found" for its receipt.
  pending = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[3].address, to: devAccounts[2].address, value: '0x2' },
  ])
  assert.equal(await lab.anvil.rpc('eth_getTransactionReceipt', [pending]), null)
})
afterAll(() => lab.stop())

/** A real receipt relabelled as `hash`'s, in the real head block. */
async function forged(hash: string): Promise<Obj> {
  const real = await lab.anvil.rpc<Obj>('eth_getTransactionReceipt', [mined])
  const head = await lab.anvil.rpc<Obj>('eth_getBlockByNumber', ['latest', false])
  return {
    ...real,
    transactionHash: hash,
    blockHash: head.hash,
    blockNumber: head.number,
    transactionIndex: '0x0',
    status: '0x1',
  }
}

describe('a made-up receipt in a block on the agreed chain', () => {
  for (const [what, hash] of [
    ['a transaction still in the mempool', () => pending],
    ['a transaction that does not exist', () => `0x${'ab'.repeat(32)}`],
  ] as const)
    it(`${what}: the honest "not found" is not overruled by a receipt whose transaction is not in its block`, async () => {
      const asked = hash()
      const liar = hostile(
        http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
        async (method, params, answer) =>
          method === 'eth_getTransactionReceipt' && params[0] === asked ? forged(asked) : answer(),
      )
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        timeout: 5_000,
        sources: [liar, ...labSources(lab, ['aws'])],
      })
      try {
        await rpc.connect()
        const outcome = await rpc
          .requestWithMeta({ method: 'eth_getTransactionReceipt', params: [asked] })
          .catch((error: Error) => ({ error }))
        if ('error' in outcome) throw outcome.error
        const block = await lab.anvil.rpc<{ transactions: string[] }>('eth_getBlockByHash', [
          (outcome.result as Obj | null)?.blockHash ?? `0x${'00'.repeat(32)}`,
          false,
        ])
        assert.equal(
          outcome.result,
          null,
          `a receipt came back (${outcome.meta.consistency}, from ${outcome.meta.sources.join(', ')}) ` +
            `placing ${asked.slice(0, 10)}… in a block whose transactions are ${JSON.stringify(block?.transactions)}`,
        )
        assert.equal(outcome.meta.consistency, 'degraded')
        assert.deepEqual(outcome.meta.sources, ['aws'])
        const liar = rpc.status().sources.find((s) => s.name === 'liar')
        assert.match(
          String(liar?.lastError),
          /lied: eth_getTransactionReceipt: block 0x[0-9a-f]+ has 0x[0-9a-f]+ at index 0/,
        )
      } finally {
        await rpc.close()
      }
    })
})
