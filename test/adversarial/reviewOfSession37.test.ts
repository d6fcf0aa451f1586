/**
 * Review of session 37: fa7ffe0 (reads go to the domain ahead while no other source is
 * `pool.up`) and cc53e43 + a3eb33f (`eth_sendRawTransactionSync` reads the receipt from the first
 * acceptance on, beside the broadcast; code 4 at the timeout unless a domain refused within
 * `REFUSAL_GRACE`; junk timeouts are -32602). Real anvil behind the lab's proxies, a hostile
 * source in its own domain (`liar-host`), as in reviewOfSyncSends2.test.ts.
 *
 * Found (each an `it.fails('correct behaviour: …')` below):
 * FINDINGS
 *
 * Held (asserted below):
 * HELD
 */
import assert from 'node:assert/strict'
import { keccak256 } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, RpcResponseError, type Source } from '../../src/index.ts'
import { CHAIN_ID, transfers } from '../helpers.ts'
import type { Lab } from '../lab/index.ts'
import { hostile, labSources } from './hostile.ts'
import { startLiarLab } from './proxiedLiar.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLiarLab()
})
afterAll(() => lab.stop())

const honest = (names: string[]) => labSources(lab, names)
const inner = () => http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' })
const liar = (rewrite: Parameters<typeof hostile>[1]): Source => hostile(inner(), rewrite)
const { sign, nonceNow } = transfers(() => lab.anvil)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Err = { code?: number; data?: unknown; message: string }
type Rpc = ReturnType<typeof createOutlast>

/** A sync send, its outcome and how long it took; `cap` ms at most (then `hung`). */
async function sendSync(rpc: Rpc, params: unknown[], cap = 25_000) {
  const started = Date.now()
  const out = await Promise.race([
    rpc.request({ method: 'eth_sendRawTransactionSync', params }).then(
      (r) => ({ result: r as Record<string, unknown>, error: undefined, hung: false }),
      (e: Err) => ({ result: undefined, error: e, hung: false }),
    ),
    sleep(cap).then(() => ({ result: undefined, error: undefined, hung: true })),
  ])
  return { ...out, took: Date.now() - started }
}

const insufficient = () =>
  new RpcResponseError('liar', {
    code: -32000,
    message: 'insufficient funds for gas * price + value',
  })

/** An honest node without EIP-7966 (most today): "method not found", then the plain send. */
const withoutSync = (s: Source): Source =>
  hostile(s, async (method, _p, answer) => {
    if (method === 'eth_sendRawTransactionSync')
      throw new RpcResponseError(s.config.name, { code: -32601, message: 'method not found' })
    return answer()
  })

/** Three plain reads, so each source has a measured latency and a head. */
async function warm(rpc: Rpc) {
  for (let i = 0; i < 3; i++)
    await rpc
      .request({ method: 'eth_getBalance', params: [`0x${'11'.repeat(20)}`, 'latest'] })
      .catch(() => {})
}

describe('synchronous sends (cc53e43, a3eb33f)', () => {
  it.fails('correct behaviour: a sync send mined 2.5 s after it was sent (timeout 8 s) returns its receipt, though the liar refuses it and denies knowing it (two domains)', async () => {
    // The liar says "insufficient funds" at once and knows nothing; the honest domain takes the
    // transaction, which is mined 2.5 s later (a real chain: seconds, not anvil's automine).
    const l = liar(async (method, _p, answer) => {
      if (method.startsWith('eth_sendRawTransaction')) throw insufficient()
      if (method === 'eth_getTransactionByHash' || method === 'eth_getTransactionReceipt')
        return null
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [l, withoutSync(honest(['aws'])[0]!)],
      timeout: 15_000,
    })
    await warm(rpc)
    await lab.anvil.rpc('evm_setAutomine', [false])
    let miner: ReturnType<typeof setTimeout> | undefined
    try {
      const raw = await sign(await nonceNow())
      miner = setTimeout(() => void lab.anvil.rpc('evm_mine').catch(() => {}), 2_500)
      const { result, error, took } = await sendSync(rpc, [raw, '0x1f40'])
      await sleep(Math.max(0, 3_500 - took))
      const mined = await lab.anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [
        keccak256(raw),
      ])
      assert.equal(mined?.status, '0x1', 'the honest node mined it')
      assert.equal(error, undefined, `told ${error?.code} "${error?.message}" after ${took} ms`)
      assert.equal(result?.transactionHash, keccak256(raw))
    } finally {
      clearTimeout(miner)
      await lab.anvil.rpc('evm_setAutomine', [true])
      await lab.anvil.rpc('evm_mine')
      await rpc.close()
    }
  }, 30_000)

  it('Held: the same, the honest node having the synchronous send itself (it answers once mined): the receipt', async () => {
    const l = liar(async (method, _p, answer) => {
      if (method.startsWith('eth_sendRawTransaction')) throw insufficient()
      if (method === 'eth_getTransactionByHash' || method === 'eth_getTransactionReceipt')
        return null
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [l, ...honest(['aws'])],
      timeout: 15_000,
    })
    await warm(rpc)
    await lab.anvil.rpc('evm_setAutomine', [false])
    let miner: ReturnType<typeof setTimeout> | undefined
    try {
      const raw = await sign(await nonceNow())
      miner = setTimeout(() => void lab.anvil.rpc('evm_mine').catch(() => {}), 2_500)
      const { result, error, took } = await sendSync(rpc, [raw, '0x1f40'])
      assert.equal(error, undefined, `told ${error?.code} "${error?.message}" after ${took} ms`)
      assert.equal(result?.transactionHash, keccak256(raw))
      assert.equal(result?.status, '0x1')
    } finally {
      clearTimeout(miner)
      await lab.anvil.rpc('evm_setAutomine', [true])
      await lab.anvil.rpc('evm_mine')
      await rpc.close()
    }
  }, 30_000)

  it.fails('correct behaviour: a 1 s sync send the honest domain refuses (nonce too low) while the liar stays silent on sends is answered with the refusal within ~4 s, not at the 12 s deadline', async () => {
    const l = liar(async (method, _p, answer) => {
      if (method.startsWith('eth_sendRawTransaction')) return new Promise(() => {})
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [l, ...honest(['aws'])],
      timeout: 12_000,
    })
    await warm(rpc)
    try {
      const nonce = await nonceNow()
      await lab.anvil.rpc('eth_sendRawTransaction', [await sign(nonce, 3n)])
      const raw = await sign(nonce, 5n)
      const { error, took, hung } = await sendSync(rpc, [raw, '0x3e8'])
      assert.equal(hung, false)
      assert.match(error?.message ?? '', /nonce/i)
      assert.ok(took < 4_000, `the refusal came after ${took} ms (timeout 1 s)`)
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it.fails('correct behaviour: a 1 s sync send with the honest domain down and the liar silent on sends is answered within ~4 s, not at the 12 s deadline', async () => {
    const l = liar(async (method, _p, answer) => {
      if (method.startsWith('eth_sendRawTransaction')) return new Promise(() => {})
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [l, ...honest(['aws'])],
      timeout: 12_000,
    })
    await warm(rpc)
    await lab.proxy('aws').setMode({ kind: 'refused' })
    try {
      const raw = await sign(await nonceNow())
      const { error, result, took, hung } = await sendSync(rpc, [raw, '0x3e8'])
      assert.equal(hung, false)
      assert.equal(result, undefined)
      assert.ok(took < 4_000, `answered (${error?.code} ${error?.message}) after ${took} ms`)
    } finally {
      await lab.proxy('aws').setMode({ kind: 'ok' })
      await rpc.close()
    }
  }, 30_000)
})

describe('synchronous sends: what runs after the answer, and acceptances that are only words', () => {
  it.fails('correct behaviour: once a sync send is answered (refused), its receipt read stops: no eth_getTransactionReceipt is asked afterwards', async () => {
    // The liar says "sent" at once (the read starts); the honest domain refuses (insufficient
    // funds); the refusal is the answer in ~0.5 s. No timeout given: the read's `until` is the
    // request's deadline (12 s).
    let receiptsAsked = 0
    const l = liar(async (method, params, answer) => {
      if (method.startsWith('eth_sendRawTransaction')) return keccak256(params[0] as `0x${string}`)
      if (method === 'eth_getTransactionReceipt') receiptsAsked++
      return answer()
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [l, ...honest(['aws'])],
      timeout: 12_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow(), 10n ** 30n)
      const { error, took } = await sendSync(rpc, [raw])
      assert.match(error?.message ?? '', /insufficient/i, `after ${took} ms`)
      const before = receiptsAsked
      await sleep(3_000)
      assert.equal(receiptsAsked - before, 0, 'receipt reads asked after the refusal was out')
    } finally {
      await rpc.close()
    }
  }, 30_000)

  for (const word of ['already known', 'code 4'] as const)
    it(`Held: the liar's "${word}" for a transaction the honest domain refuses (insufficient funds), 1 s timeout: the refusal, not code 4 or a receipt`, async () => {
      const l = liar(async (method, params, answer) => {
        const hash = keccak256(params[0] as `0x${string}`)
        if (method.startsWith('eth_sendRawTransaction')) {
          if (word === 'already known')
            throw new RpcResponseError('liar', { code: -32000, message: 'already known' })
          throw new RpcResponseError('liar', { code: 4, message: 'not processed', data: hash })
        }
        return answer()
      })
      const rpc = createOutlast({ chainId: CHAIN_ID, sources: [l, ...honest(['aws'])] })
      await warm(rpc)
      try {
        const raw = await sign(await nonceNow(), 10n ** 30n)
        const { result, error, took } = await sendSync(rpc, [raw, '0x3e8'])
        assert.equal(result, undefined)
        assert.notEqual(error?.code, 4, `told "was sent" after ${took} ms`)
        assert.match(error?.message ?? '', /insufficient/i)
      } finally {
        await rpc.close()
      }
    }, 30_000)
})
