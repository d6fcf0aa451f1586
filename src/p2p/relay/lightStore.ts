/**
 * A relay's own light-client store, for judging gossip: bootstrapped from its operator's beacon
 * node (that node's finalized block is the checkpoint: the operator trusts their own node, as
 * the RPC relay does for heads) and kept in step with the periods its updates are signed in.
 * A gossiped finality or optimistic update is passed on only if it verifies against this store
 * (the committee's signature, branches, slots), so a forged update dies at the first relay. The
 * store only filters what is passed on: clients verify everything themselves.
 */
import {
  type ChainConfig,
  createLightClientCore,
  decodeUpdatesResponse,
  type LightClientCore,
  LightClientError,
  periodAtSlot,
  type StoreChange,
  slotAtTime,
} from '../../light/index.ts'
import { yieldToEventLoop } from '../../shared/yield.ts'
import { digestedLightObject, type LightObjects } from '../lightObjects.ts'
import type { BeaconNode } from './beaconNode.ts'

export type RelayLightStore = {
  /**
   * Verifies (and applies) an update; a refusal comes back as the `LightClientError`, and
   * undefined means there is no store yet (the node gave no bootstrap): decoding is all that
   * was checked.
   */
  verify(
    kind: 'finality' | 'optimistic',
    update: LightObjects['finality' | 'optimistic'],
  ): Promise<StoreChange | LightClientError | undefined>
  status(): { period: number; finalizedSlot: number } | undefined
}

/** How often a missing store is tried again, and periods caught up, at most (ms). */
const RETRY = 12_000

export function relayLightStore(
  beacon: BeaconNode,
  config: ChainConfig,
  now: () => number = Date.now,
): RelayLightStore {
  let core: LightClientCore | undefined
  let starting: Promise<void> | undefined
  let lastStart = Number.NEGATIVE_INFINITY
  let caughtUpTo = -1
  let lastCatchUp = Number.NEGATIVE_INFINITY
  const slot = () => slotAtTime(config, now()) ?? Number.MAX_SAFE_INTEGER

  const start = async () => {
    const root = await beacon.finalizedRoot()
    const got = await beacon.bootstrap(root)
    if (!got) return
    const { value } = digestedLightObject('bootstrap', got.fork, got.body, config)
    core = createLightClientCore({ config, checkpoint: root, bootstrap: value })
  }
  /** The store, once there is one; a start in flight is waited for, a failed one tried again after RETRY. */
  const ready = async () => {
    if (core) return core
    if (!starting && now() - lastStart >= RETRY) {
      lastStart = now()
      starting = start()
        .catch(() => {})
        .finally(() => {
          starting = undefined
        })
    }
    await starting
    return core
  }

  /** The node's period updates from the store's period to `target` (one request, at most 128). */
  const fetchAndApply = async (lc: LightClientCore, target: number) => {
    const count = Math.min(128, target - lc.period + 1)
    if (count < 1) return
    const bytes = await beacon.updates(lc.period, count).catch(() => undefined)
    let updates: ReturnType<typeof decodeUpdatesResponse> = []
    try {
      updates = bytes ? decodeUpdatesResponse(bytes, config, count) : []
    } catch {}
    for (const u of updates) {
      // ~50 ms of signature checking each: peers' requests are served between them.
      await yieldToEventLoop()
      try {
        lc.processUpdate(u, slot())
      } catch {}
    }
  }
  /** One catch-up at a time; another for the same period waits for it, then at most every RETRY ms. */
  let catching: Promise<void> | undefined
  const catchUp = async (lc: LightClientCore, target: number) => {
    while (catching) await catching
    if (target <= caughtUpTo && now() - lastCatchUp < RETRY) return
    caughtUpTo = target
    lastCatchUp = now()
    catching = fetchAndApply(lc, target).finally(() => {
      catching = undefined
    })
    await catching
  }

  const apply = (
    lc: LightClientCore,
    kind: 'finality' | 'optimistic',
    update: LightObjects['finality' | 'optimistic'],
  ) =>
    kind === 'finality'
      ? lc.processFinalityUpdate(update as LightObjects['finality'], slot())
      : lc.processOptimisticUpdate(update, slot())

  return {
    async verify(kind, update) {
      const lc = await ready()
      if (!lc) return undefined
      try {
        return apply(lc, kind, update)
      } catch (error) {
        if (!(error instanceof LightClientError)) throw error
        if (error.reason !== 'unknown-period') return error
      }
      // Signed in a period the store has no committee for yet: its own node's updates first.
      await catchUp(lc, periodAtSlot(config, update.signatureSlot))
      try {
        return apply(lc, kind, update)
      } catch (error) {
        if (error instanceof LightClientError) return error
        throw error
      }
    },
    status: () => (core ? { period: core.period, finalizedSlot: core.finalized.slot } : undefined),
  }
}
