/**
 * The Beacon API's JSON forms (`{ version, data }`, snake_case fields, integers as decimal
 * strings, bytes as 0x-hex) of the light-client objects, both ways. Decoding is strict: every
 * field must be there with its exact length, or a `malformed` error names it.
 */
import { fromHex, toHex } from './bytes.ts'
import { isEmptyHeader } from './codec.ts'
import { malformed } from './errors.ts'
import {
  type ChainConfig,
  type ForkName,
  forkNamed,
  type LightClientShape,
  lightClientShape,
} from './forks.ts'
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

type Json = Record<string, unknown>

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed(path, 'expected an object')
  return value as Json
}

const UINT = /^(0|[1-9][0-9]{0,19})$/

function bigUint(value: unknown, path: string, bits: 64 | 256): bigint {
  if (
    typeof value !== 'string' ||
    !(bits === 64 ? UINT.test(value) : /^(0|[1-9][0-9]{0,77})$/.test(value))
  ) {
    throw malformed(path, 'expected a decimal integer string')
  }
  const v = BigInt(value)
  if (v >= 1n << BigInt(bits)) throw malformed(path, `${value} is not a uint${bits}`)
  return v
}

function safeUint(value: unknown, path: string): number {
  const v = bigUint(value, path, 64)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(path, `${v} is beyond 2^53`)
  return Number(v)
}

function branch(value: unknown, path: string, depth: number): Uint8Array[] {
  if (!Array.isArray(value)) throw malformed(path, 'expected an array of 32-byte hex nodes')
  if (value.length !== depth) throw malformed(path, `expected ${depth} nodes, got ${value.length}`)
  return value.map((node, i) => fromHex(node, `${path}[${i}]`, 32))
}

/** A beacon block header in the Beacon API's JSON (decimal strings, 0x roots). */
export function beaconHeaderFromJson(value: unknown, path: string): BeaconBlockHeader {
  const o = object(value, path)
  return {
    slot: safeUint(o.slot, `${path}.slot`),
    proposerIndex: safeUint(o.proposer_index, `${path}.proposer_index`),
    parentRoot: fromHex(o.parent_root, `${path}.parent_root`, 32),
    stateRoot: fromHex(o.state_root, `${path}.state_root`, 32),
    bodyRoot: fromHex(o.body_root, `${path}.body_root`, 32),
  }
}

function executionHeader(
  value: unknown,
  path: string,
  form: 'capella' | 'deneb',
): ExecutionPayloadHeader {
  const o = object(value, path)
  const extraData = fromHex(o.extra_data, `${path}.extra_data`)
  if (extraData.length > 32)
    throw malformed(`${path}.extra_data`, `${extraData.length} bytes, at most 32`)
  return {
    parentHash: fromHex(o.parent_hash, `${path}.parent_hash`, 32),
    feeRecipient: fromHex(o.fee_recipient, `${path}.fee_recipient`, 20),
    stateRoot: fromHex(o.state_root, `${path}.state_root`, 32),
    receiptsRoot: fromHex(o.receipts_root, `${path}.receipts_root`, 32),
    logsBloom: fromHex(o.logs_bloom, `${path}.logs_bloom`, 256),
    prevRandao: fromHex(o.prev_randao, `${path}.prev_randao`, 32),
    blockNumber: bigUint(o.block_number, `${path}.block_number`, 64),
    gasLimit: bigUint(o.gas_limit, `${path}.gas_limit`, 64),
    gasUsed: bigUint(o.gas_used, `${path}.gas_used`, 64),
    timestamp: bigUint(o.timestamp, `${path}.timestamp`, 64),
    extraData,
    baseFeePerGas: bigUint(o.base_fee_per_gas, `${path}.base_fee_per_gas`, 256),
    blockHash: fromHex(o.block_hash, `${path}.block_hash`, 32),
    transactionsRoot: fromHex(o.transactions_root, `${path}.transactions_root`, 32),
    withdrawalsRoot: fromHex(o.withdrawals_root, `${path}.withdrawals_root`, 32),
    blobGasUsed:
      form === 'deneb' ? bigUint(o.blob_gas_used, `${path}.blob_gas_used`, 64) : undefined,
    excessBlobGas:
      form === 'deneb' ? bigUint(o.excess_blob_gas, `${path}.excess_blob_gas`, 64) : undefined,
  }
}

function header(value: unknown, path: string, shape: LightClientShape): LightClientHeader {
  const o = object(value, path)
  const beacon = beaconHeaderFromJson(o.beacon, `${path}.beacon`)
  if (shape.header === 'altair') return { beacon, execution: undefined, executionBranch: [] }
  const executionBranch = branch(
    o.execution_branch,
    `${path}.execution_branch`,
    shape.executionBranchDepth,
  )
  if (shape.header === 'gloas')
    return {
      beacon,
      execution: undefined,
      executionBlockHash: fromHex(o.execution_block_hash, `${path}.execution_block_hash`, 32),
      executionBranch,
    }
  return {
    beacon,
    execution: executionHeader(o.execution, `${path}.execution`, shape.header),
    executionBranch,
  }
}

function optionalHeader(
  value: unknown,
  path: string,
  shape: LightClientShape,
): LightClientHeader | undefined {
  const h = header(value, path, shape)
  return isEmptyHeader(h) ? undefined : h
}

function committee(value: unknown, path: string, size: number): SyncCommittee {
  const o = object(value, path)
  if (!Array.isArray(o.pubkeys)) throw malformed(`${path}.pubkeys`, 'expected an array')
  if (o.pubkeys.length !== size)
    throw malformed(`${path}.pubkeys`, `expected ${size} keys, got ${o.pubkeys.length}`)
  return {
    pubkeys: o.pubkeys.map((k, i) => fromHex(k, `${path}.pubkeys[${i}]`, 48)),
    aggregatePubkey: fromHex(o.aggregate_pubkey, `${path}.aggregate_pubkey`, 48),
  }
}

function optionalCommittee(value: unknown, path: string, size: number): SyncCommittee | undefined {
  const c = committee(value, path, size)
  const zero =
    c.aggregatePubkey.every((b) => b === 0) && c.pubkeys.every((k) => k.every((b) => b === 0))
  return zero ? undefined : c
}

function aggregate(value: unknown, path: string, size: number): SyncAggregate {
  const o = object(value, path)
  return {
    syncCommitteeBits: fromHex(o.sync_committee_bits, `${path}.sync_committee_bits`, size / 8),
    syncCommitteeSignature: fromHex(
      o.sync_committee_signature,
      `${path}.sync_committee_signature`,
      96,
    ),
  }
}

/** `{ version, data }`: the fork named by `version` and the data object. */
function envelope(
  value: unknown,
  what: string,
): { fork: ForkName; shape: LightClientShape; data: Json; path: string } {
  const o = object(value, what)
  const fork = forkNamed(o.version, `${what}.version`)
  const path = `${what}(${fork})`
  return {
    fork,
    shape: lightClientShape(fork),
    data: object(o.data, `${path}.data`),
    path: `${path}.data`,
  }
}

export function bootstrapFromJson(value: unknown, config: ChainConfig): LightClientBootstrap {
  const { fork, shape, data, path } = envelope(value, 'LightClientBootstrap')
  return {
    fork,
    header: header(data.header, `${path}.header`, shape),
    currentSyncCommittee: committee(
      data.current_sync_committee,
      `${path}.current_sync_committee`,
      config.syncCommitteeSize,
    ),
    currentSyncCommitteeBranch: branch(
      data.current_sync_committee_branch,
      `${path}.current_sync_committee_branch`,
      shape.committeeBranchDepth,
    ),
  }
}

export function updateFromJson(value: unknown, config: ChainConfig): LightClientUpdate {
  const { fork, shape, data, path } = envelope(value, 'LightClientUpdate')
  const n = config.syncCommitteeSize
  return {
    fork,
    attestedHeader: header(data.attested_header, `${path}.attested_header`, shape),
    nextSyncCommittee: optionalCommittee(
      data.next_sync_committee,
      `${path}.next_sync_committee`,
      n,
    ),
    nextSyncCommitteeBranch: branch(
      data.next_sync_committee_branch,
      `${path}.next_sync_committee_branch`,
      shape.committeeBranchDepth,
    ),
    finalizedHeader: optionalHeader(data.finalized_header, `${path}.finalized_header`, shape),
    finalityBranch: branch(
      data.finality_branch,
      `${path}.finality_branch`,
      shape.finalityBranchDepth,
    ),
    syncAggregate: aggregate(data.sync_aggregate, `${path}.sync_aggregate`, n),
    signatureSlot: safeUint(data.signature_slot, `${path}.signature_slot`),
  }
}

/** The JSON answer of `/eth/v1/beacon/light_client/updates`: an array of `{ version, data }`, at most `max`. */
export function updatesFromJson(
  value: unknown,
  config: ChainConfig,
  max = 128,
): LightClientUpdate[] {
  if (!Array.isArray(value)) throw malformed('updates', 'expected an array of { version, data }')
  if (value.length > max) throw malformed('updates', `${value.length} updates, at most ${max}`)
  return value.map((u) => updateFromJson(u, config))
}

export function finalityUpdateFromJson(
  value: unknown,
  config: ChainConfig,
): LightClientFinalityUpdate {
  const { fork, shape, data, path } = envelope(value, 'LightClientFinalityUpdate')
  return {
    fork,
    attestedHeader: header(data.attested_header, `${path}.attested_header`, shape),
    finalizedHeader: optionalHeader(data.finalized_header, `${path}.finalized_header`, shape),
    finalityBranch: branch(
      data.finality_branch,
      `${path}.finality_branch`,
      shape.finalityBranchDepth,
    ),
    syncAggregate: aggregate(
      data.sync_aggregate,
      `${path}.sync_aggregate`,
      config.syncCommitteeSize,
    ),
    signatureSlot: safeUint(data.signature_slot, `${path}.signature_slot`),
  }
}

export function optimisticUpdateFromJson(
  value: unknown,
  config: ChainConfig,
): LightClientOptimisticUpdate {
  const { fork, shape, data, path } = envelope(value, 'LightClientOptimisticUpdate')
  return {
    fork,
    attestedHeader: header(data.attested_header, `${path}.attested_header`, shape),
    syncAggregate: aggregate(
      data.sync_aggregate,
      `${path}.sync_aggregate`,
      config.syncCommitteeSize,
    ),
    signatureSlot: safeUint(data.signature_slot, `${path}.signature_slot`),
  }
}

// Encoding: what a Beacon API (the lab beacon, a relay) serves.

function headerJson(h: LightClientHeader | undefined, shape: LightClientShape): Json {
  const z32 = toHex(new Uint8Array(32))
  const b = h?.beacon
  const beacon = {
    slot: String(b?.slot ?? 0),
    proposer_index: String(b?.proposerIndex ?? 0),
    parent_root: b ? toHex(b.parentRoot) : z32,
    state_root: b ? toHex(b.stateRoot) : z32,
    body_root: b ? toHex(b.bodyRoot) : z32,
  }
  if (shape.header === 'altair') return { beacon }
  const branchOut =
    h && h.executionBranch.length > 0
      ? h.executionBranch.map(toHex)
      : Array.from({ length: shape.executionBranchDepth }, () => z32)
  if (shape.header === 'gloas') {
    const hash = h?.executionBlockHash
    return { beacon, execution_block_hash: hash ? toHex(hash) : z32, execution_branch: branchOut }
  }
  const e = h?.execution
  const execution: Json = {
    parent_hash: e ? toHex(e.parentHash) : z32,
    fee_recipient: toHex(e?.feeRecipient ?? new Uint8Array(20)),
    state_root: e ? toHex(e.stateRoot) : z32,
    receipts_root: e ? toHex(e.receiptsRoot) : z32,
    logs_bloom: toHex(e?.logsBloom ?? new Uint8Array(256)),
    prev_randao: e ? toHex(e.prevRandao) : z32,
    block_number: String(e?.blockNumber ?? 0n),
    gas_limit: String(e?.gasLimit ?? 0n),
    gas_used: String(e?.gasUsed ?? 0n),
    timestamp: String(e?.timestamp ?? 0n),
    extra_data: toHex(e?.extraData ?? new Uint8Array(0)),
    base_fee_per_gas: String(e?.baseFeePerGas ?? 0n),
    block_hash: e ? toHex(e.blockHash) : z32,
    transactions_root: e ? toHex(e.transactionsRoot) : z32,
    withdrawals_root: e ? toHex(e.withdrawalsRoot) : z32,
  }
  if (shape.header === 'deneb') {
    execution.blob_gas_used = String(e?.blobGasUsed ?? 0n)
    execution.excess_blob_gas = String(e?.excessBlobGas ?? 0n)
  }
  return { beacon, execution, execution_branch: branchOut }
}

function committeeJson(c: SyncCommittee | undefined, size: number): Json {
  const zero = toHex(new Uint8Array(48))
  return {
    pubkeys: c ? c.pubkeys.map(toHex) : Array.from({ length: size }, () => zero),
    aggregate_pubkey: c ? toHex(c.aggregatePubkey) : zero,
  }
}

function aggregateJson(a: SyncAggregate): Json {
  return {
    sync_committee_bits: toHex(a.syncCommitteeBits),
    sync_committee_signature: toHex(a.syncCommitteeSignature),
  }
}

export function bootstrapToJson(b: LightClientBootstrap): Json {
  const shape = lightClientShape(b.fork)
  return {
    version: b.fork,
    data: {
      header: headerJson(b.header, shape),
      current_sync_committee: committeeJson(
        b.currentSyncCommittee,
        b.currentSyncCommittee.pubkeys.length,
      ),
      current_sync_committee_branch: b.currentSyncCommitteeBranch.map(toHex),
    },
  }
}

export function updateToJson(u: LightClientUpdate, config: ChainConfig): Json {
  const shape = lightClientShape(u.fork)
  return {
    version: u.fork,
    data: {
      attested_header: headerJson(u.attestedHeader, shape),
      next_sync_committee: committeeJson(u.nextSyncCommittee, config.syncCommitteeSize),
      next_sync_committee_branch: u.nextSyncCommitteeBranch.map(toHex),
      finalized_header: headerJson(u.finalizedHeader, shape),
      finality_branch: u.finalityBranch.map(toHex),
      sync_aggregate: aggregateJson(u.syncAggregate),
      signature_slot: String(u.signatureSlot),
    },
  }
}

export function finalityUpdateToJson(u: LightClientFinalityUpdate): Json {
  const shape = lightClientShape(u.fork)
  return {
    version: u.fork,
    data: {
      attested_header: headerJson(u.attestedHeader, shape),
      finalized_header: headerJson(u.finalizedHeader, shape),
      finality_branch: u.finalityBranch.map(toHex),
      sync_aggregate: aggregateJson(u.syncAggregate),
      signature_slot: String(u.signatureSlot),
    },
  }
}

export function optimisticUpdateToJson(u: LightClientOptimisticUpdate): Json {
  const shape = lightClientShape(u.fork)
  return {
    version: u.fork,
    data: {
      attested_header: headerJson(u.attestedHeader, shape),
      sync_aggregate: aggregateJson(u.syncAggregate),
      signature_slot: String(u.signatureSlot),
    },
  }
}
