/**
 * Block tags answered by one source: `pending` reads are asked of every domain (a wallet takes
 * its next nonce from `eth_getTransactionCount(addr, 'pending')`): a value only one source claims
 * is never returned, and a pending nonce never falls below the agreed latest one. `safe` and
 * `finalized` are resolved by agreement, like `latest`.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { CHAIN_ID, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { forgeHeader, hostile, labSources } from './hostile.ts'

let lab: Lab
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [...threeDomains, { name: 'liar', domain: 'liar-host', latency: 0 }],
  })
  for (let i = 0; i < 3; i++) {
    const hash = await lab.anvil.rpc<string>('eth_sendTransaction', [
      { from: devAccounts[1]!.address, to: devAccounts[2]!.address, value: '0x1' },
    ])
    // Mined before the tests read nonces: pending and latest are then the same.
    while (!(await lab.anvil.rpc('eth_getTransactionReceipt', [hash])))
      await new Promise((r) => setTimeout(r, 10))
  }
})
afterAll(() => lab.stop())

const honest = (names: string[]) => labSources(lab, names)

const inner = () => http(lab.proxy('liar').url, { name: 'liar', domain: 'liar-host' })
const who = devAccounts[1]!.address

describe('pending nonces', () => {
  for (const claim of [0n, 1n, 1_000n, 2n ** 64n])
    it(`the fastest source claiming ${claim}: never returned, never below the latest nonce`, async () => {
      const liar = hostile(inner(), async (method, params, answer) =>
        method === 'eth_getTransactionCount' && params[1] === 'pending'
          ? `0x${claim.toString(16)}`
          : answer(),
      )
      const latest = BigInt(await lab.anvil.rpc<string>('eth_getTransactionCount', [who, 'latest']))
      for (const others of [['aws', 'gcp', 'home'], ['aws']]) {
        const rpc = createOutlast({ chainId: CHAIN_ID, sources: [liar, ...honest(others)] })
        try {
          const { result } = await rpc.requestWithMeta({
            method: 'eth_getTransactionCount',
            params: [who, 'pending'],
          })
          const n = BigInt(result as string)
          assert.equal(n, latest, `${others.length} honest: ${n}, chain ${latest}`)
        } finally {
          await rpc.close()
        }
      }
    })

  it('a pending block is agreed, not one source’s', async () => {
    const liar = hostile(inner(), async (method, params, answer) => {
      const real = await answer()
      return method === 'eth_getBlockByNumber' && params[0] === 'pending'
        ? { ...(real as object), gasUsed: '0x1234' }
        : real
    })
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [liar, ...honest(['aws', 'gcp'])] })
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBlockByNumber',
        params: ['pending', false],
      })
      assert.notEqual((result as { gasUsed: string }).gasUsed, '0x1234')
      assert.equal(meta.consistency, 'agreed')
    } finally {
      await rpc.close()
    }
  })
})

describe('safe and finalized', () => {
  for (const tag of ['safe', 'finalized'] as const)
    it(`${tag}: resolved by agreement; a source naming another block is outvoted`, async () => {
      // The liar calls its own (correctly hashed) header the `${tag}` block and lies on balances.
      const liar: Source = hostile(inner(), async (method, params, answer) => {
        const real = await answer()
        if (method === 'eth_getBlockByNumber' && params[0] === tag)
          return forgeHeader(
            real as Record<string, unknown>,
            Number((real as { number: string }).number),
            7,
          )
        if (method === 'eth_getBalance') return '0x1'
        return real
      })
      const rpc = createOutlast({ chainId: CHAIN_ID, sources: [liar, ...honest(['aws', 'gcp'])] })
      try {
        const block = await lab.anvil.rpc<{ hash: string; number: string }>(
          'eth_getBlockByNumber',
          [tag, false],
        )
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [who, tag],
        })
        assert.equal(
          result,
          await lab.anvil.rpc('eth_getBalance', [who, { blockHash: block.hash }]),
        )
        assert.equal(meta.block?.hash, block.hash)
        assert.equal(meta.consistency, 'agreed')
      } finally {
        await rpc.close()
      }
    })
})
