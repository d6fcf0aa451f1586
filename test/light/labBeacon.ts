/**
 * A lab beacon chain: a throw-away sync committee (minimal preset, 32 keys it holds the secrets
 * of) that signs finality updates whose finalized header carries a real execution block of the
 * lab's anvil, so light client → trusted header → eth_getProof runs end to end. The beacon
 * headers and state roots are made to fit the Merkle branches (as test/light/synthetic.ts does).
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import {
  beaconBlockHeaderRoot,
  type ChainConfig,
  chainConfig,
  computeSigningRoot,
  ETH_DST,
  type ExecutionPayloadHeader,
  executionPayloadHeaderRoot,
  fromHex,
  GINDEX,
  type LightClientBootstrap,
  type LightClientFinalityUpdate,
  type LightClientHeader,
  MINIMAL_PRESET,
  type SyncCommittee,
  syncCommitteeDomain,
  syncCommitteeRoot,
  toHex,
} from '../../src/light/index.ts'
import { hashPair } from '../../src/light/merkle.ts'
import type { BeaconCapture } from '../lab/beaconApi.ts'

const sigs = bls12_381.longSignatures
const G1 = bls12_381.G1.Point
const ORDER = G1.Fn.ORDER

function filler(seed: number, length = 32): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (seed * 29 + i * 13 + 3) & 0xff
  return out
}

function rootFrom(leaf: Uint8Array, branch: readonly Uint8Array[], gindex: number): Uint8Array {
  let value = leaf
  let index = gindex
  for (const sibling of branch) {
    value = index % 2 === 1 ? hashPair(sibling, value) : hashPair(value, sibling)
    index = Math.floor(index / 2)
  }
  return value
}

const branchOf = (seed: number, depth: number) =>
  Array.from({ length: depth }, (_, i) => filler(seed * 16 + i))

/** The execution payload header of an anvil block (as `eth_getBlockByNumber` returns it). */
export function executionOf(block: Record<string, unknown>): ExecutionPayloadHeader {
  const b = (k: string, n?: number) => fromHex(block[k], k, n)
  const q = (k: string) => BigInt(String(block[k] ?? '0x0'))
  return {
    parentHash: b('parentHash', 32),
    feeRecipient: b('miner', 20),
    stateRoot: b('stateRoot', 32),
    receiptsRoot: b('receiptsRoot', 32),
    logsBloom: b('logsBloom', 256),
    prevRandao: b('mixHash', 32),
    blockNumber: q('number'),
    gasLimit: q('gasLimit'),
    gasUsed: q('gasUsed'),
    timestamp: q('timestamp'),
    extraData: b('extraData'),
    baseFeePerGas: q('baseFeePerGas'),
    blockHash: b('hash', 32),
    transactionsRoot: b('transactionsRoot', 32),
    withdrawalsRoot: block.withdrawalsRoot ? b('withdrawalsRoot', 32) : new Uint8Array(32),
    blobGasUsed: q('blobGasUsed'),
    excessBlobGas: q('excessBlobGas'),
  }
}

export const LAB_GENESIS = 1_700_000_000
export const LAB_SECONDS_PER_SLOT = 6

/** A Deneb lab chain: `finalize(block)` signs a finality update that finalizes that execution block. */
export function labBeacon() {
  const config: ChainConfig = chainConfig({
    name: 'lab',
    preset: MINIMAL_PRESET,
    genesisValidatorsRoot: filler(7),
    genesisTime: LAB_GENESIS,
    secondsPerSlot: LAB_SECONDS_PER_SLOT,
    forks: {
      phase0: { epoch: 0, version: '0x00000077' },
      altair: { epoch: 0, version: '0x01000077' },
      bellatrix: { epoch: 0, version: '0x02000077' },
      capella: { epoch: 0, version: '0x03000077' },
      deneb: { epoch: 0, version: '0x04000077' },
    },
  })
  const secrets = Array.from({ length: config.syncCommitteeSize }, (_, i) =>
    BigInt(2_000_003 + i * 7907),
  )
  const points = secrets.map((sk) => G1.BASE.multiply(sk))
  const committee: SyncCommittee = {
    pubkeys: points.map((p) => p.toBytes(true)),
    aggregatePubkey: points.reduce((a, b) => a.add(b)).toBytes(true),
  }

  const header = (
    slot: number,
    stateRoot: Uint8Array,
    execution: ExecutionPayloadHeader,
  ): LightClientHeader => {
    const executionBranch = branchOf(slot + 9, 4)
    const bodyRoot = rootFrom(
      executionPayloadHeaderRoot(execution, 'deneb'),
      executionBranch,
      GINDEX.executionPayload,
    )
    return {
      beacon: { slot, proposerIndex: slot % 7, parentRoot: filler(slot + 10), stateRoot, bodyRoot },
      execution,
      executionBranch,
    }
  }
  const fakeExecution = (slot: number): ExecutionPayloadHeader => ({
    ...executionOf({
      parentHash: toHex(filler(slot + 1)),
      miner: toHex(filler(slot + 2, 20)),
      stateRoot: toHex(filler(slot + 3)),
      receiptsRoot: toHex(filler(slot + 4)),
      logsBloom: toHex(new Uint8Array(256)),
      mixHash: toHex(filler(slot + 5)),
      number: '0x0',
      gasLimit: '0x1c9c380',
      gasUsed: '0x0',
      timestamp: `0x${(LAB_GENESIS + slot * LAB_SECONDS_PER_SLOT).toString(16)}`,
      extraData: '0x',
      baseFeePerGas: '0x7',
      hash: toHex(filler(slot + 6)),
      transactionsRoot: toHex(filler(slot + 7)),
    }),
  })

  const bootstrapSlot = 8
  const currentSyncCommitteeBranch = branchOf(1, 5)
  const bootstrapHeader = header(
    bootstrapSlot,
    rootFrom(syncCommitteeRoot(committee), currentSyncCommitteeBranch, GINDEX.currentSyncCommittee),
    fakeExecution(bootstrapSlot),
  )
  const bootstrap: LightClientBootstrap = {
    fork: 'deneb',
    header: bootstrapHeader,
    currentSyncCommittee: committee,
    currentSyncCommitteeBranch,
  }

  /** A finality update (all 32 sign) finalizing `execution` at `finalizedSlot`, attested at +4, signed at +5. */
  const finalize = (
    execution: ExecutionPayloadHeader,
    finalizedSlot: number,
  ): LightClientFinalityUpdate => {
    const finalizedHeader = header(finalizedSlot, filler(finalizedSlot + 50), execution)
    const finalityBranch = branchOf(finalizedSlot + 4, 6)
    const attestedHeader = header(
      finalizedSlot + 4,
      rootFrom(beaconBlockHeaderRoot(finalizedHeader.beacon), finalityBranch, GINDEX.finalizedRoot),
      fakeExecution(finalizedSlot + 4),
    )
    const signatureSlot = finalizedSlot + 5
    const bits = new Uint8Array(config.syncCommitteeSize / 8).fill(0xff)
    const sk = secrets.reduce((a, b) => (a + b) % ORDER, 0n)
    const root = computeSigningRoot(
      beaconBlockHeaderRoot(attestedHeader.beacon),
      syncCommitteeDomain(config, signatureSlot),
    )
    const signature = sigs.Signature.toBytes(sigs.hash(root, ETH_DST).multiply(sk))
    return {
      fork: 'deneb',
      attestedHeader,
      finalizedHeader,
      finalityBranch,
      syncAggregate: { syncCommitteeBits: bits, syncCommitteeSignature: signature },
      signatureSlot,
    }
  }

  /** A capture for the lab Beacon API: the bootstrap, no period updates, `finality` as the newest. */
  const capture = (finality?: LightClientFinalityUpdate): BeaconCapture => ({
    config,
    bootstrap,
    updates: [],
    finality,
  })

  return {
    config,
    bootstrap,
    checkpoint: toHex(beaconBlockHeaderRoot(bootstrapHeader.beacon)),
    finalize,
    capture,
  }
}
