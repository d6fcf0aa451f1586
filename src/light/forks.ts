/**
 * Fork schedules, presets and the signing helpers of the sync protocol: which fork an epoch is
 * in, its version and digest, `compute_domain(DOMAIN_SYNC_COMMITTEE, …)`, `compute_signing_root`,
 * and the generalized indices of the light-client proofs per fork.
 *
 * Slots and epochs are plain numbers (mainnet is at slot ~1.4e7); an unscheduled fork has epoch
 * `Infinity` (the specs' FAR_FUTURE_EPOCH).
 */
import { sha256 } from '@noble/hashes/sha2'
import { concatBytes } from '@noble/hashes/utils'
import { fromHex } from './bytes.ts'
import { LightClientError } from './errors.ts'
import { gindexDepth, hashPair } from './merkle.ts'

/** The forks in order. Light-client data exists from Altair on. */
export const FORKS = [
  'phase0',
  'altair',
  'bellatrix',
  'capella',
  'deneb',
  'electra',
  'fulu',
  'gloas',
] as const
export type ForkName = (typeof FORKS)[number]

/** `a` is `b` or later. */
export function forkAtLeast(a: ForkName, b: ForkName): boolean {
  return FORKS.indexOf(a) >= FORKS.indexOf(b)
}

/** The preset values the light client needs (mainnet or minimal, as the spec tests use). */
export type Preset = {
  slotsPerEpoch: number
  epochsPerSyncCommitteePeriod: number
  syncCommitteeSize: number
}

export const MAINNET_PRESET: Preset = {
  slotsPerEpoch: 32,
  epochsPerSyncCommitteePeriod: 256,
  syncCommitteeSize: 512,
}

/** The consensus-spec-tests' `minimal` preset: 32-member committees, 64-slot periods. */
export const MINIMAL_PRESET: Preset = {
  slotsPerEpoch: 8,
  epochsPerSyncCommitteePeriod: 8,
  syncCommitteeSize: 32,
}

export type ForkEntry = { name: ForkName; epoch: number; version: Uint8Array }

/** One chain's consensus parameters, as the light client uses them. */
export type ChainConfig = Preset & {
  /** A name for messages (`mainnet`, `minimal`). */
  name: string
  genesisValidatorsRoot: Uint8Array
  /** Unix seconds of slot 0 (to turn a wall clock into a slot); undefined when not known. */
  genesisTime: number | undefined
  secondsPerSlot: number
  /** Every fork from phase0 on, in order; unscheduled ones have epoch `Infinity`. */
  forks: readonly ForkEntry[]
  /** Fulu's blob parameter schedule (its fork digests mix it in); Electra's entry first. */
  blobSchedule: readonly { epoch: number; maxBlobsPerBlock: number }[]
}

const FAR_FUTURE = 2 ** 64 - 1

export type ChainConfigInput = {
  name: string
  preset: Preset
  genesisValidatorsRoot: string | Uint8Array
  genesisTime?: number
  /** @default 12 */
  secondsPerSlot?: number
  /** Each scheduled fork's epoch and version (hex `0x…` 4 bytes); forks left out are unscheduled. */
  forks: Partial<Record<ForkName, { epoch: number; version: string | Uint8Array }>>
  blobSchedule?: readonly { epoch: number; maxBlobsPerBlock: number }[]
}

/** A `ChainConfig` from its parts, checked (versions 4 bytes, epochs in order). */
export function chainConfig(input: ChainConfigInput): ChainConfig {
  const gvr =
    typeof input.genesisValidatorsRoot === 'string'
      ? fromHex(input.genesisValidatorsRoot, 'genesisValidatorsRoot', 32)
      : input.genesisValidatorsRoot
  if (gvr.length !== 32) throw new RangeError('genesisValidatorsRoot: expected 32 bytes')
  const forks: ForkEntry[] = []
  let last = 0
  for (const name of FORKS) {
    const given = input.forks[name]
    if (name === 'phase0' && !given)
      throw new RangeError('forks.phase0: the genesis fork is required')
    if (!given || given.epoch >= FAR_FUTURE) {
      const version = given?.version
      forks.push({
        name,
        epoch: Number.POSITIVE_INFINITY,
        version: version ? versionBytes(version, name) : new Uint8Array(4),
      })
      continue
    }
    if (!(given.epoch >= last))
      throw new RangeError(`forks.${name}: epoch ${given.epoch} before an earlier fork's`)
    last = given.epoch
    forks.push({ name, epoch: given.epoch, version: versionBytes(given.version, name) })
  }
  return {
    name: input.name,
    ...input.preset,
    genesisValidatorsRoot: gvr,
    genesisTime: input.genesisTime,
    secondsPerSlot: input.secondsPerSlot ?? 12,
    forks,
    blobSchedule: [...(input.blobSchedule ?? [])].sort((a, b) => a.epoch - b.epoch),
  }
}

function versionBytes(v: string | Uint8Array, name: string): Uint8Array {
  const bytes = typeof v === 'string' ? fromHex(v, `forks.${name}.version`, 4) : v
  if (bytes.length !== 4) throw new RangeError(`forks.${name}.version: expected 4 bytes`)
  return bytes
}

/** Ethereum mainnet (configs/mainnet.yaml of ethereum/consensus-specs). Gloas is not scheduled yet. */
export const mainnet: ChainConfig = chainConfig({
  name: 'mainnet',
  preset: MAINNET_PRESET,
  genesisValidatorsRoot: '0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95',
  genesisTime: 1606824023,
  secondsPerSlot: 12,
  forks: {
    phase0: { epoch: 0, version: '0x00000000' },
    altair: { epoch: 74240, version: '0x01000000' },
    bellatrix: { epoch: 144896, version: '0x02000000' },
    capella: { epoch: 194048, version: '0x03000000' },
    deneb: { epoch: 269568, version: '0x04000000' },
    electra: { epoch: 364032, version: '0x05000000' },
    fulu: { epoch: 411392, version: '0x06000000' },
    gloas: { epoch: FAR_FUTURE, version: '0x07000000' },
  },
  blobSchedule: [
    { epoch: 364032, maxBlobsPerBlock: 9 }, // Electra's MAX_BLOBS_PER_BLOCK_ELECTRA
    { epoch: 412672, maxBlobsPerBlock: 15 }, // BPO1
    { epoch: 419072, maxBlobsPerBlock: 21 }, // BPO2
  ],
})

/**
 * A `ChainConfig` from a consensus-spec-tests `config.yaml` (its `KEY: value` lines, read by the
 * caller) and the genesis validators root of the test's `meta.yaml`.
 */
export function configFromSpecValues(
  values: Readonly<Record<string, string>>,
  preset: Preset,
  genesisValidatorsRoot: string,
): ChainConfig {
  const forks: ChainConfigInput['forks'] = {}
  for (const name of FORKS) {
    const key = name === 'phase0' ? 'GENESIS' : name.toUpperCase()
    const version = values[`${key}_FORK_VERSION`]
    const epoch = name === 'phase0' ? '0' : values[`${key}_FORK_EPOCH`]
    if (version === undefined || epoch === undefined) continue
    forks[name] = { epoch: Number(epoch), version }
  }
  return chainConfig({
    name: values.PRESET_BASE ?? 'spec',
    preset,
    genesisValidatorsRoot,
    secondsPerSlot: Number(values.SECONDS_PER_SLOT ?? 12),
    forks,
  })
}

export function epochAtSlot(config: ChainConfig, slot: number): number {
  return Math.floor(slot / config.slotsPerEpoch)
}

/** compute_sync_committee_period_at_slot */
export function periodAtSlot(config: ChainConfig, slot: number): number {
  return Math.floor(slot / config.slotsPerEpoch / config.epochsPerSyncCommitteePeriod)
}

/**
 * The slot at Unix time `unixMs` (the caller's clock), or undefined when the chain's genesis time
 * is not configured. Before genesis: 0.
 */
export function slotAtTime(config: ChainConfig, unixMs: number): number | undefined {
  if (config.genesisTime === undefined) return undefined
  return Math.max(0, Math.floor((unixMs / 1000 - config.genesisTime) / config.secondsPerSlot))
}

/** The slot count of one sync committee period: also the spec's UPDATE_TIMEOUT. */
export function slotsPerPeriod(config: ChainConfig): number {
  return config.slotsPerEpoch * config.epochsPerSyncCommitteePeriod
}

/** The fork in force at `epoch`. */
export function forkAtEpoch(config: ChainConfig, epoch: number): ForkEntry {
  let found = config.forks[0] as ForkEntry
  for (const f of config.forks) if (f.epoch <= epoch) found = f
  return found
}

export function forkAtSlot(config: ChainConfig, slot: number): ForkEntry {
  return forkAtEpoch(config, epochAtSlot(config, slot))
}

/** compute_fork_version */
export function computeForkVersion(config: ChainConfig, epoch: number): Uint8Array {
  return forkAtEpoch(config, epoch).version
}

/** compute_fork_data_root: hash_tree_root(ForkData(version, genesis_validators_root)). */
export function computeForkDataRoot(
  version: Uint8Array,
  genesisValidatorsRoot: Uint8Array,
): Uint8Array {
  const chunk = new Uint8Array(32)
  chunk.set(version)
  return hashPair(chunk, genesisValidatorsRoot)
}

/** compute_fork_digest at `epoch`, with Fulu's blob-parameter mask (EIP-7892). */
export function computeForkDigest(config: ChainConfig, epoch: number): Uint8Array {
  const fork = forkAtEpoch(config, epoch)
  const base = computeForkDataRoot(fork.version, config.genesisValidatorsRoot)
  if (!forkAtLeast(fork.name, 'fulu')) return base.slice(0, 4)
  const params = blobParametersAt(config, epoch)
  const encoded = new Uint8Array(16)
  const view = new DataView(encoded.buffer)
  view.setBigUint64(0, BigInt(params.epoch), true)
  view.setBigUint64(8, BigInt(params.maxBlobsPerBlock), true)
  const mask = sha256(encoded)
  const digest = new Uint8Array(4)
  for (let i = 0; i < 4; i++) digest[i] = (base[i] as number) ^ (mask[i] as number)
  return digest
}

function blobParametersAt(
  config: ChainConfig,
  epoch: number,
): { epoch: number; maxBlobsPerBlock: number } {
  let found = config.blobSchedule[0]
  for (const entry of config.blobSchedule) if (entry.epoch <= epoch) found = entry
  if (!found)
    throw new LightClientError(
      'unsupported-fork',
      `${config.name}: no blob schedule for epoch ${epoch}.`,
    )
  return found
}

/**
 * The fork whose digest is `digest` (the context bytes of the Beacon API's SSZ update lists and
 * of req/resp), over every scheduled fork and blob-schedule step.
 */
export function forkOfDigest(config: ChainConfig, digest: Uint8Array): ForkName {
  for (const fork of config.forks) {
    if (!Number.isFinite(fork.epoch)) continue
    const epochs = [fork.epoch]
    if (forkAtLeast(fork.name, 'fulu')) {
      for (const step of config.blobSchedule) if (step.epoch > fork.epoch) epochs.push(step.epoch)
    }
    for (const epoch of epochs) {
      if (forkAtEpoch(config, epoch).name !== fork.name) continue
      const d = computeForkDigest(config, epoch)
      if (d[0] === digest[0] && d[1] === digest[1] && d[2] === digest[2] && d[3] === digest[3]) {
        return fork.name
      }
    }
  }
  throw new LightClientError(
    'unsupported-fork',
    `${config.name}: fork digest 0x${[...digest].map((b) => b.toString(16).padStart(2, '0')).join('')} is not a scheduled fork's.`,
  )
}

/** DOMAIN_SYNC_COMMITTEE */
export const DOMAIN_SYNC_COMMITTEE = new Uint8Array([7, 0, 0, 0])

/** compute_domain(domain_type, fork_version, genesis_validators_root) */
export function computeDomain(
  domainType: Uint8Array,
  forkVersion: Uint8Array,
  genesisValidatorsRoot: Uint8Array,
): Uint8Array {
  return concatBytes(
    domainType,
    computeForkDataRoot(forkVersion, genesisValidatorsRoot).subarray(0, 28),
  )
}

/** compute_signing_root: hash_tree_root(SigningData(object_root, domain)). */
export function computeSigningRoot(objectRoot: Uint8Array, domain: Uint8Array): Uint8Array {
  return hashPair(objectRoot, domain)
}

/**
 * The domain a sync committee signs with at `signatureSlot`: the fork of the slot before it
 * (`max(signature_slot, 1) - 1`), since the signature is over the previous slot's block.
 */
export function syncCommitteeDomain(config: ChainConfig, signatureSlot: number): Uint8Array {
  const forkVersionSlot = Math.max(signatureSlot, 1) - 1
  const version = computeForkVersion(config, epochAtSlot(config, forkVersionSlot))
  return computeDomain(DOMAIN_SYNC_COMMITTEE, version, config.genesisValidatorsRoot)
}

/**
 * Generalized indices of the light-client proofs (consensus-specs altair, capella, electra and
 * gloas light-client/sync-protocol.md). Checked against the containers' layouts in forks.test.ts
 * (Gloas's state and block body are EIP-7688 progressive containers, hence the deeper indices).
 */
export const GINDEX = {
  finalizedRoot: 105,
  currentSyncCommittee: 54,
  nextSyncCommittee: 55,
  finalizedRootElectra: 169,
  currentSyncCommitteeElectra: 86,
  nextSyncCommitteeElectra: 87,
  finalizedRootGloas: 735,
  currentSyncCommitteeGloas: 2945,
  nextSyncCommitteeGloas: 2946,
  executionPayload: 25,
  /** The execution block hash in a Capella block body (through the payload header). */
  executionBlockHash: 412,
  executionBlockHashDeneb: 812,
  /** The bid's `parent_block_hash` in a Gloas block body: the execution block it builds on. */
  executionBlockHashGloas: 2856,
} as const

/** The index of the fork of `slot`'s era: Gloas's, Electra's, or the one before. */
function bySlot(config: ChainConfig, slot: number, gloas: number, electra: number, base: number) {
  const fork = forkAtSlot(config, slot).name
  return forkAtLeast(fork, 'gloas') ? gloas : forkAtLeast(fork, 'electra') ? electra : base
}

/** finalized_root_gindex_at_slot */
export function finalizedRootGindexAtSlot(config: ChainConfig, slot: number): number {
  return bySlot(
    config,
    slot,
    GINDEX.finalizedRootGloas,
    GINDEX.finalizedRootElectra,
    GINDEX.finalizedRoot,
  )
}

/** current_sync_committee_gindex_at_slot */
export function currentSyncCommitteeGindexAtSlot(config: ChainConfig, slot: number): number {
  return bySlot(
    config,
    slot,
    GINDEX.currentSyncCommitteeGloas,
    GINDEX.currentSyncCommitteeElectra,
    GINDEX.currentSyncCommittee,
  )
}

/** next_sync_committee_gindex_at_slot */
export function nextSyncCommitteeGindexAtSlot(config: ChainConfig, slot: number): number {
  return bySlot(
    config,
    slot,
    GINDEX.nextSyncCommitteeGloas,
    GINDEX.nextSyncCommitteeElectra,
    GINDEX.nextSyncCommittee,
  )
}

/** The shapes of a fork's light-client containers (what SSZ decoding needs). */
export type LightClientShape = {
  fork: ForkName
  /**
   * `altair`: the header is the beacon header alone; `capella`/`deneb`: with the execution
   * payload header and its branch; `gloas`: with the execution block hash and its branch.
   */
  header: 'altair' | 'capella' | 'deneb' | 'gloas'
  committeeBranchDepth: number
  finalityBranchDepth: number
  executionBranchDepth: number
}

/** The light-client container shapes of `fork`; phase0 has none. */
export function lightClientShape(fork: ForkName): LightClientShape {
  if (fork === 'phase0') {
    throw new LightClientError('unsupported-fork', 'No light-client containers before Altair.')
  }
  if (forkAtLeast(fork, 'gloas')) {
    return {
      fork,
      header: 'gloas',
      committeeBranchDepth: gindexDepth(GINDEX.currentSyncCommitteeGloas),
      finalityBranchDepth: gindexDepth(GINDEX.finalizedRootGloas),
      executionBranchDepth: gindexDepth(GINDEX.executionBlockHashGloas),
    }
  }
  const electra = forkAtLeast(fork, 'electra')
  return {
    fork,
    header: forkAtLeast(fork, 'deneb')
      ? 'deneb'
      : forkAtLeast(fork, 'capella')
        ? 'capella'
        : 'altair',
    committeeBranchDepth: electra ? 6 : 5,
    finalityBranchDepth: electra ? 7 : 6,
    executionBranchDepth: 4,
  }
}

/**
 * The containers an object at `slot` comes in are those of its slot's fork: `fork` (what the
 * source said) must have the same shapes. Forks that share containers (Altair and Bellatrix,
 * Electra and Fulu) may be named either way. Throws `LightClientError('wrong-fork')`.
 */
export function checkContainerFork(
  config: ChainConfig,
  fork: ForkName,
  slot: number,
  what: string,
): void {
  const at = forkAtSlot(config, slot).name
  const a = lightClientShape(fork)
  const b = lightClientShape(at)
  if (
    a.header !== b.header ||
    a.committeeBranchDepth !== b.committeeBranchDepth ||
    a.finalityBranchDepth !== b.finalityBranchDepth
  )
    throw new LightClientError(
      'wrong-fork',
      `${what} at slot ${slot} (${at}) came in ${fork}'s containers.`,
    )
}

/** The fork named `name` (a Beacon API `version`), or a `malformed` error. */
export function forkNamed(name: unknown, path: string): ForkName {
  const found = FORKS.find((f) => f === name)
  if (!found)
    throw new LightClientError(
      'malformed',
      `${path}: unknown fork version ${JSON.stringify(name)}.`,
    )
  return found
}
