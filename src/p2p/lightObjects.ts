/**
 * Light-client objects as `/outlast/lc/1.0.0` and its gossip carry them: a 4-byte fork digest,
 * then the SSZ container of that fork (the context bytes of the consensus req/resp and of the
 * Beacon API's SSZ update lists). Shared by relays (which decode before they serve or gossip)
 * and by `relayLightSource` (which decodes what it receives; `light()` verifies it).
 */
import {
  type ChainConfig,
  computeForkDigest,
  decodeBootstrap,
  decodeFinalityUpdate,
  decodeOptimisticUpdate,
  epochAtSlot,
  FORKS,
  type ForkName,
  forkOfDigest,
  type LightClientBootstrap,
  LightClientError,
  type LightClientFinalityUpdate,
  type LightClientOptimisticUpdate,
} from '../light/index.ts'

export type LightObjects = {
  bootstrap: LightClientBootstrap
  finality: LightClientFinalityUpdate
  optimistic: LightClientOptimisticUpdate
}
export type LightObjectKind = keyof LightObjects

const decoders = {
  bootstrap: decodeBootstrap,
  finality: decodeFinalityUpdate,
  optimistic: decodeOptimisticUpdate,
} as const

/** Digest and SSZ, decoded as the digest's fork; throws a `LightClientError` (`malformed`, `unsupported-fork`). */
export function decodeLightObject<K extends LightObjectKind>(
  kind: K,
  bytes: Uint8Array,
  config: ChainConfig,
): LightObjects[K] {
  if (bytes.length < 4)
    throw new LightClientError('malformed', `${kind}: ${bytes.length} bytes, no fork digest`)
  const fork = forkOfDigest(config, bytes.subarray(0, 4))
  return decoders[kind](bytes.subarray(4), fork, config) as LightObjects[K]
}

/** The slot whose epoch names an object's fork: its header's, or its attested header's. */
export const slotOf = (o: LightObjects[LightObjectKind]): number =>
  'header' in o ? o.header.beacon.slot : o.attestedHeader.beacon.slot

/**
 * A beacon node's SSZ body of `fork` (its `Eth-Consensus-Version`) as digest and SSZ, once it
 * decodes and its slot is in that fork; throws a `LightClientError` otherwise.
 */
export function digestedLightObject<K extends LightObjectKind>(
  kind: K,
  fork: string,
  body: Uint8Array,
  config: ChainConfig,
): { bytes: Uint8Array; value: LightObjects[K] } {
  if (!(FORKS as readonly string[]).includes(fork))
    throw new LightClientError(
      'unsupported-fork',
      `${kind}: unknown fork ${JSON.stringify(fork.slice(0, 32))}`,
    )
  const value = decoders[kind](body, fork as ForkName, config) as LightObjects[K]
  const digest = computeForkDigest(config, epochAtSlot(config, slotOf(value)))
  if (forkOfDigest(config, digest) !== fork)
    throw new LightClientError(
      'malformed',
      `${kind}: a ${fork} container at slot ${slotOf(value)}, in another fork`,
    )
  const bytes = new Uint8Array(4 + body.length)
  bytes.set(digest)
  bytes.set(body, 4)
  return { bytes, value }
}
