/**
 * Every fault mode of the lab on the fastest source, through every surface: reads succeed
 * with the right answer while honest synced sources are reachable, and nothing stalls.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { Outlast } from '../src/index.ts'
import { clientFor, threeDomains } from './helpers.ts'
import {
  type Anvil,
  devAccounts,
  type FaultMode,
  type Lab,
  startForkedNode,
  startLab,
  startLaggingNode,
} from './lab/index.ts'
import { ethersSurface, rawSurface, viemSurface } from './surfaces.ts'
import { ANSWER_WORD, deployAnswer, type Surface } from './workload.ts'

type Case = { name: string; mode?: FaultMode; upstream?: 'lagging' | 'forked' }

const cases: Case[] = [
  { name: 'healthy', mode: { kind: 'ok' } },
  { name: 'blackhole', mode: { kind: 'blackhole' } },
  { name: 'refused', mode: { kind: 'refused' } },
  { name: 'DNS failure', mode: { kind: 'dns' } },
  { name: 'HTTP 503 with HTML', mode: { kind: 'http5xx' } },
  { name: 'flapping 5xx', mode: { kind: 'http5xx', status: 502, flapMs: 150 } },
  { name: '429 with Retry-After', mode: { kind: 'rateLimit', retryAfter: 30 } },
  { name: '429 without Retry-After', mode: { kind: 'rateLimit' } },
  { name: '402 quota exhausted', mode: { kind: 'quota' } },
  { name: 'JSON-RPC error in HTTP 200', mode: { kind: 'rpcError' } },
  { name: 'truncated body', mode: { kind: 'garbage', variant: 'truncated' } },
  { name: 'HTML with HTTP 200', mode: { kind: 'garbage', variant: 'html200' } },
  { name: 'binary garbage', mode: { kind: 'garbage', variant: 'binary' } },
  { name: 'wrong response id', mode: { kind: 'garbage', variant: 'wrongId' } },
  { name: 'empty body', mode: { kind: 'garbage', variant: 'empty' } },
  { name: 'slow (10x)', mode: { kind: 'slow', factor: 10 } },
  { name: 'only eth_call fails', mode: { kind: 'methods', failing: ['eth_call'] } },
  { name: 'lying', mode: { kind: 'lie' } },
  { name: 'lagging head', upstream: 'lagging' },
  { name: 'forked chain', upstream: 'forked' },
]

let lab: Lab
let lagging: Anvil
let forked: Anvil
let contract: `0x${string}`
const victim = devAccounts[1].address

beforeAll(async () => {
  lab = await startLab({ sources: threeDomains })
  contract = await deployAnswer(lab.anvil)
  for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
  lagging = await startLaggingNode(lab.anvil)
  forked = await startForkedNode(lab.anvil, { depth: 2 })
  // Move value after the lagging and forked nodes split off, so their balances are wrong.
  await lab.anvil.rpc('eth_sendTransaction', [
    { from: devAccounts[0].address, to: victim, value: '0xde0b6b3a7640000' },
  ])
  await lab.anvil.rpc('evm_mine')
  await new Promise((r) => setTimeout(r, 2_500)) // let the lagging node fall behind
})

afterAll(async () => {
  await lagging?.stop()
  await forked?.stop()
  await lab?.stop()
})

const surfaces: [string, (rpc: Outlast) => Surface][] = [
  ['eip1193', rawSurface],
  ['viem', viemSurface],
  ['ethers', ethersSurface],
]

for (const c of cases) {
  describe(`first source: ${c.name}`, () => {
    for (const [surfaceName, make] of surfaces) {
      it(`${surfaceName}: right answers, no stall`, async () => {
        const aws = lab.proxy('aws')
        await aws.setMode(c.mode ?? { kind: 'ok' })
        aws.setUpstream(
          c.upstream === 'lagging'
            ? lagging.url
            : c.upstream === 'forked'
              ? forked.url
              : lab.anvil.url,
        )
        const surface = make(clientFor(lab))
        try {
          for (let round = 0; round < 4; round++) {
            const started = Date.now()
            const truth = BigInt(await lab.anvil.rpc<string>('eth_getBalance', [victim, 'latest']))
            assert.equal(await surface.balance(victim), truth, 'balance')
            assert.equal(await surface.call(contract, '0x'), ANSWER_WORD, 'eth_call')
            const n = await surface.blockNumber()
            const real = BigInt(await lab.anvil.rpc<string>('eth_blockNumber'))
            assert.ok(n <= real && n >= real - 3n, `block number ${n} vs node ${real}`)
            const block = await lab.anvil.rpc<{ hash: `0x${string}` }>('eth_getBlockByNumber', [
              'latest',
              false,
            ])
            assert.equal(await surface.blockHash(block.hash), block.hash)
            const ms = Date.now() - started
            assert.ok(ms < 2_500, `round ${round} took ${ms} ms`)
          }
        } finally {
          await surface.close()
          await aws.setMode({ kind: 'ok' })
          aws.setUpstream(lab.anvil.url)
        }
      })
    }
  })
}
