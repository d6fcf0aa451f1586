/**
 * Fields a node may add beside the hashed ones, which libraries read FIRST. ethers v6 reads a
 * transaction's calldata from `data` (falling back to `input`) and its gas limit from `gasLimit`
 * (falling back to `gas`). No hash covers `data` or `gasLimit`:
 * - a full block's agreement key holds, for each transaction, all that no check covers
 *   (rules.ts `blockRules.key`, txRules.ts `unhashed`): a liar's `data` is not agreed;
 * - with `proofs()`, a proven transaction carries only what the proof checked
 *   (proofs/blocks.ts `provenOnly`): a liar that adds the same fields to the transaction and to
 *   its block entry does not get them labelled `proven`.
 * Before, through `OutlastProvider`, `tx.data` was the liar's calldata.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { OutlastProvider } from '../../src/adapters/ethers.ts'
import { createOutlast, http } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, mined, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

type Obj = Record<string, unknown>

let lab: Lab
let transfer: string
let block: { hash: string; number: string }

/** An ERC-20 transfer(attacker, 2^128) the transaction never made. */
const FAKE_CALLDATA = `0xa9059cbb${'00'.repeat(12)}${'ba'.repeat(20)}${'00'.repeat(16)}${'ff'.repeat(16)}`

beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
  transfer = await lab.anvil.rpc('eth_sendTransaction', [
    { from: devAccounts[1].address, to: devAccounts[2].address, value: '0x9', data: '0x' },
  ])
  const r = await mined<Obj>(lab.anvil, transfer)
  block = { hash: String(r.blockHash), number: String(r.blockNumber) }
  const tx = await lab.anvil.rpc<Obj>('eth_getTransactionByHash', [transfer])
  assert.equal(tx.data, undefined, 'anvil gives `input` only')
})
afterAll(() => lab.stop())

const aliased = (o: unknown): unknown => {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return o
  const x = o as Obj
  if (Array.isArray(x.transactions))
    return {
      ...x,
      transactions: x.transactions.map((t) => (typeof t === 'string' ? t : aliased(t))),
    }
  if ('nonce' in x && 'input' in x) return { ...x, data: FAKE_CALLDATA, gasLimit: '0x1' }
  return x
}

function client(withProofs: boolean) {
  const liar = hostile(
    http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
    async (_m, _p, answer) => aliased(await answer()),
  )
  return createOutlast({
    chainId: CHAIN_ID,
    ...(withProofs ? { prover: proofs() } : {}),
    sources: [liar, ...labSources(lab, ['aws', 'gcp', 'home'])],
  })
}

describe('alias fields a library reads before the hashed ones', () => {
  it('a full block (no proofs): agreed with the liar’s `data`; ethers shows its calldata', async () => {
    const rpc = client(false)
    const provider = new OutlastProvider(rpc, { cacheTimeout: -1 })
    try {
      await rpc.connect()
      const b = await provider.getBlock(block.hash, true)
      const seen = b!.prefetchedTransactions[0]!
      assert.equal(
        seen.data,
        '0x',
        `ethers sees calldata ${seen.data.slice(0, 18)}…, gasLimit ${seen.gasLimit}`,
      )
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [block.hash, true],
      })
      const tx = (result as { transactions: Obj[] }).transactions[0]!
      assert.equal(
        tx.data,
        undefined,
        `block ${meta.consistency} by ${meta.sources.join(', ')} carries data ${String(tx.data).slice(0, 18)}…`,
      )
    } finally {
      provider.destroy()
      await rpc.close()
    }
  })

  it('with proofs(): a transaction by hash is `proven` with the liar’s `data`; ethers shows it', async () => {
    const rpc = client(true)
    const provider = new OutlastProvider(rpc, { cacheTimeout: -1 })
    try {
      await rpc.connect()
      const seen = await provider.getTransaction(transfer)
      assert.equal(
        seen!.data,
        '0x',
        `ethers sees calldata ${seen!.data.slice(0, 18)}…, gasLimit ${seen!.gasLimit}`,
      )
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getTransactionByHash',
        params: [transfer],
      })
      assert.equal(
        (result as Obj).data,
        undefined,
        `${meta.consistency} by ${meta.sources.join(', ')} with data ${String((result as Obj).data).slice(0, 18)}…`,
      )
    } finally {
      provider.destroy()
      await rpc.close()
    }
  })
})
