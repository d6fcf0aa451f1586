/**
 * Light client → trusted header → eth_getProof, end to end on loopback: a lab beacon (a
 * throw-away 512-key committee, mainnet preset) finalizes a real block of the lab's anvil, served by the lab Beacon API;
 * `light()` verifies it and vouches for its hash; `createOutlast({ trustedHeader, prover })`
 * fetches that header by hash, checks it, and proves state reads against it.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http } from '../../src/index.ts'
import { beaconApi, type LightClient, light } from '../../src/light/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, clientFor, threeDomains } from '../helpers.ts'
import { type BeaconServer, startBeaconApi } from '../lab/beaconApi.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { clockAtSlot } from './captures.ts'
import { executionOf, LAB_GENESIS, LAB_SECONDS_PER_SLOT, labBeacon } from './labBeacon.ts'

let lab: Lab
let beacon: BeaconServer
let lc: LightClient
let finalized: { hash: `0x${string}`; number: number }

/** Per-attempt time limit: these tests verify BLS beside other test files on a 2-core machine. */
const PATIENT = 6_000

const accounts = devAccounts.slice(0, 5).map((a) => a.address)
const truth = (who: string) =>
  lab.anvil.rpc<string>('eth_getBalance', [who, { blockHash: finalized.hash }])

beforeAll(async () => {
  lab = await startLab({ blockTime: 0, sources: threeDomains })
  // A block with a transfer in it, then more on top: the finalized block is not the head.
  await lab.anvil.rpc('eth_sendTransaction', [
    { from: accounts[0], to: accounts[1], value: '0x1234' },
  ])
  const block = await lab.anvil.rpc<Record<string, unknown>>('eth_getBlockByNumber', [
    'latest',
    false,
  ])
  for (let i = 0; i < 4; i++) await lab.anvil.rpc('evm_mine')
  // A mainnet-size committee: 512 keys, about 1 in 100 not signing.
  const t0 = performance.now()
  const chain = labBeacon({ preset: 'mainnet' })
  assert.equal(chain.config.syncCommitteeSize, 512)
  beacon = await startBeaconApi(chain.capture(chain.finalize(executionOf(block), 16)), {
    name: 'lab-beacon',
  })
  lc = light({
    config: chain.config,
    checkpoint: chain.checkpoint,
    // The lab's attested blocks carry made-up execution blocks no RPC has: vouch for finalized ones.
    vouch: 'finalized',
    clock: clockAtSlot(30, LAB_GENESIS, LAB_SECONDS_PER_SLOT),
    sources: [beaconApi(beacon.url, { name: 'lab-beacon', config: chain.config, events: false })],
  })
  const made = performance.now()
  await lc.start()
  const f = lc.finalized()
  assert.ok(f, 'the light client finalized the anvil block')
  finalized = { hash: f.hash, number: f.number as number }
  assert.equal(finalized.hash, block.hash)
  assert.equal(finalized.number, Number(block.number))
  console.log(
    `lab beacon (512 keys): committee made and update signed in ${(made - t0).toFixed(0)} ms, bootstrap + finality update verified in ${(performance.now() - made).toFixed(0)} ms`,
  )
})
afterAll(async () => {
  await lc?.stop()
  await beacon?.stop()
  await lab?.stop()
})

const reset = async () => {
  for (const p of lab.proxies) await p.setMode({ kind: 'ok' })
}

describe('light() + proofs(): state reads proven against the block the light client vouches for', () => {
  it('every RPC but one lies about state: every answer right, proven at the vouched block', async () => {
    await reset()
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
      PATIENT,
    )
    let wrong = 0
    try {
      for (let i = 0; i < 10; i++) {
        const who = accounts[i % accounts.length] as string
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [who, { blockHash: finalized.hash }],
        })
        if (result !== (await truth(who))) wrong++
        assert.equal(meta.consistency, 'proven')
        assert.equal(meta.block?.hash, finalized.hash)
      }
      assert.equal(wrong, 0)
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('every RPC lies: errors, 0 wrong answers', async () => {
    for (const p of lab.proxies)
      await p.setMode({ kind: 'lie', methods: ['eth_getBalance', 'eth_getProof'] })
    const rpc = clientFor(
      lab,
      { prover: proofs(), trustedHeader: lc.trustedHeader },
      undefined,
      PATIENT,
    )
    let wrong = 0
    let errors = 0
    try {
      for (const who of accounts) {
        try {
          const result = await rpc.request({
            method: 'eth_getBalance',
            params: [who, { blockHash: finalized.hash }],
          })
          if (result !== (await truth(who))) wrong++
        } catch {
          errors++
        }
      }
      assert.equal(wrong, 0)
      assert.equal(errors, accounts.length)
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('one source left (no two domains agree on anything): proven only through the light client', async () => {
    await reset()
    const [home] = lab.sources.filter((s) => s.name === 'home')
    const only = { ...lab, sources: [home as (typeof lab.sources)[number]] }
    const who = accounts[1] as string
    const params = [who, { blockHash: finalized.hash }]
    const without = clientFor(only, { prover: proofs() }, undefined, PATIENT)
    const withLight = clientFor(
      only,
      { prover: proofs(), trustedHeader: lc.trustedHeader },
      undefined,
      PATIENT,
    )
    try {
      const a = await without.requestWithMeta({ method: 'eth_getBalance', params })
      assert.notEqual(a.meta.consistency, 'proven', 'nothing trusted to prove against')
      const b = await withLight.requestWithMeta({ method: 'eth_getBalance', params })
      assert.equal(b.meta.consistency, 'proven')
      assert.equal(b.result, await truth(who))
      // A block the light client never verified is not trusted through it.
      const head = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['latest', false])
      const c = await withLight.requestWithMeta({
        method: 'eth_getBalance',
        params: [who, { blockHash: head.hash }],
      })
      assert.notEqual(c.meta.consistency, 'proven')
      // The lone source lies about state at the vouched block: an error, not its word.
      await lab.proxy('home').setMode({ kind: 'lie', methods: ['eth_getBalance', 'eth_getProof'] })
      await assert.rejects(withLight.request({ method: 'eth_getBalance', params }))
    } finally {
      await without.close()
      await withLight.close()
      await reset()
    }
  })

  it("`latest` is proven at the light client's newest verified block, never at a head the sources agree on", async () => {
    await reset()
    // The chain moves on past the verified block: a transfer the light client has not seen.
    const sent = await lab.anvil.rpc<string>('eth_sendTransaction', [
      { from: accounts[2], to: accounts[1], value: '0x777' },
    ])
    await lab.anvil.rpc('evm_mine') // mined here whether or not the node mines on its own
    assert.ok(await lab.anvil.rpc('eth_getTransactionReceipt', [sent]), 'the transfer is mined')
    const atHead = await lab.anvil.rpc<string>('eth_getBalance', [accounts[1], 'latest'])
    assert.notEqual(atHead, await truth(accounts[1]!))
    const rpc = clientFor(
      lab,
      { prover: proofs(), trustedHeader: lc.trustedHeader },
      undefined,
      PATIENT,
    )
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBalance',
        params: [accounts[1], 'latest'],
      })
      assert.equal(meta.consistency, 'proven')
      assert.equal(meta.block?.hash, finalized.hash)
      assert.equal(result, await truth(accounts[1]!))
      // Without the light client, the same read is proven at the agreed head.
      const plain = clientFor(lab, { prover: proofs() }, undefined, PATIENT)
      try {
        const r = await plain.requestWithMeta({
          method: 'eth_getBalance',
          params: [accounts[1], 'latest'],
        })
        assert.equal(r.result, atHead)
      } finally {
        await plain.close()
      }
    } finally {
      await rpc.close()
    }
  })

  it("only untrusted RPC sources: latest reads proven at the light client's block, its block number the head, the rest refused", async () => {
    await reset()
    const untrusted = () =>
      lab.sources.map((src) =>
        http(src.proxy.url, {
          name: src.name,
          domain: src.domain,
          fetchFn: src.proxy.fetch,
          untrusted: true,
        }),
      )
    assert.throws(
      () => createOutlast({ chainId: CHAIN_ID, sources: untrusted(), prover: proofs() }),
      /every source is untrusted.*unless a light client/,
    )
    await lab.proxy('aws').setMode({ kind: 'lie', methods: ['eth_getBalance', 'eth_getProof'] })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: untrusted(),
      prover: proofs(),
      trustedHeader: lc.trustedHeader,
    })
    try {
      const number = await rpc.requestWithMeta({ method: 'eth_blockNumber' })
      assert.equal(number.result, `0x${finalized.number.toString(16)}`)
      assert.equal(number.meta.consistency, 'verified')
      for (const who of accounts) {
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getBalance',
          params: [who, 'latest'],
        })
        assert.equal(result, await truth(who!))
        assert.equal(meta.consistency, 'proven')
        assert.equal(meta.block?.hash, finalized.hash)
      }
      // What no proof covers has no trusted source to agree on it: refused, never one source's word.
      await assert.rejects(rpc.request({ method: 'eth_gasPrice' }))
    } finally {
      await rpc.close()
      await reset()
    }
  })
})
