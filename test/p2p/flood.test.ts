/**
 * One peer floods a relay (test/lab/flood.ts: streams past its limit, oversized and malformed
 * frames, calls past its rate, refused methods, junk gossip); another peer's reads through the
 * same relay are all answered, and right, meanwhile, and the flooder is banned. (The latency
 * ratio is measured by `npm run bench`, not asserted here.)
 */
import assert from 'node:assert/strict'
import { tcp } from '@libp2p/tcp'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { p2p } from '../../src/p2p/index.ts'
import { CHAIN_ID } from '../helpers.ts'
import { startFlood } from '../lab/flood.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'

let lab: Lab
let relay: RelayProcess
beforeAll(async () => {
  lab = await startLab({ blockTime: 0, sources: [{ name: 'node', domain: 'home' }] })
  relay = await startRelayProcess({ rpc: lab.proxy('node').url, rate: 1_000 })
})
afterAll(async () => {
  await relay?.stop()
  await lab?.stop()
})

describe('a relay under a flood from one peer', () => {
  it("keeps serving another peer's reads, all of them right", async () => {
    const [source] = p2p({ peers: [relay.tcp], transports: [tcp()], gossip: false })
    // Connected before the flood, as a dApp already using the relay is (on loopback every peer
    // shares one address, so the flooder's reconnects use up the per-host connection allowance).
    await source!.request({ method: 'eth_chainId' })
    const flood = await startFlood(relay.tcp, CHAIN_ID)
    try {
      await new Promise((r) => setTimeout(r, 300)) // the flood under way
      const who = devAccounts[1]!.address
      const truth = await lab.anvil.rpc('eth_getBalance', [who, 'latest'])
      for (let i = 0; i < 100; i++)
        assert.equal(
          await source!.request({ method: 'eth_getBalance', params: [who, 'latest'] }),
          truth,
        )
    } finally {
      const sent = await flood.stop()
      await source!.close?.()
      const { refused, banned } = await relay.status()
      assert.ok(sent.oversized! > 0 && sent.malformed! > 0, JSON.stringify(sent))
      // Its violations banned it within its first strikes: it was cut off, not merely slowed.
      assert.ok(
        (refused.frame ?? 0) + (refused.malformed ?? 0) + (refused.gossip ?? 0) > 0,
        JSON.stringify(refused),
      )
      assert.ok((refused.banned ?? 0) >= 1 && banned >= 1, JSON.stringify(refused))
    }
  })
})
