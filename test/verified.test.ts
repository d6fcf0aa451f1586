/** Reads by hash: the first answer that verifies locally wins; a null needs agreement. */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { AllSourcesFailedError } from '../src/index.ts'
import { clientFor, threeDomains } from './helpers.ts'
import { devAccounts, type Lab, startLab } from './lab/index.ts'

let lab: Lab
let txHash: string
let blockHash: string

beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
  txHash = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[0].address, to: devAccounts[1].address, value: '0x1234' },
  ])
  await lab.anvil.rpc('evm_mine')
  const receipt = await lab.anvil.rpc<{ blockHash: string }>('eth_getTransactionReceipt', [txHash])
  blockHash = receipt.blockHash
})
afterAll(() => lab.stop())

const reset = async () => {
  for (const p of lab.proxies) await p.setMode({ kind: 'ok' })
}

describe('the fastest source lies about blocks and transactions', () => {
  it('a block whose header does not hash to its hash is refused; the honest one is returned', async () => {
    await reset()
    await lab
      .proxy('aws')
      .setMode({ kind: 'lie', methods: ['eth_getBlockByHash', 'eth_getBlockByNumber'] })
    const rpc = clientFor(lab)
    try {
      const truth = await lab.anvil.rpc<{ stateRoot: string }>('eth_getBlockByHash', [
        blockHash,
        true,
      ])
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [blockHash, true],
      })
      assert.equal((result as { stateRoot: string }).stateRoot, truth.stateRoot)
      // Its transactions are checked against transactionsRoot, their senders agreed by two domains.
      assert.equal(meta.consistency, 'agreed')
      assert.ok(!meta.sources.includes('aws'))
      const latest = await rpc.requestWithMeta({
        method: 'eth_getBlockByNumber',
        params: ['latest', false],
      })
      const real = await lab.anvil.rpc<{ stateRoot: string }>('eth_getBlockByHash', [
        (latest.result as { hash: string }).hash,
        false,
      ])
      assert.equal((latest.result as { stateRoot: string }).stateRoot, real.stateRoot)
      // A hash list cannot be checked against transactionsRoot: only an empty one stands alone.
      const listed = (latest.result as { transactions: unknown[] }).transactions.length
      assert.equal(latest.meta.consistency, listed > 0 ? 'agreed' : 'verified')
      const aws = rpc.status().sources.find((s) => s.name === 'aws')!
      assert.match(aws.lastError ?? '', /does not hash to/)
    } finally {
      await rpc.close()
    }
  })

  it('a transaction with an altered value is refused', async () => {
    await reset()
    await lab.proxy('aws').setMode({ kind: 'lie', methods: ['eth_getTransactionByHash'] })
    const rpc = clientFor(lab)
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getTransactionByHash',
        params: [txHash],
      })
      assert.equal((result as { value: string }).value, '0x1234')
      // The envelope verifies; its place in the chain is agreed.
      assert.equal(meta.consistency, 'agreed')
    } finally {
      await rpc.close()
    }
  })

  it('a source claiming "not found" is outvoted: null needs agreement', async () => {
    await reset()
    await lab.proxy('aws').setMode({ kind: 'lie', methods: ['hideTransaction'] })
    const rpc = clientFor(lab)
    try {
      const tx = await rpc.request({ method: 'eth_getTransactionByHash', params: [txHash] })
      assert.equal((tx as { hash: string }).hash, txHash)
      const missing = `0x${'00'.repeat(31)}01`
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getTransactionByHash',
        params: [missing],
      })
      assert.equal(result, null)
      assert.equal(meta.consistency, 'agreed')
      assert.ok(meta.domains.length >= 2)
    } finally {
      await rpc.close()
    }
  })

  it('when every source lies, the error names each liar', async () => {
    await reset()
    for (const p of lab.proxies) await p.setMode({ kind: 'lie', methods: ['eth_getBlockByHash'] })
    const rpc = clientFor(lab)
    try {
      await assert.rejects(
        rpc.request({ method: 'eth_getBlockByHash', params: [blockHash, false] }),
        (e) => {
          assert.ok(e instanceof AllSourcesFailedError)
          for (const name of ['aws', 'gcp', 'home'])
            assert.match(
              e.message,
              new RegExp(`${name}: eth_getBlockByHash answer rejected: header does not hash`),
            )
          return true
        },
      )
    } finally {
      await rpc.close()
      await reset()
    }
  })
})

describe('cache and dedupe', () => {
  it('identical requests in flight share one fan-out; headers by hash are cached, full blocks not', async () => {
    await reset()
    const rpc = clientFor(lab)
    try {
      await rpc.connect()
      for (const p of lab.proxies) p.resetStats()
      const who = devAccounts[2].address
      await Promise.all(
        Array.from({ length: 10 }, () =>
          rpc.request({ method: 'eth_getBalance', params: [who, 'latest'] }),
        ),
      )
      const balanceCalls = lab.proxies.reduce(
        (n, p) => n + (p.stats.byMethod.eth_getBalance ?? 0),
        0,
      )
      assert.ok(balanceCalls <= 3, `${balanceCalls} calls for 10 identical requests`)
      await rpc.request({ method: 'eth_getBlockByHash', params: [blockHash, false] })
      const blockCalls = () =>
        lab.proxies.reduce((n, p) => n + (p.stats.byMethod.eth_getBlockByHash ?? 0), 0)
      const asked = blockCalls()
      const again = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [blockHash, false],
      })
      assert.equal(again.meta.consistency, 'cached')
      // Its hash list was agreed by two domains, then kept.
      assert.equal(asked, 2)
      assert.equal(blockCalls(), asked)
      // Full blocks are not kept: a mainnet block is megabytes of objects.
      await rpc.request({ method: 'eth_getBlockByHash', params: [blockHash, true] })
      const full = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [blockHash, true],
      })
      assert.notEqual(full.meta.consistency, 'cached')
    } finally {
      await rpc.close()
    }
  })
})
