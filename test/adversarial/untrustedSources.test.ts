/**
 * Untrusted sources (peers found by discovery, a public endpoint nobody vouches for): one
 * operator can run any number of them, in as many "domains" as it likes. Their answers count
 * only when checked here: a Merkle proof against the trusted header, a block by its hash. A
 * crowd of them agreeing on a wrong balance, pushing a far-ahead head, or answering `null` for a
 * block moves nothing; an honest one still serves proofs when the trusted sources cannot.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { ConfigError, createOutlast, http, type Source } from '../../src/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, resetLab, signedTransfer } from '../helpers.ts'
import { devAccounts, type Lab, mined as receiptOf, startLab } from '../lab/index.ts'
import { forgeHeader, hostile } from './hostile.ts'

let lab: Lab
/** A transaction mined in the setup. */
let mined: string
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'aws', domain: 'aws-us-east-1', latency: 30 },
      { name: 'gcp', domain: 'gcp-europe-west1', latency: 40 },
      { name: 'peer', domain: 'peer-host', latency: 0 },
    ],
  })
  for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
  mined = await lab.anvil.rpc<string>('eth_sendTransaction', [
    { from: devAccounts[1]!.address, to: devAccounts[2]!.address, value: '0x9' },
  ])
  await receiptOf(lab.anvil, mined)
})
afterAll(() => lab.stop())

const alice = devAccounts[1]!.address
const WRONG = '0xde0b6b3a7640000000'

const source = (name: string, untrusted = false): Source => {
  const s = lab.sources.find((x) => x.name === name)!
  return http(s.proxy.url, { name, domain: s.domain, fetchFn: s.proxy.fetch, untrusted })
}

/** `n` untrusted sources in `n` domains, fast, all telling the same lie about balances and heads. */
type Lies = { balance?: boolean; head?: boolean; nullBlocks?: boolean; txBlock?: boolean }

function sybils(n: number, lies: Lies) {
  return Array.from({ length: n }, (_, i) =>
    hostile(
      source('peer', true),
      async (method, params, answer) => {
        if (lies.balance && method === 'eth_getBalance') return WRONG
        if (lies.nullBlocks && method === 'eth_getBlockByHash') return null
        // Moved to another block: the hash does not cover where a transaction was mined.
        if (lies.txBlock && method === 'eth_getTransactionByHash') {
          const tx = (await answer()) as Record<string, unknown>
          return { ...tx, blockNumber: '0x7777', blockHash: `0x${'77'.repeat(32)}` }
        }
        if (lies.head && method === 'eth_getBlockByNumber' && params[0] === 'latest') {
          const real = (await answer()) as Record<string, unknown>
          return forgeHeader(real, Number(real.number) + 50)
        }
        if (lies.head && method === 'eth_blockNumber') {
          return `0x${(Number(await answer()) + 50).toString(16)}`
        }
        return answer()
      },
      { name: `sybil-${i}`, domain: `sybil-domain-${i}` },
    ),
  )
}

describe('untrusted sources count only when checked', () => {
  it('a crowd of untrusted sources agreeing on a wrong balance is not asked for it', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws'), source('gcp'), ...sybils(5, { balance: true })],
    })
    try {
      await rpc.connect()
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBalance',
        params: [alice, 'latest'],
      })
      assert.equal(result, await lab.anvil.rpc('eth_getBalance', [alice, 'latest']))
      assert.equal(meta.consistency, 'agreed')
      assert.deepEqual([...meta.sources].sort(), ['aws', 'gcp'])
      const st = rpc.status()
      assert.deepEqual(st.quorum.healthyDomains.sort(), ['aws-us-east-1', 'gcp-europe-west1'])
      assert.ok(st.sources.filter((s) => s.name.startsWith('sybil')).every((s) => s.untrusted))
      assert.ok(st.sources.filter((s) => !s.name.startsWith('sybil')).every((s) => !s.untrusted))
    } finally {
      await rpc.close()
    }
  })

  it('with the trusted domains down, untrusted sources do not make a quorum', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws'), source('gcp'), ...sybils(5, { balance: true })],
      timeout: 3_000,
    })
    try {
      await rpc.connect()
      await rpc.request({ method: 'eth_blockNumber' })
      for (const p of lab.proxies.filter((p) => p.name !== 'peer'))
        await p.setMode({ kind: 'refused' })
      await assert.rejects(
        rpc.request({ method: 'eth_getBalance', params: [alice, 'latest'] }),
        (e: Error) => !String(e.message).includes(WRONG),
      )
    } finally {
      await rpc.close()
    }
  })

  it('a far-ahead head pushed by untrusted sources moves neither the head nor the pin', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws'), source('gcp'), ...sybils(4, { head: true })],
    })
    try {
      await rpc.connect()
      const real = Number(await lab.anvil.rpc('eth_blockNumber'))
      for (let i = 0; i < 3; i++) {
        assert.equal(Number(await rpc.request({ method: 'eth_blockNumber' })), real)
        const { meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [alice, 'latest'],
        })
        assert.equal(meta.block?.number, real)
      }
      assert.equal(rpc.status().headConfirmed, true)
    } finally {
      await rpc.close()
    }
  })

  it("an untrusted `null` for a block by hash does not outvote the block's own hash", async () => {
    await resetLab(lab)
    const block = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['0x1', false])
    // The trusted sources are slow; the untrusted ones answer at once, with `null`.
    for (const p of lab.proxies.filter((p) => p.name !== 'peer'))
      await p.setMode({ kind: 'slow', factor: 10 })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws'), source('gcp'), ...sybils(4, { nullBlocks: true })],
    })
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [block.hash, false],
      })
      assert.equal((result as { hash: string }).hash, block.hash)
      assert.equal(meta.consistency, 'verified')
    } finally {
      await rpc.close()
    }
  })

  it("a crowd of untrusted sources agreeing on a transaction's block is not an agreement", async () => {
    await resetLab(lab)
    const hash = mined
    // The trusted sources are slow: the sybils' agreed lie arrives first.
    for (const p of lab.proxies.filter((p) => p.name !== 'peer'))
      await p.setMode({ kind: 'slow', factor: 10 })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws'), source('gcp'), ...sybils(4, { txBlock: true })],
    })
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getTransactionByHash',
        params: [hash],
      })
      assert.deepEqual(result, await lab.anvil.rpc('eth_getTransactionByHash', [hash]))
      assert.deepEqual([...meta.sources].sort(), ['aws', 'gcp'])
    } finally {
      await rpc.close()
    }
  })

  it('with one trusted domain left, untrusted ones do not hold the quorum up', async () => {
    await resetLab(lab)
    const hash = mined
    await lab.proxies.find((p) => p.name === 'gcp')!.setMode({ kind: 'refused' })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws'), source('gcp'), ...sybils(3, {})],
      timeout: 3_000,
    })
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getTransactionByHash',
        params: [hash],
      })
      assert.deepEqual(result, await lab.anvil.rpc('eth_getTransactionByHash', [hash]))
      assert.equal(meta.consistency, 'degraded')
      assert.deepEqual(meta.sources, ['aws'])
    } finally {
      await rpc.close()
    }
  })

  it('an honest untrusted source serves a block by hash when every trusted one is down', async () => {
    await resetLab(lab)
    const block = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['0x2', false])
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws'), source('gcp'), source('peer', true)],
      timeout: 3_000,
    })
    try {
      for (const p of lab.proxies.filter((p) => p.name !== 'peer'))
        await p.setMode({ kind: 'refused' })
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [block.hash, false],
      })
      assert.equal((result as { hash: string }).hash, block.hash)
      assert.deepEqual(meta.sources, ['peer'])
      assert.equal(meta.consistency, 'verified')
    } finally {
      await rpc.close()
    }
  })

  it('with proofs(), an honest untrusted source proves what the trusted ones cannot serve', async () => {
    await resetLab(lab)
    // The trusted sources agree on the head but serve no proofs (a provider without eth_getProof).
    const noProofs = (s: Source) =>
      hostile(s, async (method, _params, answer) => {
        if (method === 'eth_getProof') throw new Error('eth_getProof is not available')
        return answer()
      })
    const liar = hostile(
      source('peer', true),
      async (method, _params, answer) => {
        const a = (await answer()) as Record<string, unknown>
        return method === 'eth_getProof' ? { ...a, balance: WRONG } : a
      },
      { name: 'lying-peer', domain: 'elsewhere' },
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      prover: proofs(),
      sources: [noProofs(source('aws')), noProofs(source('gcp')), liar, source('peer', true)],
    })
    const lies: string[] = []
    rpc.on('lie', (e) => lies.push(e.source))
    try {
      await rpc.connect()
      for (let i = 0; i < 3; i++) {
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [devAccounts[i]!.address, 'latest'],
        })
        assert.equal(
          result,
          await lab.anvil.rpc('eth_getBalance', [devAccounts[i]!.address, 'latest']),
        )
        assert.equal(meta.consistency, 'proven')
        assert.notEqual(meta.sources[0], 'lying-peer')
      }
      assert.ok(lies.every((s) => s === 'lying-peer'))
    } finally {
      await rpc.close()
    }
  })

  it('a transaction is not sent to untrusted sources, whose word would count for nothing', async () => {
    await resetLab(lab)
    const seen: string[] = []
    const spy = hostile(
      source('peer', true),
      async (method, _params, answer) => {
        seen.push(method)
        return answer()
      },
      { name: 'spy', domain: 'spy-host' },
    )
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [source('aws'), source('gcp'), spy] })
    try {
      const raw = await signedTransfer(lab.anvil)
      const { meta } = await rpc.requestWithMeta({
        method: 'eth_sendRawTransaction',
        params: [raw],
      })
      assert.ok(!meta.sources.includes('spy'))
      assert.ok(!seen.includes('eth_sendRawTransaction'))
    } finally {
      await rpc.close()
    }
  })

  it('configuration: untrusted sources make no domain of a quorum', () => {
    assert.throws(
      () => createOutlast({ chainId: CHAIN_ID, sources: [source('peer', true)] }),
      (e: Error) => e instanceof ConfigError && /every source is untrusted/.test(e.message),
    )
    assert.throws(
      () =>
        createOutlast({
          chainId: CHAIN_ID,
          quorum: { domains: 2 },
          sources: [source('aws'), ...sybils(3, {})],
        }),
      (e: Error) => e instanceof ConfigError && /quorum\.domains is 2/.test(e.message),
    )
    assert.throws(
      () => http('http://127.0.0.1:1', { untrusted: 'yes' as unknown as boolean }),
      (e: Error) => e instanceof ConfigError && /untrusted must be true or false/.test(e.message),
    )
  })
})
