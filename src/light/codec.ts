/**
 * SSZ decoding and encoding of the light-client containers, per fork shape (Altair headers are
 * the beacon header alone; Capella adds the execution payload header and its branch; Deneb the
 * blob gas fields; Electra deepens the state branches; Gloas keeps the execution block hash alone,
 * with deeper branches). Decoding copies what it keeps, so a
 * decoded object never aliases the caller's buffer.
 */
import { concatBytes } from '@noble/hashes/utils'
import { isZero } from './bytes.ts'
import { malformed } from './errors.ts'
import {
  type ChainConfig,
  type ForkName,
  forkOfDigest,
  type LightClientShape,
  lightClientShape,
} from './forks.ts'
import {
  type FieldSize,
  joinContainer,
  readBranch,
  readSafeU64,
  readU64,
  readU256,
  splitContainer,
  u64Bytes,
  u256Bytes,
} from './ssz.ts'
import type {
  BeaconBlockHeader,
  ExecutionPayloadHeader,
  LightClientBootstrap,
  LightClientFinalityUpdate,
  LightClientHeader,
  LightClientOptimisticUpdate,
  LightClientUpdate,
  SyncAggregate,
  SyncCommittee,
} from './types.ts'

const MAX_EXTRA_DATA_BYTES = 32

const BEACON_FIELDS = [
  ['slot', 8],
  ['proposer_index', 8],
  ['parent_root', 32],
  ['state_root', 32],
  ['body_root', 32],
] as const

const CAPELLA_EXECUTION_FIELDS: readonly (readonly [string, FieldSize])[] = [
  ['parent_hash', 32],
  ['fee_recipient', 20],
  ['state_root', 32],
  ['receipts_root', 32],
  ['logs_bloom', 256],
  ['prev_randao', 32],
  ['block_number', 8],
  ['gas_limit', 8],
  ['gas_used', 8],
  ['timestamp', 8],
  ['extra_data', 'var'],
  ['base_fee_per_gas', 32],
  ['block_hash', 32],
  ['transactions_root', 32],
  ['withdrawals_root', 32],
]
const DENEB_EXECUTION_FIELDS: readonly (readonly [string, FieldSize])[] = [
  ...CAPELLA_EXECUTION_FIELDS,
  ['blob_gas_used', 8],
  ['excess_blob_gas', 8],
]

function copy(bytes: Uint8Array): Uint8Array {
  return bytes.slice()
}

export function decodeBeaconBlockHeader(bytes: Uint8Array, path: string): BeaconBlockHeader {
  const [slot, proposer, parent, state, body] = splitContainer(bytes, path, BEACON_FIELDS) as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ]
  return {
    slot: readSafeU64(slot, `${path}.slot`),
    proposerIndex: readSafeU64(proposer, `${path}.proposer_index`),
    parentRoot: copy(parent),
    stateRoot: copy(state),
    bodyRoot: copy(body),
  }
}

export function encodeBeaconBlockHeader(h: BeaconBlockHeader): Uint8Array {
  return joinContainer([
    [u64Bytes(h.slot), false],
    [u64Bytes(h.proposerIndex), false],
    [h.parentRoot, false],
    [h.stateRoot, false],
    [h.bodyRoot, false],
  ])
}

export function decodeExecutionPayloadHeader(
  bytes: Uint8Array,
  path: string,
  shape: 'capella' | 'deneb',
): ExecutionPayloadHeader {
  const f = splitContainer(
    bytes,
    path,
    shape === 'deneb' ? DENEB_EXECUTION_FIELDS : CAPELLA_EXECUTION_FIELDS,
  )
  const extraData = f[10] as Uint8Array
  if (extraData.length > MAX_EXTRA_DATA_BYTES) {
    throw malformed(
      `${path}.extra_data`,
      `${extraData.length} bytes, at most ${MAX_EXTRA_DATA_BYTES}`,
    )
  }
  return {
    parentHash: copy(f[0] as Uint8Array),
    feeRecipient: copy(f[1] as Uint8Array),
    stateRoot: copy(f[2] as Uint8Array),
    receiptsRoot: copy(f[3] as Uint8Array),
    logsBloom: copy(f[4] as Uint8Array),
    prevRandao: copy(f[5] as Uint8Array),
    blockNumber: readU64(f[6] as Uint8Array),
    gasLimit: readU64(f[7] as Uint8Array),
    gasUsed: readU64(f[8] as Uint8Array),
    timestamp: readU64(f[9] as Uint8Array),
    extraData: copy(extraData),
    baseFeePerGas: readU256(f[11] as Uint8Array),
    blockHash: copy(f[12] as Uint8Array),
    transactionsRoot: copy(f[13] as Uint8Array),
    withdrawalsRoot: copy(f[14] as Uint8Array),
    blobGasUsed: shape === 'deneb' ? readU64(f[15] as Uint8Array) : undefined,
    excessBlobGas: shape === 'deneb' ? readU64(f[16] as Uint8Array) : undefined,
  }
}

export function encodeExecutionPayloadHeader(
  e: ExecutionPayloadHeader,
  shape: 'capella' | 'deneb',
): Uint8Array {
  const parts: [Uint8Array, boolean][] = [
    [e.parentHash, false],
    [e.feeRecipient, false],
    [e.stateRoot, false],
    [e.receiptsRoot, false],
    [e.logsBloom, false],
    [e.prevRandao, false],
    [u64Bytes(e.blockNumber, 'block_number'), false],
    [u64Bytes(e.gasLimit, 'gas_limit'), false],
    [u64Bytes(e.gasUsed, 'gas_used'), false],
    [u64Bytes(e.timestamp, 'timestamp'), false],
    [e.extraData, true],
    [u256Bytes(e.baseFeePerGas, 'base_fee_per_gas'), false],
    [e.blockHash, false],
    [e.transactionsRoot, false],
    [e.withdrawalsRoot, false],
  ]
  if (shape === 'deneb') {
    parts.push([u64Bytes(e.blobGasUsed ?? 0n, 'blob_gas_used'), false])
    parts.push([u64Bytes(e.excessBlobGas ?? 0n, 'excess_blob_gas'), false])
  }
  return joinContainer(parts)
}

/** The default (all-zero) execution payload header, as an empty `LightClientHeader()` holds. */
export function emptyExecutionPayloadHeader(shape: 'capella' | 'deneb'): ExecutionPayloadHeader {
  const z = (n: number) => new Uint8Array(n)
  return {
    parentHash: z(32),
    feeRecipient: z(20),
    stateRoot: z(32),
    receiptsRoot: z(32),
    logsBloom: z(256),
    prevRandao: z(32),
    blockNumber: 0n,
    gasLimit: 0n,
    gasUsed: 0n,
    timestamp: 0n,
    extraData: z(0),
    baseFeePerGas: 0n,
    blockHash: z(32),
    transactionsRoot: z(32),
    withdrawalsRoot: z(32),
    blobGasUsed: shape === 'deneb' ? 0n : undefined,
    excessBlobGas: shape === 'deneb' ? 0n : undefined,
  }
}

function headerFields(shape: LightClientShape): readonly (readonly [string, FieldSize])[] {
  const branch = ['execution_branch', shape.executionBranchDepth * 32] as const
  if (shape.header === 'altair') return [['beacon', 112]]
  if (shape.header === 'gloas') return [['beacon', 112], ['execution_block_hash', 32], branch]
  return [['beacon', 112], ['execution', 'var'], branch]
}

/** A header's size inside the containers that hold it: fixed before Capella and from Gloas on. */
export function headerSize(shape: LightClientShape): FieldSize {
  return shape.header === 'altair'
    ? 112
    : shape.header === 'gloas'
      ? 144 + shape.executionBranchDepth * 32
      : 'var'
}

export function decodeLightClientHeader(
  bytes: Uint8Array,
  path: string,
  shape: LightClientShape,
): LightClientHeader {
  const f = splitContainer(bytes, path, headerFields(shape))
  const beacon = decodeBeaconBlockHeader(f[0] as Uint8Array, `${path}.beacon`)
  if (shape.header === 'altair') return { beacon, execution: undefined, executionBranch: [] }
  const executionBranch = readBranch(
    f[2] as Uint8Array,
    `${path}.execution_branch`,
    shape.executionBranchDepth,
  )
  if (shape.header === 'gloas')
    return {
      beacon,
      execution: undefined,
      executionBlockHash: copy(f[1] as Uint8Array),
      executionBranch,
    }
  return {
    beacon,
    execution: decodeExecutionPayloadHeader(f[1] as Uint8Array, `${path}.execution`, shape.header),
    executionBranch,
  }
}

export function encodeLightClientHeader(
  h: LightClientHeader | undefined,
  shape: LightClientShape,
): Uint8Array {
  const beacon = h ? encodeBeaconBlockHeader(h.beacon) : new Uint8Array(112)
  if (shape.header === 'altair') return beacon
  const branch = joinBranch(
    h && h.executionBranch.length > 0 ? h.executionBranch : zeroBranch(shape.executionBranchDepth),
    shape.executionBranchDepth,
    'execution_branch',
  )
  if (shape.header === 'gloas') {
    if (h?.execution) throw new RangeError('a Gloas light-client header has no execution header')
    return concatBytes(beacon, h?.executionBlockHash ?? new Uint8Array(32), branch)
  }
  if (h?.executionBlockHash)
    throw new RangeError(`a ${shape.fork} light-client header has an execution header, not a hash`)
  const execution = h?.execution ?? emptyExecutionPayloadHeader(shape.header)
  return joinContainer([
    [beacon, false],
    [encodeExecutionPayloadHeader(execution, shape.header), true],
    [branch, false],
  ])
}

/** True for the empty `LightClientHeader()`: every field zero (the SSZ default). */
export function isEmptyHeader(h: LightClientHeader): boolean {
  const b = h.beacon
  if (
    b.slot !== 0 ||
    b.proposerIndex !== 0 ||
    !isZero(b.parentRoot) ||
    !isZero(b.stateRoot) ||
    !isZero(b.bodyRoot)
  ) {
    return false
  }
  if (!h.executionBranch.every(isZero)) return false
  if (h.executionBlockHash && !isZero(h.executionBlockHash)) return false
  return !h.execution || isEmptyExecution(h.execution)
}

/** True for the default (all-zero) execution payload header. */
export function isEmptyExecution(e: ExecutionPayloadHeader): boolean {
  return (
    [
      e.parentHash,
      e.feeRecipient,
      e.stateRoot,
      e.receiptsRoot,
      e.logsBloom,
      e.prevRandao,
      e.blockHash,
    ].every(isZero) &&
    [e.transactionsRoot, e.withdrawalsRoot].every(isZero) &&
    e.extraData.length === 0 &&
    e.blockNumber === 0n &&
    e.gasLimit === 0n &&
    e.gasUsed === 0n &&
    e.timestamp === 0n &&
    e.baseFeePerGas === 0n &&
    (e.blobGasUsed ?? 0n) === 0n &&
    (e.excessBlobGas ?? 0n) === 0n
  )
}

function zeroBranch(depth: number): Uint8Array[] {
  return Array.from({ length: depth }, () => new Uint8Array(32))
}

function joinBranch(branch: readonly Uint8Array[], depth: number, path: string): Uint8Array {
  if (branch.length !== depth)
    throw new RangeError(`${path}: expected ${depth} nodes, got ${branch.length}`)
  const out = new Uint8Array(depth * 32)
  branch.forEach((node, i) => {
    if (node.length !== 32) throw new RangeError(`${path}[${i}]: expected 32 bytes`)
    out.set(node, i * 32)
  })
  return out
}

function committeeSize(size: number): number {
  return size * 48 + 48
}

export function decodeSyncCommittee(bytes: Uint8Array, path: string, size: number): SyncCommittee {
  if (bytes.length !== committeeSize(size)) {
    throw malformed(
      path,
      `expected ${committeeSize(size)} bytes (${size} keys and the aggregate), got ${bytes.length}`,
    )
  }
  const pubkeys: Uint8Array[] = []
  for (let i = 0; i < size; i++) pubkeys.push(bytes.slice(i * 48, i * 48 + 48))
  return { pubkeys, aggregatePubkey: bytes.slice(size * 48) }
}

export function encodeSyncCommittee(c: SyncCommittee | undefined, size: number): Uint8Array {
  const out = new Uint8Array(committeeSize(size))
  if (!c) return out
  if (c.pubkeys.length !== size)
    throw new RangeError(`sync committee: expected ${size} keys, got ${c.pubkeys.length}`)
  for (const [i, k] of c.pubkeys.entries()) out.set(k, i * 48)
  out.set(c.aggregatePubkey, size * 48)
  return out
}

export function decodeSyncAggregate(bytes: Uint8Array, path: string, size: number): SyncAggregate {
  const f = splitContainer(bytes, path, [
    ['sync_committee_bits', size / 8],
    ['sync_committee_signature', 96],
  ])
  return {
    syncCommitteeBits: copy(f[0] as Uint8Array),
    syncCommitteeSignature: copy(f[1] as Uint8Array),
  }
}

export function encodeSyncAggregate(a: SyncAggregate): Uint8Array {
  return joinContainer([
    [a.syncCommitteeBits, false],
    [a.syncCommitteeSignature, false],
  ])
}

/** LightClientBootstrap of `fork`'s shape. */
export function decodeBootstrap(
  bytes: Uint8Array,
  fork: ForkName,
  config: ChainConfig,
): LightClientBootstrap {
  const shape = lightClientShape(fork)
  const path = `LightClientBootstrap(${fork})`
  const f = splitContainer(bytes, path, [
    ['header', headerSize(shape)],
    ['current_sync_committee', committeeSize(config.syncCommitteeSize)],
    ['current_sync_committee_branch', shape.committeeBranchDepth * 32],
  ])
  return {
    fork,
    header: decodeLightClientHeader(f[0] as Uint8Array, `${path}.header`, shape),
    currentSyncCommittee: decodeSyncCommittee(
      f[1] as Uint8Array,
      `${path}.current_sync_committee`,
      config.syncCommitteeSize,
    ),
    currentSyncCommitteeBranch: readBranch(
      f[2] as Uint8Array,
      `${path}.current_sync_committee_branch`,
      shape.committeeBranchDepth,
    ),
  }
}

export function encodeBootstrap(b: LightClientBootstrap, config: ChainConfig): Uint8Array {
  const shape = lightClientShape(b.fork)
  return joinContainer([
    [encodeLightClientHeader(b.header, shape), headerSize(shape) === 'var'],
    [encodeSyncCommittee(b.currentSyncCommittee, config.syncCommitteeSize), false],
    [
      joinBranch(
        b.currentSyncCommitteeBranch,
        shape.committeeBranchDepth,
        'current_sync_committee_branch',
      ),
      false,
    ],
  ])
}

function optionalHeader(
  bytes: Uint8Array,
  path: string,
  shape: LightClientShape,
): LightClientHeader | undefined {
  const header = decodeLightClientHeader(bytes, path, shape)
  return isEmptyHeader(header) ? undefined : header
}

function optionalCommittee(
  bytes: Uint8Array,
  path: string,
  size: number,
): SyncCommittee | undefined {
  return isZero(bytes) && bytes.length === committeeSize(size)
    ? undefined
    : decodeSyncCommittee(bytes, path, size)
}

/** LightClientUpdate of `fork`'s shape (the fork of its attested header's slot, as served). */
export function decodeUpdate(
  bytes: Uint8Array,
  fork: ForkName,
  config: ChainConfig,
): LightClientUpdate {
  const shape = lightClientShape(fork)
  const path = `LightClientUpdate(${fork})`
  const header = headerSize(shape)
  const n = config.syncCommitteeSize
  const f = splitContainer(bytes, path, [
    ['attested_header', header],
    ['next_sync_committee', committeeSize(n)],
    ['next_sync_committee_branch', shape.committeeBranchDepth * 32],
    ['finalized_header', header],
    ['finality_branch', shape.finalityBranchDepth * 32],
    ['sync_aggregate', n / 8 + 96],
    ['signature_slot', 8],
  ])
  return {
    fork,
    attestedHeader: decodeLightClientHeader(f[0] as Uint8Array, `${path}.attested_header`, shape),
    nextSyncCommittee: optionalCommittee(f[1] as Uint8Array, `${path}.next_sync_committee`, n),
    nextSyncCommitteeBranch: readBranch(
      f[2] as Uint8Array,
      `${path}.next_sync_committee_branch`,
      shape.committeeBranchDepth,
    ),
    finalizedHeader: optionalHeader(f[3] as Uint8Array, `${path}.finalized_header`, shape),
    finalityBranch: readBranch(
      f[4] as Uint8Array,
      `${path}.finality_branch`,
      shape.finalityBranchDepth,
    ),
    syncAggregate: decodeSyncAggregate(f[5] as Uint8Array, `${path}.sync_aggregate`, n),
    signatureSlot: readSafeU64(f[6] as Uint8Array, `${path}.signature_slot`),
  }
}

export function encodeUpdate(u: LightClientUpdate, config: ChainConfig): Uint8Array {
  const shape = lightClientShape(u.fork)
  const variable = headerSize(shape) === 'var'
  return joinContainer([
    [encodeLightClientHeader(u.attestedHeader, shape), variable],
    [encodeSyncCommittee(u.nextSyncCommittee, config.syncCommitteeSize), false],
    [
      joinBranch(
        u.nextSyncCommitteeBranch,
        shape.committeeBranchDepth,
        'next_sync_committee_branch',
      ),
      false,
    ],
    [encodeLightClientHeader(u.finalizedHeader, shape), variable],
    [joinBranch(u.finalityBranch, shape.finalityBranchDepth, 'finality_branch'), false],
    [encodeSyncAggregate(u.syncAggregate), false],
    [u64Bytes(u.signatureSlot, 'signature_slot'), false],
  ])
}

export function decodeFinalityUpdate(
  bytes: Uint8Array,
  fork: ForkName,
  config: ChainConfig,
): LightClientFinalityUpdate {
  const shape = lightClientShape(fork)
  const path = `LightClientFinalityUpdate(${fork})`
  const header = headerSize(shape)
  const n = config.syncCommitteeSize
  const f = splitContainer(bytes, path, [
    ['attested_header', header],
    ['finalized_header', header],
    ['finality_branch', shape.finalityBranchDepth * 32],
    ['sync_aggregate', n / 8 + 96],
    ['signature_slot', 8],
  ])
  return {
    fork,
    attestedHeader: decodeLightClientHeader(f[0] as Uint8Array, `${path}.attested_header`, shape),
    finalizedHeader: optionalHeader(f[1] as Uint8Array, `${path}.finalized_header`, shape),
    finalityBranch: readBranch(
      f[2] as Uint8Array,
      `${path}.finality_branch`,
      shape.finalityBranchDepth,
    ),
    syncAggregate: decodeSyncAggregate(f[3] as Uint8Array, `${path}.sync_aggregate`, n),
    signatureSlot: readSafeU64(f[4] as Uint8Array, `${path}.signature_slot`),
  }
}

export function encodeFinalityUpdate(u: LightClientFinalityUpdate): Uint8Array {
  const shape = lightClientShape(u.fork)
  const variable = headerSize(shape) === 'var'
  return joinContainer([
    [encodeLightClientHeader(u.attestedHeader, shape), variable],
    [encodeLightClientHeader(u.finalizedHeader, shape), variable],
    [joinBranch(u.finalityBranch, shape.finalityBranchDepth, 'finality_branch'), false],
    [encodeSyncAggregate(u.syncAggregate), false],
    [u64Bytes(u.signatureSlot, 'signature_slot'), false],
  ])
}

export function decodeOptimisticUpdate(
  bytes: Uint8Array,
  fork: ForkName,
  config: ChainConfig,
): LightClientOptimisticUpdate {
  const shape = lightClientShape(fork)
  const path = `LightClientOptimisticUpdate(${fork})`
  const n = config.syncCommitteeSize
  const f = splitContainer(bytes, path, [
    ['attested_header', headerSize(shape)],
    ['sync_aggregate', n / 8 + 96],
    ['signature_slot', 8],
  ])
  return {
    fork,
    attestedHeader: decodeLightClientHeader(f[0] as Uint8Array, `${path}.attested_header`, shape),
    syncAggregate: decodeSyncAggregate(f[1] as Uint8Array, `${path}.sync_aggregate`, n),
    signatureSlot: readSafeU64(f[2] as Uint8Array, `${path}.signature_slot`),
  }
}

export function encodeOptimisticUpdate(u: LightClientOptimisticUpdate): Uint8Array {
  const shape = lightClientShape(u.fork)
  return joinContainer([
    [encodeLightClientHeader(u.attestedHeader, shape), headerSize(shape) === 'var'],
    [encodeSyncAggregate(u.syncAggregate), false],
    [u64Bytes(u.signatureSlot, 'signature_slot'), false],
  ])
}

/**
 * The Beacon API's SSZ answer to `/eth/v1/beacon/light_client/updates` (and req/resp's
 * LightClientUpdatesByRange): chunks of [u64 LE length of digest+payload][4-byte fork digest]
 * [LightClientUpdate], each decoded as its digest's fork. At most `max` chunks are read.
 */
export function decodeUpdatesResponse(
  bytes: Uint8Array,
  config: ChainConfig,
  max = 128,
): LightClientUpdate[] {
  const out: LightClientUpdate[] = []
  let at = 0
  while (at < bytes.length) {
    const path = `updates[${out.length}]`
    if (out.length >= max) throw malformed(path, `more than ${max} updates`)
    if (bytes.length - at < 12)
      throw malformed(
        path,
        `${bytes.length - at} bytes left, too short for a length and a fork digest`,
      )
    const length = readU64(bytes.subarray(at, at + 8))
    if (length < 4n || length > BigInt(bytes.length - at - 8)) {
      throw malformed(path, `length ${length} outside 4..${bytes.length - at - 8}`)
    }
    const end = at + 8 + Number(length)
    const fork = forkOfDigest(config, bytes.subarray(at + 8, at + 12))
    out.push(decodeUpdate(bytes.subarray(at + 12, end), fork, config))
    at = end
  }
  return out
}

/** Encodes updates as `decodeUpdatesResponse` reads them (digest of each update's fork). */
export function encodeUpdatesResponse(
  updates: readonly LightClientUpdate[],
  config: ChainConfig,
  digestOf: (update: LightClientUpdate) => Uint8Array,
): Uint8Array {
  const chunks: Uint8Array[] = []
  for (const u of updates) {
    const body = encodeUpdate(u, config)
    const chunk = new Uint8Array(12 + body.length)
    chunk.set(u64Bytes(4 + body.length), 0)
    chunk.set(digestOf(u), 8)
    chunk.set(body, 12)
    chunks.push(chunk)
  }
  return concatBytes(...chunks)
}
