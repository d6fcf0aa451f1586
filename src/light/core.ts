/**
 * `createLightClientCore`: a bootstrapped store and the sync protocol's steps behind one object,
 * with the verified heads read out as hex (what the trust store and `light()` hand on).
 */
import { ConfigError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import { fromHex, isZero, toHex } from './bytes.ts'
import { type ChainConfig, periodAtSlot } from './forks.ts'
import { beaconBlockHeaderRoot } from './roots.ts'
import { initializeLightClientStore, type LightClientStore, type StoreOptions } from './store.ts'
import {
  isNextSyncCommitteeKnown,
  processLightClientFinalityUpdate,
  processLightClientOptimisticUpdate,
  processLightClientStoreForceUpdate,
  processLightClientUpdate,
  type StoreChange,
} from './sync.ts'
import type {
  LightClientBootstrap,
  LightClientFinalityUpdate,
  LightClientHeader,
  LightClientOptimisticUpdate,
  LightClientUpdate,
} from './types.ts'

/** A header the light client verified, as plain values. */
export type VerifiedHead = {
  /** The beacon slot. */
  slot: number
  /** hash_tree_root of the beacon block header. */
  beaconRoot: Hex
  /**
   * The execution block the header proves (Capella on); undefined before Capella. From Gloas on
   * it is the block the beacon block's bid builds on, and only its hash is proven.
   */
  execution: VerifiedExecution | undefined
}

/**
 * The execution payload header fields proven by the light-client header's execution branch.
 * From Gloas on the header keeps only the block hash: the other fields are undefined there
 * (fetch the header by hash from any source; its hash checks it).
 */
export type VerifiedExecution = {
  blockHash: Hex
  blockNumber: number | undefined
  parentHash: Hex | undefined
  stateRoot: Hex | undefined
  receiptsRoot: Hex | undefined
  timestamp: number | undefined
}

/** The verified values of a light-client header (its execution data is proven by is_valid_light_client_header). */
export function verifiedHead(header: LightClientHeader): VerifiedHead {
  return {
    slot: header.beacon.slot,
    beaconRoot: toHex(beaconBlockHeaderRoot(header.beacon)),
    execution: verifiedExecution(header),
  }
}

function verifiedExecution(header: LightClientHeader): VerifiedExecution | undefined {
  const hash = header.executionBlockHash
  if (hash)
    return isZero(hash)
      ? undefined
      : {
          blockHash: toHex(hash),
          blockNumber: undefined,
          parentHash: undefined,
          stateRoot: undefined,
          receiptsRoot: undefined,
          timestamp: undefined,
        }
  const e = header.execution
  return e
    ? {
        blockHash: toHex(e.blockHash),
        blockNumber: Number(e.blockNumber),
        parentHash: toHex(e.parentHash),
        stateRoot: toHex(e.stateRoot),
        receiptsRoot: toHex(e.receiptsRoot),
        timestamp: Number(e.timestamp),
      }
    : undefined
}

export type LightClientCore = {
  /** The spec's store (read it; change it only through the methods below). */
  readonly store: LightClientStore
  readonly config: ChainConfig
  /** The finalized head. */
  readonly finalized: VerifiedHead
  /** The optimistic head (signed by more than the safety threshold, not necessarily final). */
  readonly optimistic: VerifiedHead
  /** The newest head at least 2/3 of its sync committee signed (the store's `signedHeader`). */
  readonly signed: VerifiedHead
  /** The sync committee period of the finalized head. */
  readonly period: number
  /** Whether the next period's committee is known (else an update of this period is needed first). */
  readonly nextCommitteeKnown: boolean
  /** process_light_client_update. Throws `LightClientError` when the update is refused. */
  processUpdate(update: LightClientUpdate, currentSlot: number): StoreChange
  /** process_light_client_finality_update. Throws `LightClientError` when refused. */
  processFinalityUpdate(update: LightClientFinalityUpdate, currentSlot: number): StoreChange
  /** process_light_client_optimistic_update. Throws `LightClientError` when refused. */
  processOptimisticUpdate(update: LightClientOptimisticUpdate, currentSlot: number): StoreChange
  /** process_light_client_store_force_update: call once per slot (or before asking for heads). */
  forceUpdate(currentSlot: number): StoreChange
}

export type CoreOptions = StoreOptions & {
  /** The trusted beacon block root (hex or bytes) that the bootstrap must hash to. */
  checkpoint: Hex | Uint8Array
  bootstrap: LightClientBootstrap
}

/**
 * A light client store bootstrapped from `bootstrap` against `checkpoint`. Throws a
 * `LightClientError` (`checkpoint-mismatch`, `committee-branch`, `invalid-header`) when the
 * bootstrap does not match.
 */
export function createCore(options: CoreOptions): LightClientCore {
  const checkpoint =
    typeof options.checkpoint === 'string' ? hexRoot(options.checkpoint) : options.checkpoint
  const store = initializeLightClientStore(checkpoint, options.bootstrap, options)
  let finalized: { header: LightClientHeader; head: VerifiedHead } | undefined
  let optimistic: { header: LightClientHeader; head: VerifiedHead } | undefined
  let signed: { header: LightClientHeader; head: VerifiedHead } | undefined
  return {
    store,
    config: options.config,
    get finalized() {
      if (finalized?.header !== store.finalizedHeader) {
        finalized = { header: store.finalizedHeader, head: verifiedHead(store.finalizedHeader) }
      }
      return finalized.head
    },
    get optimistic() {
      if (optimistic?.header !== store.optimisticHeader) {
        optimistic = { header: store.optimisticHeader, head: verifiedHead(store.optimisticHeader) }
      }
      return optimistic.head
    },
    get signed() {
      if (signed?.header !== store.signedHeader) {
        signed = { header: store.signedHeader, head: verifiedHead(store.signedHeader) }
      }
      return signed.head
    },
    get period() {
      return periodAtSlot(store.config, store.finalizedHeader.beacon.slot)
    },
    get nextCommitteeKnown() {
      return isNextSyncCommitteeKnown(store)
    },
    processUpdate: (update, currentSlot) => processLightClientUpdate(store, update, currentSlot),
    processFinalityUpdate: (update, currentSlot) =>
      processLightClientFinalityUpdate(store, update, currentSlot),
    processOptimisticUpdate: (update, currentSlot) =>
      processLightClientOptimisticUpdate(store, update, currentSlot),
    forceUpdate: (currentSlot) => processLightClientStoreForceUpdate(store, currentSlot),
  }
}

function hexRoot(value: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new ConfigError(
      `checkpoint: expected a 32-byte 0x-hex beacon block root, got ${JSON.stringify(value)}.`,
    )
  }
  return fromHex(value, 'checkpoint', 32)
}
