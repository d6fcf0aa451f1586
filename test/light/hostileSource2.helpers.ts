/**
 * Helpers for hostileSource.test.ts and hostileSource2.test.ts: a Fulu-era minimal chain (its
 * committee's keys held by the test), a clock the test moves and whose timers fire only when
 * fired, and in-memory sources that count their calls and push to their stream listeners.
 */
import type { Clock } from '../../src/core/clock.ts'
import {
  beaconBlockHeaderRoot,
  type LightClientBootstrap,
  type LightClientFinalityUpdate,
  type LightClientOptimisticUpdate,
  type LightClientUpdate,
  toHex,
} from '../../src/light/index.ts'
import type { LightClientSource } from '../../src/light/sources.ts'
import { denebLightHeader, filler, syntheticGloasChain } from './synthetic.ts'

export const GENESIS = 1_600_000_000
export const SECONDS = 6

const zeros = (n: number) => Array.from({ length: n }, () => new Uint8Array(32))

/** A Fulu-era minimal chain (Gloas never comes) with a genesis time; bootstrap at slot 8. */
export function chain() {
  const c = syntheticGloasChain(1_000_000)
  const config = { ...c.config, genesisTime: GENESIS, secondsPerSlot: SECONDS }
  const bootstrap = c.bootstrapAt(8)
  const checkpoint = toHex(beaconBlockHeaderRoot(bootstrap.header.beacon))
  /** A real optimistic update: the header at `attestedSlot`, signed by `signers` at +1. */
  const optimistic = (attestedSlot: number, signers = 32): LightClientOptimisticUpdate => {
    const attestedHeader = denebLightHeader(attestedSlot, filler(attestedSlot + 300))
    return {
      fork: 'fulu',
      attestedHeader,
      syncAggregate: c.sign(attestedHeader, attestedSlot + 1, signers),
      signatureSlot: attestedSlot + 1,
    }
  }
  /** A real finality update (attested at `attested`, finalizing `finalized`, all 32 sign). */
  const finality = (attested: number, finalized: number): LightClientFinalityUpdate => {
    const u = c.update(attested, finalized)
    return {
      fork: u.fork,
      attestedHeader: u.attestedHeader,
      finalizedHeader: u.finalizedHeader,
      finalityBranch: u.finalityBranch,
      syncAggregate: u.syncAggregate,
      signatureSlot: u.signatureSlot,
    }
  }
  /** A real period update stripped of its next committee: it moves finality only. */
  const finalityOnly = (attested: number, finalized: number): LightClientUpdate => ({
    ...c.update(attested, finalized),
    nextSyncCommittee: undefined,
    nextSyncCommitteeBranch: zeros(6),
  })
  const hashOf = (h: { execution?: { blockHash: Uint8Array } | undefined }) =>
    toHex(h.execution?.blockHash as Uint8Array)
  return { ...c, config, bootstrap, checkpoint, optimistic, finality, finalityOnly, hashOf }
}
export type Chain = ReturnType<typeof chain>

/** A clock standing at `slot` (one second in), moved by `to(slot)`; timers fire only by `fire()`. */
export function movingClock(slot: number) {
  let at = slot
  const timers = new Map<number, () => void>()
  let id = 0
  const clock: Clock = {
    now: () => (GENESIS + at * SECONDS) * 1000 + 1000,
    setTimeout: (fn) => {
      timers.set(++id, fn)
      return id
    },
    clearTimeout: (h) => void timers.delete(h as number),
  }
  return {
    clock,
    timers,
    to: (slot: number) => {
      at = slot
    },
    /** Fires every timer set so far (the slot tick among them). */
    fire: () => {
      for (const [key, fn] of [...timers]) {
        timers.delete(key)
        fn()
      }
    },
  }
}

export type Served = {
  bootstrap?: LightClientBootstrap
  updates?: (start: number, count: number) => LightClientUpdate[]
  finality?: () => LightClientFinalityUpdate | undefined
  optimistic?: () => LightClientOptimisticUpdate | undefined
  events?: boolean
  /** Ms each answer takes (the hostile answers at once, so it is ranked first). */
  delay?: number
}

/** An in-memory source counting the calls it gets; `push*` reach its event listeners. */
export function source(name: string, s: Served) {
  const calls = { bootstrap: 0, updates: 0, finality: 0, optimistic: 0 }
  const listeners: {
    f: (u: LightClientFinalityUpdate) => void
    o: (u: LightClientOptimisticUpdate) => void
  }[] = []
  const wait = () => new Promise((r) => setTimeout(r, s.delay ?? 0))
  const src: LightClientSource = {
    name,
    domain: name,
    async bootstrap(root) {
      calls.bootstrap++
      await wait()
      return s.bootstrap && toHex(beaconBlockHeaderRoot(s.bootstrap.header.beacon)) === root
        ? s.bootstrap
        : undefined
    },
    async updates(start, count) {
      calls.updates++
      await wait()
      return s.updates?.(start, count) ?? []
    },
    async finalityUpdate() {
      calls.finality++
      await wait()
      return s.finality?.()
    },
    async optimisticUpdate() {
      calls.optimistic++
      await wait()
      return s.optimistic?.()
    },
    ...(s.events && {
      events(f, o) {
        const l = { f, o }
        listeners.push(l)
        return () => void listeners.splice(listeners.indexOf(l), 1)
      },
    }),
  }
  return {
    src,
    calls,
    pushOptimistic: (u: LightClientOptimisticUpdate) => {
      for (const l of listeners) l.o(u)
    },
    pushFinality: (u: LightClientFinalityUpdate) => {
      for (const l of listeners) l.f(u)
    },
  }
}

/** Waits (real time, in 5 ms steps, at most ~2 s) until `done()`. */
export async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5))
}
