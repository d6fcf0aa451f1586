/**
 * hash_tree_root of the light-client containers. A sync committee's root (a thousand hashes at
 * 512 keys) is cached per committee object.
 */
import { emptyExecutionPayloadHeader } from './codec.ts'
import type { ChainConfig } from './forks.ts'
import { forkAtLeast, forkAtSlot, GINDEX, type LightClientShape } from './forks.ts'
import {
  chunksOf,
  gindexDepth,
  hashPair,
  merkleBranchRoot,
  merkleize,
  mixInLength,
} from './merkle.ts'
import { u64Chunk, u256Bytes } from './ssz.ts'
import type {
  BeaconBlockHeader,
  ExecutionPayloadHeader,
  LightClientHeader,
  SyncAggregate,
  SyncCommittee,
} from './types.ts'

function padded(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 32) return bytes
  const out = new Uint8Array(32)
  out.set(bytes)
  return out
}

export function beaconBlockHeaderRoot(h: BeaconBlockHeader): Uint8Array {
  return merkleize(
    [u64Chunk(h.slot), u64Chunk(h.proposerIndex), h.parentRoot, h.stateRoot, h.bodyRoot],
    8,
  )
}

/** hash_tree_root of an ExecutionPayloadHeader as Capella's (15 fields) or Deneb's (17) type. */
export function executionPayloadHeaderRoot(
  e: ExecutionPayloadHeader,
  form: 'capella' | 'deneb',
): Uint8Array {
  return merkleize(executionPayloadHeaderFieldRoots(e, form))
}

/** The roots of an ExecutionPayloadHeader's fields, in order (the leaves of its root). */
export function executionPayloadHeaderFieldRoots(
  e: ExecutionPayloadHeader,
  form: 'capella' | 'deneb',
): Uint8Array[] {
  const chunks = [
    e.parentHash,
    padded(e.feeRecipient),
    e.stateRoot,
    e.receiptsRoot,
    merkleize(chunksOf(e.logsBloom), 8),
    e.prevRandao,
    u64Chunk(e.blockNumber),
    u64Chunk(e.gasLimit),
    u64Chunk(e.gasUsed),
    u64Chunk(e.timestamp),
    mixInLength(merkleize(chunksOf(e.extraData), 1), e.extraData.length),
    u256Bytes(e.baseFeePerGas),
    e.blockHash,
    e.transactionsRoot,
    e.withdrawalsRoot,
  ]
  if (form === 'deneb') chunks.push(u64Chunk(e.blobGasUsed ?? 0n), u64Chunk(e.excessBlobGas ?? 0n))
  return chunks
}

/**
 * get_lc_execution_root: the execution header's root as the fork of the header's own slot types
 * it (a Capella-era header inside a Deneb container hashes without the blob fields); zero before
 * Capella. In a Gloas-shaped header: its execution block hash at a Gloas slot; at an earlier
 * one, the payload header's root rebuilt from the hash and its branch's inner nodes (gloas
 * light-client/sync-protocol.md), the default header's at genesis.
 */
export function lcExecutionRoot(config: ChainConfig, header: LightClientHeader): Uint8Array {
  const { slot } = header.beacon
  const fork = forkAtSlot(config, slot).name
  if (!forkAtLeast(fork, 'capella')) return new Uint8Array(32)
  const form = forkAtLeast(fork, 'deneb') ? 'deneb' : 'capella'
  const hash = header.executionBlockHash
  if (!hash)
    return header.execution
      ? executionPayloadHeaderRoot(header.execution, form)
      : new Uint8Array(32)
  if (forkAtLeast(fork, 'gloas')) return hash
  if (slot === 0) return executionPayloadHeaderRoot(emptyExecutionPayloadHeader(form), form)
  // The branch is the block hash's in the payload header, then the payload header's in the
  // body (the last nodes): the block hash's index below the payload header is what is left.
  const inBody = GINDEX[form === 'deneb' ? 'executionBlockHashDeneb' : 'executionBlockHash']
  const outer = gindexDepth(GINDEX.executionPayload)
  const depth = gindexDepth(inBody) - outer
  const inner = header.executionBranch.slice(0, header.executionBranch.length - outer)
  return merkleBranchRoot(hash, inner.slice(inner.length - depth), depth, inBody % 2 ** depth)
}

/** hash_tree_root(LightClientHeader) in the container shape `shape`. */
export function lightClientHeaderRoot(
  header: LightClientHeader,
  shape: LightClientShape,
): Uint8Array {
  const beacon = beaconBlockHeaderRoot(header.beacon)
  if (shape.header === 'altair') return beacon
  const execution =
    shape.header === 'gloas'
      ? (header.executionBlockHash ?? new Uint8Array(32))
      : executionPayloadHeaderRoot(
          header.execution ?? emptyExecutionPayloadHeader(shape.header),
          shape.header,
        )
  const branch = merkleize(header.executionBranch, shape.executionBranchDepth)
  return merkleize([beacon, execution, branch], 4)
}

function pubkeyRoot(key: Uint8Array): Uint8Array {
  const second = new Uint8Array(32)
  second.set(key.subarray(32, 48))
  return hashPair(key.subarray(0, 32), second)
}

const committeeRoots = new WeakMap<SyncCommittee, Uint8Array>()

/** hash_tree_root(SyncCommittee), cached per committee object. */
export function syncCommitteeRoot(c: SyncCommittee): Uint8Array {
  const known = committeeRoots.get(c)
  if (known) return known
  const root = hashPair(merkleize(c.pubkeys.map(pubkeyRoot)), pubkeyRoot(c.aggregatePubkey))
  committeeRoots.set(c, root)
  return root
}

const emptyCommitteeRoots = new Map<number, Uint8Array>()

/** hash_tree_root(SyncCommittee()) of `size` members (all zero). */
export function emptySyncCommitteeRoot(size: number): Uint8Array {
  let root = emptyCommitteeRoots.get(size)
  if (!root) {
    const zero = new Uint8Array(48)
    root = syncCommitteeRoot({
      pubkeys: Array.from({ length: size }, () => zero),
      aggregatePubkey: zero,
    })
    emptyCommitteeRoots.set(size, root)
  }
  return root
}

/** hash_tree_root(SyncAggregate). */
export function syncAggregateRoot(a: SyncAggregate): Uint8Array {
  const bitsChunks = chunksOf(a.syncCommitteeBits)
  return hashPair(
    merkleize(bitsChunks, Math.ceil((a.syncCommitteeBits.length * 8) / 256)),
    merkleize(chunksOf(a.syncCommitteeSignature)),
  )
}
