/**
 * A review of the review's fixes (reviewOfFixes.test.ts, commits e9d126a and e2f7c3f): holes
 * those fixes left open or made, each test asserting the correct behaviour (each failed on that
 * code for its hole's own reason).
 */
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest'
import { encodeHead } from '../../src/p2p/gossip.ts'
import { createHub } from '../../src/p2p/hub.ts'
import { headsTopic } from '../../src/p2p/protocol.ts'
import type { NodeClient } from '../../src/p2p/relay/nodeClient.ts'
import { relayGossip } from '../../src/p2p/relay/relayGossip.ts'
import {
  CHAIN_ID,
  call,
  lab,
  madeUpHeader,
  rawStream,
  type ScriptedNode,
  startScriptedNode,
  until,
  validatingNode,
} from './hostile2.helpers.ts'

let node: ScriptedNode
const { relay: relayWith, peer, cleanup } = lab(() => node)
beforeAll(async () => {
  node = await startScriptedNode()
})
afterEach(async () => {
  await cleanup()
})
afterAll(async () => {
  await node?.stop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('review of the review fixes', () => {
  // --- rpcServer: a stream released at its 'close' -------------------------------------------

  it('a peer resetting its streams cannot have more node calls in flight than its streams', async () => {
    const MAX = 2
    const relay = await relayWith({ gossip: false, maxStreamsPerPeer: MAX })
    node.delay.eth_getBalance = 8_000 // a slow method (an eth_call, a wide eth_getLogs)
    const from = await peer()
    const inFlight = () =>
      (node.calls.eth_getBalance ?? 0) - node.order.filter((m) => m === 'eth_getBalance').length
    let most = 0
    // Each stream: one slow call, and a reset once the relay has asked its node.
    for (let i = 0; i < 8; i++) {
      const before = node.calls.eth_getBalance ?? 0
      const s = await rawStream(relay, from)
      await s.send(call('eth_getBalance', [`0x${'22'.repeat(20)}`, 'latest'], i))
      await until(
        'the relay to ask its node',
        () => (node.calls.eth_getBalance ?? 0) > before,
        3_000,
      ).catch(() => {})
      s.stream.abort(new Error('reset'))
      most = Math.max(most, inFlight())
      await sleep(100) // the reset reaches the relay
    }
    most = Math.max(most, inFlight())
    assert.ok(
      most <= MAX,
      `one peer, at most ${MAX} streams, had ${most} calls in flight on the relay's node ` +
        `(${relay.status().served} served, refused ${JSON.stringify(relay.status().refused)}): ` +
        `a reset stream is released while its node call runs on`,
    )
  })

  // --- relayGossip: heads share one check ----------------------------------------------------

  it("a head pushed before the relay's node had it does not make the honest relays' later messages for it ignored", async () => {
    const bench = gossipBench()
    try {
      const h = encodeHead(madeUpHeader(1))
      // A hostile peer that sees a head early (from a relay whose node is ahead) pushes it here
      // before this relay's node has the block: the node is asked, and says it has no such block.
      const early = bench.validate('hostile', h)
      await until('the check', () => bench.pending.length === 1, 2_000)
      // Meanwhile the node gets the block, and an honest relay's own message for it arrives.
      bench.knows = true
      const honest = bench.validate('honest', h)
      await sleep(20)
      // The first check's answer is what the node said when it was asked.
      bench.pending.shift()!.answer(null)
      const tick = setInterval(() => {
        for (const p of bench.pending.splice(0)) p.answer(bench.knows ? { number: '0x1' } : null)
      }, 10)
      try {
        const [first, second] = await Promise.all([early, honest])
        assert.equal(
          second,
          'accept',
          `the honest relay's message arrived after the node had the block, yet shared the ` +
            `hostile push's earlier 'no such block' check: ${first}/${second} ` +
            `(${JSON.stringify(bench.told)})`,
        )
      } finally {
        clearInterval(tick)
      }
    } finally {
      bench.stop()
    }
  })

  // --- headGossip: topics held per shared node -----------------------------------------------

  it('a p2p() closed on a shared libp2p node lets go of the heads topics it held', async () => {
    const shared = await peer()
    const relayA = peerIdFromString('12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA')
    const relayB = peerIdFromString('12D3KooWHhcGjWnGaSsgFbMWrCLuTsgZGx6pqDLzg9fUSmnd3YhK')
    const settings = { libp2p: shared, maxResponseBytes: 1 << 20, gossip: true, told: [] }
    // p2p({ libp2p: shared, peers: [A] }) and p2p({ libp2p: shared, peers: [B] }), both chain 1.
    const one = createHub(settings)
    const two = createHub(settings)
    one.open()
    two.open()
    one.onHeads(relayA, () => {})
    one.learnChain(relayA, 1)
    two.onHeads(relayB, () => {})
    two.learnChain(relayB, 1)
    await until('chain 1 subscribed', () =>
      shared.services.pubsub.getTopics().includes(headsTopic(1)),
    )
    // The first p2p() is closed; the second's relay moves to chain 2: no one names chain 1 now.
    await one.close()
    two.learnChain(relayB, 2)
    await until('chain 2 subscribed', () =>
      shared.services.pubsub.getTopics().includes(headsTopic(2)),
    )
    await sleep(50)
    const topics = shared.services.pubsub.getTopics()
    assert.ok(
      !topics.includes(headsTopic(1)),
      `no open p2p() names chain 1, yet the shared node is still subscribed to its heads ` +
        `(topics ${JSON.stringify(topics)}): the closed p2p()'s hold on it was never released`,
    )
    await two.close()
  })

  it('p2p()s opened and closed on a shared libp2p node leave no gossip handler behind', async () => {
    const shared = await peer()
    const pubsub = shared.services.pubsub as unknown as { listenerCount(type: string): number }
    const before = pubsub.listenerCount('message')
    const relayA = peerIdFromString('12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA')
    // An app that makes a p2p() per page view (or per wallet switch) on its own libp2p node.
    for (let i = 0; i < 5; i++) {
      const hub = createHub({ libp2p: shared, maxResponseBytes: 1 << 20, gossip: true, told: [] })
      hub.open()
      const off = hub.onHeads(relayA, () => {})
      hub.learnChain(relayA, 1)
      await until("this p2p()'s handler added", () => pubsub.listenerCount('message') > before)
      off()
      await hub.close()
    }
    const after = pubsub.listenerCount('message')
    assert.equal(
      after,
      before,
      `five p2p()s closed, yet the shared node holds ${after - before} more 'message' ` +
        `handlers than before (each runs on every gossip message, its relay's listeners kept)`,
    )
  })
})

// --- helpers ---------------------------------------------------------------------------------

/** relayGossip on a pubsub whose validators the test calls; the node answered by hand. */
function gossipBench() {
  const { validators, libp2p } = validatingNode()
  const pending: { method: string; answer: (result: unknown) => void }[] = []
  const told: Record<string, number> = {}
  const checking = {
    json: (payload: { method: string }) =>
      new Promise((resolve) =>
        pending.push({
          method: payload.method,
          answer: (result) => resolve({ jsonrpc: '2.0', id: 1, result }),
        }),
      ),
    text: async () => '',
    close: () => {},
  } as unknown as NodeClient
  const own = { json: () => new Promise(() => {}), text: async () => '', close: () => {} }
  const heads = relayGossip(
    libp2p,
    { own: own as unknown as NodeClient, checking },
    CHAIN_ID,
    { interval: 600_000 },
    (what) => {
      told[what] = (told[what] ?? 0) + 1
    },
    () => {},
  )
  const validate = (peer: string, data: Uint8Array) =>
    validators.get(headsTopic(CHAIN_ID))!({ toString: () => peer }, { data })
  return { validate, pending, told, knows: false, stop: () => heads.stop() }
}
