/**
 * `p2p()` sources through real `outlast relay` processes in front of real anvil (each relay's
 * node behind a lab proxy, so it can fail or lie): reads agreed across relays in different
 * domains, a relay killed or blackholed mid-workload, a relay whose node lies, discovered peers
 * that count only when proven, and bad configuration.
 */
import assert from 'node:assert/strict'
import { tcp } from '@libp2p/tcp'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { ConfigError, createOutlast, http } from '../../src/index.ts'
import { p2p } from '../../src/p2p/index.ts'
import { proofs } from '../../src/proofs/index.ts'
import { CHAIN_ID, resetLab } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'

let lab: Lab
const relays: Record<string, RelayProcess> = {}
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'r1', domain: 'home-a' },
      { name: 'r2', domain: 'home-b' },
      { name: 'r3', domain: 'home-c' },
      { name: 'http', domain: 'cloud' },
    ],
  })
  for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
  const started = await Promise.all(
    ['r1', 'r2', 'r3'].map((n) =>
      startRelayProcess({ rpc: lab.proxy(n).url, gossip: false, rate: 10_000 }),
    ),
  )
  ;['r1', 'r2', 'r3'].forEach((n, i) => {
    relays[n] = started[i]!
  })
})
afterAll(async () => {
  await Promise.all(Object.values(relays).map((r) => r.stop()))
  await lab?.stop()
})

const peer = (n: string, domain = `domain-${n}`) => ({ address: relays[n]!.tcp, name: n, domain })
const relaySources = (names: string[], extra: Partial<Parameters<typeof p2p>[0]> = {}) =>
  p2p({ peers: names.map((n) => peer(n)), transports: [tcp()], gossip: false, ...extra })

const reads = (i: number) => [
  { method: 'eth_getBalance', params: [devAccounts[i % 4]!.address, 'latest'] },
  { method: 'eth_getTransactionCount', params: [devAccounts[i % 4]!.address, 'latest'] },
  { method: 'eth_getCode', params: [devAccounts[i % 4]!.address, 'latest'] },
  { method: 'eth_blockNumber', params: [] },
]

describe('p2p() sources', () => {
  it('reads agreed across relays in different domains, right as anvil says', async () => {
    await resetLab(lab)
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [relaySources(['r1', 'r2'])] })
    try {
      for (const call of reads(1)) {
        const { result, meta } = await rpc.requestWithMeta(call)
        assert.deepEqual(result, await lab.anvil.rpc(call.method, call.params))
        if (call.method !== 'eth_blockNumber') assert.equal(meta.consistency, 'agreed')
      }
      const st = rpc.status()
      assert.deepEqual(
        st.sources.map((s) => [s.name, s.kind, s.domain, s.url]),
        [
          ['r1', 'p2p', 'domain-r1', relays.r1!.tcp],
          ['r2', 'p2p', 'domain-r2', relays.r2!.tcp],
        ],
      )
      assert.ok(st.quorum.met)
    } finally {
      await rpc.close()
    }
  })

  it('a relay killed mid-workload: every read still answered, and right', async () => {
    await resetLab(lab)
    // Weighted to be asked first: the kill lands on requests that count on it.
    const victim = await startRelayProcess({
      rpc: lab.proxy('r3').url,
      gossip: false,
      rate: 10_000,
    })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        p2p({
          peers: [
            peer('r1'),
            peer('r2'),
            { address: victim.tcp, name: 'victim', domain: 'v', weight: 10 },
          ],
          transports: [tcp()],
          gossip: false,
        }),
      ],
    })
    try {
      let wrong = 0
      for (let i = 0; i < 40; i++) {
        if (i === 10) victim.kill()
        const call = reads(i)[i % 3]!
        const result = await rpc.request(call)
        if (result !== (await lab.anvil.rpc(call.method, call.params))) wrong++
      }
      assert.equal(wrong, 0)
      const lost = rpc.status().sources.find((s) => s.name === 'victim')!
      assert.notEqual(lost.condition, 'healthy')
    } finally {
      await rpc.close()
      await victim.stop()
    }
  })

  it('a blackholed relay (its process stopped) does not hold reads to its 10 s attempt timeout (each read hedged past it)', async () => {
    await resetLab(lab)
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [relaySources(['r1', 'r2', 'r3'])],
    })
    try {
      await rpc.connect()
      await rpc.request(reads(0)[0]!)
      relays.r1!.pause()
      const times: number[] = []
      for (let i = 0; i < 10; i++) {
        const call = reads(i)[0]!
        const started = performance.now()
        assert.equal(await rpc.request(call), await lab.anvil.rpc(call.method, call.params))
        times.push(performance.now() - started)
      }
      // Not held to the stopped relay's 10 s attempt timeout: each read well under it (by a
      // margin a busy machine cannot eat, where a bound near the hedge's second could flake).
      assert.ok(Math.max(...times) < 5_000, `slowest read ${Math.max(...times).toFixed(0)} ms`)
    } finally {
      relays.r1!.resume()
      await rpc.close()
    }
  })

  it('a relay whose node lies is outvoted, and with proofs() gets nothing through', async () => {
    await resetLab(lab)
    await lab.proxy('r1').setMode({ kind: 'lie' })
    const plain = createOutlast({ chainId: CHAIN_ID, sources: [relaySources(['r1', 'r2', 'r3'])] })
    const proven = createOutlast({
      chainId: CHAIN_ID,
      prover: proofs(),
      sources: [relaySources(['r1', 'r2', 'r3'])],
    })
    try {
      let wrong = 0
      for (let i = 0; i < 12; i++)
        for (const rpc of [plain, proven]) {
          const call = reads(i)[i % 2]!
          const { result } = await rpc.requestWithMeta(call)
          if (result !== (await lab.anvil.rpc(call.method, call.params))) wrong++
        }
      assert.equal(wrong, 0)
    } finally {
      await plain.close()
      await proven.close()
    }
  })

  it('discovered peers count only when proven: a lying one gets nothing through', async () => {
    await resetLab(lab)
    await lab.proxy('r1').setMode({ kind: 'lie' })
    // The trusted sources serve heads but no proofs; the discovered peers serve proofs.
    await lab.proxy('http').setMode({ kind: 'methods', failing: ['eth_getProof'] })
    await lab.proxy('r2').setMode({ kind: 'methods', failing: ['eth_getProof'] })
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      prover: proofs(),
      sources: [
        http(lab.proxy('http').url, { name: 'http', domain: 'cloud' }),
        p2p({
          peers: [peer('r2')],
          discover: [relays.r1!.tcp, relays.r3!.tcp],
          transports: [tcp()],
          gossip: false,
        }),
      ],
    })
    try {
      let proven = 0
      for (let i = 0; i < 8; i++) {
        const call = reads(i)[0]!
        const { result, meta } = await rpc.requestWithMeta(call)
        assert.equal(result, await lab.anvil.rpc(call.method, call.params))
        if (meta.consistency === 'proven') proven++
      }
      assert.ok(proven > 0, 'the honest discovered peer proved reads')
      const found = rpc.status().sources.find((s) => s.name === 'p2p-peers')!
      assert.equal(found.untrusted, true)
      // The discovered peers' domain never counts (the cloud source may be down: its proofs fail).
      assert.ok(!rpc.status().quorum.healthyDomains.includes('p2p-discovered'))
    } finally {
      await rpc.close()
    }
  })

  it('bad configuration is refused at construction, naming what is wrong', () => {
    const bad: [unknown, RegExp][] = [
      [{ peers: 'x' }, /peers must be an array/],
      [{ peers: [] }, /no one to ask/],
      [{ peers: ['/ip4/127.0.0.1/tcp/1'] }, /names no peer: it must end with \/p2p\/<peer id>/],
      [{ peers: ['not a multiaddr'] }, /peers\[0\]/],
      [{ peers: [relays.r1!.tcp, relays.r1!.tcp] }, /listed twice/],
      [{ peers: [{ address: relays.r1!.tcp, domain: '' }] }, /domain must be a non-empty string/],
      [{ peers: [relays.r1!.tcp], timeout: -1 }, /timeout must be/],
      [{ peers: [relays.r1!.tcp], discover: 'yes' }, /discover must be/],
    ]
    for (const [options, message] of bad)
      assert.throws(
        () => p2p(options as Parameters<typeof p2p>[0]),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
        String(message),
      )
  })
})
