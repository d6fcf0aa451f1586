/**
 * Per-source method routing (`methods: { include | exclude }`): a source is never sent a method
 * its route leaves out (reads, head polls, proofs, broadcasts), and a private route for
 * transactions (Flashbots Protect) gets them alone: strictly, or with a fallback the app asks for.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { ConfigError, createOutlast, http } from '../src/index.ts'
import { proofs } from '../src/proofs/index.ts'
import type { MethodRoute } from '../src/shared/types.ts'
import { CHAIN_ID, resetLab, signedTransfer } from './helpers.ts'
import { devAccounts, type Lab, startLab } from './lab/index.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'aws', domain: 'aws-us-east-1' },
      { name: 'gcp', domain: 'gcp-europe-west1' },
      { name: 'protect', domain: 'flashbots' },
    ],
  })
  for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
})
afterAll(() => lab?.stop())

const source = (name: string, methods?: MethodRoute) =>
  http(lab.proxy(name).url, {
    name,
    domain: lab.sources.find((s) => s.name === name)!.domain,
    fetchFn: lab.proxy(name).fetch,
    ...(methods ? { methods } : {}),
  })
const asked = (name: string, method: string) => lab.proxy(name).stats.byMethod[method] ?? 0
const PROTECT: MethodRoute = { include: ['eth_sendRawTransaction', 'eth_chainId'] }
const alice = devAccounts[1]!.address

async function mined(hash: string) {
  for (let i = 0; i < 50; i++) {
    if (await lab.anvil.rpc('eth_getTransactionReceipt', [hash])) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

describe('per-source method routing', () => {
  it('a source is never asked what its route leaves out: reads, head polls, proofs', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      prover: proofs(),
      sources: [
        source('aws'),
        source('gcp', { exclude: ['eth_getProof', 'eth_getLogs'] }),
        source('protect', PROTECT),
      ],
    })
    try {
      await rpc.connect()
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBalance',
        params: [alice, 'latest'],
      })
      assert.equal(result, await lab.anvil.rpc('eth_getBalance', [alice, 'latest']))
      assert.equal(meta.consistency, 'proven')
      await rpc.request({ method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: '0x2' }] })
      await rpc.request({ method: 'eth_blockNumber' })
      assert.equal(asked('gcp', 'eth_getProof'), 0)
      assert.equal(asked('gcp', 'eth_getLogs'), 0)
      for (const m of [
        'eth_getBalance',
        'eth_getProof',
        'eth_getBlockByNumber',
        'eth_getLogs',
        'eth_blockNumber',
      ])
        assert.equal(asked('protect', m), 0, `protect was asked ${m}`)
      assert.ok(asked('protect', 'eth_chainId') >= 1, 'its chain is still checked')
    } finally {
      await rpc.close()
    }
  })

  it('transactions go to the private route alone, and are mined', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws'), source('gcp'), source('protect', PROTECT)],
    })
    try {
      const hash = await rpc.request({
        method: 'eth_sendRawTransaction',
        params: [await signedTransfer(lab.anvil)],
      })
      assert.ok(await mined(hash as string))
      assert.equal(asked('protect', 'eth_sendRawTransaction'), 1)
      assert.equal(asked('aws', 'eth_sendRawTransaction'), 0, 'no leak to public sources')
      assert.equal(asked('gcp', 'eth_sendRawTransaction'), 0, 'no leak to public sources')
    } finally {
      await rpc.close()
    }
  })

  it('strict (the default): with the private route down, the transaction is refused, and sent nowhere', async () => {
    await resetLab(lab)
    await lab.proxy('protect').setMode({ kind: 'refused' })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      timeout: 3_000,
      sources: [source('aws'), source('gcp'), source('protect', PROTECT)],
    })
    try {
      await assert.rejects(
        rpc.request({
          method: 'eth_sendRawTransaction',
          params: [await signedTransfer(lab.anvil)],
        }),
      )
      assert.equal(asked('aws', 'eth_sendRawTransaction'), 0)
      assert.equal(asked('gcp', 'eth_sendRawTransaction'), 0)
    } finally {
      await rpc.close()
      await lab.proxy('protect').setMode({ kind: 'ok' })
    }
  })

  it("privateTransactions: 'fallback': with the private route down, the public sources send it", async () => {
    await resetLab(lab)
    await lab.proxy('protect').setMode({ kind: 'refused' })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      privateTransactions: 'fallback',
      sources: [source('aws'), source('gcp'), source('protect', PROTECT)],
    })
    try {
      const hash = await rpc.request({
        method: 'eth_sendRawTransaction',
        params: [await signedTransfer(lab.anvil)],
      })
      assert.ok(await mined(hash as string))
      assert.ok(
        asked('aws', 'eth_sendRawTransaction') + asked('gcp', 'eth_sendRawTransaction') >= 1,
      )
    } finally {
      await rpc.close()
      await lab.proxy('protect').setMode({ kind: 'ok' })
    }
  })

  it('a method that hands transactions on (a bundle, a private send) outlast does not list goes only to a source that names it; none naming it, 4200 and no source asked', async () => {
    await resetLab(lab)
    const BUNDLE = 'eth_sendBundle'
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws'), source('gcp'), source('protect', PROTECT)],
    })
    try {
      await rpc.connect()
      const refused = await rpc.request({ method: BUNDLE, params: [{ txs: [] }] }).then(
        () => undefined,
        (e: { code?: number; message: string }) => e,
      )
      assert.equal(refused?.code, 4200)
      assert.match(String(refused?.message), /only of a source whose methods.include names it/)
      for (const name of ['aws', 'gcp', 'protect']) assert.equal(asked(name, BUNDLE), 0, name)
    } finally {
      await rpc.close()
    }
    const named = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        source('aws'),
        source('gcp'),
        source('protect', { include: [...PROTECT.include!, BUNDLE] }),
      ],
    })
    try {
      await named.connect()
      // anvil has no such method: its "not found" comes from the one source asked.
      await assert.rejects(named.request({ method: BUNDLE, params: [{ txs: [] }] }))
      assert.deepEqual(
        ['aws', 'gcp', 'protect'].map((n) => asked(n, BUNDLE)),
        [0, 0, 1],
      )
    } finally {
      await named.close()
    }
  })

  it('bad routes are refused at construction, naming the source', () => {
    const bad: [unknown, RegExp][] = [
      [['eth_call'], /methods must be \{ include/],
      [{ only: ['eth_call'] }, /unknown field "only"/],
      [{ include: 'eth_call' }, /methods.include must be an array/],
      [{ exclude: [''] }, /methods.exclude must be an array of method names/],
    ]
    for (const [methods, message] of bad)
      assert.throws(
        () => http('http://127.0.0.1:1', { name: 'x', methods: methods as MethodRoute }),
        (e: Error) =>
          e instanceof ConfigError && /http\(x\)/.test(e.message) && message.test(e.message),
      )
    assert.throws(
      () =>
        createOutlast({
          chainId: CHAIN_ID,
          sources: [source('aws')],
          privateTransactions: 'loose' as never,
        }),
      ConfigError,
    )
    // A send under another rule than a broadcast would pass the private route by.
    for (const policy of ['single', 'quorum', { class: 'single' }] as const)
      assert.throws(
        () =>
          createOutlast({
            chainId: CHAIN_ID,
            sources: [source('aws'), source('protect', PROTECT)],
            policies: { eth_sendRawTransaction: policy },
          }),
        /policies.eth_sendRawTransaction must stay 'broadcast' while a source is a private route/,
      )
    // Without a private route it is the app's rule.
    createOutlast({
      chainId: CHAIN_ID,
      sources: [source('aws')],
      policies: { eth_sendRawTransaction: 'single' },
    }).close()
  })
})
