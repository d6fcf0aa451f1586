/**
 * Review of fb686bc (sync sends: the broadcast's deadline cut to the send's timeout + 1 s) and
 * 5270876 (head: a lone head whose every backer is cut off as lying gives way to the confirmed
 * head). Real anvil behind the lab's proxies, a hostile source in its own domain (`liar-host`).
 *
 * Findings: see the header written at the end of the review (below, FINDINGS).
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

async function warm(rpc: Rpc) {
  for (let i = 0; i < 3; i++)
    await rpc
      .request({ method: 'eth_getBalance', params: [`0x${'11'.repeat(20)}`, 'latest'] })
      .catch(() => {})
}

/** Automine off, one block `at` ms from now; `run` the send; then the chain back to automine. */
async function minedLater<T>(at: number, run: () => Promise<T>): Promise<T> {
  await lab.anvil.rpc('evm_setAutomine', [false])
  const miner = setTimeout(() => void lab.anvil.rpc('evm_mine').catch(() => {}), at)
  try {
    return await run()
  } finally {
    clearTimeout(miner)
    await lab.anvil.rpc('evm_setAutomine', [true])
    await lab.anvil.rpc('evm_mine')
  }
}

/**
 * An honest node of its own with EIP-7966: it holds its sync answer until the transaction is
 * mined (as anvil and geth do). The lab's domains share one anvil, whose second sync send of a
 * transaction is "already known" at once; a node of its own would hold that one too.
 */
const ownNode = (s: Source): Source =>
  hostile(s, async (method, params, answer) => {
    if (method !== 'eth_sendRawTransactionSync') return answer()
    try {
      return await answer()
    } catch (error) {
      if (!/already (known|imported)/i.test(String((error as Error).message))) throw error
      const hash = keccak256(params[0] as `0x${string}`)
      for (;;) {
        const r = await lab.anvil.rpc('eth_getTransactionReceipt', [hash])
        if (r) return r
        await sleep(50)
      }
    }
  })

/** The liar: "insufficient funds" at once, and it knows no such transaction or receipt. */
const refuser = () =>
  liar(async (method, _p, answer) => {
    if (method.startsWith('eth_sendRawTransaction')) throw insufficient()
    if (method === 'eth_getTransactionByHash' || method === 'eth_getTransactionReceipt') return null
    return answer()
  })

/** Sent, not mined by the timeout: EIP-7966's code 4 naming the hash (or, later, the receipt). */
function assertSent(out: Awaited<ReturnType<typeof sendSync>>, hash: string) {
  const { result, error, took } = out
  if (result) return assert.equal(result.transactionHash, hash)
  assert.equal(error?.code, 4, `told ${error?.code} "${error?.message}" after ${took} ms`)
  assert.equal(String(error?.data).toLowerCase(), hash)
}

describe('sync sends to nodes that have EIP-7966 themselves (they hold the answer until mined)', () => {
  it.fails("correct behaviour: a 1 s sync send that two honest domains hold until it is mined (4 s) is code 4 or its receipt, never the liar's instant refusal", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [refuser(), ...honest(['aws', 'gcp']).map(ownNode)],
      timeout: 20_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const out = await minedLater(4_000, () => sendSync(rpc, [raw, '0x3e8']))
      await sleep(Math.max(0, 5_000 - out.took))
      const mined = await lab.anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [
        keccak256(raw),
      ])
      assert.equal(mined?.status, '0x1', 'the honest nodes mined it')
      assertSent(out, keccak256(raw))
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it.fails('correct behaviour: with no liar at all, a 1 s sync send two honest domains hold until it is mined (4 s) is code 4 or its receipt, not "all sources failed"', async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: honest(['aws', 'gcp']).map(ownNode),
      timeout: 20_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      const out = await minedLater(4_000, () => sendSync(rpc, [raw, '0x3e8']))
      assertSent(out, keccak256(raw))
    } finally {
      await rpc.close()
    }
  }, 30_000)

  it.fails("correct behaviour: an honest node that holds its sync answer past the send's timeout and a second is not charged a failure (its attempt was cut by outlast, not lost)", async () => {
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: honest(['aws', 'gcp']).map(ownNode),
      timeout: 20_000,
    })
    await warm(rpc)
    try {
      const raw = await sign(await nonceNow())
      await minedLater(4_000, () => sendSync(rpc, [raw, '0x3e8']))
      const aws = rpc.status().sources.find((s) => s.name === 'aws')
      assert.equal(aws?.failures, 0, `aws: ${aws?.failures} failure(s), "${aws?.lastError}"`)
    } finally {
      await rpc.close()
    }
  }, 30_000)
})
