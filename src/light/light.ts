/**
 * `light()`: a beacon-chain light client over untrusted sources. It bootstraps from a checkpoint,
 * catches up period by period, follows finality and optimistic updates (pushed where a source
 * streams them, else polled once a slot), and hands the trust store the execution block hashes
 * the sync committee signed: `createOutlast({ trustedHeader: lc.trustedHeader, prover: proofs() })`.
 * Every object is verified by the core (core.ts); a source that sends a lie is cut off and the
 * next one asked. With no honest source it stops moving: an error, never a wrong head.
 */
import type { Clock } from '../core/clock.ts'
import { createEmitter } from '../core/emitter.ts'
import type { TrustedHeaderHook } from '../core/trust.ts'
import { AllSourcesFailedError, ConfigError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import type { BlsVerifier } from './bls.ts'
import { countBits } from './bytes.ts'
import { type CheckpointStorage, type CheckpointVia, checkpointAge } from './checkpoint.ts'
import type { LightClientCore } from './core.ts'
import { LightClientError } from './errors.ts'
import { type ChainConfig, slotAtTime } from './forks.ts'
import { bootstrapLight } from './lightBootstrap.ts'
import { lightSettings } from './lightOptions.ts'
import {
  createLightPool,
  type LieEvent,
  type LightSourceStatus,
  type Member,
  reasons,
} from './lightPool.ts'
import { catchUp, caughtUp, current, follow, type Round } from './lightRounds.ts'
import type { LightClientSource } from './sources.ts'
import { getSafetyThreshold, hasSupermajority, type StoreChange } from './sync.ts'
import type { LightClientOptimisticUpdate } from './types.ts'
import { blockOf, createVouched, type LightBlock } from './vouched.ts'

export type LightOptions = {
  /** The trusted beacon block root to start from (a finalized epoch-boundary block). @default the stored root, else one two failure domains agree on */
  checkpoint?: Hex
  /** Where light-client data comes from: `beaconApi(url)`, outlast relays. At least one. */
  sources: readonly LightClientSource[]
  /** @default mainnet */
  config?: ChainConfig
  /** Time (the slot is read from it). @default the real clock */
  clock?: Clock
  /** Refuse a checkpoint older than `maxCheckpointAge` instead of warning. @default false */
  strict?: boolean
  /** Keeps the last finalized root between runs; a stored root is tried before `checkpoint` (after it, when past `maxCheckpointAge`). @default none */
  storage?: CheckpointStorage
  /** Seconds a checkpoint may be old before a `warning` (weak subjectivity). @default 1_209_600 (14 days) */
  maxCheckpointAge?: number
  /** Ms a source that lied gets no traffic. @default 60_000 */
  lieCooloff?: number
  /** Which verified heads the `trustedHeader` hook vouches for: those 2/3 of the sync committee signed (not yet final) too, or only finalized ones. @default 'optimistic' */
  vouch?: 'optimistic' | 'finalized'
  /** Checks sync committee signatures; in Node, `await fastestVerifier()` uses `@chainsafe/blst` when installed. @default nobleVerifier() (pure JS) */
  verifier?: BlsVerifier
}

export type { LightBlock } from './vouched.ts'

export type LightSyncState = 'idle' | 'bootstrapping' | 'catching-up' | 'following' | 'stopped'

export type LightStatus = {
  sources: LightSourceStatus[]
  sync: {
    state: LightSyncState
    /** The sync committee period of the finalized head. */
    period: number | undefined
    finalizedSlot: number | undefined
    optimisticSlot: number | undefined
    /** The clock's slot. */
    currentSlot: number
    checkpoint: Hex | undefined
    checkpointVia: CheckpointVia | undefined
    /** Seconds between the checkpoint's slot and the clock's when it was taken. */
    checkpointAge: number | undefined
  }
}

export type LightWarning = { kind: 'old-checkpoint' | 'storage' | 'behind'; message: string }

export type LightEvents = {
  /** The optimistic head moved. */
  head: LightBlock
  /** The finalized head moved. */
  finalized: LightBlock
  /** A source sent an object refused as a lie; it is cut off for `lieCooloff`. */
  lie: LieEvent
  warning: LightWarning
  /** A sync round failed (every source failed or lied); it is tried again next slot. */
  error: Error
}

export type LightClient = {
  /** The hook for `createOutlast({ trustedHeader })`: vouches for the execution block hashes it verified. */
  trustedHeader: TrustedHeaderHook
  /** The optimistic head's execution block, undefined before the first sync (or before Capella). */
  head(): LightBlock | undefined
  finalized(): LightBlock | undefined
  status(): LightStatus
  on<K extends keyof LightEvents>(event: K, fn: (payload: LightEvents[K]) => void): void
  off<K extends keyof LightEvents>(event: K, fn: (payload: LightEvents[K]) => void): void
  /**
   * Bootstraps and catches up to the clock's period, then follows. Rejects when no source gave a
   * bootstrap that verifies (or `strict` refused the checkpoint's age): nothing to follow, and
   * the next call tries again. Rejects too when it could not catch up, but keeps trying each slot.
   */
  start(): Promise<void>
  stop(): Promise<void>
}

export function light(options: LightOptions): LightClient {
  const o = lightSettings(options)
  const { sources, config, clock } = o
  const events = createEmitter<LightEvents>()
  const pool = createLightPool(sources, {
    clock,
    lieCooloff: o.lieCooloff,
    onLie: (e) => events.emit('lie', e),
  })
  const controller = new AbortController()
  const vouched = createVouched()
  let core: LightClientCore | undefined
  let state: LightSyncState = 'idle'
  let checkpoint: { root: Hex; via: CheckpointVia; age: number } | undefined
  let started: Promise<void> | undefined
  let timer: unknown
  /** The slot in which a stream last moved the finalized (and the optimistic) head. */
  const pushed = { finalized: -1, optimistic: -1 }
  const streams: (() => void)[] = []
  let shown = { finalized: -1, optimistic: -1, signed: -1 }

  const currentSlot = () => slotAtTime(config, clock.now()) as number

  /** Tells of moved heads, remembers them for the hook, stores the finalized root. */
  const afterChange = () => {
    if (!core) return
    const f = core.finalized
    const h = core.optimistic
    if (f.slot > shown.finalized) {
      shown = { ...shown, finalized: f.slot }
      const b = blockOf(f)
      vouched.remember(b)
      if (b) events.emit('finalized', b)
      if (o.storage) store(o.storage, f.beaconRoot)
    }
    if (h.slot > shown.optimistic) {
      shown = { ...shown, optimistic: h.slot }
      const b = blockOf(h)
      if (b) events.emit('head', b)
    }
    // Vouched: a head 2/3 of its committee signed, not the optimistic one (right after a
    // bootstrap one signature moves that: the spec's safety threshold starts at 0).
    const s = core.signed
    if (o.vouch === 'optimistic' && s.slot > shown.signed) {
      shown = { ...shown, signed: s.slot }
      vouched.remember(blockOf(s))
    }
  }

  const store = (storage: CheckpointStorage, root: Hex) =>
    Promise.resolve()
      .then(() => storage.set(root))
      .catch((error: unknown) =>
        events.emit('warning', {
          kind: 'storage',
          message: `storing the finalized root failed: ${(error as Error)?.message}`,
        }),
      )

  const round = (lc: LightClientCore): Round => ({
    core: lc,
    pool,
    config,
    signal: controller.signal,
    pushed,
    afterChange,
    currentSlot,
  })

  /** Pushed updates, verified like polled ones; a lie cuts its source off. */
  const listen = () => {
    for (const m of pool.members) {
      if (!m.source.events) continue
      const take = (
        u: LightClientOptimisticUpdate,
        finalized: number | undefined,
        apply: (lc: LightClientCore, now: number) => StoreChange,
      ) => {
        if (!core || controller.signal.aborted || m.lyingUntil > clock.now()) return
        // An update that could move nothing is never verified (`newsFor`): repeats cost no checks.
        if (!newsFor(core, u, finalized)) return
        const now = currentSlot()
        try {
          const change = apply(core, now)
          // Old news, though newer than the store, does not stand for this slot's poll.
          if (current(u, now)) {
            if (change.finalized) pushed.finalized = now
            if (change.optimistic) pushed.optimistic = now
          }
        } catch (error) {
          if (error instanceof LightClientError && error.lie) pool.lied(m as Member, error)
        }
        afterChange()
      }
      streams.push(
        m.source.events(
          (u) =>
            take(u, u.finalizedHeader?.beacon.slot ?? 0, (lc, now) =>
              lc.processFinalityUpdate(u, now),
            ),
          (u) => take(u, undefined, (lc, now) => lc.processOptimisticUpdate(u, now)),
        ),
      )
    }
  }

  const tick = async () => {
    const r = round(core as LightClientCore)
    const now = currentSlot()
    if (!caughtUp(config, r.core, now)) {
      const outcomes = await catchUp(r)
      if (outcomes.length > 0 && !caughtUp(config, r.core, currentSlot())) {
        events.emit(
          'error',
          new AllSourcesFailedError('light_client updates', reasons(outcomes, 'updates')),
        )
      }
    }
    await follow(r, now)
  }

  /** The next poll: a third into the next slot (the block and its sync aggregate are out by then). */
  const schedule = () => {
    if (controller.signal.aborted) return
    const slotMs = config.secondsPerSlot * 1000
    const sinceGenesis = clock.now() - (config.genesisTime as number) * 1000
    const wait = (((slotMs / 3 - sinceGenesis) % slotMs) + slotMs) % slotMs || slotMs
    timer = clock.setTimeout(() => {
      tick()
        .catch((error: unknown) => events.emit('error', error as Error))
        .finally(schedule)
    }, wait)
  }

  const run = async () => {
    state = 'bootstrapping'
    const b = await bootstrapLight(o, pool, controller.signal, currentSlot, (w) =>
      events.emit('warning', w),
    )
    const age = checkpointAge(config, b.core.finalized.slot, currentSlot())
    if (age > o.maxCheckpointAge) {
      const days = (age / 86_400).toFixed(1)
      const message = `checkpoint ${b.root} (${b.via}, slot ${b.core.finalized.slot}) is ${days} days old, past the weak subjectivity period of ${(o.maxCheckpointAge / 86_400).toFixed(1)} days: take a newer one from a source you trust`
      if (o.strict) {
        state = 'idle'
        throw new ConfigError(`light: ${message} (strict).`)
      }
      events.emit('warning', { kind: 'old-checkpoint', message })
    }
    core = b.core
    checkpoint = { root: b.root, via: b.via, age }
    afterChange()
    state = 'catching-up'
    const r = round(b.core)
    const outcomes = await catchUp(r)
    if (controller.signal.aborted) return
    state = 'following'
    listen()
    await follow(r, currentSlot()).catch((error: unknown) => events.emit('error', error as Error))
    schedule()
    if (outcomes.length > 0 && !caughtUp(config, b.core, currentSlot())) {
      throw new AllSourcesFailedError(
        'light_client updates (catching up)',
        reasons(outcomes, 'updates'),
      )
    }
  }

  return {
    trustedHeader: vouched.hook,
    head: () => (core ? blockOf(core.optimistic) : undefined),
    finalized: () => (core ? blockOf(core.finalized) : undefined),
    status: () => ({
      sources: pool.status(),
      sync: {
        state,
        period: core?.period,
        finalizedSlot: core?.finalized.slot,
        optimisticSlot: core?.optimistic.slot,
        currentSlot: currentSlot(),
        checkpoint: checkpoint?.root,
        checkpointVia: checkpoint?.via,
        checkpointAge: checkpoint?.age,
      },
    }),
    on: (event, fn) => events.on(event, fn),
    off: (event, fn) => events.removeListener(event, fn),
    start() {
      if (controller.signal.aborted)
        return Promise.reject(new ConfigError('light: start() after stop().'))
      started ??= run().catch((error: unknown) => {
        // No bootstrap (none verified, or `strict` refused it): nothing runs, so the next
        // start() tries again (a catch-up that failed goes on trying by itself).
        if (!core) {
          started = undefined
          state = 'idle'
        }
        throw error
      })
      return started
    },
    async stop() {
      controller.abort()
      clock.clearTimeout(timer)
      for (const stop of streams.splice(0)) stop()
      state = 'stopped'
      await Promise.all(sources.map((s) => s.close?.()))
    },
  }
}

/**
 * Whether a pushed update could change the store: move the optimistic header (newer, and signed
 * by more than the safety threshold), the 2/3-signed header (newer, 2/3 signed) or, a finality
 * update, the finalized header (newer, 2/3 signed). Counting its signers is cheap; a signature
 * check is not: an update that could move nothing is never verified, so a stream repeating one
 * (say a real minority vote, relayed over and over, or with its signers varied) costs nothing.
 */
function newsFor(
  lc: LightClientCore,
  u: LightClientOptimisticUpdate,
  finalized: number | undefined,
): boolean {
  const bits = u.syncAggregate.syncCommitteeBits
  const slot = u.attestedHeader.beacon.slot
  const twoThirds = hasSupermajority(bits)
  return (
    (slot > lc.store.optimisticHeader.beacon.slot &&
      countBits(bits) > getSafetyThreshold(lc.store)) ||
    (twoThirds && slot > lc.signed.slot) ||
    (twoThirds && finalized !== undefined && finalized > lc.finalized.slot)
  )
}
