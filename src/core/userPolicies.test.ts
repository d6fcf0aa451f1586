/**
 * A method's policy as the app declared it (`policies`) holds in each attempt, not only in the
 * request's handler: a method the app declared a broadcast waits for each source's chain check
 * before it goes out, as `eth_sendRawTransaction` does, and a node's verdict on the transaction
 * is its answer, not its failure.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { keccak256 } from '../shared/keccak.ts'
import { eip1193 } from '../sources/eip1193.ts'
import { createOutlast } from './createOutlast.ts'

const SEND = 'eth_sendPrivateRawTransaction'
// A real signed transaction (EIP-2930, Ropsten, from ethers v5's tests): sends decode it first.
const RAW =
  '0x01f87c030d8465cf89a0825b689432162f3581e88a5f62e8a61892b42c46e2c18f7b8080d7d6940000000000000000000000000000000000000000c080a09659cba42376dbea1433cd6afc9c8ffa38dbeff5408ffdca0ebde6207281a3eca027efbab3e6ed30b088ce0a50533364778e101c9e52acf318daec131da64e7758'

/** A node on `chainId` (answering it `chainDelay` ms late) that takes or refuses the send. */
function node(chainId: string, chainDelay: number, send: () => unknown) {
  const seen: string[] = []
  return {
    seen,
    request: async ({ method }: { method: string }) => {
      seen.push(method)
      if (method === 'eth_chainId') {
        await new Promise((r) => setTimeout(r, chainDelay))
        return chainId
      }
      if (method === SEND) return send()
      throw new Error(`not in this test: ${method}`)
    },
  }
}

const nonceTooLow = () => {
  throw Object.assign(new Error('nonce too low'), { code: -32000 })
}

describe('a method the app declared a broadcast (policies)', () => {
  it('never reaches a source on another chain: it waits for the chain check', async () => {
    const right = node('0x1', 0, () => keccak256(RAW))
    const other = node('0x2', 100, () => keccak256(RAW))
    const rpc = createOutlast({
      chainId: 1,
      sources: [
        eip1193(right, { name: 'right', domain: 'a' }),
        eip1193(other, { name: 'other', domain: 'b' }),
      ],
      policies: { [SEND]: 'broadcast' },
    })
    try {
      assert.equal(await rpc.request({ method: SEND, params: [RAW, {}] }), keccak256(RAW))
      assert.deepEqual(other.seen, ['eth_chainId'])
    } finally {
      await rpc.close()
    }
  })

  it("a node's verdict on the transaction is its answer: no breaker opens", async () => {
    const a = node('0x1', 0, nonceTooLow)
    const b = node('0x1', 0, nonceTooLow)
    const rpc = createOutlast({
      chainId: 1,
      sources: [eip1193(a, { name: 'a', domain: 'a' }), eip1193(b, { name: 'b', domain: 'b' })],
      policies: { [SEND]: 'broadcast' },
      breaker: { threshold: 2 },
    })
    try {
      for (let i = 0; i < 3; i++)
        await assert.rejects(rpc.request({ method: SEND, params: [RAW, {}] }), /nonce too low/)
      const breakers = rpc.status().sources.map((s) => s.breaker)
      assert.deepEqual(breakers, ['closed', 'closed'])
    } finally {
      await rpc.close()
    }
  })
})
