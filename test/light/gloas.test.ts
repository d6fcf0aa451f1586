/**
 * Gloas (consensus-specs gloas light-client/sync-protocol.md): the light-client header keeps the
 * execution block hash alone (EIP-7732, the block body's bid's `parent_block_hash`), and the
 * state's progressive container (EIP-7688) deepens every branch. No spec-test vectors exist for
 * Gloas yet, so a committee whose keys the test holds signs a chain that crosses the fork
 * (synthetic.ts): Fulu data in Fulu's containers, Gloas data in Gloas's, and Fulu-era headers
 * upgraded into Gloas's containers with normalized branches. Every tampering case is refused as
 * a lie and leaves the store as it was. End to end: a Gloas lab beacon finalizes a real anvil
 * block, and `light()` + `proofs()` prove state reads against it while two RPCs lie.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  beaconApi,
  beaconBlockHeaderRoot,
  bootstrapFromJson,
  bootstrapToJson,
  chainConfig,
  createLightClientCore,
  decodeBootstrap,
  decodeUpdate,
  encodeBootstrap,
  encodeUpdate,
  executionPayloadHeaderRoot,
  finalityUpdateFromJson,
  finalityUpdateToJson,
  GINDEX,
  isValidLightClientHeader,
  type LightClient,
  type LightClientCore,
  LightClientError,
  type LightClientHeader,
  type LightClientReason,
  type LightClientUpdate,
  lcExecutionRoot,
  light,
  MINIMAL_PRESET,
  optimisticUpdateFromJson,
  optimisticUpdateToJson,
  syncCommitteeRoot,
  toHex,
  updateFromJson,
  updateToJson,
} from '../../src/light/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { clientFor, threeDomains } from '../helpers.ts'
import { type BeaconServer, startBeaconApi } from '../lab/beaconApi.ts'
import { devAccounts, type Lab, mined, startLab } from '../lab/index.ts'
import { clockAtSlot } from './captures.ts'
import { executionOf, LAB_GENESIS, LAB_SECONDS_PER_SLOT, labBeacon } from './labBeacon.ts'
import {
  branchOf,
  denebLightHeader,
  filler,
  fillerExecution,
  gloasLightHeader,
  normalizeBranch,
  rootFrom,
  sparseTree,
  syntheticGloasChain,
  upgradeHeaderToGloas,
} from './synthetic.ts'

/** Gloas from epoch 16: slot 128, the start of period 2 (minimal preset: 64-slot periods). */
const GLOAS_EPOCH = 16

/** A store bootstrapped in Fulu at slot 8 that has followed updates to Gloas's first period. */
function followed() {
  const chain = syntheticGloasChain(GLOAS_EPOCH)
  const bootstrap = chain.bootstrapAt(8)
  const lc = createLightClientCore({
    config: chain.config,
    checkpoint: toHex(beaconBlockHeaderRoot(bootstrap.header.beacon)),
    bootstrap,
  })
  return { chain, lc }
}

/** Applies `u` (Fulu's or Gloas's container, as it came) after a wire round trip through SSZ. */
function apply(lc: LightClientCore, u: LightClientUpdate, now: number) {
  const config = lc.config
  return lc.processUpdate(decodeUpdate(encodeUpdate(u, config), u.fork, config), now)
}

/** `run` must throw a lie with `reason` and leave the store as it was. */
function refuses(lc: LightClientCore, reason: LightClientReason, run: () => unknown): void {
  const before = JSON.stringify([lc.finalized, lc.optimistic, lc.period, lc.nextCommitteeKnown])
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof LightClientError, `a LightClientError, got ${e}`)
    assert.equal(e.reason, reason, e.message)
    assert.equal(e.lie, true, `${reason} is a lie`)
    return true
  })
  const after = JSON.stringify([lc.finalized, lc.optimistic, lc.period, lc.nextCommitteeKnown])
  assert.equal(after, before, 'the store is unchanged')
}

describe('Gloas light-client data, across the fork', () => {
  it('follows Fulu updates, then Gloas ones: the execution block hash, without a number', () => {
    const { chain, lc } = followed()
    assert.equal(chain.gloasSlot, 128)
    assert.equal(lc.finalized.execution?.blockNumber, 1008, 'a Fulu header has its number')
    // Period 0 then 1, in Fulu's containers, each with the next committee.
    assert.ok(apply(lc, chain.update(40, 24), 41).finalized)
    assert.ok(apply(lc, chain.update(100, 72), 101).finalized)
    assert.equal(lc.period, 1)
    // Gloas's first update (period 2) finalizes a Fulu-era block, upgraded into Gloas's header.
    const first = chain.update(136, 120)
    assert.equal(first.fork, 'gloas')
    assert.equal(first.finalizedHeader?.executionBranch.length, 11)
    assert.ok(first.finalizedHeader?.executionBranch.slice(0, 2).every((n) => n.every((b) => !b)))
    assert.ok(apply(lc, first, 137).finalized)
    assert.equal(lc.finalized.slot, 120)
    assert.equal(lc.finalized.execution?.blockHash, toHex(filler(126)), "the Fulu payload's hash")
    assert.equal(lc.finalized.execution?.blockNumber, undefined)
    // Then a Gloas block: its bid's parent block hash.
    assert.ok(apply(lc, chain.update(150, 136), 151).finalized)
    assert.equal(lc.period, 2)
    assert.equal(lc.finalized.slot, 136)
    assert.equal(lc.finalized.execution?.blockHash, toHex(filler(142)))
    assert.equal(lc.optimistic.slot, 150)
  })

  it('signed across the fork boundary: the domain is the fork of the slot before the signature', () => {
    const { chain, lc } = followed()
    apply(lc, chain.update(40, 24), 41)
    apply(lc, chain.update(100, 72), 101)
    // Attested at Fulu's last slot, signed in Gloas's first: Fulu's domain, Fulu's container.
    const boundary = chain.update(127, 104)
    assert.equal(boundary.fork, 'fulu')
    assert.equal(boundary.signatureSlot, 128)
    assert.ok(apply(lc, boundary, 128).finalized)
    assert.equal(lc.finalized.slot, 104)
  })

  it('a Fulu-era object in Gloas’s containers (upgraded, normalized branches) is refused: the wire carries each in its own fork’s', () => {
    // It would verify (the hash proves at Deneb's index), but a source re-wrapping Fulu data
    // in Gloas's containers hides its block numbers: the spec sends data in its slot's fork.
    const { chain, lc } = followed()
    const upgraded = chain.update(40, 24, 32, 'gloas')
    assert.equal(upgraded.finalityBranch.length, 9)
    refuses(lc, 'wrong-fork', () => lc.processUpdate(upgraded, 41))
    const gloasBootstrap = { ...chain.bootstrapAt(8), fork: 'gloas' as const }
    assert.throws(
      () =>
        createLightClientCore({
          config: chain.config,
          checkpoint: toHex(beaconBlockHeaderRoot(gloasBootstrap.header.beacon)),
          bootstrap: gloasBootstrap,
        }),
      (e: unknown) => e instanceof LightClientError && e.reason === 'wrong-fork',
    )
    // And the other way: Gloas data said to be Fulu's.
    apply(lc, chain.update(40, 24), 41)
    apply(lc, chain.update(100, 72), 101)
    const gloas = chain.update(150, 136)
    refuses(lc, 'wrong-fork', () => lc.processUpdate({ ...gloas, fork: 'fulu' }, 151))
    // Forks that share containers may be named either way (Electra's are Fulu's).
    assert.ok(lc.processUpdate({ ...chain.update(136, 120), fork: 'gloas' }, 137).finalized)
  })

  it('headers of every fork inside Gloas’s container: proven at that fork’s index, or empty before Capella', () => {
    // altair 0, capella from epoch 2 (slot 16), deneb 3 (24), gloas 6 (48); minimal preset.
    const config = chainConfig({
      name: 'every-fork',
      preset: MINIMAL_PRESET,
      genesisValidatorsRoot: filler(97),
      forks: {
        phase0: { epoch: 0, version: '0x00000008' },
        altair: { epoch: 0, version: '0x01000008' },
        bellatrix: { epoch: 1, version: '0x02000008' },
        capella: { epoch: 2, version: '0x03000008' },
        deneb: { epoch: 3, version: '0x04000008' },
        electra: { epoch: 4, version: '0x05000008' },
        fulu: { epoch: 5, version: '0x06000008' },
        gloas: { epoch: 6, version: '0x07000008' },
      },
      blobSchedule: [{ epoch: 4, maxBlobsPerBlock: 9 }],
    })
    const zero = () => new Uint8Array(32)
    const valid = (h: LightClientHeader) => isValidLightClientHeader(config, h)
    // Capella (15-field payload header: three leading zero nodes) and Deneb (two).
    for (const [slot, form, zeros] of [
      [20, 'capella', 3],
      [28, 'deneb', 2],
    ] as const) {
      const execution = { ...fillerExecution(slot) }
      if (form === 'capella')
        Object.assign(execution, { blobGasUsed: undefined, excessBlobGas: undefined })
      const branch = branchOf(slot, 4)
      const payloadRoot = executionPayloadHeaderRoot(execution, form)
      const h = upgradeHeaderToGloas(
        {
          beacon: {
            slot,
            proposerIndex: 1,
            parentRoot: filler(1),
            stateRoot: filler(2),
            bodyRoot: rootFrom(payloadRoot, branch, GINDEX.executionPayload),
          },
          execution,
          executionBranch: branch,
        },
        form,
      )
      assert.ok(h.executionBranch.slice(0, zeros).every((n) => n.every((b) => b === 0)))
      assert.ok(valid(h), `${form}-era header in Gloas's container`)
      assert.deepEqual(lcExecutionRoot(config, h), payloadRoot, 'get_lc_execution_root rebuilds it')
      const shifted = {
        ...h,
        executionBranch: h.executionBranch.map((n, i) => (i === zeros - 1 ? filler(9) : n)),
      }
      assert.equal(valid(shifted), false, 'a non-zero node where the normalized branch has zeros')
      assert.equal(valid({ ...h, executionBlockHash: filler(7) }), false, 'another hash')
    }
    // Altair/Bellatrix: no execution at all.
    const empty = {
      beacon: {
        slot: 9,
        proposerIndex: 0,
        parentRoot: zero(),
        stateRoot: zero(),
        bodyRoot: filler(3),
      },
      execution: undefined,
      executionBlockHash: zero(),
      executionBranch: Array.from({ length: 11 }, zero),
    }
    assert.ok(valid(empty))
    assert.deepEqual(lcExecutionRoot(config, empty), zero())
    assert.equal(valid({ ...empty, executionBlockHash: filler(7) }), false, 'a hash before Capella')
    assert.equal(
      valid({ ...empty, executionBranch: [filler(1), ...empty.executionBranch.slice(1)] }),
      false,
    )
    // Gloas: the hash itself.
    const g = gloasLightHeader(50, filler(4))
    assert.ok(valid(g))
    assert.deepEqual(lcExecutionRoot(config, g), g.executionBlockHash)
  })

  it('bootstraps from a Gloas block, in SSZ and JSON', () => {
    const chain = syntheticGloasChain(GLOAS_EPOCH)
    const bootstrap = chain.bootstrapAt(136)
    assert.equal(bootstrap.fork, 'gloas')
    const bytes = encodeBootstrap(bootstrap, chain.config)
    assert.equal(bytes.length, 496 + 33 * 48 + 11 * 32, 'fixed size: a 496-byte header')
    const fromSsz = decodeBootstrap(bytes, 'gloas', chain.config)
    const json = bootstrapToJson(fromSsz)
    const header = (json.data as { header: Record<string, unknown> }).header
    assert.deepEqual(Object.keys(header), ['beacon', 'execution_block_hash', 'execution_branch'])
    const fromJson = bootstrapFromJson(json, chain.config)
    assert.deepEqual(fromJson, fromSsz)
    const lc = createLightClientCore({
      config: chain.config,
      checkpoint: toHex(beaconBlockHeaderRoot(bootstrap.header.beacon)),
      bootstrap: fromJson,
    })
    assert.equal(lc.finalized.execution?.blockHash, toHex(filler(142)))
    // JSON round trips of a Gloas update, finality and optimistic update, then applied.
    const u = chain.update(150, 140)
    const again = updateFromJson(updateToJson(u, chain.config), chain.config)
    assert.ok(lc.processUpdate(again, 151).finalized)
    const { nextSyncCommittee, nextSyncCommitteeBranch, ...finality } = chain.update(160, 150)
    const f = finalityUpdateFromJson(finalityUpdateToJson(finality), chain.config)
    assert.deepEqual(f, finality)
    assert.ok(lc.processFinalityUpdate(f, 161).finalized)
    const { finalizedHeader, finalityBranch, ...optimistic } = finality
    const later = { ...optimistic, attestedHeader: chain.update(170, 160).attestedHeader }
    const o = optimisticUpdateFromJson(
      optimisticUpdateToJson({
        ...later,
        syncAggregate: chain.sign(later.attestedHeader, 171, 32),
        signatureSlot: 171,
      }),
      chain.config,
    )
    assert.equal(o.fork, 'gloas')
    assert.ok(lc.processOptimisticUpdate(o, 171).optimistic)
    assert.equal(lc.optimistic.slot, 170)
  })
})

describe('Gloas tampering: 0 accepted', () => {
  const fresh = () => {
    const { chain, lc } = followed()
    apply(lc, chain.update(40, 24), 41)
    apply(lc, chain.update(100, 72), 101)
    return { chain, lc }
  }
  const flip = (bytes: Uint8Array, at = 0) => {
    bytes[at] = (bytes[at] as number) ^ 1
  }

  it('the finalized header’s execution block hash, one bit', () => {
    const { chain, lc } = fresh()
    const u = chain.update(150, 136)
    flip(u.finalizedHeader?.executionBlockHash as Uint8Array, 31)
    refuses(lc, 'invalid-header', () => lc.processUpdate(u, 151))
  })

  it('the attested header’s execution block hash (its body root is what was signed)', () => {
    const { chain, lc } = fresh()
    const u = chain.update(150, 136)
    flip(u.attestedHeader.executionBlockHash as Uint8Array)
    refuses(lc, 'invalid-header', () => lc.processUpdate(u, 151))
  })

  it('a node of the execution branch', () => {
    const { chain, lc } = fresh()
    const u = chain.update(150, 136)
    flip(u.finalizedHeader?.executionBranch[10] as Uint8Array)
    refuses(lc, 'invalid-header', () => lc.processUpdate(u, 151))
  })

  it('an upgraded Fulu-era header whose normalized branch does not start with zero nodes', () => {
    const { chain, lc } = fresh()
    const u = chain.update(136, 120)
    flip(u.finalizedHeader?.executionBranch[0] as Uint8Array)
    refuses(lc, 'invalid-header', () => lc.processUpdate(u, 137))
  })

  it('a Fulu-shaped header (a whole payload header) at a Gloas slot, correctly signed', () => {
    const { chain, lc } = fresh()
    const u = chain.update(150, 136)
    const attested = denebLightHeader(150, u.attestedHeader.beacon.stateRoot)
    const forged: LightClientUpdate = {
      ...u,
      attestedHeader: attested,
      syncAggregate: chain.sign(attested, 151, 32),
    }
    refuses(lc, 'invalid-header', () => lc.processUpdate(forged, 151))
  })

  /**
   * A Gloas update whose state holds the finalized root and a committee at `at`, the branches
   * read there and normalized to Gloas's depths, signed by the committee: what a liar who
   * proves at another fork's (or another field's) index sends.
   */
  const provenAt = (
    chain: ReturnType<typeof syntheticGloasChain>,
    at: { finalized: number; committee: number },
  ): LightClientUpdate => {
    const finalizedHeader = gloasLightHeader(136, filler(186))
    const state = sparseTree(
      new Map([
        [at.finalized, beaconBlockHeaderRoot(finalizedHeader.beacon)],
        [at.committee, syncCommitteeRoot(chain.committee)],
      ]),
      7,
    )
    const attestedHeader = gloasLightHeader(150, state.root)
    return {
      fork: 'gloas',
      attestedHeader,
      nextSyncCommittee: chain.committee,
      nextSyncCommitteeBranch: normalizeBranch(state.branch(at.committee), 11),
      finalizedHeader,
      finalityBranch: normalizeBranch(state.branch(at.finalized), 9),
      syncAggregate: chain.sign(attestedHeader, 151, 32),
      signatureSlot: 151,
    }
  }

  it('the right indices verify (the construction below is sound)', () => {
    const { chain, lc } = fresh()
    const u = provenAt(chain, {
      finalized: GINDEX.finalizedRootGloas,
      committee: GINDEX.nextSyncCommitteeGloas,
    })
    assert.ok(lc.processUpdate(u, 151).finalized)
  })

  it('the finalized root proven at Electra’s index (169) inside a Gloas state', () => {
    const { chain, lc } = fresh()
    const u = provenAt(chain, {
      finalized: GINDEX.finalizedRootElectra,
      committee: GINDEX.nextSyncCommitteeGloas,
    })
    refuses(lc, 'finality-branch', () => lc.processUpdate(u, 151))
  })

  it('the next committee proven at the current committee’s index, or at Electra’s', () => {
    const { chain, lc } = fresh()
    for (const committee of [GINDEX.currentSyncCommitteeGloas, GINDEX.nextSyncCommitteeElectra]) {
      const u = provenAt(chain, { finalized: GINDEX.finalizedRootGloas, committee })
      refuses(lc, 'committee-branch', () => lc.processUpdate(u, 151))
    }
  })

  it('Gloas data under Fulu’s fork version (signed with the wrong domain)', () => {
    const { chain, lc } = fresh()
    const u = chain.update(150, 136)
    const otherChain = syntheticGloasChain(10_000) // Gloas never comes: slot 150 is Fulu there
    const forged: LightClientUpdate = {
      ...u,
      syncAggregate: otherChain.sign(u.attestedHeader, 151, 32),
    }
    refuses(lc, 'bad-signature', () => lc.processUpdate(forged, 151))
  })
})

describe('light() + proofs() on a Gloas chain, end to end', () => {
  let lab: Lab
  let beacon: BeaconServer
  let lc: LightClient
  let finalizedHash: `0x${string}`
  const accounts = devAccounts.slice(0, 3).map((a) => a.address)

  beforeAll(async () => {
    lab = await startLab({ blockTime: 0, sources: threeDomains })
    const sent = await lab.anvil.rpc<string>('eth_sendTransaction', [
      { from: accounts[0], to: accounts[1], value: '0x4321' },
    ])
    const { blockHash } = await mined<{ blockHash: string }>(lab.anvil, sent)
    const block = await lab.anvil.rpc<Record<string, unknown>>('eth_getBlockByHash', [
      blockHash,
      false,
    ])
    finalizedHash = block.hash as `0x${string}`
    for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
    const chain = labBeacon({ preset: 'minimal', fork: 'gloas' })
    assert.equal(chain.bootstrap.fork, 'gloas')
    beacon = await startBeaconApi(chain.capture(chain.finalize(executionOf(block), 16)), {
      name: 'lab-beacon-gloas',
    })
    lc = light({
      config: chain.config,
      checkpoint: chain.checkpoint,
      vouch: 'finalized',
      clock: clockAtSlot(30, LAB_GENESIS, LAB_SECONDS_PER_SLOT),
      sources: [beaconApi(beacon.url, { name: 'lab-beacon', config: chain.config, events: false })],
    })
    await lc.start()
  }, 60_000)
  afterAll(async () => {
    await lc?.stop()
    await beacon?.stop()
    await lab?.stop()
  })

  it('vouches for the anvil block by hash alone, and state reads are proven against it', async () => {
    const f = lc.finalized()
    assert.equal(f?.hash, finalizedHash)
    assert.equal(f?.number, undefined, 'a Gloas light-client header has no block number')
    assert.equal(await lc.trustedHeader({ hash: finalizedHash }), true)
    assert.equal(await lc.trustedHeader({ latest: true }), finalizedHash)
    const lie = {
      kind: 'lie' as const,
      methods: ['eth_getBalance' as const, 'eth_getProof' as const],
    }
    await lab.proxy('aws').setMode(lie)
    await lab.proxy('gcp').setMode(lie)
    const rpc = clientFor(
      lab,
      { prover: proofs(), trustedHeader: lc.trustedHeader },
      undefined,
      6_000,
    )
    try {
      for (const who of accounts) {
        for (const block of [{ blockHash: finalizedHash }, 'latest'] as const) {
          const { result, meta } = await rpc.requestWithMeta({
            method: 'eth_getBalance',
            params: [who, block],
          })
          assert.equal(
            result,
            await lab.anvil.rpc('eth_getBalance', [who, { blockHash: finalizedHash }]),
          )
          assert.equal(meta.consistency, 'proven')
          assert.equal(meta.block?.hash, finalizedHash)
        }
      }
    } finally {
      await rpc.close()
      for (const p of lab.proxies) await p.setMode({ kind: 'ok' })
    }
  })
})
