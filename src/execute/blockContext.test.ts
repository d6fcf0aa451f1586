import assert from 'node:assert/strict'
import { it } from 'vitest'
import type { TrustedHeader } from '../core/trust.ts'
import { ancestorHashes, hardforksOf } from './blockContext.ts'
import { UnprovableError } from './unprovable.ts'

const at = (timestamp: number, extra: Record<string, unknown> = {}) => ({
  number: '0x1600000',
  timestamp: `0x${timestamp.toString(16)}`,
  baseFeePerGas: '0x1',
  difficulty: '0x0',
  ...extra,
})

it('mainnet and its testnets go by timestamp', () => {
  assert.deepEqual(hardforksOf(at(1710338135), 1), ['cancun'])
  assert.deepEqual(hardforksOf(at(1746612311), 1), ['prague'])
  assert.deepEqual(hardforksOf(at(1764798551), 1), ['osaka'])
  assert.deepEqual(hardforksOf(at(1765290071), 1), ['bpo1'])
})

it('other chains: the forks the header fields allow (Prague and Osaka add none)', () => {
  const full = { withdrawalsRoot: '0x', parentBeaconBlockRoot: '0x', requestsHash: '0x' }
  assert.deepEqual(hardforksOf(at(1, full), 31337), ['prague', 'osaka'])
  assert.deepEqual(hardforksOf(at(1, { ...full, requestsHash: undefined }), 31337), ['cancun'])
  assert.deepEqual(hardforksOf(at(1, { withdrawalsRoot: '0x' }), 10), ['shanghai'])
  assert.deepEqual(hardforksOf(at(1), 10), ['paris'])
  assert.deepEqual(hardforksOf(at(1, { difficulty: '0x2' }), 10), ['london'])
  assert.throws(() => hardforksOf(at(1, { baseFeePerGas: undefined }), 10), UnprovableError)
})

it('BLOCKHASH walks no further down once the engine gave up on the answer', async () => {
  const hashOf = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const
  const header = (n: number): TrustedHeader => ({
    number: n,
    hash: hashOf(n),
    parentHash: hashOf(n - 1),
    stateRoot: hashOf(0),
    receiptsRoot: hashOf(0),
    transactionsRoot: hashOf(0),
    logsBloom: '0x',
    raw: {},
    via: 'agreed',
  })
  const stop = new AbortController()
  let asked = 0
  const trusted = async (hash: string) => {
    if (++asked === 3) stop.abort()
    return header(Number(BigInt(hash)))
  }
  const chain = ancestorHashes(header(1_000), trusted, stop.signal)
  assert.deepEqual(
    (await chain.getBlock(998)).hash(),
    Uint8Array.from({ length: 32 }, (_, i) => (i === 30 ? 3 : i === 31 ? 0xe6 : 0)),
  )
  await assert.rejects(chain.getBlock(745), UnprovableError)
  assert.equal(asked, 3)
})
