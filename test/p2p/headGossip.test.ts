import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, it } from 'vitest'
import { createHeadGossip } from '../../src/p2p/headGossip.ts'
import type { PeerLibp2p } from '../../src/p2p/peerNode.ts'
import { headsTopic } from '../../src/p2p/protocol.ts'

/** A node whose pubsub only records the topics subscribed to. */
function fakeNode() {
  const topics = new Set<string>()
  const pubsub = {
    topicValidators: new Map(),
    addEventListener: () => {},
    subscribe: (t: string) => void topics.add(t),
    unsubscribe: (t: string) => void topics.delete(t),
  }
  return { topics, node: { services: { pubsub } } as unknown as PeerLibp2p }
}

const relay = peerIdFromString('12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA')
const other = peerIdFromString('12D3KooWHhcGjWnGaSsgFbMWrCLuTsgZGx6pqDLzg9fUSmnd3YhK')
const settle = () => new Promise((r) => setTimeout(r, 0))

describe('relays gossiped heads: topics', () => {
  it('a relay that names another chain each time moves its topic, it does not add topics', async () => {
    const { topics, node } = fakeNode()
    const gossip = createHeadGossip({ gossip: true }, async () => node)
    gossip.onHeads(relay, () => {})
    for (let id = 1; id <= 50; id++) {
      gossip.learnChain(relay, id)
      await settle()
    }
    assert.deepEqual([...topics], [headsTopic(50)], 'one topic: the chain it names now')
    gossip.learnChain(other, 1)
    await settle()
    assert.deepEqual([...topics].sort(), [headsTopic(1), headsTopic(50)].sort())
    gossip.learnChain(relay, 1)
    await settle()
    assert.deepEqual([...topics], [headsTopic(1)], 'a topic two relays name is kept once')
  })

  it('with the chain in the options, only its topic, whatever the relays answer', async () => {
    const { topics, node } = fakeNode()
    const gossip = createHeadGossip({ gossip: true, chainId: 7 }, async () => node)
    gossip.onHeads(relay, () => {})
    for (let id = 1; id <= 5; id++) gossip.learnChain(relay, id)
    await settle()
    assert.deepEqual([...topics], [headsTopic(7)])
  })
})

describe('relays gossiped heads: a node that fails to start', () => {
  it('rejects nothing unhandled, and the topics are joined once a node starts', async () => {
    const rejections: unknown[] = []
    const record = (e: unknown) => rejections.push(e)
    process.on('unhandledRejection', record)
    try {
      const { topics, node } = fakeNode()
      let starts = 0
      const gossip = createHeadGossip({ gossip: true }, async () => {
        if (++starts === 1) throw new Error('libp2p failed to start')
        return node
      })
      gossip.onHeads(relay, () => {})
      gossip.learnChain(relay, 1)
      await settle()
      await settle()
      assert.deepEqual([...topics], [])
      gossip.learnChain(other, 1) // the next call: tried again, the topic not taken as joined
      await settle()
      await settle()
      assert.deepEqual([...topics], [headsTopic(1)])
    } finally {
      process.off('unhandledRejection', record)
    }
    assert.deepEqual(rejections.map(String), [])
  })
})
