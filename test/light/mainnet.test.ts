/**
 * Mainnet recordings replayed through the verifying core: the Capella capture (Beacon API JSON),
 * 46 consecutive Deneb periods and the first Electra period (Beacon API SSZ). Each must reach
 * the recorded finalized execution block. Per-update CPU times are annotated, not asserted.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import {
  bootstrapFromJson,
  createLightClientCore,
  decodeBootstrap,
  decodeUpdatesResponse,
  finalityUpdateFromJson,
  LightClientError,
  mainnet,
  optimisticUpdateFromJson,
  updatesFromJson,
} from '../../src/light/index.ts'
import { fixtureBytes, fixtureJson } from './fixtures.ts'

const CAPELLA_CHECKPOINT = '0x5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9275'
const DENEB_CHECKPOINT = '0x2e522016a5ac7d8d57d758b633a25491a43d12750db8f417fd6cf264b7ec5650'
const ELECTRA_CHECKPOINT = '0xb8758d4bd976e1b33e62937ed31a709dba0a855869641581bef3d2a48b527690'

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

describe('mainnet recordings', () => {
  it('Capella (helios JSON): bootstrap, 6 periods, finality to block 17923026, optimistic to 17923113', async (t) => {
    const bootstrap = bootstrapFromJson(fixtureJson('helios-capella/bootstrap.json'), mainnet)
    const lc = createLightClientCore({ config: mainnet, checkpoint: CAPELLA_CHECKPOINT, bootstrap })
    assert.equal(lc.period, 862)
    const finality = finalityUpdateFromJson(fixtureJson('helios-capella/finality.json'), mainnet)
    const optimistic = optimisticUpdateFromJson(
      fixtureJson('helios-capella/optimistic.json'),
      mainnet,
    )
    const now = optimistic.signatureSlot // the recording's clock: the newest slot in it
    const updates = updatesFromJson(fixtureJson('helios-capella/updates.json'), mainnet)
    assert.equal(updates.length, 6)
    for (const u of updates) lc.processUpdate(u, now)
    assert.equal(lc.period, 867)
    assert.ok(lc.nextCommitteeKnown)

    const change = lc.processFinalityUpdate(finality, now)
    assert.ok(change.finalized)
    assert.equal(lc.finalized.slot, 7109344)
    assert.equal(lc.finalized.execution?.blockNumber, 17923026)
    assert.equal(
      lc.finalized.execution?.blockHash,
      '0xbc8499537876e5406c7a65e25f99063f1cd85a17014a3aa5ade38271b1fbf64f',
    )

    lc.processOptimisticUpdate(optimistic, now)
    assert.equal(lc.optimistic.slot, 7109431)
    assert.equal(lc.optimistic.execution?.blockNumber, 17923113)
    assert.equal(
      lc.finalized.execution?.blockNumber,
      17923026,
      'an optimistic update finalizes nothing',
    )
    await t.annotate(
      `capella: finalized ${lc.finalized.execution?.blockNumber}, optimistic ${lc.optimistic.execution?.blockNumber}`,
    )
  })

  it('Deneb (colibri SSZ): 46 periods 1347–1392 to finalized block 22186786', async (t) => {
    const t0 = performance.now()
    const bootstrap = decodeBootstrap(
      fixtureBytes('colibri-deneb/bootstrap_0x2e522016a5ac7d8d.ssz'),
      'deneb',
      mainnet,
    )
    const lc = createLightClientCore({ config: mainnet, checkpoint: DENEB_CHECKPOINT, bootstrap })
    const bootstrapMs = performance.now() - t0
    assert.equal(lc.period, 1347)
    const updates = decodeUpdatesResponse(
      fixtureBytes('colibri-deneb/updates_period_1347_count_46.ssz'),
      mainnet,
    )
    assert.equal(updates.length, 46)
    const now = Math.max(...updates.map((u) => u.signatureSlot))
    const times: number[] = []
    for (const u of updates) {
      const start = performance.now()
      lc.processUpdate(u, now)
      times.push(performance.now() - start)
    }
    assert.equal(lc.period, 1392)
    assert.equal(lc.finalized.slot, 11403328)
    assert.equal(lc.finalized.execution?.blockNumber, 22186786)
    await t.annotate(
      `deneb: bootstrap ${bootstrapMs.toFixed(1)} ms (first, cold), period update median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (noble, pure JS)`,
    )
  })

  it('Electra (colibri SSZ): bootstrap in period 1422 and its update to block 22432991', () => {
    const bootstrap = decodeBootstrap(
      fixtureBytes('colibri-electra/bootstrap_0xb8758d4bd976e1b3.ssz'),
      'electra',
      mainnet,
    )
    const lc = createLightClientCore({ config: mainnet, checkpoint: ELECTRA_CHECKPOINT, bootstrap })
    assert.equal(lc.period, 1422)
    const [update] = decodeUpdatesResponse(
      fixtureBytes('colibri-electra/updates_period_1422_count_1.ssz'),
      mainnet,
    )
    assert.ok(update)
    assert.equal(update.fork, 'electra')
    lc.processUpdate(update, update.signatureSlot)
    assert.equal(lc.finalized.slot, 11651008)
    assert.equal(lc.finalized.execution?.blockNumber, 22432991)
    assert.ok(lc.nextCommitteeKnown)
  })

  it('Electra: the stale period-1402 (Deneb) update is refused, no committee for its period', () => {
    const bootstrap = decodeBootstrap(
      fixtureBytes('colibri-electra/bootstrap_0xb8758d4bd976e1b3.ssz'),
      'electra',
      mainnet,
    )
    const lc = createLightClientCore({ config: mainnet, checkpoint: ELECTRA_CHECKPOINT, bootstrap })
    const [stale] = decodeUpdatesResponse(
      fixtureBytes('colibri-electra/updates_period_1402_count_1.ssz'),
      mainnet,
    )
    assert.ok(stale)
    assert.equal(stale.fork, 'deneb')
    const before = lc.finalized
    assert.throws(
      () => lc.processUpdate(stale, bootstrap.header.beacon.slot + 100),
      (e: unknown) =>
        e instanceof LightClientError &&
        e.reason === 'unknown-period' &&
        /period 1402/.test(e.message),
    )
    assert.deepEqual(lc.finalized, before)
    assert.equal(lc.store.bestValidUpdate, undefined)
  })
})
