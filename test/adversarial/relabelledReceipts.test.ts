/**
 * With `proofs()`, a receipt is proven by its place in the block's receipts trie, and that trie
 * does not commit to transaction hashes. A source that hands the receipt of another transaction
 * in the same trusted block (a reverted neighbour) under the hash asked for, or swaps the hashes
 * in the block's receipts, must be caught: the block's transaction list, proven against
 * `transactionsRoot`, binds receipt i to transaction i. Fields no trie covers (`to`,
 * `effectiveGasPrice`) are checked against the proven transaction and header.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type OutlastEvents } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { asProven, CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { deployAnswer } from '../workload.ts'
import { hostile, labSources } from './hostile.ts'

type Receipt = Record<string, unknown> & {
  transactionHash: string
  status: string
  logs: Record<string, unknown>[]
}

let lab: Lab
let good: string
let reverted: string
let blockHash: string
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    // The liar answers first by a wide margin, so that it is the one whose proof is checked
    // (and named) even when the machine is loaded: 20–60 ms alone flipped the order under CI.
    sources: [
      ...threeDomains.map((d) => ({ ...d, latency: d.latency + 150 })),
      { name: 'liar', domain: 'liar-host', latency: 0 },
    ],
  })
  // A contract whose every call reverts: PUSH1 0 PUSH1 0 REVERT.
  const reverter = await deployAnswer(lab.anvil, '0x6005600c60003960056000f360006000fd')
  await lab.anvil.rpc('evm_setAutomine', [false])
  good = await lab.anvil.rpc('eth_sendTransaction', [
    { from: devAccounts[1]!.address, to: devAccounts[2]!.address, value: '0x9' },
  ])
  reverted = await lab.anvil.rpc('eth_sendTransaction', [
    { from: devAccounts[2]!.address, to: reverter, gas: '0x10000' },
  ])
  await lab.anvil.rpc('evm_mine')
  await lab.anvil.rpc('evm_setAutomine', [true])
  await lab.anvil.rpc('evm_mine')
  const r = await lab.anvil.rpc<Receipt & { blockHash: string }>('eth_getTransactionReceipt', [
    good,
  ])
  blockHash = r.blockHash
})
afterAll(() => lab.stop())

/** `r` relabelled as the receipt of `hash` (its logs too). */
const relabel = (r: Receipt, hash: string): Receipt => ({
  ...r,
  transactionHash: hash,
  logs: r.logs.map((l) => ({ ...l, transactionHash: hash })),
})

describe('receipts relabelled by a hostile source, with proofs()', () => {
  for (const lie of ['neighbour under the hash asked for', 'hashes swapped in the block'] as const)
    it(`${lie}: caught; the proven receipt is the right one`, async () => {
      const liar = hostile(
        http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
        async (method, params, answer) => {
          const real = await answer()
          if (
            method === 'eth_getTransactionReceipt' &&
            params[0] === good &&
            lie.startsWith('neighbour')
          )
            return relabel(
              await lab.anvil.rpc<Receipt>('eth_getTransactionReceipt', [reverted]),
              good,
            )
          if (method === 'eth_getBlockReceipts') {
            const all = real as Receipt[]
            const a = all.findIndex((r) => r.transactionHash === good)
            const b = all.findIndex((r) => r.transactionHash === reverted)
            if (lie.startsWith('neighbour')) all[b] = relabel(all[b]!, good)
            else [all[a], all[b]] = [relabel(all[a]!, reverted), relabel(all[b]!, good)]
            // (transactionHash is not in the receipts trie: the root still matches)
          }
          if (
            method === 'eth_getTransactionReceipt' &&
            params[0] === good &&
            !lie.startsWith('neighbour')
          )
            return relabel(
              await lab.anvil.rpc<Receipt>('eth_getTransactionReceipt', [reverted]),
              good,
            )
          return real
        },
      )
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        prover: proofs(),
        sources: [liar, ...labSources(lab, ['aws', 'gcp', 'home'])],
      })
      const lies: OutlastEvents['lie'][] = []
      rpc.on('lie', (e) => lies.push(e))
      try {
        await rpc.connect()
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getTransactionReceipt',
          params: [good],
        })
        assert.deepEqual(result, asProven(await lab.anvil.rpc('eth_getTransactionReceipt', [good])))
        assert.equal((result as Receipt).status, '0x1')
        assert.equal(meta.consistency, 'proven')
        assert.ok(!meta.sources.includes('liar'))
        const block = await rpc.requestWithMeta({
          method: 'eth_getBlockReceipts',
          params: [blockHash],
        })
        assert.deepEqual(
          block.result,
          asProven(await lab.anvil.rpc('eth_getBlockReceipts', [blockHash])),
        )
        assert.ok(
          lies.some((l) => l.source === 'liar'),
          'the liar is named',
        )
      } finally {
        await rpc.close()
      }
    })
})
