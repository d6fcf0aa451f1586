/**
 * A throw-away sync committee with known secret keys, and headers and state roots made to fit
 * its Merkle branches, so tests can sign updates with any participation (what no recording has:
 * a valid signature by fewer than 2/3 of the committee).
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import {
  beaconBlockHeaderRoot,
  type ChainConfig,
  chainConfig,
  computeSigningRoot,
  ETH_DST,
  executionPayloadHeaderRoot,
  GINDEX,
  type LightClientBootstrap,
  type LightClientFinalityUpdate,
  type LightClientHeader,
  MINIMAL_PRESET,
  type SyncCommittee,
  syncCommitteeDomain,
  syncCommitteeRoot,
} from '../../src/light/index.ts'
import { hashPair } from '../../src/light/merkle.ts'

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

/** A minimal-preset (32 members) Deneb chain whose committee this test holds the keys of. */
export function syntheticChain() {
  const config: ChainConfig = chainConfig({
    name: 'synthetic',
    preset: MINIMAL_PRESET,
    genesisValidatorsRoot: filler(99),
    secondsPerSlot: 6,
    forks: {
      phase0: { epoch: 0, version: '0x00000009' },
      altair: { epoch: 0, version: '0x01000009' },
      bellatrix: { epoch: 0, version: '0x02000009' },
      capella: { epoch: 0, version: '0x03000009' },
      deneb: { epoch: 0, version: '0x04000009' },
    },
  })
  const secrets = Array.from({ length: config.syncCommitteeSize }, (_, i) =>
    BigInt(1_000_003 + i * 7919),
  )
  const points = secrets.map((sk) => G1.BASE.multiply(sk))
  const committee: SyncCommittee = {
    pubkeys: points.map((p) => p.toBytes(true)),
    aggregatePubkey: points.reduce((a, b) => a.add(b)).toBytes(true),
  }

  /** A Deneb light-client header at `slot` with the given state root; its execution header proven. */
  const header = (slot: number, stateRoot: Uint8Array): LightClientHeader => {
    const execution = {
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

  const bootstrapSlot = 8
  const currentSyncCommitteeBranch = branchOf(1, 5)
  const bootstrapHeader = header(
    bootstrapSlot,
    rootFrom(syncCommitteeRoot(committee), currentSyncCommitteeBranch, GINDEX.currentSyncCommittee),
  )
  const bootstrap: LightClientBootstrap = {
    fork: 'deneb',
    header: bootstrapHeader,
    currentSyncCommittee: committee,
    currentSyncCommitteeBranch,
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

  /** A finality update: `attestedSlot` proves `finalizedSlot`, signed by `signers` of 32 at attestedSlot + 1. */
  const finalityUpdate = (
    attestedSlot: number,
    finalizedSlot: number,
    signers: number,
  ): LightClientFinalityUpdate => {
    const finalizedHeader = header(finalizedSlot, filler(finalizedSlot + 50))
    const finalityBranch = branchOf(attestedSlot, 6)
    const attestedHeader = header(
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
