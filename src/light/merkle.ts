/**
 * SSZ merkleization and Merkle branch checks (consensus-specs `is_valid_merkle_branch`,
 * `is_valid_normalized_merkle_branch`), on sha256 from `@noble/hashes`.
 */
import { sha256 } from '@noble/hashes/sha2'
import { bytesEqual, isZero } from './bytes.ts'

const buffer = new Uint8Array(64)

/** sha256(a ‖ b) of two 32-byte chunks. */
export function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  buffer.set(a, 0)
  buffer.set(b, 32)
  return sha256(buffer)
}

/** zeroHashes[d]: the root of a tree of depth d whose leaves are all zero. */
const zeroHashes: Uint8Array[] = [new Uint8Array(32)]
for (let d = 1; d <= 64; d++) {
  const below = zeroHashes[d - 1] as Uint8Array
  zeroHashes.push(hashPair(below, below))
}

/** ceil(log2(n)) for n ≥ 1. */
function depthFor(n: number): number {
  let d = 0
  while (2 ** d < n) d++
  return d
}

/**
 * The root of `chunks` (32 bytes each) padded with zero chunks to the next power of two of
 * `limit` (of `chunks.length` when omitted), as SSZ's `merkleize`.
 */
export function merkleize(chunks: readonly Uint8Array[], limit?: number): Uint8Array {
  if (limit !== undefined && chunks.length > limit) {
    throw new RangeError(`merkleize: ${chunks.length} chunks over the limit of ${limit}`)
  }
  const depth = depthFor(Math.max(limit ?? chunks.length, 1))
  let level: Uint8Array[] = chunks.length === 0 ? [] : [...chunks]
  for (let d = 0; d < depth; d++) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      next.push(hashPair(level[i] as Uint8Array, level[i + 1] ?? (zeroHashes[d] as Uint8Array)))
    }
    level = next
  }
  return level[0] ?? (zeroHashes[depth] as Uint8Array)
}

/** Splits bytes into 32-byte chunks, the last one zero-padded (SSZ `pack` of bytes). */
export function chunksOf(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += 32) {
    const chunk = new Uint8Array(32)
    chunk.set(bytes.subarray(at, Math.min(at + 32, bytes.length)))
    out.push(chunk)
  }
  return out
}

/** mix_in_length(root, length): the root of a list. */
export function mixInLength(root: Uint8Array, length: number): Uint8Array {
  const len = new Uint8Array(32)
  new DataView(len.buffer).setUint32(0, length, true)
  return hashPair(root, len)
}

/** floorlog2(gindex): the depth of a generalized index. */
export function gindexDepth(gindex: number): number {
  return Math.floor(Math.log2(gindex))
}

/** gindex % 2**depth: the leaf's index in its subtree. */
export function subtreeIndex(gindex: number): number {
  return gindex % 2 ** gindexDepth(gindex)
}

/** consensus-specs `compute_merkle_branch_root`: the root `leaf` at `index` proves into with `branch`. */
export function merkleBranchRoot(
  leaf: Uint8Array,
  branch: readonly Uint8Array[],
  depth: number,
  index: number,
): Uint8Array {
  let value = leaf
  for (let i = 0; i < depth; i++) {
    const sibling = branch[i] as Uint8Array
    value =
      Math.floor(index / 2 ** i) % 2 === 1 ? hashPair(sibling, value) : hashPair(value, sibling)
  }
  return value
}

/** consensus-specs `is_valid_merkle_branch`: `leaf` at `index` of depth `depth` proves into `root`. */
export function isValidMerkleBranch(
  leaf: Uint8Array,
  branch: readonly Uint8Array[],
  depth: number,
  index: number,
  root: Uint8Array,
): boolean {
  return branch.length === depth && bytesEqual(merkleBranchRoot(leaf, branch, depth, index), root)
}

/**
 * consensus-specs `is_valid_normalized_merkle_branch`: a branch typed for a later fork (longer)
 * proves a gindex of an earlier one when its extra leading entries are zero.
 */
export function isValidNormalizedMerkleBranch(
  leaf: Uint8Array,
  branch: readonly Uint8Array[],
  gindex: number,
  root: Uint8Array,
): boolean {
  const depth = gindexDepth(gindex)
  const extra = branch.length - depth
  if (extra < 0) return false
  for (let i = 0; i < extra; i++) if (!isZero(branch[i] as Uint8Array)) return false
  return isValidMerkleBranch(leaf, branch.slice(extra), depth, subtreeIndex(gindex), root)
}
