/** The three mainnet captures as `BeaconCapture`s for the lab Beacon API, and a clock at a recorded slot. */

import type { Clock } from '../../src/core/clock.ts'
import { realClock } from '../../src/core/clock.ts'
import {
  bootstrapFromJson,
  decodeBootstrap,
  decodeUpdatesResponse,
  finalityUpdateFromJson,
  mainnet,
  optimisticUpdateFromJson,
  updatesFromJson,
} from '../../src/light/index.ts'
import type { BeaconCapture } from '../lab/beaconApi.ts'
import { fixtureBytes, fixtureJson } from './fixtures.ts'

export const CAPELLA_CHECKPOINT =
  '0x5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9275'
export const DENEB_CHECKPOINT = '0x2e522016a5ac7d8d57d758b633a25491a43d12750db8f417fd6cf264b7ec5650'
export const ELECTRA_CHECKPOINT =
  '0xb8758d4bd976e1b33e62937ed31a709dba0a855869641581bef3d2a48b527690'

/** Capella (helios, JSON): bootstrap in period 862, 6 period updates, finality (block 17923026), optimistic (17923113). */
export function capella(): BeaconCapture & { now: number } {
  const optimistic = optimisticUpdateFromJson(
    fixtureJson('helios-capella/optimistic.json'),
    mainnet,
  )
  return {
    config: mainnet,
    bootstrap: bootstrapFromJson(fixtureJson('helios-capella/bootstrap.json'), mainnet),
    updates: updatesFromJson(fixtureJson('helios-capella/updates.json'), mainnet),
    finality: finalityUpdateFromJson(fixtureJson('helios-capella/finality.json'), mainnet),
    optimistic,
    now: optimistic.signatureSlot,
  }
}

/** Deneb (colibri, SSZ): bootstrap in period 1347 and 46 period updates to block 22186786. */
export function deneb(): BeaconCapture & { now: number } {
  const updates = decodeUpdatesResponse(
    fixtureBytes('colibri-deneb/updates_period_1347_count_46.ssz'),
    mainnet,
  )
  return {
    config: mainnet,
    bootstrap: decodeBootstrap(
      fixtureBytes('colibri-deneb/bootstrap_0x2e522016a5ac7d8d.ssz'),
      'deneb',
      mainnet,
    ),
    updates,
    now: Math.max(...updates.map((u) => u.signatureSlot)),
  }
}

/** Electra (colibri, SSZ): bootstrap in period 1422 and its update to block 22432991. */
export function electra(): BeaconCapture & { now: number } {
  const updates = decodeUpdatesResponse(
    fixtureBytes('colibri-electra/updates_period_1422_count_1.ssz'),
    mainnet,
  )
  return {
    config: mainnet,
    bootstrap: decodeBootstrap(
      fixtureBytes('colibri-electra/bootstrap_0xb8758d4bd976e1b3.ssz'),
      'electra',
      mainnet,
    ),
    updates,
    now: Math.max(...updates.map((u) => u.signatureSlot)),
  }
}

/** A clock that reads `slot` (a second into it) now and runs on in real time; real timers. */
export function clockAtSlot(
  slot: number,
  genesisTime = mainnet.genesisTime as number,
  secondsPerSlot = 12,
): Clock {
  const at = (genesisTime + slot * secondsPerSlot) * 1000 + 1_000
  const t0 = Date.now()
  return { ...realClock, now: () => at + (Date.now() - t0) }
}
