/**
 * What `light()` asks of a source of light-client data: a beacon node's REST API (`beaconApi`),
 * an outlast relay (`/outlast/lc/1.0.0`), anything that can hand over the sync protocol's
 * objects. A source is untrusted: it decodes what it received into the core's types, and
 * `light()` verifies every object before it counts. A source decides nothing.
 */
import type { Hex } from '../shared/types.ts'
import type {
  LightClientBootstrap,
  LightClientFinalityUpdate,
  LightClientOptimisticUpdate,
  LightClientUpdate,
} from './types.ts'

export type LightSourceCallOptions = {
  /** Aborts the call when `light()` no longer needs it (a faster source answered, `stop()`). */
  signal?: AbortSignal | undefined
}

/**
 * A source of light-client data. Every method resolves with decoded objects, or `undefined`
 * (an empty list for `updates`) when the source has nothing for the request (a 404, not synced
 * yet): that is no failure and no lie. It rejects with a `SourceError` when it could not be
 * reached or answered out of bounds, and with a `LightClientError('malformed')` when what it
 * sent does not decode (that one counts as a lie).
 */
export type LightClientSource = {
  /** Unique name, shown in events, errors and `status()` (never a URL's path or query). */
  readonly name: string
  /** Failure domain (operator + region); sources in one domain count once when agreeing on a checkpoint. @default the name */
  readonly domain?: string | undefined
  /** LightClientBootstrap for a beacon block root (a finalized epoch-boundary block). */
  bootstrap(root: Hex, options?: LightSourceCallOptions): Promise<LightClientBootstrap | undefined>
  /** LightClientUpdatesByRange: the best update of each period from `startPeriod`, `count` ≤ 128, in order. */
  updates(
    startPeriod: number,
    count: number,
    options?: LightSourceCallOptions,
  ): Promise<LightClientUpdate[]>
  /** The newest LightClientFinalityUpdate it knows. */
  finalityUpdate(options?: LightSourceCallOptions): Promise<LightClientFinalityUpdate | undefined>
  /** The newest LightClientOptimisticUpdate it knows. */
  optimisticUpdate(
    options?: LightSourceCallOptions,
  ): Promise<LightClientOptimisticUpdate | undefined>
  /**
   * The beacon block root the source holds final (`/eth/v1/beacon/headers/finalized`), and its
   * slot: a claim, used only to find a checkpoint that sources in two failure domains agree on.
   * Without it, the claim is the finalized header of its finality update.
   */
  finalizedRoot?(options?: LightSourceCallOptions): Promise<{ root: Hex; slot: number } | undefined>
  /**
   * Pushes new updates as the source learns them (an SSE stream, gossip). Returns a function
   * that stops the stream. Without it, `light()` polls once per slot.
   */
  events?(
    onFinality: (update: LightClientFinalityUpdate) => void,
    onOptimistic: (update: LightClientOptimisticUpdate) => void,
  ): () => void
  /** Releases connections (called by `light().stop()`). */
  close?(): Promise<void> | void
}

/** The most updates one `updates` call may ask for (MAX_REQUEST_LIGHT_CLIENT_UPDATES). */
export const MAX_REQUEST_LIGHT_CLIENT_UPDATES = 128
