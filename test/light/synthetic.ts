/**
 * A throw-away sync committee with known secret keys, and headers and state roots made to fit
 * its Merkle branches, so tests can sign updates with any participation (what no recording has:
 * a valid signature by fewer than 2/3 of the committee).
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import {
  beaconBlockHeaderRoot,
  type ChainConfig,
  type ChainConfigInput,
  chainConfig,
  computeSigningRoot,
  ETH_DST,
  type ExecutionPayloadHeader,
  executionPayloadHeaderRoot,
  GINDEX,
  type LightClientBootstrap,
  type LightClientFinalityUpdate,
  type LightClientHeader,
  type LightClientUpdate,
  MINIMAL_PRESET,
  type SyncCommittee,
  syncCommitteeDomain,
  syncCommitteeRoot,
} from '../../src/light/index.ts'
import { gindexDepth, hashPair } from '../../src/light/merkle.ts'
import { executionPayloadHeaderFieldRoots } from '../../src/light/roots.ts'

const sigs = bls12_381.longSignatures
const G1 = bls12_381.G1.Point
const ORDER = G1.Fn.ORDER

/** Deterministic filler bytes (tests must not depend on chance). */
export function filler(seed: number, length = 32): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7 + 1) & 0xff
  return out
}

/** The root that `leaf` at `gindex` with `branch` proves into (the inverse of a branch check). */
export function rootFrom(
  leaf: Uint8Array,
  branch: readonly Uint8Array[],
  gindex: number,
): Uint8Array {
  let value = leaf
  let index = gindex
  for (const sibling of branch) {
    value = index % 2 === 1 ? hashPair(sibling, value) : hashPair(value, sibling)
    index = Math.floor(index / 2)
  }
  return value
}

/** A branch of `depth` filler siblings. */
export function branchOf(seed: number, depth: number): Uint8Array[] {
  return Array.from({ length: depth }, (_, i) => filler(seed * 16 + i))
}

/**
 * A Merkle tree holding `leaves` at their generalized indices, every other node filler: its root,
 * and the branch of any leaf (for a root that two proofs share, as a period update's state).
 */
export function sparseTree(leaves: ReadonlyMap<number, Uint8Array>, seed: number) {
  const holds = (g: number) => {
    for (const leaf of leaves.keys()) {
      let at = leaf
      while (at > g) at = Math.floor(at / 2)
      if (at === g) return true
    }
    return false
  }
  const node = (g: number): Uint8Array =>
    leaves.get(g) ?? (holds(g) ? hashPair(node(2 * g), node(2 * g + 1)) : filler(seed * 4099 + g))
  return {
    root: node(1),
    branch: (gindex: number): Uint8Array[] => {
      const out: Uint8Array[] = []
      for (let g = gindex; g > 1; g = Math.floor(g / 2)) out.push(node(g ^ 1))
      return out
    },
  }
}

/** A Deneb-typed execution payload header of filler values for `slot`. */
export function fillerExecution(slot: number): ExecutionPayloadHeader {
  return {
    parentHash: filler(slot + 1),
    feeRecipient: filler(slot + 2, 20),
    stateRoot: filler(slot + 3),
    receiptsRoot: filler(slot + 4),
    logsBloom: new Uint8Array(256),
    prevRandao: filler(slot + 5),
    blockNumber: BigInt(1000 + slot),
    gasLimit: 30_000_000n,
    gasUsed: 21_000n,
    timestamp: BigInt(1_700_000_000 + slot * 6),
    extraData: new Uint8Array([1, 2, 3]),
    baseFeePerGas: 7n,
    blockHash: filler(slot + 6),
    transactionsRoot: filler(slot + 7),
    withdrawalsRoot: filler(slot + 8),
    blobGasUsed: 0n,
    excessBlobGas: 0n,
  }
}

/** A Deneb-to-Fulu light-client header at `slot`: `execution` proven into the body root. */
export function denebLightHeader(
  slot: number,
  stateRoot: Uint8Array,
  execution: ExecutionPayloadHeader = fillerExecution(slot),
): LightClientHeader {
  const executionBranch = branchOf(slot + 9, 4)
  const bodyRoot = rootFrom(
    executionPayloadHeaderRoot(execution, 'deneb'),
    executionBranch,
    GINDEX.executionPayload,
  )
  return {
    beacon: { slot, proposerIndex: slot % 5, parentRoot: filler(slot + 10), stateRoot, bodyRoot },
    execution,
    executionBranch,
  }
}

/** A Gloas light-client header at a Gloas slot: the bid's parent block hash proven into the body. */
export function gloasLightHeader(
  slot: number,
  stateRoot: Uint8Array,
  executionBlockHash: Uint8Array = filler(slot + 6),
): LightClientHeader {
  const executionBranch = branchOf(slot + 9, gindexDepth(GINDEX.executionBlockHashGloas))
  const bodyRoot = rootFrom(executionBlockHash, executionBranch, GINDEX.executionBlockHashGloas)
  return {
    beacon: { slot, proposerIndex: slot % 5, parentRoot: filler(slot + 10), stateRoot, bodyRoot },
    execution: undefined,
    executionBlockHash,
    executionBranch,
  }
}

/** consensus-specs `normalize_merkle_branch`: `branch` with leading zero nodes up to `depth`. */
export function normalizeBranch(branch: readonly Uint8Array[], depth: number): Uint8Array[] {
  return [...Array.from({ length: depth - branch.length }, () => new Uint8Array(32)), ...branch]
}

/**
 * consensus-specs gloas light-client/fork.md `upgrade_lc_header_to_gloas` of a Deneb-to-Fulu
 * header: the block hash, its branch through the payload header then the body, normalized to
 * Gloas's depth with leading zero nodes.
 */
export function upgradeHeaderToGloas(
  h: LightClientHeader,
  form: 'capella' | 'deneb' = 'deneb',
): LightClientHeader {
  const e = h.execution as ExecutionPayloadHeader
  const fields = executionPayloadHeaderFieldRoots(e, form)
  const width = form === 'deneb' ? 32 : 16
  const leaves = Array.from({ length: width }, (_, i) => fields[i] ?? new Uint8Array(32))
  const inPayload = sparseTree(new Map(leaves.map((leaf, i) => [width + i, leaf])), 0).branch(
    width + 12,
  )
  const branch = [...inPayload, ...h.executionBranch]
  const depth = gindexDepth(GINDEX.executionBlockHashGloas)
  return {
    beacon: h.beacon,
    execution: undefined,
    executionBlockHash: e.blockHash,
    executionBranch: normalizeBranch(branch, depth),
  }
}

/** A throw-away committee of `config`'s size whose secrets the test holds, and its signer. */
function testCommittee(config: ChainConfig) {
  const secrets = Array.from({ length: config.syncCommitteeSize }, (_, i) =>
    BigInt(1_000_003 + i * 7919),
  )
  const points = secrets.map((sk) => G1.BASE.multiply(sk))
  const committee: SyncCommittee = {
    pubkeys: points.map((p) => p.toBytes(true)),
    aggregatePubkey: points.reduce((a, b) => a.add(b)).toBytes(true),
  }
  /** The aggregate signature of the first `signers` members over the header at `signatureSlot`. */
  const sign = (attested: LightClientHeader, signatureSlot: number, signers: number) => {
    const bits = new Uint8Array(config.syncCommitteeSize / 8)
    let sk = 0n
    for (let i = 0; i < signers; i++) {
      bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7))
      sk = (sk + (secrets[i] as bigint)) % ORDER
    }
    const root = computeSigningRoot(
      beaconBlockHeaderRoot(attested.beacon),
      syncCommitteeDomain(config, signatureSlot),
    )
    const signature = sigs.hash(root, ETH_DST).multiply(sk)
    return { syncCommitteeBits: bits, syncCommitteeSignature: sigs.Signature.toBytes(signature) }
  }
  return { committee, sign }
}

const EARLY_FORKS: ChainConfigInput['forks'] = {
  phase0: { epoch: 0, version: '0x00000009' },
  altair: { epoch: 0, version: '0x01000009' },
  bellatrix: { epoch: 0, version: '0x02000009' },
  capella: { epoch: 0, version: '0x03000009' },
  deneb: { epoch: 0, version: '0x04000009' },
}

/** A minimal-preset (32 members) Deneb chain whose committee this test holds the keys of. */
export function syntheticChain() {
  const config: ChainConfig = chainConfig({
    name: 'synthetic',
    preset: MINIMAL_PRESET,
    genesisValidatorsRoot: filler(99),
    secondsPerSlot: 6,
    forks: EARLY_FORKS,
  })
  const { committee, sign } = testCommittee(config)

  const bootstrapSlot = 8
  const currentSyncCommitteeBranch = branchOf(1, 5)
  const bootstrapHeader = denebLightHeader(
    bootstrapSlot,
    rootFrom(syncCommitteeRoot(committee), currentSyncCommitteeBranch, GINDEX.currentSyncCommittee),
  )
  const bootstrap: LightClientBootstrap = {
    fork: 'deneb',
    header: bootstrapHeader,
    currentSyncCommittee: committee,
    currentSyncCommitteeBranch,
  }

  /** A finality update: `attestedSlot` proves `finalizedSlot`, signed by `signers` of 32 at attestedSlot + 1. */
  const finalityUpdate = (
    attestedSlot: number,
    finalizedSlot: number,
    signers: number,
  ): LightClientFinalityUpdate => {
    const finalizedHeader = denebLightHeader(finalizedSlot, filler(finalizedSlot + 50))
    const finalityBranch = branchOf(attestedSlot, 6)
    const attestedHeader = denebLightHeader(
      attestedSlot,
      rootFrom(beaconBlockHeaderRoot(finalizedHeader.beacon), finalityBranch, GINDEX.finalizedRoot),
    )
    const signatureSlot = attestedSlot + 1
    return {
      fork: 'deneb',
      attestedHeader,
      finalizedHeader,
      finalityBranch,
      syncAggregate: sign(attestedHeader, signatureSlot, signers),
      signatureSlot,
    }
  }

  return {
    config,
    committee,
    bootstrap,
    checkpoint: beaconBlockHeaderRoot(bootstrapHeader.beacon),
    finalityUpdate,
  }
}

/**
 * A minimal-preset chain with Electra and Fulu from genesis and Gloas from `gloasEpoch` (64-slot
 * periods), its committee's keys held by the test: it bootstraps in Fulu and signs period and
 * finality updates on either side of the fork, in the container of the attested slot's fork.
 */
export function syntheticGloasChain(gloasEpoch: number) {
  const config: ChainConfig = chainConfig({
    name: 'synthetic-gloas',
    preset: MINIMAL_PRESET,
    genesisValidatorsRoot: filler(98),
    secondsPerSlot: 6,
    forks: {
      ...EARLY_FORKS,
      electra: { epoch: 0, version: '0x05000009' },
      fulu: { epoch: 0, version: '0x06000009' },
      gloas: { epoch: gloasEpoch, version: '0x07000009' },
    },
    blobSchedule: [{ epoch: 0, maxBlobsPerBlock: 9 }],
  })
  const { committee, sign } = testCommittee(config)
  const gloasSlot = gloasEpoch * config.slotsPerEpoch
  const isGloas = (slot: number) => slot >= gloasSlot

  /** A header at `slot` in the container of `container`'s fork (a Fulu-era one upgraded in Gloas's). */
  const header = (slot: number, stateRoot: Uint8Array, container: 'fulu' | 'gloas') => {
    if (isGloas(slot)) return gloasLightHeader(slot, stateRoot)
    const fulu = denebLightHeader(slot, stateRoot)
    return container === 'gloas' ? upgradeHeaderToGloas(fulu) : fulu
  }
  /** The state gindices at `slot` (Gloas's progressive state is deeper). */
  const gindices = (slot: number) =>
    isGloas(slot)
      ? {
          finalized: GINDEX.finalizedRootGloas,
          current: GINDEX.currentSyncCommitteeGloas,
          next: GINDEX.nextSyncCommitteeGloas,
        }
      : {
          finalized: GINDEX.finalizedRootElectra,
          current: GINDEX.currentSyncCommitteeElectra,
          next: GINDEX.nextSyncCommitteeElectra,
        }
  /** A branch typed for `container`'s fork: a Fulu-era proof in Gloas's has leading zero nodes. */
  const shape = (container: 'fulu' | 'gloas') =>
    container === 'gloas' ? { committee: 11, finality: 9 } : { committee: 6, finality: 7 }

  const bootstrapAt = (slot: number): LightClientBootstrap => {
    const container = isGloas(slot) ? 'gloas' : 'fulu'
    const state = sparseTree(
      new Map([[gindices(slot).current, syncCommitteeRoot(committee)]]),
      slot,
    )
    return {
      fork: container,
      header: header(slot, state.root, container),
      currentSyncCommittee: committee,
      currentSyncCommitteeBranch: state.branch(gindices(slot).current),
    }
  }

  /**
   * A period update attested at `attestedSlot` (signed at +1 by `signers` of 32): it finalizes
   * `finalizedSlot` and carries the next committee (the same keys), both proven in one state. It
   * comes in the container of the attested slot's fork, or `container` (a Fulu-era update
   * upgraded to Gloas's, its branches normalized, as consensus-specs gloas light-client/fork.md).
   */
  const update = (
    attestedSlot: number,
    finalizedSlot: number,
    signers = 32,
    container: 'fulu' | 'gloas' = isGloas(attestedSlot) ? 'gloas' : 'fulu',
  ): LightClientUpdate => {
    const depth = shape(container)
    const finalizedHeader = header(finalizedSlot, filler(finalizedSlot + 50), container)
    const g = gindices(attestedSlot)
    const state = sparseTree(
      new Map([
        [g.finalized, beaconBlockHeaderRoot(finalizedHeader.beacon)],
        [g.next, syncCommitteeRoot(committee)],
      ]),
      attestedSlot,
    )
    const attestedHeader = header(attestedSlot, state.root, container)
    return {
      fork: container,
      attestedHeader,
      nextSyncCommittee: committee,
      nextSyncCommitteeBranch: normalizeBranch(state.branch(g.next), depth.committee),
      finalizedHeader,
      finalityBranch: normalizeBranch(state.branch(g.finalized), depth.finality),
      syncAggregate: sign(attestedHeader, attestedSlot + 1, signers),
      signatureSlot: attestedSlot + 1,
    }
  }

  return { config, committee, gloasSlot, bootstrapAt, update, sign }
}
