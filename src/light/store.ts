/**
 * The LightClientStore (consensus-specs altair/light-client/sync-protocol.md) and
 * `initialize_light_client_store`: a bootstrap checked against a trusted beacon block root.
 */
import type { BlsVerifier } from './bls.ts'
import { bytesEqual, toHex } from './bytes.ts'
import { check } from './errors.ts'
import { type ChainConfig, checkContainerFork, currentSyncCommitteeGindexAtSlot } from './forks.ts'
import { isValidLightClientHeader } from './header.ts'
import { isValidNormalizedMerkleBranch } from './merkle.ts'
import { beaconBlockHeaderRoot, syncCommitteeRoot } from './roots.ts'
import type {
  LightClientBootstrap,
  LightClientHeader,
  LightClientUpdate,
  SyncCommittee,
} from './types.ts'

export type LightClientStore = {
  /** The chain's parameters (fork schedule, genesis validators root, preset). */
  readonly config: ChainConfig
  /** Checks sync committee signatures. */
  readonly verifier: BlsVerifier
  /** The newest header known final (by 2/3 of a committee, or forced after UPDATE_TIMEOUT). */
  finalizedHeader: LightClientHeader
  currentSyncCommittee: SyncCommittee
  /** Undefined until an update proved the next period's committee. */
  nextSyncCommittee: SyncCommittee | undefined
  /** The best valid update not yet applied, kept for a forced update. */
  bestValidUpdate: LightClientUpdate | undefined
  /** The newest header signed by more than the safety threshold (not necessarily final). */
  optimisticHeader: LightClientHeader
  /**
   * Not in the spec: the newest attested header signed by at least 2/3 of its committee (the
   * bootstrap's header at first). The optimistic header may rest on far fewer signatures (right
   * after a bootstrap the safety threshold is 0: one signer moves it); `light()` vouches for
   * this one instead.
   */
  signedHeader: LightClientHeader
  previousMaxActiveParticipants: number
  currentMaxActiveParticipants: number
}

export type StoreOptions = {
  config: ChainConfig
  /** Checks the sync committee's signatures (`nobleVerifier()`, `blstVerifier()`). */
  verifier: BlsVerifier
}

/**
 * initialize_light_client_store: the bootstrap's header must be valid and hash to
 * `trustedBlockRoot` (the checkpoint), and its current committee must prove into its state root.
 * Throws a `LightClientError` (`checkpoint-mismatch`, `invalid-header`, `committee-branch`).
 */
export function initializeLightClientStore(
  trustedBlockRoot: Uint8Array,
  bootstrap: LightClientBootstrap,
  options: StoreOptions,
): LightClientStore {
  const { config } = options
  const { header } = bootstrap
  checkContainerFork(config, bootstrap.fork, header.beacon.slot, 'Bootstrap')
  check(
    isValidLightClientHeader(config, header),
    'invalid-header',
    `Bootstrap header at slot ${header.beacon.slot}: its execution payload header does not prove into its body root.`,
  )
  const root = beaconBlockHeaderRoot(header.beacon)
  check(
    bytesEqual(root, trustedBlockRoot),
    'checkpoint-mismatch',
    `Bootstrap header ${toHex(root)} is not the trusted checkpoint ${toHex(trustedBlockRoot)}.`,
  )
  check(
    isValidNormalizedMerkleBranch(
      syncCommitteeRoot(bootstrap.currentSyncCommittee),
      bootstrap.currentSyncCommitteeBranch,
      currentSyncCommitteeGindexAtSlot(config, header.beacon.slot),
      header.beacon.stateRoot,
    ),
    'committee-branch',
    `Bootstrap at slot ${header.beacon.slot}: the current sync committee does not prove into the state root.`,
  )
  return {
    config,
    verifier: options.verifier,
    finalizedHeader: header,
    currentSyncCommittee: bootstrap.currentSyncCommittee,
    nextSyncCommittee: undefined,
    bestValidUpdate: undefined,
    optimisticHeader: header,
    signedHeader: header,
    previousMaxActiveParticipants: 0,
    currentMaxActiveParticipants: 0,
  }
}
