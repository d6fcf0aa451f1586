import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { toHex } from './bytes.ts'
import {
  hashPair,
  isValidMerkleBranch,
  isValidNormalizedMerkleBranch,
  merkleize,
  mixInLength,
} from './merkle.ts'

const chunk = (n: number) => new Uint8Array(32).fill(n)

describe('merkleize', () => {
  it('pads to the next power of two with zero subtrees', () => {
    const [a, b, c] = [chunk(1), chunk(2), chunk(3)]
    assert.deepEqual(merkleize([a, b, c]), hashPair(hashPair(a, b), hashPair(c, chunk(0))))
    assert.deepEqual(
      merkleize([a], 4),
      hashPair(hashPair(a, chunk(0)), hashPair(chunk(0), chunk(0))),
    )
    assert.deepEqual(merkleize([a]), a)
    assert.deepEqual(merkleize([], 2), hashPair(chunk(0), chunk(0)))
    assert.throws(() => merkleize([a, b], 1), /limit/)
  })

  it('mixes in a list length (little-endian)', () => {
    const len = new Uint8Array(32)
    len[0] = 3
    assert.deepEqual(mixInLength(chunk(7), 3), hashPair(chunk(7), len))
    // The empty ByteList[32] root, as an empty extra_data hashes.
    assert.equal(
      toHex(mixInLength(merkleize([], 1), 0)),
      '0xf5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b',
    )
  })
})

describe('Merkle branches', () => {
  const leaves = [chunk(1), chunk(2), chunk(3), chunk(4)]
  const root = merkleize(leaves)
  const branchOf2 = [chunk(4), hashPair(chunk(1), chunk(2))] // leaf index 2, depth 2

  it('is_valid_merkle_branch', () => {
    assert.ok(isValidMerkleBranch(chunk(3), branchOf2, 2, 2, root))
    assert.ok(!isValidMerkleBranch(chunk(3), branchOf2, 2, 3, root))
    assert.ok(!isValidMerkleBranch(chunk(9), branchOf2, 2, 2, root))
    assert.ok(!isValidMerkleBranch(chunk(3), branchOf2.slice(1), 2, 2, root), 'a short branch')
  })

  it('is_valid_normalized_merkle_branch: extra leading nodes must be zero', () => {
    const gindex = 4 + 2 // depth 2, index 2
    assert.ok(isValidNormalizedMerkleBranch(chunk(3), branchOf2, gindex, root))
    assert.ok(isValidNormalizedMerkleBranch(chunk(3), [chunk(0), ...branchOf2], gindex, root))
    assert.ok(!isValidNormalizedMerkleBranch(chunk(3), [chunk(5), ...branchOf2], gindex, root))
    assert.ok(!isValidNormalizedMerkleBranch(chunk(3), branchOf2.slice(1), gindex, root))
  })
})
