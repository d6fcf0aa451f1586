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

it("a balance read just after a transaction's receipt is at the receipt's block or later, however recently the head was read", async () => {
  // A head read just before the block came is fresh for a long while: 10 s.
  const rpc = clientFor(lab, { pollingInterval: 10_000 })
  try {
    const account = devAccounts[3].address
    const call = balanceCall(3)
    await rpc.request(call)
    const hash = await lab.anvil.rpc<string>('eth_sendTransaction', [
      { from: account, to: devAccounts[1].address, value: '0x2386f26fc10000' },
    ])
    const { blockNumber } = await mined(lab.anvil, hash)
    type Receipt = { blockNumber: string } | null
    const receiptOf = () =>
      rpc.request({ method: 'eth_getTransactionReceipt', params: [hash] }) as Promise<Receipt>
    let receipt = await receiptOf()
    while (!receipt) {
      await new Promise((r) => setTimeout(r, 50))
      receipt = await receiptOf()
    }
    assert.equal(receipt.blockNumber, blockNumber)
    const { result, meta } = await rpc.requestWithMeta(call)
    const truth = await lab.anvil.rpc<string>('eth_getBalance', [account, blockNumber])
    assert.equal(
      BigInt(result as string),
      BigInt(truth),
      `read at block ${meta.block?.number} after a receipt in block ${Number(blockNumber)}`,
    )
  } finally {
    await rpc.close()
  }
})

it('a block number no chain could have reached, shown through a single-source method, costs reads no poll', async () => {
  const polls = { n: 0 }
  const far = `0x${(10_000_000).toString(16)}`
  const rpc = clientFor(
    lab,
    { pollingInterval: 10_000, policies: { debug_traceTransaction: 'single' } },
    (s) => async (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : ''
      if (body.includes('"eth_getBlockByNumber"')) polls.n++
      // A source's made-up answer naming a block far ahead (a `single` method is not checked).
      if (body.includes('"debug_traceTransaction"')) {
        const { id } = JSON.parse(body) as { id: number }
        return Response.json({ jsonrpc: '2.0', id, result: { blockNumber: far, gas: 0 } })
      }
      return s.proxy.fetch(input, init)
    },
  )
  try {
    // Warm: the head agreed and confirmed, its refreshes done.
    await rpc.request(balanceCall(1))
    await new Promise((r) => setTimeout(r, 300))
    await rpc.request(balanceCall(1))
    await new Promise((r) => setTimeout(r, 300))
    const before = polls.n
    const traced = (await rpc.request({
      method: 'debug_traceTransaction',
      params: [`0x${'ab'.repeat(32)}`],
    })) as { blockNumber: string }
    assert.equal(traced.blockNumber, far, 'the made-up block was shown: the case is tested')
    await rpc.request(balanceCall(1))
    await rpc.request(balanceCall(2))
    assert.equal(polls.n, before, 'a read of latest polled the head for a block no chain reached')
  } finally {
    await rpc.close()
  }
})
