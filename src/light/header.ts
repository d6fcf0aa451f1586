/** `is_valid_light_client_header` (consensus-specs capella, deneb and gloas light-client/sync-protocol.md). */
import { isZero } from './bytes.ts'
import { isEmptyExecution } from './codec.ts'
import { type ChainConfig, forkAtLeast, forkAtSlot, GINDEX } from './forks.ts'
import {
  gindexDepth,
  isValidMerkleBranch,
  isValidNormalizedMerkleBranch,
  subtreeIndex,
} from './merkle.ts'
import { lcExecutionRoot } from './roots.ts'
import type { LightClientHeader } from './types.ts'

/**
 * True when the header is consistent with the fork of its own slot: before Deneb no blob gas,
 * before Capella no execution data at all, from Capella on the execution payload header (or, in
 * a Gloas-shaped header, the execution block hash) proves into the body root, and from Gloas on
 * only a Gloas-shaped header.
 */
export function isValidLightClientHeader(config: ChainConfig, header: LightClientHeader): boolean {
  const fork = forkAtSlot(config, header.beacon.slot).name
  if (header.executionBlockHash) return isValidGloasShaped(fork, header)
  if (forkAtLeast(fork, 'gloas')) return false
  const e = header.execution
  if (
    !forkAtLeast(fork, 'deneb') &&
    e &&
    ((e.blobGasUsed ?? 0n) !== 0n || (e.excessBlobGas ?? 0n) !== 0n)
  )
    return false
  if (!forkAtLeast(fork, 'capella'))
    return (!e || isEmptyExecution(e)) && header.executionBranch.every(isZero)
  if (!e) return false
  return isValidMerkleBranch(
    lcExecutionRoot(config, header),
    header.executionBranch,
    gindexDepth(GINDEX.executionPayload),
    subtreeIndex(GINDEX.executionPayload),
    header.beacon.bodyRoot,
  )
}

/**
 * A header in Gloas's container (the execution block hash and an 11-node branch), at a slot of
 * any fork: from Gloas on the hash is the body's bid's `parent_block_hash`; before, the payload
 * header's `block_hash`, its branch normalized (leading zero nodes).
 */
function isValidGloasShaped(
  fork: ReturnType<typeof forkAtSlot>['name'],
  header: LightClientHeader,
): boolean {
  const hash = header.executionBlockHash as Uint8Array
  if (header.execution) return false
  const gindex = forkAtLeast(fork, 'gloas')
    ? GINDEX.executionBlockHashGloas
    : forkAtLeast(fork, 'deneb')
      ? GINDEX.executionBlockHashDeneb
      : forkAtLeast(fork, 'capella')
        ? GINDEX.executionBlockHash
        : undefined
  if (gindex === undefined) return isZero(hash) && header.executionBranch.every(isZero)
  return isValidNormalizedMerkleBranch(hash, header.executionBranch, gindex, header.beacon.bodyRoot)
}
