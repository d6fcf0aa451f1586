/**
 * Where a transaction was mined is the chain's, not the transaction's: its hash covers the signed
 * envelope only. Two providers that follow the same wrong chain (a client bug that split them
 * off, a stale fork) agree with each other on a receipt in a block the agreed chain does not
 * have. Two wrong domains are past what a quorum of two assumes (a fresh client's first answers
 * can be theirs), but once the head tracker has seen the agreed chain stand above theirs it
 * flags them forked: lookups by transaction hash (the transaction with its block, its receipt)
 * must then leave them out, as state reads do.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, type Outlast } from '../../src/index.ts'
import { CHAIN_ID, sleep, threeDomains } from '../helpers.ts'
import { type Anvil, devAccounts, type Lab, startForkedNode, startLab } from '../lab/index.ts'
import { labSources } from './hostile.ts'

const FORKED = ['fork-a', 'fork-b']

describe('two domains on the same wrong chain', () => {
  let lab: Lab
  let fork: Anvil
  let rpc: Outlast
  /** A transfer only the fork mined. */
  let tx: string

  beforeAll(async () => {
    lab = await startLab({
      blockTime: 1,
      sources: [
        ...threeDomains,
        // The fastest two: without the rule, theirs would be the first two domains to agree.
        { name: 'fork-a', domain: 'fork-dc-a', latency: 0 },
        { name: 'fork-b', domain: 'fork-dc-b', latency: 5 },
      ],
    })
    for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
    // Split off two blocks down; it mines only what the test tells it to, so the agreed chain
    // (three domains, a block a second) soon stands above it.
    fork = await startForkedNode(lab.anvil, { depth: 2, blockTime: 0 })
    for (const name of FORKED) lab.proxy(name).setUpstream(fork.url)
    tx = await fork.rpc<string>('eth_sendTransaction', [
      { from: devAccounts[1].address, to: devAccounts[2].address, value: '0x7' },
    ])
    await fork.rpc('anvil_mine', ['0x1'])
    assert.ok(await fork.rpc('eth_getTransactionReceipt', [tx]), 'the fork mined it')
    assert.equal(await lab.anvil.rpc('eth_getTransactionReceipt', [tx]), null)

    rpc = createOutlast({ chainId: CHAIN_ID, pollingInterval: 200, sources: labSources(lab) })
    await rpc.connect()
    // Until the agreed chain stands above the fork and both forked sources are flagged.
    for (let i = 0; ; i++) {
      const conditions = rpc.status().sources.filter((s) => FORKED.includes(s.name))
      if (conditions.every((s) => s.condition === 'forked')) break
      if (i === 100) assert.fail(`not flagged: ${JSON.stringify(conditions)}`)
      await rpc.request({ method: 'eth_blockNumber' })
      await sleep(100)
    }
  })
  afterAll(async () => {
    await rpc?.close()
    await fork?.stop()
    await lab?.stop()
  })

  for (const method of ['eth_getTransactionReceipt', 'eth_getTransactionByHash'])
    it(`${method}: the agreed chain's answer (not mined), not the fork's receipt`, async () => {
      const { result, meta } = await rpc.requestWithMeta({ method, params: [tx] })
      assert.equal(result, null, `answered by ${meta.sources}: ${JSON.stringify(result)}`)
      assert.ok(!meta.sources.some((s) => FORKED.includes(s)), `answered by ${meta.sources}`)
    })
})
