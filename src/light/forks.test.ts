import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import { toHex } from './bytes.ts'
import {
  computeDomain,
  computeForkDigest,
  DOMAIN_SYNC_COMMITTEE,
  finalizedRootGindexAtSlot,
  forkAtEpoch,
  forkOfDigest,
  GINDEX,
  lightClientShape,
  mainnet,
  periodAtSlot,
  syncCommitteeDomain,
} from './forks.ts'
import { gindexDepth, subtreeIndex } from './merkle.ts'

/** get_generalized_index of field `index` in a container of `fields` fields, under `parent`. */
function fieldGindex(parent: number, fields: number, index: number): number {
  let width = 1
  while (width < fields) width *= 2
  return parent * width + index
}

/**
 * get_generalized_index of field `index` of an EIP-7495 progressive container under `parent`:
 * the fields' root is the left child of the active-fields mix-in, and merkleize_progressive puts
 * the fields in subtrees of 1, 4, 16, 64… leaves, each the left child of its level, the rest right.
 */
function progressiveGindex(parent: number, index: number): number {
  let node = parent * 2
  let first = 0
  let leaves = 1
  while (index >= first + leaves) {
    node = node * 2 + 1
    first += leaves
    leaves *= 4
  }
  return fieldGindex(node * 2, leaves, index - first)
}

describe('light-client generalized indices, from the containers', () => {
  it('Altair–Deneb BeaconState (24–28 fields → 32 leaves), Electra/Fulu (37–38 fields → 64 leaves)', () => {
    // finalized_checkpoint is field 20, current/next_sync_committee fields 22/23, in every fork.
    for (const [fields, finalized, current, next] of [
      [24, GINDEX.finalizedRoot, GINDEX.currentSyncCommittee, GINDEX.nextSyncCommittee],
      [28, GINDEX.finalizedRoot, GINDEX.currentSyncCommittee, GINDEX.nextSyncCommittee],
      [
        37,
        GINDEX.finalizedRootElectra,
        GINDEX.currentSyncCommitteeElectra,
        GINDEX.nextSyncCommitteeElectra,
      ],
      [
        38,
        GINDEX.finalizedRootElectra,
        GINDEX.currentSyncCommitteeElectra,
        GINDEX.nextSyncCommitteeElectra,
      ],
    ] as const) {
      // Checkpoint(epoch, root): root is field 1 of 2.
      assert.equal(fieldGindex(fieldGindex(1, fields, 20), 2, 1), finalized)
      assert.equal(fieldGindex(1, fields, 22), current)
      assert.equal(fieldGindex(1, fields, 23), next)
    }
    // BeaconBlockBody (Capella 11, Deneb 12, Electra 13 fields): execution_payload is field 9.
    for (const fields of [11, 12, 13])
      assert.equal(fieldGindex(1, fields, 9), GINDEX.executionPayload)
  })

  it('Gloas (EIP-7688 progressive containers): the state, and the bid in the block body', () => {
    // BeaconState: finalized_checkpoint field 20, current/next_sync_committee fields 22/23.
    assert.equal(fieldGindex(progressiveGindex(1, 20), 2, 1), GINDEX.finalizedRootGloas)
    assert.equal(progressiveGindex(1, 22), GINDEX.currentSyncCommitteeGloas)
    assert.equal(progressiveGindex(1, 23), GINDEX.nextSyncCommitteeGloas)
    // BeaconBlockBody: signed_execution_payload_bid is field 10; SignedExecutionPayloadBid's
    // message field 0 (of 2); ExecutionPayloadBid's parent_block_hash its field 0.
    const bid = fieldGindex(progressiveGindex(1, 10), 2, 0)
    assert.equal(progressiveGindex(bid, 0), GINDEX.executionBlockHashGloas)
    // Before Gloas the block hash is field 12 of the execution payload header (15 fields in
    // Capella, 17 from Deneb), under the body's execution_payload.
    assert.equal(fieldGindex(GINDEX.executionPayload, 15, 12), GINDEX.executionBlockHash)
    assert.equal(fieldGindex(GINDEX.executionPayload, 17, 12), GINDEX.executionBlockHashDeneb)
    const gloas = lightClientShape('gloas')
    assert.deepEqual(
      [gloas.header, gloas.committeeBranchDepth, gloas.finalityBranchDepth],
      ['gloas', 11, 9],
    )
    assert.equal(gloas.executionBranchDepth, 11)
  })

  it('depths and subtree indices as the branches are typed', () => {
    assert.deepEqual([gindexDepth(105), subtreeIndex(105)], [6, 41])
    assert.deepEqual([gindexDepth(54), gindexDepth(55), gindexDepth(25)], [5, 5, 4])
    assert.deepEqual([gindexDepth(169), subtreeIndex(169)], [7, 41])
    assert.deepEqual([gindexDepth(86), gindexDepth(87)], [6, 6])
    assert.deepEqual(
      ['capella', 'deneb', 'electra', 'fulu'].map((f) => {
        const s = lightClientShape(f as 'capella')
        return [s.committeeBranchDepth, s.finalityBranchDepth, s.executionBranchDepth]
      }),
      [
        [5, 6, 4],
        [5, 6, 4],
        [6, 7, 4],
        [6, 7, 4],
      ],
    )
    assert.throws(() => lightClientShape('phase0'), /Altair/)
  })

  it('the gindex follows the attested slot’s fork', () => {
    const electraSlot = 364032 * 32
    assert.equal(finalizedRootGindexAtSlot(mainnet, electraSlot - 1), 105)
    assert.equal(finalizedRootGindexAtSlot(mainnet, electraSlot), 169)
    const withGloas = {
      ...mainnet,
      forks: mainnet.forks.map((f) => (f.name === 'gloas' ? { ...f, epoch: 500_000 } : f)),
    }
    assert.equal(finalizedRootGindexAtSlot(withGloas, 500_000 * 32 - 1), 169)
    assert.equal(finalizedRootGindexAtSlot(withGloas, 500_000 * 32), 735)
  })
})

describe('mainnet fork schedule', () => {
  it('forks by epoch; Gloas not scheduled', () => {
    assert.equal(forkAtEpoch(mainnet, 194047).name, 'bellatrix')
    assert.equal(forkAtEpoch(mainnet, 194048).name, 'capella')
    assert.equal(forkAtEpoch(mainnet, 411391).name, 'electra')
    assert.equal(forkAtEpoch(mainnet, 411392).name, 'fulu')
    assert.equal(forkAtEpoch(mainnet, 10 ** 9).name, 'fulu')
    assert.equal(periodAtSlot(mainnet, 8191), 0)
    assert.equal(periodAtSlot(mainnet, 8192), 1)
  })

  it('fork digests (the context bytes of SSZ update lists) both ways', () => {
    assert.equal(toHex(computeForkDigest(mainnet, 194048)), '0xbba4da96')
    assert.equal(toHex(computeForkDigest(mainnet, 269568)), '0x6a95a1a9')
    assert.equal(toHex(computeForkDigest(mainnet, 364032)), '0xad532ceb')
    for (const epoch of [74240, 194048, 269568, 364032, 411392, 412672, 419072]) {
      assert.equal(
        forkOfDigest(mainnet, computeForkDigest(mainnet, epoch)),
        forkAtEpoch(mainnet, epoch).name,
      )
    }
    // Fulu's digest changes with each blob-parameter step (EIP-7892).
    const fulu = [411392, 412672, 419072].map((e) => toHex(computeForkDigest(mainnet, e)))
    assert.equal(new Set(fulu).size, 3)
    assert.throws(() => forkOfDigest(mainnet, new Uint8Array([1, 2, 3, 4])), /0x01020304/)
  })

  it('the sync committee domain is the fork of the slot before the signature slot', () => {
    const capellaStart = 194048 * 32
    const bellatrix = computeDomain(
      DOMAIN_SYNC_COMMITTEE,
      mainnet.forks[2]?.version as Uint8Array,
      mainnet.genesisValidatorsRoot,
    )
    assert.deepEqual(syncCommitteeDomain(mainnet, capellaStart), bellatrix)
    assert.notDeepEqual(syncCommitteeDomain(mainnet, capellaStart + 1), bellatrix)
    assert.equal(toHex(bellatrix).slice(0, 10), '0x07000000')
  })
})
