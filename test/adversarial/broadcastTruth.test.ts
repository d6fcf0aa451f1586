/**
 * A broadcast result is the truth: one source that answers a transaction's hash without sending
 * it (the fastest, in its own domain) must not beat the honest domains that reject it (nonce too
 * low, insufficient funds). And an honest acceptance still stands when a second domain knows the
 * transaction, whatever a liar rejects.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  createOutlast,
  http,
  type OutlastEvents,
  RpcResponseError,
  type Source,
} from '../../src/index.ts'
import { CHAIN_ID, threeDomains, transfers } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
})
afterAll(() => lab.stop())

const honest = (names: string[]) => labSources(lab, names)

const inner = () => http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' })

/** Answers every broadcast with the transaction's own hash, sending nothing. */
const fakeAccept = (): Source =>
  hostile(inner(), async (method, params, answer) => {
    if (method !== 'eth_sendRawTransaction') return answer()
    const { keccak256 } = await import('viem')
    return keccak256(params[0] as `0x${string}`)
  })

/** Rejects every broadcast ("insufficient funds"), sending nothing, and knows no transaction. */
const fakeReject = (): Source =>
  hostile(inner(), async (method, _params, answer) => {
    if (method === 'eth_sendRawTransaction')
      throw new RpcResponseError('liar', {
        code: -32000,
        message: 'insufficient funds for gas * price + value',
      })
    if (method === 'eth_getTransactionByHash') return null
    return answer()
  })

const { sign, nonceNow, nonceNext } = transfers(() => lab.anvil)

describe('a source that accepts what every honest domain rejects', () => {
  for (const [why, make] of [
    ['nonce too low', async () => sign(Math.max(0, (await nonceNow()) - 1), 2n)],
    ['insufficient funds', async () => sign(await nonceNow(), 10n ** 30n)],
  ] as const)
    it(`${why}: the agreed rejection is returned, not "sent"`, async () => {
      if (why === 'nonce too low')
        await lab.anvil.rpc('eth_sendRawTransaction', [await sign(await nonceNext())])
      for (const others of [['aws', 'gcp', 'home'], ['aws']]) {
        const rpc = createOutlast({ chainId: CHAIN_ID, sources: [fakeAccept(), ...honest(others)] })
        try {
          const error = await rpc
            .request({ method: 'eth_sendRawTransaction', params: [await make()] })
            .then(
              () => undefined,
              (e: Error) => e,
            )
          assert.ok(error instanceof RpcResponseError, `told "sent" (${others.length} honest)`)
          assert.match(error.message, why === 'nonce too low' ? /nonce/i : /insufficient funds/i)
        } finally {
          await rpc.close()
        }
      }
    })
})

describe('an honest acceptance against a lying rejection', () => {
  it('stands once a second domain knows the transaction', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [fakeReject(), ...honest(['aws', 'gcp'])],
    })
    const outcomes: OutlastEvents['broadcast'][] = []
    rpc.on('broadcast', (o) => outcomes.push(o))
    try {
      const raw = await sign(await nonceNext())
      const hash = await rpc.request({ method: 'eth_sendRawTransaction', params: [raw] })
      const receipt = await lab.anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [
        hash,
      ])
      assert.equal(receipt?.status, '0x1')
      assert.ok(outcomes.some((o) => o.source === 'liar' && o.outcome === 'rejected'))
    } finally {
      await rpc.close()
    }
  })

  it('with two domains, a lying rejection stands until a second domain knows it (never a false "sent")', async () => {
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [fakeReject(), ...honest(['aws'])] })
    try {
      const raw = await sign(await nonceNext())
      // The honest node took it, but no second domain says so: "sent" needs two domains' word,
      // so the contradiction is reported (the transaction is in the honest node all the same).
      await assert.rejects(
        rpc.request({ method: 'eth_sendRawTransaction', params: [raw] }),
        /insufficient funds/,
      )
      const { keccak256 } = await import('viem')
      assert.ok(await lab.anvil.rpc('eth_getTransactionByHash', [keccak256(raw)]))
    } finally {
      await rpc.close()
    }
  })
})

describe('broadcasting variants', () => {
  it('eth_sendRawTransactionSync goes to every domain as eth_sendRawTransaction; the receipt returned is the agreed one', async () => {
    const liar = hostile(inner(), async (method, _params, answer) => {
      const real = (await answer().catch(() => undefined)) as Record<string, unknown> | undefined
      if (method !== 'eth_getTransactionReceipt' || !real) return answer()
      return { ...real, status: '0x0', gasUsed: '0x1' } // a failed receipt for a mined transfer
    })
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [liar, ...honest(['aws', 'gcp'])] })
    try {
      const syncBefore = lab.proxy('gcp').stats.byMethod.eth_sendRawTransactionSync ?? 0
      const plainBefore = lab.proxy('gcp').stats.byMethod.eth_sendRawTransaction ?? 0
      const raw = await sign(await nonceNext())
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_sendRawTransactionSync',
        params: [raw],
      })
      const { keccak256 } = await import('viem')
      assert.deepEqual(result, await lab.anvil.rpc('eth_getTransactionReceipt', [keccak256(raw)]))
      assert.equal((result as { status: string }).status, '0x1')
      assert.equal(meta.policy, 'broadcast')
      assert.ok(['agreed', 'proven'].includes(meta.consistency), meta.consistency)
      // A node's own synchronous send holds its answer until mined (reviewOfSession37b): outlast
      // waits for the receipt itself.
      const { byMethod } = lab.proxy('gcp').stats
      assert.equal(byMethod.eth_sendRawTransactionSync ?? 0, syncBefore)
      assert.equal((byMethod.eth_sendRawTransaction ?? 0) - plainBefore, 1)
    } finally {
      await rpc.close()
    }
  })

  it('eth_sendRawTransactionSync not mined within its timeout: code 4 naming the hash (EIP-7966), after that timeout, not the deadline', async () => {
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: honest(['aws', 'gcp', 'home']) })
    await lab.anvil.rpc('evm_setAutomine', [false])
    try {
      const raw = await sign(await nonceNext())
      const { keccak256 } = await import('viem')
      const started = Date.now()
      const error = await rpc
        .request({ method: 'eth_sendRawTransactionSync', params: [raw, '0x3e8'] })
        .then(
          () => undefined,
          (e: { code?: number; data?: unknown; message: string }) => e,
        )
      const took = Date.now() - started
      assert.equal(error?.code, 4, error?.message)
      assert.equal(error?.data, keccak256(raw))
      assert.match(error?.message ?? '', /was sent/)
      assert.ok(took >= 1_000 && took < 5_000, `answered after ${took} ms (the deadline is 10 s)`)
      // Sent indeed: the node holds it, and mines it.
      assert.ok(await lab.anvil.rpc('eth_getTransactionByHash', [keccak256(raw)]))
    } finally {
      await lab.anvil.rpc('evm_setAutomine', [true])
      await lab.anvil.rpc('evm_mine')
      await rpc.close()
    }
  })

  it('eth_sendRawTransactionSync to nodes without it ("method not found"): sent as eth_sendRawTransaction, the agreed receipt returned', async () => {
    const lacksSync = (name: string) =>
      hostile(honest([name])[0]!, async (method, _params, answer) => {
        if (method === 'eth_sendRawTransactionSync')
          throw new RpcResponseError(name, {
            code: -32601,
            message: 'the method eth_sendRawTransactionSync does not exist/is not available',
          })
        return answer()
      })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: ['aws', 'gcp', 'home'].map(lacksSync),
      breaker: { threshold: 2 },
    })
    try {
      for (let i = 0; i < 2; i++) {
        const raw = await sign(await nonceNext())
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_sendRawTransactionSync',
          params: [raw],
        })
        const { keccak256 } = await import('viem')
        assert.equal((result as { transactionHash: string }).transactionHash, keccak256(raw))
        assert.equal((result as { status: string }).status, '0x1')
        assert.ok(['agreed', 'proven'].includes(meta.consistency), meta.consistency)
      }
      // Their "method not found" is no failure of theirs.
      assert.deepEqual(
        rpc.status().sources.map((s) => s.breaker),
        ['closed', 'closed', 'closed'],
      )
    } finally {
      await rpc.close()
    }
  })
})
