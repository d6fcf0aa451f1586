/**
 * Reads after a write: a read of `latest` made once the caller saw a newer block (its
 * transaction's receipt, a block number) answers at that block or later. Callers share a read
 * still in flight (requestWithMeta.ts), and during an outage a quorum read can take seconds: one
 * made after the write must not get the answer of one made before it.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, it } from 'vitest'
import { balanceCall, clientFor, threeDomains } from './helpers.ts'
import { devAccounts, type Lab, mined, startLab } from './lab/index.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
})
afterAll(() => lab.stop())

/** Holds `eth_getBalance` at every source while `slow.on`: a read in flight for seconds. */
const slow = { on: false, ms: 4_000 }

it("a balance read after a transaction's receipt does not share a read made before it", async () => {
  const rpc = clientFor(
    lab,
    {},
    (s) => async (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : ''
      if (slow.on && body.includes('"eth_getBalance"'))
        await new Promise((r) => setTimeout(r, slow.ms))
      return s.proxy.fetch(input, init)
    },
    10_000,
  )
  try {
    const account = devAccounts[2].address
    const call = balanceCall(2)
    assert.equal(call.params[0], account)
    await rpc.request({ method: 'eth_blockNumber' })
    slow.on = true
    let beforeSettled: unknown
    const before = rpc.requestWithMeta(call).then(
      (a) => {
        beforeSettled = a
      },
      (e: unknown) => {
        beforeSettled = e
      },
    )
    // The write: mined, its receipt read through outlast, its block seen as outlast's head.
    const hash = await lab.anvil.rpc<string>('eth_sendTransaction', [
      { from: account, to: devAccounts[1].address, value: '0x2386f26fc10000' },
    ])
    const { blockNumber } = await mined(lab.anvil, hash)
    for (;;) {
      const receipt = await rpc.request({ method: 'eth_getTransactionReceipt', params: [hash] })
      const head = Number(await rpc.request({ method: 'eth_blockNumber' }))
      if (receipt && head >= Number(blockNumber)) break
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.equal(
      beforeSettled,
      undefined,
      'the read made before the write was still in flight: nothing tested',
    )
    slow.on = false
    const after = await rpc.request(call)
    const truth = await lab.anvil.rpc<string>('eth_getBalance', [account, blockNumber])
    assert.equal(
      BigInt(after as string),
      BigInt(truth),
      `the read made after the receipt (block ${Number(blockNumber)}) answered the balance before it`,
    )
    await before
  } finally {
    slow.on = false
    await rpc.close()
  }
})
