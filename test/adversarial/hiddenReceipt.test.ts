/**
 * A `null` receipt from one source is no evidence against a receipt whose block is on the agreed
 * chain: with a third domain, it is asked at once (not after the re-check delays); with two
 * domains, the hiding source does not veto — the receipt comes back, flagged degraded. The other
 * way round, a made-up receipt beside an honest "not found" whose re-check falls silent stands
 * only if its block is on the agreed chain.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, mined as receiptOf, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

type Answer = { meta: unknown }

let lab: Lab
const mined: string[] = []
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
  for (let i = 0; i < 4; i++)
    mined.push(
      await lab.anvil.rpc<string>('eth_sendTransaction', [
        { from: devAccounts[i]!.address, to: devAccounts[(i + 1) % 4]!.address, value: '0x1' },
      ]),
    )
  for (const hash of mined) await receiptOf(lab.anvil, hash)
})
afterAll(() => lab.stop())

const honest = (names: string[]) => labSources(lab, names)

/** The fastest source: "not found" for every receipt, honest otherwise. */
const hider = (): Source =>
  hostile(
    http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
    (method, _p, answer) =>
      method === 'eth_getTransactionReceipt' ? Promise.resolve(null) : answer(),
  )

/** `source`, recording in `asked` its name each time it is asked for a receipt. */
const logged = (source: Source, asked: string[]): Source =>
  hostile(source, (method, _p, answer) => {
    if (method === 'eth_getTransactionReceipt') asked.push(source.config.name)
    return answer()
  })

describe('a source that hides receipts', () => {
  it('beside two honest domains: a third domain is asked at once, the receipt is agreed', async () => {
    const asked: string[] = []
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [hider(), ...honest(['aws', 'gcp', 'home'])].map((s) => logged(s, asked)),
    })
    let hiderAsked = 0
    try {
      await rpc.connect()
      for (const hash of mined) {
        asked.length = 0
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getTransactionReceipt',
          params: [hash],
        })
        assert.deepEqual(result, await lab.anvil.rpc('eth_getTransactionReceipt', [hash]))
        assert.equal(meta.consistency, 'agreed')
        // At once, not after the re-check delays: told by the order the sources were asked in,
        // not by a time bound (a busy machine can make the honest answers outlast the 200 ms
        // re-check). The hider's "not found" beside a real receipt makes a third domain asked
        // before the hider is asked again.
        if (!asked.includes('liar')) continue // agreed before the hider was needed
        hiderAsked++
        const recheck = asked.indexOf('liar', asked.indexOf('liar') + 1)
        const beforeRecheck = recheck === -1 ? asked : asked.slice(0, recheck)
        assert.ok(
          new Set(beforeRecheck).size >= 3,
          `a third domain asked before the hider's re-check: ${asked}`,
        )
      }
      // Asked first as the fastest; on a busy machine its lead may not always show.
      assert.ok(hiderAsked > 0, 'the hider was asked for a receipt')
    } finally {
      await rpc.close()
    }
  })

  it('beside one honest domain: no veto, the receipt comes back flagged degraded', async () => {
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [hider(), ...honest(['aws'])] })
    try {
      await rpc.connect()
      for (const hash of mined) {
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getTransactionReceipt',
          params: [hash],
        })
        assert.deepEqual(result, await lab.anvil.rpc('eth_getTransactionReceipt', [hash]))
        assert.equal(meta.consistency, 'degraded')
      }
      // A receipt that does not exist is still "not found" only when both say so.
      assert.equal(
        await rpc.request({
          method: 'eth_getTransactionReceipt',
          params: [`0x${'cd'.repeat(32)}`],
        }),
        null,
      )
    } finally {
      await rpc.close()
    }
  })
})

describe('a source that makes up a receipt', () => {
  it('beside a "not yet" whose re-check falls silent: refused once its block is not on the agreed chain', async () => {
    const asked = `0x${'ab'.repeat(32)}`
    // The fastest source: a real receipt relabelled as the made-up transaction's, in a block
    // the chain does not have.
    const forger = hostile(
      http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' }),
      async (method, params, answer) => {
        if (method !== 'eth_getTransactionReceipt' || params[0] !== asked) return answer()
        const real = await lab.anvil.rpc<Record<string, unknown>>('eth_getTransactionReceipt', [
          mined[0],
        ])
        return { ...real, transactionHash: asked, blockHash: `0x${'ee'.repeat(32)}` }
      },
    )
    // aws says "not found" (the truth), then is silent on every receipt after.
    const aws = lab.proxy('aws')
    let receipts = 0
    const silentAfterOne: typeof fetch = (input, init) => {
      const body = JSON.parse(String(init?.body)) as { method?: string }
      if (body.method !== 'eth_getTransactionReceipt' || ++receipts === 1)
        return aws.fetch(input, init)
      return new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      )
    }
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      timeout: 5_000,
      sources: [
        forger,
        http(aws.url, {
          name: 'aws',
          domain: 'aws-us-east-1',
          fetchFn: silentAfterOne,
          timeout: 500,
        }),
      ],
    })
    try {
      await rpc.connect()
      const outcome = await rpc
        .requestWithMeta({ method: 'eth_getTransactionReceipt', params: [asked] })
        .then(
          (r) => r,
          (error: unknown) => error,
        )
      assert.ok(outcome instanceof Error, `answered, ${JSON.stringify((outcome as Answer).meta)}`)
      assert.ok(receipts >= 2, 'aws was asked again and fell silent')
    } finally {
      await rpc.close()
    }
  })
})
