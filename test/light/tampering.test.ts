/**
 * Every tampered object is refused with the reason of the check it breaks, and leaves the store
 * as it was: 0 accepted. Real mainnet recordings (Capella JSON, Electra SSZ) are altered one
 * field at a time; the participation rule (under 2/3 never finalizes) uses a committee whose keys
 * the test holds (synthetic.ts), since no recording has a valid minority signature.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import {
  bootstrapFromJson,
  type ChainConfig,
  chainConfig,
  createLightClientCore,
  decodeBootstrap,
  decodeUpdatesResponse,
  finalityUpdateFromJson,
  type LightClientBootstrap,
  type LightClientCore,
  LightClientError,
  type LightClientReason,
  type LightClientUpdate,
  mainnet,
  optimisticUpdateFromJson,
  updatesFromJson,
} from '../../src/light/index.ts'
import { fixtureBytes, fixtureJson } from './fixtures.ts'
import { syntheticChain } from './synthetic.ts'

const CAPELLA_CHECKPOINT = '0x5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9275'
const ELECTRA_CHECKPOINT = '0xb8758d4bd976e1b33e62937ed31a709dba0a855869641581bef3d2a48b527690'

const bootstrap = bootstrapFromJson(fixtureJson('helios-capella/bootstrap.json'), mainnet)
const updates = updatesFromJson(fixtureJson('helios-capella/updates.json'), mainnet)
const finality = finalityUpdateFromJson(fixtureJson('helios-capella/finality.json'), mainnet)
const optimistic = optimisticUpdateFromJson(fixtureJson('helios-capella/optimistic.json'), mainnet)
const NOW = optimistic.signatureSlot

/** A store at period 866 (next committee known) and the untouched period-867 update. */
function atPeriod866(config: ChainConfig = mainnet): LightClientCore {
  const lc = createLightClientCore({ config, checkpoint: CAPELLA_CHECKPOINT, bootstrap })
  for (const u of updates.slice(0, 5)) lc.processUpdate(u, NOW)
  return lc
}
const victim = updates[5] as LightClientUpdate

const flip = (bytes: Uint8Array, at = 0): void => {
  bytes[at] = (bytes[at] as number) ^ 1
}

let refused = 0

/** `run` must throw a LightClientError with `reason`, a lie unless said otherwise, and change nothing. */
function refuses(
  lc: LightClientCore,
  reason: LightClientReason,
  run: () => unknown,
  lie = true,
): void {
  const before = {
    finalized: lc.store.finalizedHeader,
    optimistic: lc.store.optimisticHeader,
    current: lc.store.currentSyncCommittee,
    next: lc.store.nextSyncCommittee,
    best: lc.store.bestValidUpdate,
    max: [lc.store.previousMaxActiveParticipants, lc.store.currentMaxActiveParticipants],
  }
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof LightClientError, `expected a LightClientError, got ${String(e)}`)
    assert.equal(e.reason, reason, e.message)
    assert.equal(e.lie, lie)
    return true
  })
  assert.equal(lc.store.finalizedHeader, before.finalized)
  assert.equal(lc.store.optimisticHeader, before.optimistic)
  assert.equal(lc.store.currentSyncCommittee, before.current)
  assert.equal(lc.store.nextSyncCommittee, before.next)
  assert.equal(lc.store.bestValidUpdate, before.best)
  assert.deepEqual(
    [lc.store.previousMaxActiveParticipants, lc.store.currentMaxActiveParticipants],
    before.max,
  )
  refused++
}

describe('tampered light-client data is refused (Capella recording)', () => {
  it('the untouched recording is accepted (the baseline the cases alter)', () => {
    const lc = atPeriod866()
    assert.ok(lc.processUpdate(structuredClone(victim), NOW).finalized)
  })

  it('a signature from another update', () => {
    const u = structuredClone(victim)
    u.syncAggregate.syncCommitteeSignature = finality.syncAggregate.syncCommitteeSignature.slice()
    const lc = atPeriod866()
    refuses(lc, 'bad-signature', () => lc.processUpdate(u, NOW))
  })

  it('a signature that is the point at infinity, or whose infinity flag is flipped', () => {
    // 0xc0 then zeros is the canonical encoding of the identity in G2: well-formed, never valid.
    const infinity = new Uint8Array(96)
    infinity[0] = 0xc0
    const flagged = victim.syncAggregate.syncCommitteeSignature.slice()
    flagged[0] = (flagged[0] as number) ^ 0x40
    for (const signature of [infinity, flagged]) {
      const u = structuredClone(victim)
      u.syncAggregate.syncCommitteeSignature = signature
      const lc = atPeriod866()
      refuses(lc, 'bad-signature', () => lc.processUpdate(u, NOW))
    }
  })

  it('a flipped participation bit (a signer dropped, a non-signer added)', () => {
    const bits = victim.syncAggregate.syncCommitteeBits
    // A set bit cleared (byte 0), and a clear one set where the recording has one.
    const clear = [...bits].findIndex((b) => b !== 0xff)
    for (const at of clear >= 0 ? [0, clear] : [0, bits.length - 1]) {
      const u = structuredClone(victim)
      flip(u.syncAggregate.syncCommitteeBits, at)
      assert.notDeepEqual(u.syncAggregate.syncCommitteeBits, bits)
      const lc = atPeriod866()
      refuses(lc, 'bad-signature', () => lc.processUpdate(u, NOW))
    }
  })

  it('the attested slot ±1', () => {
    for (const delta of [1, -1]) {
      const u = structuredClone(victim)
      u.attestedHeader.beacon.slot += delta
      const lc = atPeriod866()
      const reason = u.attestedHeader.beacon.slot < u.signatureSlot ? 'bad-signature' : 'slot-order'
      refuses(lc, reason, () => lc.processUpdate(u, NOW))
    }
  })

  it('one byte of the execution state root or block hash (attested and finalized headers)', () => {
    const cases: ((u: LightClientUpdate) => void)[] = [
      (u) => flip(u.attestedHeader.execution?.stateRoot as Uint8Array, 31),
      (u) => flip(u.attestedHeader.execution?.blockHash as Uint8Array),
      (u) => flip(u.finalizedHeader?.execution?.stateRoot as Uint8Array),
      (u) => flip(u.finalizedHeader?.execution?.blockHash as Uint8Array, 17),
      (u) => {
        const e = u.finalizedHeader?.execution
        if (e) e.blockNumber += 1n
      },
    ]
    for (const tamper of cases) {
      const u = structuredClone(victim)
      tamper(u)
      const lc = atPeriod866()
      refuses(lc, 'invalid-header', () => lc.processUpdate(u, NOW))
    }
  })

  it('one byte of the finality branch or of the committee branch', () => {
    for (let i = 0; i < victim.finalityBranch.length; i++) {
      const u = structuredClone(victim)
      flip(u.finalityBranch[i] as Uint8Array, i)
      const lc = atPeriod866()
      refuses(lc, 'finality-branch', () => lc.processUpdate(u, NOW))
    }
    for (let i = 0; i < victim.nextSyncCommitteeBranch.length; i++) {
      const u = structuredClone(victim)
      flip(u.nextSyncCommitteeBranch[i] as Uint8Array, 31 - i)
      const lc = atPeriod866()
      refuses(lc, 'committee-branch', () => lc.processUpdate(u, NOW))
    }
  })

  it('a changed next-committee key (against the branch, and against the committee already verified)', () => {
    const u = structuredClone(victim)
    flip(u.nextSyncCommittee?.pubkeys[7] as Uint8Array, 20)
    const lc = atPeriod866()
    refuses(lc, 'committee-branch', () => lc.processUpdate(u, NOW))

    // A second period-866 update whose next committee differs from the one the store holds.
    const same = structuredClone(updates[4] as LightClientUpdate)
    flip(same.nextSyncCommittee?.aggregatePubkey as Uint8Array, 10)
    const lc2 = atPeriod866()
    assert.ok(same.attestedHeader.beacon.slot > lc2.finalized.slot)
    refuses(lc2, 'next-committee-mismatch', () => lc2.processUpdate(same, NOW))
  })

  it('a wrong fork version or genesis validators root', () => {
    const forks = Object.fromEntries(
      mainnet.forks.map((f) => [f.name, { epoch: f.epoch, version: f.version }]),
    )
    const base = {
      name: 'mainnet (altered)',
      preset: mainnet,
      genesisValidatorsRoot: mainnet.genesisValidatorsRoot,
      forks,
      blobSchedule: mainnet.blobSchedule,
    }
    const wrongVersion = chainConfig({
      ...base,
      forks: { ...forks, capella: { epoch: 194048, version: '0x03000001' } },
    })
    const wrongRoot = chainConfig({ ...base, genesisValidatorsRoot: new Uint8Array(32).fill(1) })
    for (const config of [wrongVersion, wrongRoot]) {
      const lc = createLightClientCore({ config, checkpoint: CAPELLA_CHECKPOINT, bootstrap })
      refuses(lc, 'bad-signature', () => lc.processUpdate(updates[0] as LightClientUpdate, NOW))
    }
  })

  it('a wrong checkpoint, and a bootstrap whose committee does not prove', () => {
    const wrong = `0x${'5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9276'}` as const
    assert.throws(
      () => createLightClientCore({ config: mainnet, checkpoint: wrong, bootstrap }),
      (e: unknown) => e instanceof LightClientError && e.reason === 'checkpoint-mismatch' && e.lie,
    )
    const b: LightClientBootstrap = structuredClone(bootstrap)
    flip(b.currentSyncCommittee.pubkeys[0] as Uint8Array, 5)
    assert.throws(
      () =>
        createLightClientCore({ config: mainnet, checkpoint: CAPELLA_CHECKPOINT, bootstrap: b }),
      (e: unknown) => e instanceof LightClientError && e.reason === 'committee-branch',
    )
    refused += 2
  })

  it('an update older than the store (stale, and from a period before it)', () => {
    const lc = atPeriod866()
    lc.processUpdate(victim, NOW)
    lc.processFinalityUpdate(finality, NOW)
    refuses(lc, 'stale', () => lc.processUpdate(victim, NOW), false)
    refuses(
      lc,
      'unknown-period',
      () => lc.processUpdate(updates[1] as LightClientUpdate, NOW),
      false,
    )
    const old = structuredClone(optimistic)
    old.attestedHeader = structuredClone(finality.finalizedHeader) as typeof old.attestedHeader
    refuses(lc, 'stale', () => lc.processOptimisticUpdate(old, NOW), false)
  })

  it('a signature slot in the future', () => {
    const lc = atPeriod866()
    refuses(
      lc,
      'future-signature-slot',
      () => lc.processUpdate(victim, victim.signatureSlot - 1),
      false,
    )
  })

  it('a finalized header without a finality branch, a next committee without its branch', () => {
    const u = structuredClone(victim)
    u.finalityBranch = u.finalityBranch.map(() => new Uint8Array(32))
    const lc = atPeriod866()
    refuses(lc, 'finalized-header-not-empty', () => lc.processUpdate(u, NOW))
    const v = structuredClone(victim)
    v.nextSyncCommitteeBranch = v.nextSyncCommitteeBranch.map(() => new Uint8Array(32))
    refuses(lc, 'next-committee-not-empty', () => lc.processUpdate(v, NOW))
  })

  it('no signers', () => {
    const u = structuredClone(victim)
    u.syncAggregate.syncCommitteeBits.fill(0)
    const lc = atPeriod866()
    refuses(lc, 'too-few-participants', () => lc.processUpdate(u, NOW))
  })
})

describe('tampered light-client data is refused (Electra recording, deeper branches)', () => {
  const electraBootstrap = decodeBootstrap(
    fixtureBytes('colibri-electra/bootstrap_0xb8758d4bd976e1b3.ssz'),
    'electra',
    mainnet,
  )
  const [update] = decodeUpdatesResponse(
    fixtureBytes('colibri-electra/updates_period_1422_count_1.ssz'),
    mainnet,
  )
  const fresh = () =>
    createLightClientCore({
      config: mainnet,
      checkpoint: ELECTRA_CHECKPOINT,
      bootstrap: electraBootstrap,
    })

  it('a finality branch, a committee branch, the attested state root', () => {
    assert.ok(update)
    const now = update.signatureSlot
    const a = structuredClone(update)
    flip(a.finalityBranch[6] as Uint8Array)
    let lc = fresh()
    refuses(lc, 'finality-branch', () => lc.processUpdate(a, now))
    const b = structuredClone(update)
    flip(b.nextSyncCommitteeBranch[0] as Uint8Array)
    lc = fresh()
    refuses(lc, 'committee-branch', () => lc.processUpdate(b, now))
    const c = structuredClone(update)
    flip(c.attestedHeader.beacon.stateRoot)
    lc = fresh()
    refuses(lc, 'finality-branch', () => lc.processUpdate(c, now))
    lc = fresh()
    assert.ok(
      lc.processUpdate(structuredClone(update), now).finalized,
      'the untouched update is accepted',
    )
  })
})

describe('participation (a committee whose keys the test holds)', () => {
  it('under 2/3 of the committee moves the optimistic head, never the finalized one', () => {
    const chain = syntheticChain()
    const lc = createLightClientCore({
      config: chain.config,
      checkpoint: chain.checkpoint,
      bootstrap: chain.bootstrap,
    })
    const minority = chain.finalityUpdate(40, 16, 21) // 21 × 3 = 63 < 64
    const change = lc.processFinalityUpdate(minority, 50)
    assert.deepEqual(change, { finalized: false, optimistic: true, committee: false })
    assert.equal(lc.finalized.slot, 8)
    assert.equal(lc.optimistic.slot, 40)
    assert.ok(
      lc.store.bestValidUpdate,
      'kept as the best valid update (for a forced update after the timeout)',
    )

    assert.equal(lc.forceUpdate(8 + 64).finalized, false, 'no forced update before UPDATE_TIMEOUT')
    const majority = chain.finalityUpdate(48, 24, 22) // 22 × 3 = 66 >= 64
    assert.ok(lc.processFinalityUpdate(majority, 50).finalized)
    assert.equal(lc.finalized.slot, 24)
    assert.equal(lc.finalized.execution?.blockNumber, 1024)
  })

  it('a minority-signed update with a tampered header is still refused', () => {
    const chain = syntheticChain()
    const lc = createLightClientCore({
      config: chain.config,
      checkpoint: chain.checkpoint,
      bootstrap: chain.bootstrap,
    })
    const u = chain.finalityUpdate(40, 16, 10)
    u.attestedHeader.beacon.proposerIndex += 1
    refuses(lc, 'bad-signature', () => lc.processFinalityUpdate(u, 50))
  })

  it('0 accepted', () => {
    assert.ok(refused >= 30, `${refused} refusals counted`)
  })
})
