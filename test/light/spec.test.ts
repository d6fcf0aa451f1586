/**
 * consensus-spec-tests light_client/sync vectors (minimal preset: 32-member committees, 64-slot
 * periods), Deneb and Electra, three cases each: every step's finalized and optimistic header
 * (slot, beacon root, execution root) must match after process_update and force_update.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'vitest'
import {
  beaconBlockHeaderRoot,
  configFromSpecValues,
  decodeBootstrap,
  decodeUpdate,
  forkOfDigest,
  fromHex,
  initializeLightClientStore,
  type LightClientHeader,
  lcExecutionRoot,
  MINIMAL_PRESET,
  nobleVerifier,
  processLightClientStoreForceUpdate,
  processLightClientUpdate,
  toHex,
} from '../../src/light/index.ts'
import {
  configValues,
  fixtureText,
  type HeaderCheck,
  metaValue,
  specSteps,
  sszSnappy,
} from './fixtures.ts'

const CASES = [
  'light_client_sync',
  'supply_sync_committee_from_past_update',
  'advance_finality_without_sync_committee',
]

for (const fork of ['deneb', 'electra']) {
  describe(`spec vectors, minimal ${fork}`, () => {
    for (const name of CASES) {
      it(name, () => {
        const dir = `spec-minimal/${fork}/${name}/`
        const gvr = metaValue(`${dir}meta.yaml`, 'genesis_validators_root')
        const config = configFromSpecValues(configValues(`${dir}config.yaml`), MINIMAL_PRESET, gvr)
        const bootstrapFork = forkOfDigest(
          config,
          fromHex(metaValue(`${dir}meta.yaml`, 'bootstrap_fork_digest'), 'digest', 4),
        )
        assert.equal(bootstrapFork, fork)
        const bootstrap = decodeBootstrap(
          sszSnappy(`${dir}bootstrap.ssz_snappy`),
          bootstrapFork,
          config,
        )
        const store = initializeLightClientStore(
          fromHex(metaValue(`${dir}meta.yaml`, 'trusted_block_root'), 'trusted_block_root', 32),
          bootstrap,
          { config, verifier: nobleVerifier() },
        )
        const expect = (header: LightClientHeader, want: HeaderCheck, what: string) => {
          assert.deepEqual(
            {
              slot: header.beacon.slot,
              beaconRoot: toHex(beaconBlockHeaderRoot(header.beacon)),
              executionRoot: toHex(lcExecutionRoot(config, header)),
            },
            want,
            what,
          )
        }
        const steps = specSteps(`${dir}steps.yaml`)
        const digests = [
          ...fixtureText(`${dir}steps.yaml`).matchAll(/update_fork_digest: '(0x[0-9a-f]{8})'/g),
        ]
        let processed = 0
        steps.forEach((step, i) => {
          if (step.kind === 'process_update') {
            const digest = digests[processed++]?.[1] as string
            const updateFork = forkOfDigest(config, fromHex(digest, 'update_fork_digest', 4))
            const update = decodeUpdate(
              sszSnappy(`${dir}${step.update}.ssz_snappy`),
              updateFork,
              config,
            )
            processLightClientUpdate(store, update, step.currentSlot)
          } else {
            processLightClientStoreForceUpdate(store, step.currentSlot)
          }
          expect(store.finalizedHeader, step.finalized, `step ${i} (${step.kind}) finalized header`)
          expect(
            store.optimisticHeader,
            step.optimistic,
            `step ${i} (${step.kind}) optimistic header`,
          )
        })
        assert.ok(steps.length > 0)
        assert.equal(processed, digests.length, 'one update_fork_digest per process_update step')
      })
    }
  })
}
