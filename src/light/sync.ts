/**
 * The Altair sync protocol as consensus-specs writes it (altair/light-client/sync-protocol.md,
 * with the Capella, Deneb and Electra changes): validate, apply and process updates, the best
 * valid update and the forced update after UPDATE_TIMEOUT, finality and optimistic updates.
 * Every refusal is a `LightClientError` whose `reason` names the check; validation runs before
 * anything in the store changes. The current slot is the caller's (an injected clock).
 */
import { bytesEqual, countBits, isZero } from './bytes.ts'
import { check, LightClientError } from './errors.ts'
import {
  checkContainerFork,
  computeSigningRoot,
  finalizedRootGindexAtSlot,
  lightClientShape,
  nextSyncCommitteeGindexAtSlot,
  periodAtSlot,
  slotsPerPeriod,
  syncCommitteeDomain,
} from './forks.ts'
import { isValidLightClientHeader } from './header.ts'
import { isValidNormalizedMerkleBranch } from './merkle.ts'
import { beaconBlockHeaderRoot, emptySyncCommitteeRoot, syncCommitteeRoot } from './roots.ts'
import type { LightClientStore } from './store.ts'
import type {
  LightClientFinalityUpdate,
  LightClientHeader,
  LightClientOptimisticUpdate,
  LightClientUpdate,
  SyncCommittee,
} from './types.ts'

/** MIN_SYNC_COMMITTEE_PARTICIPANTS */
export const MIN_SYNC_COMMITTEE_PARTICIPANTS = 1

/** What processing an update changed in the store. */
export type StoreChange = {
  /** The finalized header moved forward. */
  finalized: boolean
  /** The optimistic header moved forward. */
  optimistic: boolean
  /** The store learnt the next committee, or moved to the next period. */
  committee: boolean
}

const finalizedSlot = (u: LightClientUpdate): number => u.finalizedHeader?.beacon.slot ?? 0

/** is_sync_committee_update: the next-committee branch is not all zero. */
export function isSyncCommitteeUpdate(u: LightClientUpdate): boolean {
  return !u.nextSyncCommitteeBranch.every(isZero)
}

/** is_finality_update: the finality branch is not all zero. */
export function isFinalityUpdate(u: LightClientUpdate): boolean {
  return !u.finalityBranch.every(isZero)
}

/** is_next_sync_committee_known */
export function isNextSyncCommitteeKnown(store: LightClientStore): boolean {
  return store.nextSyncCommittee !== undefined
}

/** get_safety_threshold */
export function getSafetyThreshold(store: LightClientStore): number {
  return Math.floor(
    Math.max(store.previousMaxActiveParticipants, store.currentMaxActiveParticipants) / 2,
  )
}

function sameCommittee(a: SyncCommittee, b: SyncCommittee): boolean {
  return bytesEqual(syncCommitteeRoot(a), syncCommitteeRoot(b))
}

/** is_better_update: the spec's ranking of two valid updates for `best_valid_update`. */
export function isBetterUpdate(
  store: LightClientStore,
  next: LightClientUpdate,
  old: LightClientUpdate,
): boolean {
  const period = (slot: number) => periodAtSlot(store.config, slot)
  const max = next.syncAggregate.syncCommitteeBits.length * 8
  const newActive = countBits(next.syncAggregate.syncCommitteeBits)
  const oldActive = countBits(old.syncAggregate.syncCommitteeBits)
  const newSuper = newActive * 3 >= max * 2
  const oldSuper = oldActive * 3 >= max * 2
  if (newSuper !== oldSuper) return newSuper
  if (!newSuper && newActive !== oldActive) return newActive > oldActive

  const relevant = (u: LightClientUpdate) =>
    isSyncCommitteeUpdate(u) && period(u.attestedHeader.beacon.slot) === period(u.signatureSlot)
  if (relevant(next) !== relevant(old)) return relevant(next)

  const newFinality = isFinalityUpdate(next)
  if (newFinality !== isFinalityUpdate(old)) return newFinality

  if (newFinality) {
    const committeeFinality = (u: LightClientUpdate) =>
      period(finalizedSlot(u)) === period(u.attestedHeader.beacon.slot)
    if (committeeFinality(next) !== committeeFinality(old)) return committeeFinality(next)
  }

  if (newActive !== oldActive) return newActive > oldActive
  if (next.attestedHeader.beacon.slot !== old.attestedHeader.beacon.slot) {
    return next.attestedHeader.beacon.slot < old.attestedHeader.beacon.slot
  }
  return next.signatureSlot < old.signatureSlot
}

/**
 * validate_light_client_update: every check of the spec, cheapest first, the signature last.
 * Throws a `LightClientError` naming the failed check; changes nothing.
 */
export function validateLightClientUpdate(
  store: LightClientStore,
  update: LightClientUpdate,
  currentSlot: number,
): void {
  const { config } = store
  checkContainerFork(config, update.fork, update.attestedHeader.beacon.slot, 'Update')
  const period = (slot: number) => periodAtSlot(config, slot)
  const bits = update.syncAggregate.syncCommitteeBits
  const participants = countBits(bits)
  check(
    participants >= MIN_SYNC_COMMITTEE_PARTICIPANTS,
    'too-few-participants',
    `Update signed by ${participants} members, at least ${MIN_SYNC_COMMITTEE_PARTICIPANTS} needed.`,
  )

  const attested = update.attestedHeader.beacon
  check(
    isValidLightClientHeader(config, update.attestedHeader),
    'invalid-header',
    `Attested header at slot ${attested.slot}: its execution payload header does not prove into its body root.`,
  )
  const finalized = finalizedSlot(update)
  check(
    currentSlot >= update.signatureSlot,
    'future-signature-slot',
    `Update signed at slot ${update.signatureSlot}, after the current slot ${currentSlot}.`,
  )
  check(
    update.signatureSlot > attested.slot && attested.slot >= finalized,
    'slot-order',
    `Update slots out of order: signature ${update.signatureSlot}, attested ${attested.slot}, finalized ${finalized} (must be signature > attested >= finalized).`,
  )
  const storePeriod = period(store.finalizedHeader.beacon.slot)
  const signaturePeriod = period(update.signatureSlot)
  const nextKnown = isNextSyncCommitteeKnown(store)
  check(
    nextKnown
      ? signaturePeriod === storePeriod || signaturePeriod === storePeriod + 1
      : signaturePeriod === storePeriod,
    'unknown-period',
    `No committee for period ${signaturePeriod}: the store has period ${storePeriod}${nextKnown ? ` and ${storePeriod + 1}` : ''}.`,
  )

  const attestedPeriod = period(attested.slot)
  const hasNextCommittee =
    !nextKnown && isSyncCommitteeUpdate(update) && attestedPeriod === storePeriod
  check(
    attested.slot > store.finalizedHeader.beacon.slot || hasNextCommittee,
    'stale',
    `Update attested at slot ${attested.slot} is not newer than the finalized slot ${store.finalizedHeader.beacon.slot} and brings no needed committee.`,
  )

  if (!isFinalityUpdate(update)) {
    check(
      update.finalizedHeader === undefined,
      'finalized-header-not-empty',
      'Update without a finality branch carries a finalized header.',
    )
  } else {
    let finalizedRoot: Uint8Array
    if (finalized === 0) {
      check(
        update.finalizedHeader === undefined,
        'finality-branch',
        'Finalized header at genesis must be empty.',
      )
      finalizedRoot = new Uint8Array(32)
    } else {
      check(
        isValidLightClientHeader(config, update.finalizedHeader as LightClientHeader),
        'invalid-header',
        `Finalized header at slot ${finalized}: its execution payload header does not prove into its body root.`,
      )
      finalizedRoot = beaconBlockHeaderRoot((update.finalizedHeader as LightClientHeader).beacon)
    }
    check(
      isValidNormalizedMerkleBranch(
        finalizedRoot,
        update.finalityBranch,
        finalizedRootGindexAtSlot(config, attested.slot),
        attested.stateRoot,
      ),
      'finality-branch',
      `Finalized header at slot ${finalized} does not prove into the state root of the attested header at slot ${attested.slot}.`,
    )
  }

  if (!isSyncCommitteeUpdate(update)) {
    check(
      update.nextSyncCommittee === undefined,
      'next-committee-not-empty',
      'Update without a next-committee branch carries a next sync committee.',
    )
  } else {
    const next = update.nextSyncCommittee
    if (attestedPeriod === storePeriod && store.nextSyncCommittee) {
      check(
        next !== undefined && sameCommittee(next, store.nextSyncCommittee),
        'next-committee-mismatch',
        `Next sync committee for period ${attestedPeriod + 1} differs from the one already verified.`,
      )
    }
    check(
      isValidNormalizedMerkleBranch(
        next ? syncCommitteeRoot(next) : emptySyncCommitteeRoot(config.syncCommitteeSize),
        update.nextSyncCommitteeBranch,
        nextSyncCommitteeGindexAtSlot(config, attested.slot),
        attested.stateRoot,
      ),
      'committee-branch',
      `Next sync committee does not prove into the state root of the attested header at slot ${attested.slot}.`,
    )
  }

  const committee =
    signaturePeriod === storePeriod ? store.currentSyncCommittee : store.nextSyncCommittee
  if (!committee)
    throw new LightClientError('unknown-period', `No committee for period ${signaturePeriod}.`)
  const signingRoot = computeSigningRoot(
    beaconBlockHeaderRoot(attested),
    syncCommitteeDomain(config, update.signatureSlot),
  )
  check(
    store.verifier.verifySyncAggregate(
      committee,
      bits,
      signingRoot,
      update.syncAggregate.syncCommitteeSignature,
    ),
    'bad-signature',
    `Sync committee signature (slot ${update.signatureSlot}, ${participants} signers) does not verify for the header at slot ${attested.slot}.`,
  )
}

/** apply_light_client_update */
export function applyLightClientUpdate(store: LightClientStore, update: LightClientUpdate): void {
  const storePeriod = periodAtSlot(store.config, store.finalizedHeader.beacon.slot)
  const finalizedPeriod = periodAtSlot(store.config, finalizedSlot(update))
  if (!isNextSyncCommitteeKnown(store)) {
    check(
      finalizedPeriod === storePeriod,
      'unknown-period',
      `Cannot apply an update finalized in period ${finalizedPeriod} to a store in period ${storePeriod} without its next committee.`,
    )
    store.nextSyncCommittee = update.nextSyncCommittee
  } else if (finalizedPeriod === storePeriod + 1) {
    store.currentSyncCommittee = store.nextSyncCommittee as SyncCommittee
    store.nextSyncCommittee = update.nextSyncCommittee
    store.previousMaxActiveParticipants = store.currentMaxActiveParticipants
    store.currentMaxActiveParticipants = 0
  }
  if (
    update.finalizedHeader &&
    update.finalizedHeader.beacon.slot > store.finalizedHeader.beacon.slot
  ) {
    store.finalizedHeader = update.finalizedHeader
    if (store.finalizedHeader.beacon.slot > store.optimisticHeader.beacon.slot) {
      store.optimisticHeader = store.finalizedHeader
    }
  }
}

function snapshot(store: LightClientStore) {
  return {
    finalized: store.finalizedHeader,
    optimistic: store.optimisticHeader,
    current: store.currentSyncCommittee,
    next: store.nextSyncCommittee,
  }
}

function changes(store: LightClientStore, before: ReturnType<typeof snapshot>): StoreChange {
  return {
    finalized: store.finalizedHeader !== before.finalized,
    optimistic: store.optimisticHeader !== before.optimistic,
    committee:
      store.currentSyncCommittee !== before.current || store.nextSyncCommittee !== before.next,
  }
}

/** At least 2/3 of the committee signed (the spec's bar for finality). */
export function hasSupermajority(bits: Uint8Array): boolean {
  return countBits(bits) * 3 >= bits.length * 8 * 2
}

/**
 * process_light_client_store_force_update: after UPDATE_TIMEOUT slots without finality, the
 * best valid update is applied (its attested header taken as finalized when it finalizes
 * nothing newer), so the store can move into later periods.
 */
export function processLightClientStoreForceUpdate(
  store: LightClientStore,
  currentSlot: number,
): StoreChange {
  const before = snapshot(store)
  const best = store.bestValidUpdate
  if (currentSlot > store.finalizedHeader.beacon.slot + slotsPerPeriod(store.config) && best) {
    const forced =
      finalizedSlot(best) <= store.finalizedHeader.beacon.slot
        ? { ...best, finalizedHeader: best.attestedHeader }
        : best
    applyLightClientUpdate(store, forced)
    store.bestValidUpdate = undefined
  }
  return changes(store, before)
}

/**
 * process_light_client_update: validates (throws on any failed check), keeps the best valid
 * update, moves the optimistic header past the safety threshold and the finalized header with
 * 2/3 of the committee.
 */
export function processLightClientUpdate(
  store: LightClientStore,
  update: LightClientUpdate,
  currentSlot: number,
): StoreChange {
  validateLightClientUpdate(store, update, currentSlot)
  const before = snapshot(store)
  const bits = update.syncAggregate.syncCommitteeBits
  const participants = countBits(bits)
  if (!store.bestValidUpdate || isBetterUpdate(store, update, store.bestValidUpdate))
    store.bestValidUpdate = update
  store.currentMaxActiveParticipants = Math.max(store.currentMaxActiveParticipants, participants)
  if (
    participants > getSafetyThreshold(store) &&
    update.attestedHeader.beacon.slot > store.optimisticHeader.beacon.slot
  ) {
    store.optimisticHeader = update.attestedHeader
  }
  const supermajority = hasSupermajority(bits)
  if (supermajority && update.attestedHeader.beacon.slot > store.signedHeader.beacon.slot)
    store.signedHeader = update.attestedHeader
  const period = (slot: number) => periodAtSlot(store.config, slot)
  const finalizesNextCommittee =
    !isNextSyncCommitteeKnown(store) &&
    isSyncCommitteeUpdate(update) &&
    isFinalityUpdate(update) &&
    period(finalizedSlot(update)) === period(update.attestedHeader.beacon.slot)
  if (
    supermajority &&
    (finalizedSlot(update) > store.finalizedHeader.beacon.slot || finalizesNextCommittee)
  ) {
    applyLightClientUpdate(store, update)
    store.bestValidUpdate = undefined
  }
  return changes(store, before)
}

const zeros = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(32))

/** The update a finality update stands for: no next committee. */
export function updateFromFinalityUpdate(u: LightClientFinalityUpdate): LightClientUpdate {
  const shape = lightClientShape(u.fork)
  return {
    fork: u.fork,
    attestedHeader: u.attestedHeader,
    nextSyncCommittee: undefined,
    nextSyncCommitteeBranch: zeros(shape.committeeBranchDepth),
    finalizedHeader: u.finalizedHeader,
    finalityBranch: u.finalityBranch,
    syncAggregate: u.syncAggregate,
    signatureSlot: u.signatureSlot,
  }
}

/** The update an optimistic update stands for: no next committee, no finality. */
export function updateFromOptimisticUpdate(u: LightClientOptimisticUpdate): LightClientUpdate {
  const shape = lightClientShape(u.fork)
  return {
    fork: u.fork,
    attestedHeader: u.attestedHeader,
    nextSyncCommittee: undefined,
    nextSyncCommitteeBranch: zeros(shape.committeeBranchDepth),
    finalizedHeader: undefined,
    finalityBranch: zeros(shape.finalityBranchDepth),
    syncAggregate: u.syncAggregate,
    signatureSlot: u.signatureSlot,
  }
}

/** process_light_client_finality_update */
export function processLightClientFinalityUpdate(
  store: LightClientStore,
  update: LightClientFinalityUpdate,
  currentSlot: number,
): StoreChange {
  return processLightClientUpdate(store, updateFromFinalityUpdate(update), currentSlot)
}

/** process_light_client_optimistic_update */
export function processLightClientOptimisticUpdate(
  store: LightClientStore,
  update: LightClientOptimisticUpdate,
  currentSlot: number,
): StoreChange {
  return processLightClientUpdate(store, updateFromOptimisticUpdate(update), currentSlot)
}
