import { describe, expect, it } from 'vitest'
import { RpcResponseError, SourceError } from '../shared/errors.ts'
import type { Source } from '../shared/types.ts'
import {
  blockOfRead,
  isPruned,
  isUnknownBlock,
  notePruned,
  prunedAt,
  unconfirmedBlock,
} from './pruned.ts'
import { createSourceState } from './sourceState.ts'

const refusal = (code: number, message: string) => new RpcResponseError('node', { code, message })

describe('pruned state', () => {
  it("knows nodes' words for state they no longer keep", () => {
    for (const [code, message] of [
      [-32000, 'missing trie node 1f0d…a3 (path ) state 0x1f0d… is not available, not found'],
      [-32000, 'header not found'],
      [-32000, 'historical state 7c45… is not available'],
      [-32000, 'state at block #1000 is pruned'],
      [-32000, 'distance to target block exceeds maximum proof window'],
      [-32000, 'World state unavailable for block 0x10'],
      [-32602, 'BlockOutOfRangeError: block height is 32 but requested was 2'],
      // reviewOfSession38e: reth's internal error, Nethermind's -32002, Erigon's proof window.
      [-32603, 'state at block #1 is pruned'],
      [-32002, 'No state available for block 0x1f (31)'],
      [
        -32000,
        'requested block is too old, block must be within 100000 blocks of the head block number (currently 200000)',
      ],
    ] as const)
      expect(isPruned(refusal(code, message)), message).toBe(true)
  })

  it('is not a revert, another node error or a network failure', () => {
    expect(isPruned(refusal(3, 'execution reverted'))).toBe(false)
    // A contract's revert reason is its words, not the node's (reviewOfSession38c, finding 4).
    expect(isPruned(refusal(3, 'execution reverted: order pruned'))).toBe(false)
    expect(isPruned(refusal(3, 'execution reverted: header not found'))).toBe(false)
    expect(isPruned(refusal(-32000, 'execution reverted: missing trie node'))).toBe(false)
    // Only codes nodes refuse missing state with (4444: EIP-4444's pruned history).
    expect(isPruned(refusal(4444, 'pruned history unavailable'))).toBe(true)
    expect(isPruned(refusal(-32003, 'state at block #3 is pruned'))).toBe(false)
    expect(isPruned(refusal(-32000, 'nonce too low'))).toBe(false)
    expect(isPruned(new SourceError('node', 'network', 'missing trie node'))).toBe(false)
  })

  it('learns a pruned block only well below the source’s own head (a lagging node is not pruned)', () => {
    const s = createSourceState({
      config: { name: 'n', domain: 'd', weight: 1 },
    } as unknown as Source)
    notePruned(s, 5) // its head is unknown
    expect(prunedAt(s, 5)).toBe(false)
    s.head = { number: 100, hash: '0x', at: 0 }
    notePruned(s, 95) // could be a block it has not reached
    expect(prunedAt(s, 95)).toBe(false)
    notePruned(s, 40)
    expect([prunedAt(s, 40), prunedAt(s, 12), prunedAt(s, 41), prunedAt(s, undefined)]).toEqual([
      true,
      true,
      false,
      false,
    ])
  })

  it("reads a read's numbered block", () => {
    expect(blockOfRead(['0xabc', '0x10'], 1)).toBe(16)
    expect(blockOfRead(['0xabc', 'latest'], 1)).toBeUndefined()
    expect(blockOfRead(['0xabc', { blockHash: '0x1' }], 1)).toBeUndefined()
    expect(blockOfRead([{}], undefined)).toBeUndefined()
  })
})

describe('unknown blocks', () => {
  const a = `0x${'aa'.repeat(32)}`
  const b = `0x${'bb'.repeat(32)}`

  it("knows nodes' words for a block they do not have, EIP-1474's -32001 included", () => {
    expect(isUnknownBlock(refusal(-32001, 'Resource not found'))).toBe(true)
    expect(isUnknownBlock(refusal(-32000, 'unknown block'))).toBe(true)
    expect(isUnknownBlock(refusal(-32000, 'header for hash not found'))).toBe(true)
    expect(isUnknownBlock(refusal(-32000, 'nonce too low'))).toBe(false)
    expect(isUnknownBlock(new SourceError('n', 'network', 'unknown block'))).toBe(false)
  })

  it('a block that is not the confirmed chain’s is unconfirmed (one claim, reorged away, made up)', () => {
    const holds = (hash: string) => hash === a // the confirmed chain holds a, not b
    expect(unconfirmedBlock(['0x1', { blockHash: a }], holds)).toBe(false)
    expect(unconfirmedBlock([a.toUpperCase().replace('0X', '0x')], holds)).toBe(false)
    expect(unconfirmedBlock([b], holds)).toBe(true)
    expect(unconfirmedBlock([{ blockHash: `0x${'cc'.repeat(32)}` }], holds)).toBe(true)
    expect(unconfirmedBlock(['latest'], holds)).toBe(false) // no block named by hash
  })
})

describe('oldFor', () => {
  it('is a read far below the source’s head, or any read of a block before the source told a head', async () => {
    const { oldFor } = await import('./pruned.ts')
    const s = createSourceState({
      config: { name: 'n', domain: 'd', weight: 1 },
    } as unknown as Source)
    expect(oldFor(s, 5)).toBe(true) // no head yet: a client's first read
    expect(oldFor(s, undefined)).toBe(false)
    s.head = { number: 100, hash: '0x', at: 0 }
    expect([oldFor(s, 84), oldFor(s, 85), oldFor(s, 100)]).toEqual([true, false, false])
  })
})
