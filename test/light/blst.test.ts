/**
 * The native verifier (`@chainsafe/blst`) against the pure-JS one: the mainnet recordings reach
 * the same finalized blocks, both give the same verdict on every Deneb update untouched and
 * tampered, tampered updates are refused through the core, invalid committee keys are refused,
 * and without blst `fastestVerifier()` falls back to noble.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { afterEach, beforeAll, describe, it } from 'vitest'
import {
  type BlsVerifier,
  beaconApi,
  beaconBlockHeaderRoot,
  bitSet,
  blstVerifier,
  computeSigningRoot,
  createLightClientCore,
  fastestVerifier,
  type LightClient,
  LightClientError,
  type LightClientUpdate,
  light,
  mainnet,
  nobleVerifier,
  periodAtSlot,
  type SyncCommittee,
  syncCommitteeDomain,
} from '../../src/light/index.ts'
import { ConfigError } from '../../src/shared/errors.ts'
import { type BeaconServer, startBeaconApi } from '../lab/beaconApi.ts'
import {
  CAPELLA_CHECKPOINT,
  capella,
  clockAtSlot,
  DENEB_CHECKPOINT,
  deneb,
  ELECTRA_CHECKPOINT,
  electra,
} from './captures.ts'
import { syntheticChain } from './synthetic.ts'

let blst: BlsVerifier
const noble = nobleVerifier()
beforeAll(async () => {
  blst = await blstVerifier()
})

const flipBit = (bits: Uint8Array, i: number) => {
  const out = bits.slice()
  out[i >> 3] = (out[i >> 3] as number) ^ (1 << (i & 7))
  return out
}

/** What the committee signed for `u`: the attested header's root in the signature slot's domain. */
const signingRoot = (u: LightClientUpdate) =>
  computeSigningRoot(
    beaconBlockHeaderRoot(u.attestedHeader.beacon),
    syncCommitteeDomain(mainnet, u.signatureSlot),
  )

describe('blst: the mainnet recordings', () => {
  it('Deneb: 46 periods 1347–1392 to finalized block 22186786', () => {
    const cap = deneb()
    const lc = createLightClientCore({
      config: mainnet,
      checkpoint: DENEB_CHECKPOINT,
      bootstrap: cap.bootstrap,
      verifier: blst,
    })
    for (const u of cap.updates) lc.processUpdate(u, cap.now)
    assert.equal(lc.period, 1392)
    assert.equal(lc.finalized.execution?.blockNumber, 22186786)
  })

  it('Capella: 6 periods, finality to block 17923026; Electra to block 22432991', () => {
    const c = capella()
    const lc = createLightClientCore({
      config: mainnet,
      checkpoint: CAPELLA_CHECKPOINT,
      bootstrap: c.bootstrap,
      verifier: blst,
    })
    for (const u of c.updates) lc.processUpdate(u, c.now)
    assert.ok(c.finality && lc.processFinalityUpdate(c.finality, c.now).finalized)
    assert.equal(lc.finalized.execution?.blockNumber, 17923026)
    const e = electra()
    const le = createLightClientCore({
      config: mainnet,
      checkpoint: ELECTRA_CHECKPOINT,
      bootstrap: e.bootstrap,
      verifier: blst,
    })
    le.processUpdate(e.updates[0] as LightClientUpdate, e.now)
    assert.equal(le.finalized.execution?.blockNumber, 22432991)
  })

  it('the same verdict as noble on every Deneb update, untouched and tampered', () => {
    const cap = deneb()
    const lc = createLightClientCore({
      config: mainnet,
      checkpoint: DENEB_CHECKPOINT,
      bootstrap: cap.bootstrap,
      verifier: blst,
    })
    let checked = 0
    for (const [n, u] of cap.updates.entries()) {
      // Signed by the store's current committee, or its next one when in the next period.
      const committee =
        periodAtSlot(mainnet, u.signatureSlot) === lc.period
          ? lc.store.currentSyncCommittee
          : (lc.store.nextSyncCommittee as SyncCommittee)
      const bits = u.syncAggregate.syncCommitteeBits
      const sig = u.syncAggregate.syncCommitteeSignature
      const other = (cap.updates[(n + 1) % cap.updates.length] as LightClientUpdate).syncAggregate
        .syncCommitteeSignature
      const root = signingRoot(u)
      const members = Array.from({ length: 512 }, (_, i) => i)
      const signer = members.find((i) => bitSet(bits, i)) as number
      const nonSigner = members.find((i) => !bitSet(bits, i))
      type Case = [what: string, bits: Uint8Array, root: Uint8Array, sig: Uint8Array, ok: boolean]
      const cases: Case[] = [
        ['untouched', bits, root, sig, true],
        ['a signer dropped', flipBit(bits, signer), root, sig, false],
        ['another update signature', bits, root, other, false],
        ['another message', bits, signingRoot(cap.updates[(n + 1) % 46]!), sig, false],
        [
          'a signature that does not decode',
          bits,
          root,
          sig.map((b, i) => (i ? b : b ^ 0x40)),
          false,
        ],
      ]
      if (nonSigner !== undefined)
        cases.push(['a non-signer added', flipBit(bits, nonSigner), root, sig, false])
      // noble is ~30 ms a call: it checks every fifth update's cases, blst all of them.
      for (const [what, b, r, s, expected] of cases) {
        assert.equal(blst.verifySyncAggregate(committee, b, r, s), expected, `${n}: ${what} (blst)`)
        if (n % 5 === 0)
          assert.equal(
            noble.verifySyncAggregate(committee, b, r, s),
            expected,
            `${n}: ${what} (noble)`,
          )
        checked++
      }
      lc.processUpdate(u, cap.now)
    }
    assert.ok(checked >= 46 * 5)
  })
})

describe('blst: tampered updates are refused through the core', () => {
  const c = capella()
  const atPeriod866 = () => {
    const lc = createLightClientCore({
      config: mainnet,
      checkpoint: CAPELLA_CHECKPOINT,
      bootstrap: c.bootstrap,
      verifier: blst,
    })
    for (const u of c.updates.slice(0, 5)) lc.processUpdate(u, c.now)
    return lc
  }
  const victim = c.updates[5] as LightClientUpdate
  const refused = (run: () => unknown, reason: string) =>
    assert.throws(
      run,
      (e: unknown) => e instanceof LightClientError && e.reason === reason && e.lie,
    )

  it('a signature from another update, a flipped bit, the attested slot -1, a changed next-committee key', () => {
    const a = structuredClone(victim)
    a.syncAggregate.syncCommitteeSignature =
      c.finality!.syncAggregate.syncCommitteeSignature.slice()
    const b = structuredClone(victim)
    b.syncAggregate.syncCommitteeBits = flipBit(b.syncAggregate.syncCommitteeBits, 0)
    const d = structuredClone(victim)
    d.attestedHeader.beacon.slot -= 1
    const e = structuredClone(victim)
    ;(e.nextSyncCommittee?.pubkeys[7] as Uint8Array)[20]! ^= 1
    for (const [u, reason] of [
      [a, 'bad-signature'],
      [b, 'bad-signature'],
      [d, 'bad-signature'],
      [e, 'committee-branch'],
    ] as const) {
      const lc = atPeriod866()
      const before = lc.store.finalizedHeader
      refused(() => lc.processUpdate(u, c.now), reason)
      assert.equal(lc.store.finalizedHeader, before)
    }
    const lc = atPeriod866()
    assert.ok(lc.processUpdate(structuredClone(victim), c.now).finalized, 'the untouched one')
  })

  it('a minority of signers (the signers summed): valid moves the optimistic head, tampered is refused', () => {
    const chain = syntheticChain()
    const fresh = () =>
      createLightClientCore({
        config: chain.config,
        checkpoint: chain.checkpoint,
        bootstrap: chain.bootstrap,
        verifier: blst,
      })
    const lc = fresh()
    const change = lc.processFinalityUpdate(chain.finalityUpdate(40, 16, 10), 50)
    assert.deepEqual(change, { finalized: false, optimistic: true, committee: false })
    const u = chain.finalityUpdate(40, 16, 10)
    u.attestedHeader.beacon.proposerIndex += 1
    const lc2 = fresh()
    refused(() => lc2.processFinalityUpdate(u, 50), 'bad-signature')
    const majority = chain.finalityUpdate(48, 24, 22)
    assert.ok(fresh().processFinalityUpdate(majority, 50).finalized)
  })
})

describe('invalid committee keys are refused by both verifiers', () => {
  const chain = syntheticChain()
  const u = chain.finalityUpdate(40, 16, 30) // members 30 and 31 do not sign
  const root = computeSigningRoot(
    beaconBlockHeaderRoot(u.attestedHeader.beacon),
    syncCommitteeDomain(chain.config, u.signatureSlot),
  )
  const { syncCommitteeBits: bits, syncCommitteeSignature: sig } = u.syncAggregate
  const infinity = new Uint8Array(48)
  infinity[0] = 0xc0
  // Compressed, x = 0x1fff…ff: above the field modulus, so no point at all.
  const notAPoint = new Uint8Array(48).fill(0xff)
  notAPoint[0] = 0x9f
  // A point on the curve outside the G1 subgroup (the cofactor is large: the first x on the
  // curve will do).
  const outside = (() => {
    const Fp = bls12_381.fields.Fp
    for (let x = 1n; ; x++) {
      const y2 = Fp.add(Fp.pow(x, 3n), 4n)
      let y: bigint
      try {
        y = Fp.sqrt(y2)
      } catch {
        continue
      }
      const P = bls12_381.G1.Point.fromAffine({ x, y })
      if (!P.isTorsionFree()) {
        const bytes = new Uint8Array(48)
        const hex = x.toString(16).padStart(96, '0')
        for (let i = 0; i < 48; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
        bytes[0] = (bytes[0] as number) | 0x80
        return bytes
      }
    }
  })()
  const withKey = (at: number, key: Uint8Array): SyncCommittee => ({
    pubkeys: chain.committee.pubkeys.map((k, i) => (i === at ? key : k)),
    aggregatePubkey: chain.committee.aggregatePubkey,
  })

  for (const [name, key] of [
    ['the point at infinity', infinity],
    ['not a point', notAPoint],
    ['outside the subgroup', outside],
  ] as const) {
    it(`${name}: as a non-signer, as a signer, as the aggregate`, () => {
      for (const v of [blst, noble]) {
        assert.ok(v.verifySyncAggregate(chain.committee, bits, root, sig), `${v.name}: baseline`)
        for (const [committee, b] of [
          [withKey(31, key), bits], // a non-signer: subtracted from the aggregate
          [withKey(0, key), bits.map((_, i) => (i === 0 ? 0x03 : 0))], // a signer, summed
          [{ ...chain.committee, aggregatePubkey: key }, bits],
        ] as const)
          assert.throws(
            () => v.verifySyncAggregate(committee, b, root, sig),
            (e: unknown) => e instanceof LightClientError && e.reason === 'invalid-key',
            `${v.name}: ${name}`,
          )
      }
    })
  }
})

describe('fastestVerifier(), and light() with it', () => {
  let server: BeaconServer | undefined
  let lc: LightClient | undefined
  afterEach(async () => {
    await lc?.stop()
    await server?.stop()
  })

  it('is blst here; noble where @chainsafe/blst does not resolve (a child process that hides it)', async () => {
    assert.equal((await fastestVerifier()).name, 'blst')
    const hide = `import { registerHooks } from 'node:module'
registerHooks({ resolve(s, c, next) { if (s === '@chainsafe/blst') throw new Error('absent'); return next(s, c) } })
const m = await import(${JSON.stringify(new URL('../../src/light/blst.ts', import.meta.url).href)})
console.log((await m.fastestVerifier()).name)
await m.blstVerifier().catch((e) => console.log(e.name))`
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--input-type=module',
      '-e',
      hide,
    ])
    assert.deepEqual(stdout.trim().split('\n'), ['noble', 'ConfigError'])
  })

  it('light({ verifier: await fastestVerifier() }) syncs 46 Deneb periods to block 22186786; a bad verifier is a ConfigError', async () => {
    const cap = deneb()
    server = await startBeaconApi(cap, { name: 'deneb' })
    lc = light({
      checkpoint: DENEB_CHECKPOINT,
      clock: clockAtSlot(cap.now),
      verifier: await fastestVerifier(),
      sources: [beaconApi(server.url, { name: 'deneb', events: false })],
    })
    await lc.start()
    assert.equal(lc.finalized()?.number, 22186786)
    assert.throws(
      () =>
        light({
          sources: [beaconApi(server!.url, { name: 'x', events: false })],
          verifier: 'auto' as never,
        }),
      ConfigError,
    )
  })
})
