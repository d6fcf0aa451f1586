/**
 * `outlast/light`: a beacon-chain sync-committee light client for browsers and Node.
 *
 * `light({ checkpoint, sources })` syncs over untrusted sources (`beaconApi(url)`, relays via
 * `relayLightSource` from `outlast/p2p`) and gives `createOutlast` its `trustedHeader` hook.
 * Under it, the verifying core (the Altair sync protocol with the Capella, Deneb and Electra
 * changes) is pure and synchronous, with no network code: sources hand it bootstraps and updates
 * (Beacon API JSON or SSZ, decoded here), and it hands back verified heads, whose execution block
 * hash and number (Capella on) the trust store can rely on.
 *
 * ```ts
 * import { bootstrapFromJson, createLightClientCore, mainnet, updatesFromJson } from 'outlast/light'
 * const lc = createLightClientCore({ config: mainnet, checkpoint: '0x…', bootstrap: bootstrapFromJson(json, mainnet) })
 * for (const u of updatesFromJson(updates, mainnet)) lc.processUpdate(u, currentSlot)
 * lc.finalized.execution?.blockHash // verified by 2/3 of the sync committee
 * ```
 *
 * Every refusal is a `LightClientError` with a `reason`; `error.lie` says whether only a lying
 * (or broken) source could have sent it, so a source can be marked and the next one asked.
 */

export type { BeaconApiOptions } from './beaconApi.ts'
export { beaconApi } from './beaconApi.ts'
export type { BlsVerifier } from './bls.ts'
export { bitSet, countBits, ETH_DST, nobleVerifier } from './bls.ts'
export { blstVerifier, fastestVerifier } from './blst.ts'
export { fromHex, toHex } from './bytes.ts'
export type { CheckpointStorage, CheckpointVia, RootClaim } from './checkpoint.ts'
export { agreedRoot, checkpointAge, WEAK_SUBJECTIVITY_SECONDS } from './checkpoint.ts'
export {
  decodeBeaconBlockHeader,
  decodeBootstrap,
  decodeFinalityUpdate,
  decodeOptimisticUpdate,
  decodeUpdate,
  decodeUpdatesResponse,
  encodeBeaconBlockHeader,
  encodeBootstrap,
  encodeFinalityUpdate,
  encodeOptimisticUpdate,
  encodeUpdate,
  encodeUpdatesResponse,
  isEmptyHeader,
} from './codec.ts'
export type {
  CoreOptions,
  LightClientCore,
  VerifiedExecution,
  VerifiedHead,
} from './core.ts'
export { createCore, verifiedHead } from './core.ts'
export { createLightClientCore, type LightClientCoreOptions } from './createLightClientCore.ts'
export type { LightClientReason } from './errors.ts'
export { isLie, LIGHT_CLIENT_REASONS, LightClientError } from './errors.ts'
export type {
  ChainConfig,
  ChainConfigInput,
  ForkEntry,
  ForkName,
  LightClientShape,
  Preset,
} from './forks.ts'
export {
  chainConfig,
  computeDomain,
  computeForkDataRoot,
  computeForkDigest,
  computeForkVersion,
  computeSigningRoot,
  configFromSpecValues,
  currentSyncCommitteeGindexAtSlot,
  DOMAIN_SYNC_COMMITTEE,
  epochAtSlot,
  FORKS,
  finalizedRootGindexAtSlot,
  forkAtEpoch,
  forkAtSlot,
  forkOfDigest,
  GINDEX,
  lightClientShape,
  MAINNET_PRESET,
  MINIMAL_PRESET,
  mainnet,
  nextSyncCommitteeGindexAtSlot,
  periodAtSlot,
  slotAtTime,
  slotsPerPeriod,
  syncCommitteeDomain,
} from './forks.ts'
export { isValidLightClientHeader } from './header.ts'
export {
  bootstrapFromJson,
  bootstrapToJson,
  finalityUpdateFromJson,
  finalityUpdateToJson,
  optimisticUpdateFromJson,
  optimisticUpdateToJson,
  updateFromJson,
  updatesFromJson,
  updateToJson,
} from './json.ts'
export type {
  LightBlock,
  LightClient,
  LightEvents,
  LightOptions,
  LightStatus,
  LightSyncState,
  LightWarning,
} from './light.ts'
export { light } from './light.ts'
export type { LieEvent, LightSourceCondition, LightSourceStatus } from './lightPool.ts'
export { isValidMerkleBranch, isValidNormalizedMerkleBranch, merkleize } from './merkle.ts'
export {
  beaconBlockHeaderRoot,
  executionPayloadHeaderRoot,
  lcExecutionRoot,
  lightClientHeaderRoot,
  syncAggregateRoot,
  syncCommitteeRoot,
} from './roots.ts'
export type { LightClientSource, LightSourceCallOptions } from './sources.ts'
export { MAX_REQUEST_LIGHT_CLIENT_UPDATES } from './sources.ts'
export type { LightClientStore, StoreOptions } from './store.ts'
export { initializeLightClientStore } from './store.ts'
export type { StoreChange } from './sync.ts'
export {
  applyLightClientUpdate,
  getSafetyThreshold,
  isBetterUpdate,
  isFinalityUpdate,
  isNextSyncCommitteeKnown,
  isSyncCommitteeUpdate,
  MIN_SYNC_COMMITTEE_PARTICIPANTS,
  processLightClientFinalityUpdate,
  processLightClientOptimisticUpdate,
  processLightClientStoreForceUpdate,
  processLightClientUpdate,
  updateFromFinalityUpdate,
  updateFromOptimisticUpdate,
  validateLightClientUpdate,
} from './sync.ts'
export type {
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
