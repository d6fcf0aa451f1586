/** `is_valid_light_client_header` (consensus-specs capella and deneb light-client/sync-protocol.md). */
import { isZero } from './bytes.ts'
import { isEmptyExecution } from './codec.ts'
import { type ChainConfig, forkAtLeast, forkAtSlot, GINDEX } from './forks.ts'
import { gindexDepth, isValidMerkleBranch, subtreeIndex } from './merkle.ts'
import { lcExecutionRoot } from './roots.ts'
import type { LightClientHeader } from './types.ts'

/**
 * True when the header is consistent: before Deneb no blob gas, before Capella no execution
 * header at all, and from Capella on the execution payload header proves into the body root.
 */
export function isValidLightClientHeader(config: ChainConfig, header: LightClientHeader): boolean {
  const fork = forkAtSlot(config, header.beacon.slot).name
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
