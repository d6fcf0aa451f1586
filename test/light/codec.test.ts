/**
 * SSZ and Beacon API JSON codecs on the recordings: byte-exact round trips, JSON and SSZ forms of
 * the same object agreeing, and bad input refused with a `malformed` error naming the field.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import {
  bootstrapFromJson,
  bootstrapToJson,
  computeForkDigest,
  decodeBootstrap,
  decodeFinalityUpdate,
  decodeOptimisticUpdate,
  decodeUpdate,
  decodeUpdatesResponse,
  encodeBootstrap,
  encodeFinalityUpdate,
  encodeOptimisticUpdate,
  encodeUpdate,
  encodeUpdatesResponse,
  epochAtSlot,
  finalityUpdateFromJson,
  finalityUpdateToJson,
  LightClientError,
  mainnet,
  optimisticUpdateFromJson,
  optimisticUpdateToJson,
  updateFromJson,
  updatesFromJson,
  updateToJson,
} from '../../src/light/index.ts'
import { fixtureBytes, fixtureJson } from './fixtures.ts'

const malformed = (pattern: RegExp) => (e: unknown) =>
  e instanceof LightClientError && e.reason === 'malformed' && pattern.test(e.message)

describe('SSZ', () => {
  const denebUpdates = fixtureBytes('colibri-deneb/updates_period_1347_count_46.ssz')
  const denebBootstrap = fixtureBytes('colibri-deneb/bootstrap_0x2e522016a5ac7d8d.ssz')

  it('round-trips the recorded bootstraps and update lists byte for byte', () => {
    assert.deepEqual(
      encodeBootstrap(decodeBootstrap(denebBootstrap, 'deneb', mainnet), mainnet),
      denebBootstrap,
    )
    const electra = fixtureBytes('colibri-electra/bootstrap_0xb8758d4bd976e1b3.ssz')
    assert.deepEqual(
      encodeBootstrap(decodeBootstrap(electra, 'electra', mainnet), mainnet),
      electra,
    )
    for (const file of [
      'colibri-deneb/updates_period_1347_count_46.ssz',
      'colibri-electra/updates_period_1422_count_1.ssz',
      'colibri-electra/updates_period_1402_count_1.ssz',
    ]) {
      const bytes = fixtureBytes(file)
      const updates = decodeUpdatesResponse(bytes, mainnet)
      const again = encodeUpdatesResponse(updates, mainnet, (u) =>
        computeForkDigest(mainnet, epochAtSlot(mainnet, u.attestedHeader.beacon.slot)),
      )
      assert.deepEqual(again, bytes, file)
    }
  })

  it('JSON and SSZ forms agree (Capella recording through both)', () => {
    for (const u of updatesFromJson(fixtureJson('helios-capella/updates.json'), mainnet)) {
      assert.deepEqual(decodeUpdate(encodeUpdate(u, mainnet), 'capella', mainnet), u)
    }
    const f = finalityUpdateFromJson(fixtureJson('helios-capella/finality.json'), mainnet)
    assert.deepEqual(decodeFinalityUpdate(encodeFinalityUpdate(f), 'capella', mainnet), f)
    const o = optimisticUpdateFromJson(fixtureJson('helios-capella/optimistic.json'), mainnet)
    assert.deepEqual(decodeOptimisticUpdate(encodeOptimisticUpdate(o), 'capella', mainnet), o)
  })

  it('refuses short buffers, bad offsets and wrong lengths, naming the field', () => {
    assert.throws(
      () => decodeBootstrap(denebBootstrap.subarray(0, 100), 'deneb', mainnet),
      malformed(/at least \d+ bytes, got 100/),
    )
    const badOffset = denebBootstrap.slice()
    badOffset[0] = 3 // the header's offset no longer points past the fixed part
    assert.throws(
      () => decodeBootstrap(badOffset, 'deneb', mainnet),
      malformed(/LightClientBootstrap\(deneb\)\.header: first offset/),
    )
    const first = denebUpdates.subarray(
      12,
      8 + Number(new DataView(denebUpdates.buffer, denebUpdates.byteOffset).getBigUint64(0, true)),
    )
    assert.throws(
      () => decodeUpdate(first, 'electra', mainnet),
      LightClientError,
      'an update decoded as another fork',
    )
    // Cut into the last variable field (the finalized header's execution header).
    assert.throws(
      () => decodeUpdate(first.subarray(0, first.length - 100), 'deneb', mainnet),
      malformed(
        /LightClientUpdate\(deneb\)\.finalized_header\.execution: expected at least 584 bytes/,
      ),
    )
    assert.throws(
      () => decodeUpdatesResponse(denebUpdates.subarray(0, 20), mainnet),
      malformed(/updates\[0\]: length/),
    )
    assert.throws(
      () => decodeUpdatesResponse(denebUpdates, mainnet, 10),
      malformed(/more than 10 updates/),
    )
    // Gloas's bootstrap is fixed-size: a 496-byte header, the committee, an 11-node branch.
    assert.throws(
      () => decodeBootstrap(denebBootstrap, 'gloas', mainnet),
      malformed(/LightClientBootstrap\(gloas\): expected 25472 bytes, got 25631/),
    )
    assert.throws(
      () => decodeBootstrap(denebBootstrap, 'phase0', mainnet),
      (e: unknown) => e instanceof LightClientError && e.reason === 'unsupported-fork',
    )
  })
})

describe('Beacon API JSON', () => {
  it('round-trips the recorded JSON', () => {
    const bootstrap = fixtureJson('helios-capella/bootstrap.json')
    assert.deepEqual(bootstrapToJson(bootstrapFromJson(bootstrap, mainnet)), bootstrap)
    for (const u of fixtureJson('helios-capella/updates.json') as unknown[]) {
      assert.deepEqual(updateToJson(updateFromJson(u, mainnet), mainnet), u)
    }
    const f = fixtureJson('helios-capella/finality.json')
    assert.deepEqual(finalityUpdateToJson(finalityUpdateFromJson(f, mainnet)), f)
    const o = fixtureJson('helios-capella/optimistic.json')
    assert.deepEqual(optimisticUpdateToJson(optimisticUpdateFromJson(o, mainnet)), o)
  })

  it('refuses missing fields, wrong lengths, bad numbers and unknown versions, naming the field', () => {
    // biome-ignore lint/suspicious/noExplicitAny: the test reaches into the JSON to break it
    type Loose = Record<string, any>
    const base = fixtureJson('helios-capella/finality.json') as { version: string; data: Loose }
    const variant = (change: (d: Loose) => void, version = base.version) => {
      const copy = structuredClone(base)
      change(copy.data)
      return { version, data: copy.data }
    }
    assert.throws(
      () =>
        finalityUpdateFromJson(
          variant((d) => delete d.signature_slot),
          mainnet,
        ),
      malformed(/data\.signature_slot: expected a decimal integer string/),
    )
    assert.throws(
      () =>
        finalityUpdateFromJson(
          variant((d) => (d.signature_slot = '-1')),
          mainnet,
        ),
      malformed(/signature_slot/),
    )
    assert.throws(
      () =>
        finalityUpdateFromJson(
          variant((d) => (d.signature_slot = '18446744073709551616')),
          mainnet,
        ),
      malformed(/not a uint64/),
    )
    assert.throws(
      () =>
        finalityUpdateFromJson(
          variant((d) => d.finality_branch.pop()),
          mainnet,
        ),
      malformed(/finality_branch: expected 6 nodes, got 5/),
    )
    assert.throws(
      () =>
        finalityUpdateFromJson(
          variant((d) => (d.attested_header.execution.state_root = '0x1234')),
          mainnet,
        ),
      malformed(/attested_header\.execution\.state_root: expected 32 bytes, got 2/),
    )
    assert.throws(
      () =>
        finalityUpdateFromJson(
          variant((d) => (d.attested_header.execution.extra_data = `0x${'00'.repeat(33)}`)),
          mainnet,
        ),
      malformed(/extra_data: 33 bytes, at most 32/),
    )
    assert.throws(
      () =>
        finalityUpdateFromJson(
          variant((d) => (d.sync_aggregate.sync_committee_bits = 'ff')),
          mainnet,
        ),
      malformed(/sync_committee_bits: expected 0x-prefixed hex/),
    )
    assert.throws(
      () =>
        finalityUpdateFromJson(
          variant(() => {}, 'shanghai'),
          mainnet,
        ),
      malformed(/unknown fork version "shanghai"/),
    )
    assert.throws(
      () =>
        finalityUpdateFromJson(
          variant(() => {}, 'deneb'),
          mainnet,
        ),
      malformed(/blob_gas_used/),
    )
    assert.throws(() => updatesFromJson({}, mainnet), malformed(/expected an array/))
  })
})
