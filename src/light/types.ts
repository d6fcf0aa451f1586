/**
 * The light-client containers (consensus-specs altair…gloas light-client/sync-protocol.md),
 * decoded. Byte fields are `Uint8Array`s; slots and indices are numbers (checked safe when
 * decoded); the execution header's integers are bigints, as they are hashed back.
 */
import type { ForkName } from './forks.ts'

export type BeaconBlockHeader = {
  slot: number
  proposerIndex: number
  parentRoot: Uint8Array
  stateRoot: Uint8Array
  bodyRoot: Uint8Array
}

/** ExecutionPayloadHeader of Capella, or of Deneb/Electra when `blobGasUsed` is set. */
export type ExecutionPayloadHeader = {
  parentHash: Uint8Array
  feeRecipient: Uint8Array
  stateRoot: Uint8Array
  receiptsRoot: Uint8Array
  logsBloom: Uint8Array
  prevRandao: Uint8Array
  blockNumber: bigint
  gasLimit: bigint
  gasUsed: bigint
  timestamp: bigint
  extraData: Uint8Array
  baseFeePerGas: bigint
  blockHash: Uint8Array
  transactionsRoot: Uint8Array
  withdrawalsRoot: Uint8Array
  /** Deneb on; undefined in a Capella-shaped header. */
  blobGasUsed: bigint | undefined
  excessBlobGas: bigint | undefined
}

/**
 * LightClientHeader: the beacon header; from Capella on its execution payload header and branch;
 * from Gloas on (EIP-7732) the execution block hash and its branch instead.
 */
export type LightClientHeader = {
  beacon: BeaconBlockHeader
  /** Undefined in an Altair- or Gloas-shaped header. */
  execution: ExecutionPayloadHeader | undefined
  /** Set in a Gloas-shaped header only: the execution block hash its branch proves. */
  executionBlockHash?: Uint8Array
  /** Four 32-byte nodes in a Capella-to-Fulu header, eleven in a Gloas one, none in an Altair one. */
  executionBranch: readonly Uint8Array[]
}

export type SyncCommittee = {
  /** SYNC_COMMITTEE_SIZE compressed G1 public keys, 48 bytes each. */
  pubkeys: readonly Uint8Array[]
  aggregatePubkey: Uint8Array
}

export type SyncAggregate = {
  /** The participation bitvector, SYNC_COMMITTEE_SIZE / 8 bytes, bit i of byte i/8 little-endian. */
  syncCommitteeBits: Uint8Array
  /** 96-byte compressed G2 signature. */
  syncCommitteeSignature: Uint8Array
}

export type LightClientBootstrap = {
  /** The fork whose container shape it came in. */
  fork: ForkName
  header: LightClientHeader
  currentSyncCommittee: SyncCommittee
  currentSyncCommitteeBranch: readonly Uint8Array[]
}

export type LightClientUpdate = {
  fork: ForkName
  attestedHeader: LightClientHeader
  /** Undefined where the container holds the empty `SyncCommittee()` (all zero). */
  nextSyncCommittee: SyncCommittee | undefined
  nextSyncCommitteeBranch: readonly Uint8Array[]
  /** Undefined where the container holds the empty `LightClientHeader()` (all zero). */
  finalizedHeader: LightClientHeader | undefined
  finalityBranch: readonly Uint8Array[]
  syncAggregate: SyncAggregate
  signatureSlot: number
}

export type LightClientFinalityUpdate = {
  fork: ForkName
  attestedHeader: LightClientHeader
  finalizedHeader: LightClientHeader | undefined
  finalityBranch: readonly Uint8Array[]
  syncAggregate: SyncAggregate
  signatureSlot: number
}

export type LightClientOptimisticUpdate = {
  fork: ForkName
  attestedHeader: LightClientHeader
  syncAggregate: SyncAggregate
  signatureSlot: number
}
