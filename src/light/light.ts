/**
 * `light()`: a beacon-chain light client over untrusted sources. It bootstraps from a checkpoint,
 * catches up period by period, follows finality and optimistic updates (pushed where a source
 * streams them, else polled once a slot), and hands the trust store the execution block hashes
 * the sync committee signed: `createOutlast({ trustedHeader: lc.trustedHeader, prover: proofs() })`.
 * Every object is verified by the core (core.ts); a source that sends a lie is cut off and the
 * next one asked. With no honest source it stops moving: an error, never a wrong head.
 */
import type { Clock } from '../core/clock.ts'
import { realClock } from '../core/clock.ts'
import { createEmitter } from '../core/emitter.ts'
import type { TrustedHeaderHook } from '../core/trust.ts'
import { AllSourcesFailedError, ConfigError } from '../shared/errors.ts'
import type { Hex } from '../shared/types.ts'
import type { BlsVerifier } from './bls.ts'
import {
  agreedRoot,
  type CheckpointStorage,
  type CheckpointVia,
  checkpointAge,
  collectRootClaims,
  WEAK_SUBJECTIVITY_SECONDS,
} from './checkpoint.ts'
import { createCore, type LightClientCore, type VerifiedHead } from './core.ts'
import { LightClientError } from './errors.ts'
import { type ChainConfig, mainnet, periodAtSlot, slotAtTime } from './forks.ts'
import {
  createLightPool,
  type LieEvent,
  type LightSourceStatus,
  type Member,
  type Outcome,
} from './lightPool.ts'
import { type LightClientSource, MAX_REQUEST_LIGHT_CLIENT_UPDATES } from './sources.ts'
import { hasSupermajority, type StoreChange } from './sync.ts'
import type { LightClientOptimisticUpdate, LightClientUpdate } from './types.ts'

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

/**
 * A verified execution block: its hash and number, and the beacon block that carries it. From
 * Gloas on (ePBS) it is the block the beacon block's bid builds on (its payload came with an
 * earlier slot), and the light-client header keeps only its hash: `number` is undefined there.
 */
export type LightBlock = { hash: Hex; number: number | undefined; slot: number; beaconRoot: Hex }

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
   * bootstrap that verifies (or `strict` refused the checkpoint's age): nothing to follow. Rejects
   * too when it could not catch up, but keeps trying each slot.
   */
  start(): Promise<void>
  stop(): Promise<void>
}

const KEEP = 1_024

export function light(options: LightOptions): LightClient {
  const {
    sources,
    config = mainnet,
    clock = realClock,
    strict = false,
    storage,
    maxCheckpointAge = WEAK_SUBJECTIVITY_SECONDS,
    lieCooloff = 60_000,
    vouch = 'optimistic',
    verifier,
  } = options
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`light: ${what}`)
  }
  check(
    Array.isArray(sources) && sources.length > 0,
    'sources must list at least one light-client source',
  )
  check(new Set(sources.map((s) => s.name)).size === sources.length, 'source names must be unique')
  check(
    config.genesisTime !== undefined,
    `config ${config.name} has no genesisTime: the clock cannot be read as a slot`,
  )
  check(
    options.checkpoint === undefined || /^0x[0-9a-fA-F]{64}$/.test(options.checkpoint),
    `checkpoint must be a 32-byte 0x-hex beacon block root, got ${JSON.stringify(options.checkpoint)}`,
  )
  check(
    vouch === 'optimistic' || vouch === 'finalized',
    `vouch must be 'optimistic' or 'finalized', got ${JSON.stringify(vouch)}`,
  )
  check(
    verifier === undefined || typeof verifier?.verifySyncAggregate === 'function',
    'verifier must be a BlsVerifier: nobleVerifier(), or await fastestVerifier() / blstVerifier()',
  )
  check(
    Number.isFinite(maxCheckpointAge) && maxCheckpointAge > 0,
    `maxCheckpointAge must be seconds > 0, got ${maxCheckpointAge}`,
  )

  const events = createEmitter<LightEvents>()
  const pool = createLightPool(sources, { clock, lieCooloff, onLie: (e) => events.emit('lie', e) })
  const controller = new AbortController()
  let core: LightClientCore | undefined
  let state: LightSyncState = 'idle'
  let checkpoint: { root: Hex; via: CheckpointVia; age: number } | undefined
  let started: Promise<void> | undefined
  let timer: unknown
  /** The slot in which a stream last moved the finalized (and the optimistic) head. */
  const pushed = { finalized: -1, optimistic: -1 }
  const streams: (() => void)[] = []
  let shown = { finalized: -1, optimistic: -1, signed: -1 }
  /** Execution block hash → the block, and number → hash, of every head it verified (bounded). */
  const vouched = new Map<string, LightBlock>()
  const byNumber = new Map<number, Hex>()

  const currentSlot = () => slotAtTime(config, clock.now()) as number

  const blockOf = (h: VerifiedHead): LightBlock | undefined =>
    h.execution && {
      hash: h.execution.blockHash,
      number: h.execution.blockNumber,
      slot: h.slot,
      beaconRoot: h.beaconRoot,
    }

  const remember = (b: LightBlock | undefined) => {
    if (!b || vouched.has(b.hash)) return
    vouched.set(b.hash, b)
    if (b.number !== undefined) byNumber.set(b.number, b.hash)
    if (vouched.size > KEEP) {
      const [hash, { number }] = vouched.entries().next().value as [string, LightBlock]
      vouched.delete(hash)
      if (number !== undefined && byNumber.get(number) === hash) byNumber.delete(number)
    }
  }

  /** Tells of moved heads, remembers them for the hook, stores the finalized root. */
  const afterChange = () => {
    if (!core) return
    const f = core.finalized
    const o = core.optimistic
    if (f.slot > shown.finalized) {
      shown = { ...shown, finalized: f.slot }
      const b = blockOf(f)
      remember(b)
      if (b) events.emit('finalized', b)
      if (storage) {
        Promise.resolve()
          .then(() => storage.set(f.beaconRoot))
          .catch((error: unknown) =>
            events.emit('warning', {
              kind: 'storage',
              message: `storing the finalized root failed: ${(error as Error)?.message}`,
            }),
          )
      }
    }
    if (o.slot > shown.optimistic) {
      shown = { ...shown, optimistic: o.slot }
      const b = blockOf(o)
      if (b) events.emit('head', b)
    }
    // Vouched: a head 2/3 of its committee signed, not the optimistic one (right after a
    // bootstrap one signature moves that: the spec's safety threshold starts at 0).
    const s = core.signed
    if (vouch === 'optimistic' && s.slot > shown.signed) {
      shown = { ...shown, signed: s.slot }
      remember(blockOf(s))
    }
  }

  /** The newest block the hook vouches for (`latest` state reads are proven there). */
  const newestVouched = (): Hex | undefined => {
    let newest: LightBlock | undefined
    for (const b of vouched.values()) if (!newest || b.slot > newest.slot) newest = b
    return newest?.hash
  }

  const changed = (c: StoreChange) => c.finalized || c.optimistic || c.committee
  /** What catching up and finality polls are for: an answer that only moved the optimistic head is no answer. */
  const settled = (c: StoreChange) => c.finalized || c.committee

  /** The first candidate checkpoint whose bootstrap verifies. */
  const bootstrap = async () => {
    const candidates: { root: Hex; via: CheckpointVia }[] = []
    const stored = storage ? await storage.get().catch(() => undefined) : undefined
    if (stored !== undefined) {
      if (/^0x[0-9a-fA-F]{64}$/.test(stored))
        candidates.push({ root: stored.toLowerCase() as Hex, via: 'storage' })
      else
        events.emit('warning', {
          kind: 'storage',
          message: `ignored a stored checkpoint that is not a block root: ${JSON.stringify(stored).slice(0, 80)}`,
        })
    }
    if (options.checkpoint)
      candidates.push({ root: options.checkpoint.toLowerCase() as Hex, via: 'config' })
    const failures: { source: string; reason: string }[] = []
    if (candidates.length === 0) {
      const { claims, failures: missing } = await collectRootClaims(sources, controller.signal)
      const agreed = agreedRoot(claims)
      if (!agreed) {
        const said = claims.map((c) => ({
          source: c.source,
          reason: `claims ${c.root} at slot ${c.slot} (${c.from}, domain ${c.domain})`,
        }))
        throw new AllSourcesFailedError(
          'light_client checkpoint (no root agreed by two failure domains)',
          [...said, ...missing],
        )
      }
      candidates.push({ root: agreed.root, via: 'agreed' })
    }
    // The BLS code loads with the first bootstrap, not with the page (the curve is most of
    // outlast/light's weight); the bootstrap itself is fetched meanwhile.
    let bls = verifier
    const blsLoaded = bls
      ? Promise.resolve()
      : import('./bls.ts').then(({ nobleVerifier }) => {
          bls = nobleVerifier()
        })
    // One past the weak subjectivity period is kept back while a later candidate may be fresh
    // (a root stored weeks ago must not shadow the checkpoint the app was given).
    let stale: { core: LightClientCore; root: Hex; via: CheckpointVia } | undefined
    for (const c of candidates) {
      const { value, outcomes } = await pool.ask(
        async (s, signal) => (await Promise.all([s.bootstrap(c.root, { signal }), blsLoaded]))[0],
        (b) =>
          createCore({ config, checkpoint: c.root, bootstrap: b, verifier: bls as BlsVerifier }),
        controller.signal,
      )
      if (!value) {
        failures.push(...reasons(outcomes, `bootstrap ${c.root} (${c.via})`))
        continue
      }
      if (checkpointAge(config, value.finalized.slot, currentSlot()) <= maxCheckpointAge)
        return { core: value, ...c }
      stale ??= { core: value, ...c }
    }
    if (stale) return stale
    throw new AllSourcesFailedError('light_client bootstrap', failures)
  }

  /** Applies a period's updates in order; a lie is thrown once the valid ones before it are kept. */
  const applyUpdates = (updates: readonly LightClientUpdate[], now: number): true | undefined => {
    const lc = core as LightClientCore
    let progressed = false
    for (const u of updates) {
      try {
        if (settled(lc.processUpdate(u, now))) progressed = true
      } catch (error) {
        if (error instanceof LightClientError && error.lie) {
          afterChange()
          throw error
        }
        // Stale or for a period it cannot use yet: an honest source's old news.
      }
    }
    afterChange()
    return progressed || undefined
  }

  /** The committee of the clock's period is known. */
  const caughtUp = (lc: LightClientCore, now: number) => {
    const target = periodAtSlot(config, now)
    return lc.period >= target || (lc.period === target - 1 && lc.nextCommitteeKnown)
  }

  /** Updates by range, ≤ 128 periods a call, until the store holds the clock's period's committee. */
  const catchUp = async (): Promise<Outcome[]> => {
    const lc = core as LightClientCore
    const outcomes: Outcome[] = []
    for (;;) {
      if (controller.signal.aborted) return []
      const now = currentSlot()
      const target = periodAtSlot(config, now)
      const startPeriod = lc.nextCommitteeKnown ? lc.period + 1 : lc.period
      if (startPeriod > target) return []
      const count = Math.min(MAX_REQUEST_LIGHT_CLIENT_UPDATES, target - startPeriod + 1)
      const before = `${lc.period}/${lc.nextCommitteeKnown}/${lc.finalized.slot}`
      const round = await pool.ask(
        (s, signal) =>
          s.updates(startPeriod, count, { signal }).then((u) => (u.length > 0 ? u : undefined)),
        (updates) => applyUpdates(updates, now),
        controller.signal,
      )
      outcomes.push(...round.outcomes)
      if (`${lc.period}/${lc.nextCommitteeKnown}/${lc.finalized.slot}` === before) {
        return caughtUp(lc, now) ? [] : outcomes
      }
    }
  }

  /**
   * One round of the newest finality and optimistic updates (each skipped when a stream moved
   * that head this slot), then the forced update the spec asks for when stuck. A finality
   * answer counts only if it moved the finalized head: one that merely moved the optimistic
   * head (a "finality update" without finality) does not stop the next source being asked.
   */
  const follow = async (now: number) => {
    const lc = core as LightClientCore
    if (pushed.finalized !== now)
      await pool.ask(
        (s, signal) => s.finalityUpdate({ signal }),
        (u) => (settled(lc.processFinalityUpdate(u, now)) ? true : undefined),
        controller.signal,
      )
    afterChange()
    if (pushed.optimistic !== now)
      await pool.ask(
        (s, signal) => s.optimisticUpdate({ signal }),
        (u) => (changed(lc.processOptimisticUpdate(u, now)) ? true : undefined),
        controller.signal,
      )
    forceWhenStuck(lc, now)
    afterChange()
  }

  /**
   * The spec's forced update, narrowed: only once caught up (a store behind the clock for want
   * of updates is not a chain that stopped finalizing), and only with an update 2/3 of the
   * committee signed (else one signer's vote would become the finalized head, vouched and
   * stored as the next checkpoint). Without it the store waits: an error, not a wrong head.
   */
  const forceWhenStuck = (lc: LightClientCore, now: number) => {
    const best = lc.store.bestValidUpdate
    if (best && hasSupermajority(best.syncAggregate.syncCommitteeBits) && caughtUp(lc, now))
      lc.forceUpdate(now)
  }

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
        // Old news is not verified again: a stream repeating one update costs no signature checks.
        if (!newsFor(core, u, finalized)) return
        const now = currentSlot()
        try {
          const change = apply(core, now)
          if (change.finalized) pushed.finalized = now
          if (change.optimistic) pushed.optimistic = now
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
    const lc = core as LightClientCore
    const now = currentSlot()
    if (!caughtUp(lc, now)) {
      const outcomes = await catchUp()
      if (outcomes.length > 0 && !caughtUp(lc, currentSlot())) {
        events.emit(
          'error',
          new AllSourcesFailedError('light_client updates', reasons(outcomes, 'updates')),
        )
      }
    }
    await follow(now)
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
    const b = await bootstrap()
    const now = currentSlot()
    const age = checkpointAge(config, b.core.finalized.slot, now)
    if (age > maxCheckpointAge) {
      const days = (age / 86_400).toFixed(1)
      const message = `checkpoint ${b.root} (${b.via}, slot ${b.core.finalized.slot}) is ${days} days old, past the weak subjectivity period of ${(maxCheckpointAge / 86_400).toFixed(1)} days: take a newer one from a source you trust`
      if (strict) {
        state = 'idle'
        throw new ConfigError(`light: ${message} (strict).`)
      }
      events.emit('warning', { kind: 'old-checkpoint', message })
    }
    core = b.core
    checkpoint = { root: b.root, via: b.via, age }
    afterChange()
    state = 'catching-up'
    const outcomes = await catchUp()
    if (controller.signal.aborted) return
    state = 'following'
    listen()
    await follow(currentSlot()).catch((error: unknown) => events.emit('error', error as Error))
    schedule()
    if (outcomes.length > 0 && !caughtUp(b.core, currentSlot())) {
      throw new AllSourcesFailedError(
        'light_client updates (catching up)',
        reasons(outcomes, 'updates'),
      )
    }
  }

  return {
    trustedHeader: async (block) => {
      if ('hash' in block) return vouched.has(String(block.hash).toLowerCase()) ? true : undefined
      if ('latest' in block) return newestVouched()
      return byNumber.get(Number(block.number))
    },
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
      started ??= run()
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

function reasons(outcomes: readonly Outcome[], what: string): { source: string; reason: string }[] {
  return outcomes.map((o) => ({ source: o.source, reason: `${what}: ${o.outcome}: ${o.reason}` }))
}

/**
 * Whether a pushed update could change the store: a header newer than the newest one 2/3 signed,
 * or (a finality update) a newer finalized header. Anything else is verified once already or
 * moves nothing worth a signature check.
 */
function newsFor(
  lc: LightClientCore,
  u: LightClientOptimisticUpdate,
  finalized: number | undefined,
): boolean {
  return (
    u.attestedHeader.beacon.slot > lc.signed.slot ||
    (finalized !== undefined && finalized > lc.finalized.slot)
  )
}
