/**
 * `light()` against ONE hostile light-client source that sends only well-formed, correctly
 * signed objects (relayed real signatures: a minority's vote, an update without finality, the
 * same update over and over), found by an audit; each test failed before its fix. In-memory
 * sources, a hand-driven clock, the minimal preset (32 members, 64-slot periods) of
 * test/light/synthetic.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import type { Clock } from '../../src/core/clock.ts'
import {
  type BlsVerifier,
  beaconBlockHeaderRoot,
  type LightClient,
  LightClientError,
  type LightClientFinalityUpdate,
  type LightClientHeader,
  type LightClientOptimisticUpdate,
  type LightClientUpdate,
  light,
  nobleVerifier,
  toHex,
} from '../../src/light/index.ts'
import { createLightPool } from '../../src/light/lightPool.ts'
import type { LightClientSource } from '../../src/light/sources.ts'
import { sseParser } from '../../src/light/sse.ts'
import { source } from './hostileSource2.helpers.ts'
import { denebLightHeader, filler, syntheticGloasChain } from './synthetic.ts'

const GENESIS = 1_600_000_000
const SECONDS = 6

/** A Fulu-era minimal chain (Gloas never comes), with a genesis time so `light()` can read slots. */
function chain() {
  const c = syntheticGloasChain(1_000_000)
  const config = { ...c.config, genesisTime: GENESIS, secondsPerSlot: SECONDS }
  const bootstrap = c.bootstrapAt(8)
  const checkpoint = toHex(beaconBlockHeaderRoot(bootstrap.header.beacon))
  /** What any node's optimistic stream hands out: a header signed by `signers`, no finality, no committee. */
  const optimistic = (attestedSlot: number, signers = 32): LightClientOptimisticUpdate => {
    const attestedHeader = denebLightHeader(attestedSlot, filler(attestedSlot + 300))
    return {
      fork: 'fulu',
      attestedHeader,
      syncAggregate: c.sign(attestedHeader, attestedSlot + 1, signers),
      signatureSlot: attestedSlot + 1,
    }
  }
  const asUpdate = (o: LightClientOptimisticUpdate): LightClientUpdate => ({
    ...o,
    nextSyncCommittee: undefined,
    nextSyncCommitteeBranch: Array.from({ length: 6 }, () => new Uint8Array(32)),
    finalizedHeader: undefined,
    finalityBranch: Array.from({ length: 7 }, () => new Uint8Array(32)),
  })
  /** A finality update "without finality": zero branch, empty finalized header (valid per spec). */
  const noFinality = (o: LightClientOptimisticUpdate): LightClientFinalityUpdate => ({
    ...o,
    finalizedHeader: undefined,
    finalityBranch: Array.from({ length: 7 }, () => new Uint8Array(32)),
  })
  const finality = (u: LightClientUpdate): LightClientFinalityUpdate => ({
    fork: u.fork,
    attestedHeader: u.attestedHeader,
    finalizedHeader: u.finalizedHeader,
    finalityBranch: u.finalityBranch,
    syncAggregate: u.syncAggregate,
    signatureSlot: u.signatureSlot,
  })
  return { ...c, config, bootstrap, checkpoint, optimistic, asUpdate, noFinality, finality }
}

/** A clock standing at `slot` (one second in); its timers fire only when the test fires them. */
function handClock(slot: number) {
  const timers = new Map<number, () => void>()
  let id = 0
  const clock: Clock = {
    now: () => (GENESIS + slot * SECONDS) * 1000 + 1000,
    setTimeout: (fn) => {
      timers.set(++id, fn)
      return id
    },
    clearTimeout: (h) => void timers.delete(h as number),
  }
  return { clock, timers, lastId: () => id }
}

/** The honest chain's period updates (one per period: attested at +40, finalized at +32, all sign). */
function honestUpdates(c: ReturnType<typeof chain>, upTo: number) {
  const all = [0, 1, 2, 3]
    .map((p) => c.update(p * 64 + 40, p * 64 + 32))
    .filter((u) => u.signatureSlot <= upTo)
  return (start: number, count: number) =>
    all.filter((u) => {
      const p = Math.floor(u.attestedHeader.beacon.slot / 64)
      return p >= start && p < start + count
    })
}

function start(
  c: ReturnType<typeof chain>,
  clock: Clock,
  sources: LightClientSource[],
  extra: Partial<Parameters<typeof light>[0]> = {},
): LightClient {
  return light({
    checkpoint: c.checkpoint,
    config: c.config,
    clock,
    sources,
    verifier: nobleVerifier(),
    ...extra,
  })
}

describe('one hostile light-client source with real signatures', () => {
  it('catch-up: an answer that only moves the optimistic head does not end it (the honest source is asked)', async () => {
    const c = chain()
    const now = 70 // period 1; bootstrap in period 0; no forced update due yet (70 <= 8 + 64)
    const { clock } = handClock(now)
    // Hostile, ranked first: answers updates-by-range with a real optimistic update of period 0
    // (signed by all 32: it only lacks finality and the next committee).
    const hostile = source('hostile', {
      bootstrap: c.bootstrap,
      updates: () => [c.asUpdate(c.optimistic(50))],
    })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
      updates: honestUpdates(c, now),
    })
    const lc = start(c, clock, [hostile.src, honest.src])
    try {
      await lc.start() // resolves: catch-up "succeeded"
      assert.ok(
        honest.calls.updates > 0,
        `the honest source was never asked for updates (hostile asked ${hostile.calls.updates}×)`,
      )
      // The honest period-0 update (finalizes slot 32, brings period 1's committee) catches up.
      assert.equal(
        lc.status().sync.finalizedSlot,
        32,
        'start() resolved with the store behind the clock (no next committee, finalized at the checkpoint)',
      )
    } finally {
      await lc.stop()
    }
  })

  it('forced update: a header signed by 1 of 32 never becomes finalized, vouched or the stored checkpoint', async () => {
    const c = chain()
    const now = 250 // period 3: the store (slot 8) is past UPDATE_TIMEOUT behind the clock
    const { clock } = handClock(now)
    const minority = c.update(50, 48, 1) // one member's signature (an orphan it voted for)
    const hostile = source('hostile', { bootstrap: c.bootstrap, updates: () => [minority] })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
      updates: honestUpdates(c, now),
      finality: () => c.finality(c.update(246, 240)),
    })
    const stored: string[] = []
    const lc = start(c, clock, [hostile.src, honest.src], {
      vouch: 'finalized',
      storage: { get: async () => undefined, set: (root) => void stored.push(root) },
    })
    try {
      await lc.start().catch(() => {})
      const bad = toHex(minority.finalizedHeader?.execution?.blockHash as Uint8Array)
      const badRoot = toHex(
        beaconBlockHeaderRoot((minority.finalizedHeader as LightClientHeader).beacon),
      )
      await new Promise((r) => setTimeout(r, 0))
      assert.ok(
        !stored.includes(badRoot),
        "the 1-of-32-signed header was stored as the next run's checkpoint",
      )
      assert.notEqual(
        lc.finalized()?.hash,
        bad,
        `finalized() is the 1-of-32-signed header at slot ${lc.finalized()?.slot}`,
      )
      assert.equal(
        await lc.trustedHeader({ hash: bad }),
        undefined,
        'trustedHeader vouches for a block only 1 of 32 members signed for',
      )
    } finally {
      await lc.stop()
    }
  })

  it("vouch 'optimistic' (default): right after bootstrap a header signed by 1 of 32 is not vouched", async () => {
    const c = chain()
    const now = 60
    const { clock } = handClock(now)
    const lone = c.optimistic(55, 1)
    const hostile = source('hostile', { bootstrap: c.bootstrap, optimistic: () => lone })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
    })
    const lc = start(c, clock, [hostile.src, honest.src])
    try {
      await lc.start()
      const hash = toHex(lone.attestedHeader.execution?.blockHash as Uint8Array)
      assert.equal(
        await lc.trustedHeader({ hash }),
        undefined,
        `trustedHeader vouches for a block 1 of 32 members signed for (head() is slot ${lc.head()?.slot})`,
      )
    } finally {
      await lc.stop()
    }
  })

  it('follow: a "finality update" without finality, answered first, does not keep the honest finality from being asked', async () => {
    const c = chain()
    const now = 60 // period 0: nothing to catch up
    const { clock } = handClock(now)
    const hostile = source('hostile', {
      bootstrap: c.bootstrap,
      finality: () => c.noFinality(c.optimistic(58)),
    })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
      finality: () => c.finality(c.update(56, 48)),
    })
    const lc = start(c, clock, [hostile.src, honest.src])
    try {
      await lc.start()
      assert.equal(
        lc.finalized()?.slot,
        48,
        `finalized stays at slot ${lc.finalized()?.slot}; honest finality asked ${honest.calls.finality}×, no lie marked (${lc.status().sources[0]?.condition})`,
      )
    } finally {
      await lc.stop()
    }
  })

  it('tick: an optimistic update pushed each slot by one stream does not stop finality polling of the others', async () => {
    const c = chain()
    const now = 60
    const { clock, timers } = handClock(now)
    let honestFinality: LightClientFinalityUpdate | undefined
    const hostile = source('hostile', { bootstrap: c.bootstrap, events: true })
    const honest = source('honest', {
      delay: 20,
      bootstrap: c.bootstrap,
      finality: () => honestFinality,
    })
    const lc = start(c, clock, [hostile.src, honest.src])
    try {
      await lc.start()
      assert.equal(lc.finalized()?.slot, 8)
      // The chain finalizes; the hostile stream relays the (real) optimistic head, never finality.
      honestFinality = c.finality(c.update(56, 48))
      hostile.pushOptimistic(c.optimistic(58))
      const before = honest.calls.finality
      for (const [id, fn] of [...timers]) {
        timers.delete(id)
        fn()
      }
      // The tick's asks set hedge timers of their own: wait for its outcome, not for a new timer.
      for (let i = 0; i < 200 && lc.finalized()?.slot !== 48; i++)
        await new Promise((r) => setTimeout(r, 5))
      assert.equal(
        lc.finalized()?.slot,
        48,
        `finalized stays at slot ${lc.finalized()?.slot}: the honest source was asked for finality ${honest.calls.finality - before}× in the tick`,
      )
    } finally {
      await lc.stop()
    }
  })

  // Each copy a stream pushes costs a pairing check unless it is known to move nothing. A real
  // vote of a few committee members (public on the beacon network, relayed: no forgery needed)
  // never moves the 2/3-signed header, so "newer than that" let every copy through.
  for (const [what, signers] of [
    ['one update signed by all', () => 32],
    ['one minority-signed update', () => 1],
    ['one header, its minority signers varied', (i: number) => 1 + (i % 10)],
  ] as const)
    it(`stream: ${what}, pushed 20 times, is verified once`, async () => {
      const c = chain()
      const { clock } = handClock(60)
      const noble = nobleVerifier()
      let checks = 0
      const counting: BlsVerifier = {
        name: 'counting',
        verifySyncAggregate(...args) {
          checks++
          return noble.verifySyncAggregate(...args)
        },
      }
      const hostile = source('hostile', { bootstrap: c.bootstrap, events: true })
      const lc = start(c, clock, [hostile.src], { verifier: counting })
      try {
        await lc.start()
        const start0 = checks
        for (let i = 0; i < 20; i++) hostile.pushOptimistic(c.optimistic(58, signers(i)))
        assert.equal(lc.head()?.slot, 58)
        assert.equal(checks - start0, 1, `${checks - start0} BLS verifications for 20 copies`)
      } finally {
        await lc.stop()
      }
    })

  it('strict: a stale stored root yields to the fresh configured checkpoint', async () => {
    const c = chain()
    // The configured checkpoint is fresh; storage holds an old root (the app was not run for weeks).
    const fresh = c.bootstrapAt(3 * 64 + 8)
    const now = 3 * 64 + 20
    const { clock } = handClock(now)
    const old = c.bootstrap // slot 8: (now - 8) × 6 s = 1_224 s > maxCheckpointAge 600 s
    const both: LightClientSource = {
      ...source('a', {}).src,
      async bootstrap(root) {
        for (const b of [old, fresh])
          if (toHex(beaconBlockHeaderRoot(b.header.beacon)) === root) return b
        return undefined
      },
    }
    const lc = light({
      checkpoint: toHex(beaconBlockHeaderRoot(fresh.header.beacon)),
      config: c.config,
      clock,
      sources: [both],
      verifier: nobleVerifier(),
      strict: true,
      maxCheckpointAge: 600,
      storage: { get: async () => c.checkpoint, set: () => {} },
    })
    try {
      const error = await lc.start().then(
        () => undefined,
        (e: Error) => e,
      )
      assert.equal(error, undefined, `start() rejected: ${error?.message}`)
      assert.equal(lc.status().sync.checkpointVia, 'config')
    } finally {
      await lc.stop()
    }
  })

  it("pool: a source whose answer is of a fork this version cannot read ('unsupported-fork') is not marked lying", async () => {
    const { clock } = handClock(0)
    const src = source('honest-but-newer', {}).src
    src.updates = async () => {
      throw new LightClientError(
        'unsupported-fork',
        'fork digest 0x12345678 is not a scheduled fork',
      )
    }
    const lies: string[] = []
    const pool = createLightPool([src], {
      clock,
      lieCooloff: 60_000,
      onLie: (e) => lies.push(e.reason),
    })
    await pool.ask(
      (s) => s.updates(0, 1),
      () => true,
    )
    assert.deepEqual(
      lies,
      [],
      `marked lying for ${lies.join(', ')} (isLie('unsupported-fork') is false)`,
    )
    assert.notEqual(pool.status()[0]?.condition, 'lying')
  })

  it('sseParser: an event past maxEventBytes that ends within one chunk is refused', () => {
    const p = sseParser(64)
    assert.throws(() => p.push(`data: ${'x'.repeat(1_000)}\n\n`), RangeError)
  })
})

describe('start() when no bootstrap could be had', () => {
  it('rejects, stays idle, and the next start() tries again (not the kept rejection)', async () => {
    const c = chain()
    const { clock } = handClock(60)
    const honest = source('honest', { bootstrap: c.bootstrap })
    let down = true
    const flaky: LightClientSource = {
      ...honest.src,
      bootstrap: async (root) => {
        if (down) throw new Error('fetch failed: ECONNREFUSED')
        return honest.src.bootstrap(root)
      },
    }
    const lc = start(c, clock, [flaky])
    try {
      await assert.rejects(lc.start())
      assert.equal(lc.status().sync.state, 'idle')
      down = false
      await lc.start()
      assert.equal(lc.status().sync.state, 'following')
      assert.equal(lc.status().sync.checkpoint, c.checkpoint)
    } finally {
      await lc.stop()
    }
  })
})
