/**
 * A lab beacon chain: a throw-away sync committee it holds the secrets of (512 keys with the
 * mainnet preset, as on mainnet, or 32 with the minimal one) that signs finality updates whose
 * finalized header carries a real execution block of the lab's anvil, so light client → trusted
 * header → eth_getProof runs end to end. The beacon headers and state roots are made to fit the
 * Merkle branches (as test/light/synthetic.ts does).
 *
 * Cheap at 512: the keys are an arithmetic progression of secrets (one point addition each,
 * one batched inversion for all), and an update's aggregate signature is the signers' summed
 * secret times H(m): one scalar multiplication, not 512 signatures.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import {
  beaconBlockHeaderRoot,
  type ChainConfig,
  chainConfig,
  computeSigningRoot,
  ETH_DST,
  type ExecutionPayloadHeader,
  fromHex,
  GINDEX,
  type LightClientBootstrap,
  type LightClientFinalityUpdate,
  type LightClientHeader,
  MAINNET_PRESET,
  MINIMAL_PRESET,
  type SyncCommittee,
  syncCommitteeDomain,
  syncCommitteeRoot,
  toHex,
} from '../../src/light/index.ts'
import { gindexDepth } from '../../src/light/merkle.ts'
import type { BeaconCapture } from '../lab/beaconApi.ts'
import { branchOf, denebLightHeader, filler, gloasLightHeader, rootFrom } from './synthetic.ts'

const sigs = bls12_381.longSignatures
const G1 = bls12_381.G1.Point
const Fp = bls12_381.fields.Fp
const ORDER = G1.Fn.ORDER
const HALF_P = (Fp.ORDER - 1n) / 2n

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

/** The first secret key and the step between two members' keys. */
const FIRST_SECRET = 2_000_003n
const SECRET_STEP = 7_907n

/**
 * `size` members' secret keys and compressed public keys: the secrets step by `SECRET_STEP`, so
 * each key is the previous one plus a fixed point, and all are made affine by one batched
 * inversion (noble's `toBytes` subgroup-checks each point: ~2 ms apiece).
 */
function labCommittee(size: number): { secrets: bigint[]; committee: SyncCommittee } {
  const secrets = Array.from({ length: size }, (_, i) => FIRST_SECRET + BigInt(i) * SECRET_STEP)
  const step = G1.BASE.multiply(SECRET_STEP)
  const points = [G1.BASE.multiply(FIRST_SECRET)]
  for (let i = 1; i < size; i++) points.push((points[i - 1] as typeof step).add(step))
  const aggregate = points.reduce((a, b) => a.add(b))
  const all = [...points, aggregate]
  const inverses = Fp.invertBatch(all.map((p) => p.Z))
  const pubkeys = all.map((p, i) =>
    compressed(Fp.mul(p.X, inverses[i]!), Fp.mul(p.Y, inverses[i]!)),
  )
  const aggregatePubkey = pubkeys.pop() as Uint8Array
  return { secrets, committee: { pubkeys, aggregatePubkey } }
}

/** The ZCash compressed encoding of an affine G1 point (x, y), not the point at infinity. */
function compressed(x: bigint, y: bigint): Uint8Array {
  const out = new Uint8Array(48)
  let v = x
  for (let i = 47; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  out[0] = (out[0] as number) | 0x80 | (y > HALF_P ? 0x20 : 0)
  return out
}

/** Members that do not sign (about 1 in 100, as on mainnet); none in a 32-member committee. */
const signs = (i: number) => i % 100 !== 99

export type LabBeaconOptions = {
  /** 512 keys (mainnet) or 32 (minimal: 64-slot periods, as the spec tests use). @default 'mainnet' */
  preset?: 'mainnet' | 'minimal'
  /**
   * Deneb's containers, or Gloas's (EIP-7732: the light-client header keeps the execution block
   * hash alone; EIP-7688: deeper state branches), every fork from genesis. @default 'deneb'
   */
  fork?: 'deneb' | 'gloas'
}

/** A lab chain: `finalize(block)` signs a finality update that finalizes that execution block. */
export function labBeacon(options: LabBeaconOptions = {}) {
  const gloas = options.fork === 'gloas'
  const config: ChainConfig = chainConfig({
    name: 'lab',
    preset: options.preset === 'minimal' ? MINIMAL_PRESET : MAINNET_PRESET,
    genesisValidatorsRoot: filler(7),
    genesisTime: LAB_GENESIS,
    secondsPerSlot: LAB_SECONDS_PER_SLOT,
    forks: {
      phase0: { epoch: 0, version: '0x00000077' },
      altair: { epoch: 0, version: '0x01000077' },
      bellatrix: { epoch: 0, version: '0x02000077' },
      capella: { epoch: 0, version: '0x03000077' },
      deneb: { epoch: 0, version: '0x04000077' },
      ...(gloas && {
        electra: { epoch: 0, version: '0x05000077' },
        fulu: { epoch: 0, version: '0x06000077' },
        gloas: { epoch: 0, version: '0x07000077' },
      }),
    },
    blobSchedule: gloas ? [{ epoch: 0, maxBlobsPerBlock: 9 }] : [],
  })
  const fork = gloas ? 'gloas' : 'deneb'
  const gindex = gloas
    ? { committee: GINDEX.currentSyncCommitteeGloas, finalized: GINDEX.finalizedRootGloas }
    : { committee: GINDEX.currentSyncCommittee, finalized: GINDEX.finalizedRoot }
  const { secrets, committee } = labCommittee(config.syncCommitteeSize)
  const bits = new Uint8Array(config.syncCommitteeSize / 8)
  let signersSecret = 0n
  secrets.forEach((sk, i) => {
    if (!signs(i)) return
    bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7))
    signersSecret = (signersSecret + sk) % ORDER
  })

  const header = (
    slot: number,
    stateRoot: Uint8Array,
    execution: ExecutionPayloadHeader,
  ): LightClientHeader =>
    gloas
      ? gloasLightHeader(slot, stateRoot, execution.blockHash)
      : denebLightHeader(slot, stateRoot, execution)
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
  const currentSyncCommitteeBranch = branchOf(1, gindexDepth(gindex.committee))
  const bootstrapHeader = header(
    bootstrapSlot,
    rootFrom(syncCommitteeRoot(committee), currentSyncCommitteeBranch, gindex.committee),
    fakeExecution(bootstrapSlot),
  )
  const bootstrap: LightClientBootstrap = {
    fork,
    header: bootstrapHeader,
    currentSyncCommittee: committee,
    currentSyncCommitteeBranch,
  }

  /** A finality update (all but 1 in 100 sign) finalizing `execution` at `finalizedSlot`, attested at +4, signed at +5. */
  const finalize = (
    execution: ExecutionPayloadHeader,
    finalizedSlot: number,
  ): LightClientFinalityUpdate => {
    const finalizedHeader = header(finalizedSlot, filler(finalizedSlot + 50), execution)
    const finalityBranch = branchOf(finalizedSlot + 4, gindexDepth(gindex.finalized))
    const attestedHeader = header(
      finalizedSlot + 4,
      rootFrom(beaconBlockHeaderRoot(finalizedHeader.beacon), finalityBranch, gindex.finalized),
      fakeExecution(finalizedSlot + 4),
    )
    const signatureSlot = finalizedSlot + 5
    const root = computeSigningRoot(
      beaconBlockHeaderRoot(attestedHeader.beacon),
      syncCommitteeDomain(config, signatureSlot),
    )
    const signature = sigs.Signature.toBytes(sigs.hash(root, ETH_DST).multiply(signersSecret))
    return {
      fork,
      attestedHeader,
      finalizedHeader,
      finalityBranch,
      syncAggregate: { syncCommitteeBits: bits.slice(), syncCommitteeSignature: signature },
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
