/**
 * What one node cannot serve, and outlast serves anyway: providers' `eth_getLogs` limits (a range
 * too wide, too many results; refused in each provider's words) are split per source, with the
 * limit learned; old state a full node pruned goes to the archive nodes that keep it, with no
 * penalty for the full node. Real anvil nodes; the providers' refusals come from the lab proxy.
 */
import assert from 'node:assert/strict'
import { keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, QuorumError } from '../src/index.ts'
import { CHAIN_ID } from './helpers.ts'
import {
  type Anvil,
  devAccounts,
  type FaultProxy,
  type Lab,
  startAnvil,
  startLab,
  startProxy,
} from './lab/index.ts'
import { deployAnswer } from './workload.ts'

const TOPIC = keccak256(toHex('Tick(uint256)'))
/** Runtime that logs its calldata under TOPIC (LOG1), and its init code. */
const EMITTER = `0x602c600c600039602c6000f33660006000377f${TOPIC.slice(2)}366000a100`

describe('eth_getLogs past providers’ limits', () => {
  let lab: Lab
  let emitter: string
  let first: number
  let last: number

  beforeAll(async () => {
    lab = await startLab({
      blockTime: 0,
      sources: [
        { name: 'alchemy', domain: 'aws-us-east-1' },
        { name: 'quicknode', domain: 'gcp-europe-west1' },
        { name: 'capped', domain: 'home', kind: 'self-hosted' },
      ],
    })
    emitter = (await deployAnswer(lab.anvil, EMITTER)).toLowerCase()
    await lab.anvil.rpc('evm_setAutomine', [false])
    first = Number(await lab.anvil.rpc<string>('eth_blockNumber')) + 1
    // 60 blocks, two logs in each but every fifth (empty).
    for (let b = 0, v = 0; b < 60; b++) {
      for (let i = 0; b % 5 !== 4 && i < 2; i++)
        await lab.anvil.rpc('eth_sendTransaction', [
          { from: devAccounts[1].address, to: emitter, data: toHex(++v, { size: 32 }) },
        ])
      await lab.anvil.rpc('evm_mine')
    }
    last = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    await lab.proxy('alchemy').setMode({ kind: 'logLimit', maxRange: 10, style: 'alchemy' })
    await lab.proxy('quicknode').setMode({ kind: 'logLimit', maxRange: 25, style: 'quicknode' })
    // No range limit, but at most 30 logs per answer (Infura's wording, with a suggested range).
    await lab.proxy('capped').setMode({ kind: 'logLimit', maxResults: 30 })
  })
  afterAll(() => lab?.stop())

  const client = (names = ['alchemy', 'quicknode', 'capped']) =>
    createOutlast({
      chainId: CHAIN_ID,
      quorum: { domains: 2 },
      sources: names.map((name) => {
        const s = lab.sources.find((x) => x.name === name)!
        return http(s.proxy.url, { name, domain: s.domain, kind: s.kind, fetchFn: s.proxy.fetch })
      }),
    })
  const logsAsked = (name: string) => lab.proxy(name).stats.byMethod.eth_getLogs ?? 0
  const hex = (n: number) => `0x${n.toString(16)}`

  it('splits a range each provider refuses, joins the parts in order, and learns range limits', async () => {
    const rpc = client()
    try {
      const filter = { address: emitter, fromBlock: hex(first), toBlock: hex(last) }
      const truth = await lab.anvil.rpc<unknown[]>('eth_getLogs', [filter])
      assert.equal(truth.length, 96)
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [filter],
      })
      assert.deepEqual(result, truth, 'every log, in block and log order')
      assert.equal(meta.consistency, 'agreed')
      const limits = Object.fromEntries(
        rpc.status().sources.map((s) => [s.name, s.limits.logRange]),
      )
      // Stated range limits are learned; a result cap depends on the blocks, so it is not.
      for (const name of meta.sources)
        assert.equal(limits[name], { alchemy: 10, quicknode: 25, capped: undefined }[name])
      // Every source answered: none is worse off for its provider's limits.
      for (const s of rpc.status().sources) {
        assert.equal(s.failures, 0, `${s.name}: ${s.lastError}`)
        assert.notEqual(s.condition, 'down')
      }
    } finally {
      await rpc.close()
    }
  })

  it('asks a source with a learned limit in parts from the start (no refusal first)', async () => {
    const rpc = client(['alchemy', 'quicknode'])
    try {
      const filter = { address: emitter, fromBlock: hex(first), toBlock: hex(first + 19) }
      await rpc.request({ method: 'eth_getLogs', params: [filter] }) // learns
      const before = logsAsked('alchemy')
      const wide = { address: emitter, fromBlock: hex(first), toBlock: hex(last) }
      const result = await rpc.request({ method: 'eth_getLogs', params: [wide] })
      assert.deepEqual(result, await lab.anvil.rpc('eth_getLogs', [wide]))
      assert.equal(logsAsked('alchemy') - before, Math.ceil((last - first + 1) / 10))
    } finally {
      await rpc.close()
    }
  })

  it('a "latest" range is pinned to the agreed head, then split', async () => {
    const rpc = client(['alchemy', 'quicknode'])
    try {
      const filter = { address: emitter, fromBlock: hex(first) }
      const result = await rpc.request({ method: 'eth_getLogs', params: [filter] })
      assert.deepEqual(
        result,
        await lab.anvil.rpc('eth_getLogs', [{ ...filter, toBlock: hex(last) }]),
      )
    } finally {
      await rpc.close()
    }
  })

  it('a range needing over 1000 parts at one source is left to the others, with no penalty', async () => {
    await lab.anvil.rpc('anvil_mine', ['0x400'])
    const head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    const proxy = lab.proxy('capped')
    await proxy.setMode({ kind: 'logLimit', maxRange: 1, style: 'plain' })
    try {
      const rpc = client()
      try {
        const filter = { address: emitter, fromBlock: '0x0', toBlock: hex(head) }
        const before = logsAsked('capped')
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getLogs',
          params: [filter],
        })
        assert.deepEqual(result, await lab.anvil.rpc('eth_getLogs', [filter]))
        assert.ok(!meta.sources.includes('capped'))
        // Its refusals are no failures (it may count as a slow loser of this race: it was).
        const capped = rpc.status().sources.find((s) => s.name === 'capped')!
        assert.ok(capped.failures <= 1, capped.lastError)
        assert.doesNotMatch(capped.lastError ?? '', /block range/)
        assert.equal(capped.breaker, 'closed')
        assert.ok(logsAsked('capped') - before <= 1_000, 'the flood is bounded')
      } finally {
        await rpc.close()
      }
    } finally {
      await proxy.setMode({ kind: 'logLimit', maxResults: 30 })
    }
  })
})

describe('state a full node pruned', () => {
  // Three nodes on one chain: anvil mines the same blocks (same hashes) given the same genesis
  // time, the same transactions and the same block times. Two keep every state; one keeps 4.
  const GENESIS = 1_700_000_000
  let nodes: Anvil[]
  let proxies: FaultProxy[]
  const names = ['archive-a', 'archive-b', 'full']
  const alice = devAccounts[2].address

  beforeAll(async () => {
    nodes = await Promise.all(
      names.map((name) =>
        startAnvil({
          noMining: true,
          args: [
            '--timestamp',
            String(GENESIS),
            ...(name === 'full' ? ['--prune-history', '4'] : []),
          ],
        }),
      ),
    )
    proxies = await Promise.all(nodes.map((n, i) => startProxy(n.url, { name: names[i] })))
    const transfer = await nodes[0]!.rpc<string>('eth_signTransaction', [
      {
        from: devAccounts[0].address,
        to: alice,
        value: '0xde0b6b3a7640000',
        gas: '0x5208',
        nonce: '0x0',
        gasPrice: '0x77359400',
      },
    ])
    for (let b = 1; b <= 40; b++) {
      for (const n of nodes) {
        if (b === 3) await n.rpc('eth_sendRawTransaction', [transfer])
        await n.rpc('evm_mine', [GENESIS + 12 * b])
      }
    }
    const heads = await Promise.all(
      nodes.map((n) => n.rpc<{ hash: string }>('eth_getBlockByNumber', ['latest', false])),
    )
    assert.equal(new Set(heads.map((h) => h.hash)).size, 1, 'one chain')
  })
  afterAll(async () => {
    await Promise.all((proxies ?? []).map((p) => p.stop()))
    await Promise.all((nodes ?? []).map((n) => n.stop()))
  })

  const client = (which = names, onQuorumLoss: 'fail' | 'degrade' = 'degrade') =>
    createOutlast({
      chainId: CHAIN_ID,
      quorum: { domains: 2 },
      onQuorumLoss,
      sources: which.map((name) => {
        const p = proxies[names.indexOf(name)]!
        return http(p.url, { name, domain: name, fetchFn: p.fetch })
      }),
    })
  const asked = (name: string) => proxies[names.indexOf(name)]!.stats.byMethod.eth_getBalance ?? 0

  it('an old read goes to the archive nodes; the full node is not penalised, and not asked again', async () => {
    const rpc = client()
    try {
      // The full node is the fastest, so that it is asked (and its refusal seen).
      proxies[0]!.setLatency(30)
      proxies[1]!.setLatency(30)
      await rpc.connect()
      for (let i = 0; i < 5; i++)
        await rpc.request({ method: 'eth_getBalance', params: [alice, 'latest'] })
      const truth = await nodes[0]!.rpc('eth_getBalance', [alice, '0x3'])
      assert.notEqual(
        truth,
        await nodes[0]!.rpc('eth_getBalance', [alice, '0x2']),
        'the transfer is in block 3',
      )
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBalance',
        params: [alice, '0x3'],
      })
      assert.equal(result, truth)
      assert.deepEqual([...meta.sources].sort(), ['archive-a', 'archive-b'])
      const full = rpc.status().sources.find((s) => s.name === 'full')!
      assert.equal(full.failures, 0)
      assert.equal(full.condition, 'healthy')
      assert.equal(full.breaker, 'closed')
      assert.equal(full.limits.prunedTo, 3)

      const before = asked('full')
      const older = await rpc.request({ method: 'eth_getBalance', params: [alice, '0x2'] })
      assert.equal(older, await nodes[0]!.rpc('eth_getBalance', [alice, '0x2']))
      assert.equal(asked('full'), before, 'known pruned: not asked')

      // Recent state it keeps: it serves as before.
      const latest = await rpc.requestWithMeta({
        method: 'eth_getBalance',
        params: [alice, 'latest'],
      })
      assert.equal(latest.result, await nodes[0]!.rpc('eth_getBalance', [alice, 'latest']))
    } finally {
      proxies[0]!.setLatency(0)
      proxies[1]!.setLatency(0)
      await rpc.close()
    }
  })

  it('with one archive domain left the answer is degraded, or (`fail`) an error that says the state is pruned', async () => {
    const degraded = client(['archive-a', 'full'])
    try {
      const { result, meta } = await degraded.requestWithMeta({
        method: 'eth_getBalance',
        params: [alice, '0x3'],
      })
      assert.equal(result, await nodes[0]!.rpc('eth_getBalance', [alice, '0x3']))
      assert.equal(meta.consistency, 'degraded')
    } finally {
      await degraded.close()
    }
    const rpc = client(['archive-a', 'full'], 'fail')
    try {
      await rpc.connect()
      const error = await rpc.request({ method: 'eth_getBalance', params: [alice, '0x3'] }).then(
        () => undefined,
        (e: unknown) => e,
      )
      assert.ok(error instanceof QuorumError, String(error))
      assert.match(error.message, /full failed: .*BlockOutOfRangeError.*state not kept here/)
      assert.equal(rpc.status().sources.find((s) => s.name === 'full')!.failures, 0)
    } finally {
      await rpc.close()
    }
  })
})
