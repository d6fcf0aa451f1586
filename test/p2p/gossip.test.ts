/**
 * Gossip between real `outlast relay` processes and dApps' nodes: relays' heads feed
 * subscriptions (as hints the other relays confirm), a relay's old signed head replayed later is
 * not its word again, a transaction sent while the relays' own nodes refuse it reaches a node
 * through gossip via a third relay, and a hostile peer's junk, forged (correctly hashed) and old
 * headers and transactions die at the first relay. A relay's new word for the height it last
 * gossiped (its node reorged to a sibling) reaches its listeners.
 */
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast } from '../../src/index.ts'
import { encodeHead } from '../../src/p2p/gossip.ts'
import { createHeadGossip } from '../../src/p2p/headGossip.ts'
import { headsTopic, type PeerLibp2p, p2p, startPeerNode, txsTopic } from '../../src/p2p/index.ts'
import { STALE_HEAD_DEPTH } from '../../src/p2p/relay/relayGossip.ts'
import { forgeHeader } from '../adversarial/hostile.ts'
import { CHAIN_ID, signedTransfer } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'
import { headOf, keepSigned, replay } from './replay.ts'

let lab: Lab
let g1: RelayProcess
let g2: RelayProcess
let g3: RelayProcess
beforeAll(async () => {
  lab = await startLab({
    blockTime: 0,
    sources: [
      { name: 'g1', domain: 'a' },
      { name: 'g2', domain: 'b' },
      { name: 'g3', domain: 'c' },
    ],
  })
  await lab.anvil.rpc('evm_mine')
  g3 = await startRelayProcess({ rpc: lab.proxy('g3').url, rate: 10_000 })
  ;[g1, g2] = (await Promise.all(
    ['g1', 'g2'].map((n) =>
      startRelayProcess({ rpc: lab.proxy(n).url, peers: [g3.tcp], rate: 10_000 }),
    ),
  )) as [RelayProcess, RelayProcess]
})
afterAll(async () => {
  await Promise.all([g1, g2, g3].map((r) => r?.stop()))
  await lab?.stop()
})

const sources = () =>
  p2p({
    peers: [
      { address: g1.tcp, name: 'g1', domain: 'a' },
      { address: g2.tcp, name: 'g2', domain: 'b' },
    ],
    transports: [tcp()],
  })

const until = async (what: string, ok: () => Promise<boolean> | boolean, ms = 10_000) => {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const topic = headsTopic(CHAIN_ID)
/** Is `relay` on the heads topic, as `node` sees it (the mesh can form)? */
const meshed = (node: PeerLibp2p, relay: RelayProcess) =>
  node.services.pubsub.getSubscribers(topic).some((p) => p.toString() === relay.peerId)

describe('gossip', () => {
  it("relays' gossiped heads reach subscriptions, without waiting for a poll", async () => {
    // A poll every 30 s: a head that arrives within seconds came by gossip.
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [sources()], pollingInterval: 30_000 })
    const heads: string[] = []
    rpc.on('message', (m) => {
      const result = m.data.result as { hash?: string }
      if (result?.hash) heads.push(result.hash)
    })
    try {
      await rpc.request({ method: 'eth_subscribe', params: ['newHeads'] })
      await new Promise((r) => setTimeout(r, 1_500)) // the mesh forms, the first poll settles
      for (let i = 0; i < 3; i++) {
        await lab.anvil.rpc('evm_mine')
        const block = await lab.anvil.rpc<{ hash: string }>('eth_getBlockByNumber', [
          'latest',
          false,
        ])
        await until(`head ${block.hash}`, () => heads.includes(block.hash), 8_000)
      }
    } finally {
      await rpc.close()
    }
  })

  it("a relay's old signed head, replayed later through an honest relay, is not its pushed head again", async () => {
    // A stranger listens to g1's heads (anyone may) and keeps g1's signed messages.
    const stranger = await startPeerNode({ transports: [tcp()] })
    const kept = keepSigned(stranger, topic, g1.peerId)
    stranger.services.pubsub.subscribe(topic)
    await stranger.dial(multiaddr(g1.tcp))
    await until('g1 in the mesh', () => meshed(stranger, g1))
    await lab.anvil.rpc('evm_mine')
    await until("one of g1's heads kept", () => kept.length > 0)
    const old = headOf(kept[0]!)
    // A relay that never saw that message (gossipsub forgets ids after 2 minutes: then any relay
    // would pass it on), and a wait past gossipsub's advertising of it (3 s), before a dApp
    // follows g1's heads and gets a new one.
    const [c] = await Promise.all([
      startRelayProcess({ rpc: lab.proxy('g3').url, rate: 10_000 }),
      new Promise((r) => setTimeout(r, 4_000)),
    ])
    const [s1, sc] = p2p({ peers: [g1.tcp, c.tcp], transports: [tcp()] })
    const pushed: string[] = []
    try {
      await s1!.request({ method: 'eth_chainId', params: [] })
      await sc!.request({ method: 'eth_chainId', params: [] })
      await s1!.subscribe!(['newHeads'], (h) => pushed.push((h as { hash: string }).hash))
      await new Promise((r) => setTimeout(r, 1_000)) // the mesh forms
      await lab.anvil.rpc('evm_mine')
      await until("g1's new head", () => pushed.length > 0)

      // The stranger sends g1's old message to c, whose node has the block: c passes it on.
      await stranger.dial(multiaddr(c.tcp))
      await until('c in the mesh', () => meshed(stranger, c))
      const accepted = async () => (await c.status()).gossip.headsAccepted ?? 0
      const before = await accepted()
      replay(stranger, c.peerId, kept.slice(0, 1))
      await until('c passed it on', async () => (await accepted()) > before)
      await new Promise((r) => setTimeout(r, 500))
      assert.ok(!pushed.includes(old.hash), `g1's head ${Number(old.number)} was pushed again`)
    } finally {
      await s1!.close!()
      await sc!.close!()
      await stranger.stop()
      await c.stop()
    }
  })

  it("a relay passes on no head far below its node's head (a replay, or news to no one)", async () => {
    const peer = await startPeerNode({ transports: [tcp()] })
    const fromG1 = keepSigned(peer, topic, g1.peerId)
    peer.services.pubsub.subscribe(topic)
    try {
      await peer.dial(multiaddr(g1.tcp))
      await until('g1 in the mesh', () => meshed(peer, g1))
      for (let i = 0; i <= STALE_HEAD_DEPTH; i++) await lab.anvil.rpc('evm_mine')
      const top = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
      await until("g1 at its node's head", () =>
        fromG1.some((m) => Number(headOf(m).number) === top),
      )
      const stale = async () => (await g1.status()).gossip.headsStale ?? 0
      const before = await stale()
      const old = await lab.anvil.rpc<Record<string, unknown>>('eth_getBlockByNumber', [
        `0x${(top - STALE_HEAD_DEPTH - 1).toString(16)}`,
        false,
      ])
      await peer.services.pubsub.publish(topic, encodeHead(old))
      await until('g1 to judge it', async () => (await stale()) > before)
    } finally {
      await peer.stop()
    }
  })

  it('a transaction its relays cannot send reaches a node by gossip through another relay', async () => {
    for (const n of ['g1', 'g2'])
      await lab
        .proxy(n)
        .setMode({ kind: 'methods', failing: ['eth_sendRawTransaction'], with: 'http5xx' })
    const raw = await signedTransfer(lab.anvil)
    const before = (await g3.status()).gossip.txsSubmitted ?? 0
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [sources()] })
    try {
      const hash = await rpc.request({ method: 'eth_sendRawTransaction', params: [raw] })
      await until(
        'the receipt',
        async () => !!(await lab.anvil.rpc('eth_getTransactionReceipt', [hash])),
      )
      assert.equal((await g3.status()).gossip.txsSubmitted, before + 1, 'g3 submitted it')
      for (const n of ['g1', 'g2'] as const) {
        const asked = lab.proxy(n).stats.byMethod.eth_sendRawTransaction ?? 0
        assert.ok(asked > 0, `${n}'s node was asked and failed`)
      }
    } finally {
      await rpc.close()
      for (const n of ['g1', 'g2']) await lab.proxy(n).setMode({ kind: 'ok' })
    }
  })

  it("a hostile peer's junk and forged headers and transactions die at the first relay", async () => {
    // Two hostile peers (three rejected messages ban a peer: each stays within what it needs).
    const hostile = await startPeerNode({ transports: [tcp()] })
    const txHostile = await startPeerNode({ transports: [tcp()] })
    const rpc = createOutlast({ chainId: CHAIN_ID, sources: [sources()], pollingInterval: 30_000 })
    const delivered: string[] = []
    rpc.on('message', (m) => {
      const result = m.data.result as { hash?: string }
      if (result?.hash) delivered.push(result.hash)
    })
    try {
      await rpc.request({ method: 'eth_subscribe', params: ['newHeads'] })
      const pubsub = hostile.services.pubsub
      pubsub.subscribe(headsTopic(CHAIN_ID))
      pubsub.subscribe(txsTopic(CHAIN_ID))
      const txPubsub = txHostile.services.pubsub
      txPubsub.subscribe(txsTopic(CHAIN_ID))
      await hostile.dial(multiaddr(g1.tcp))
      await txHostile.dial(multiaddr(g1.tcp))
      await until('the mesh', () => pubsub.getSubscribers(headsTopic(CHAIN_ID)).length > 0)
      await until('the mesh', () => txPubsub.getSubscribers(txsTopic(CHAIN_ID)).length > 0)
      const bans = (await g1.status()).refused.banned ?? 0
      const before = (await g1.status()).gossip
      const real = await lab.anvil.rpc<Record<string, unknown>>('eth_getBlockByNumber', [
        'latest',
        false,
      ])
      // Correctly hashed, one block ahead: only a node that has it could tell.
      const forged = forgeHeader(real, Number(real.number) + 1)
      const junk = [
        new TextEncoder().encode(JSON.stringify(forged)),
        new TextEncoder().encode(JSON.stringify({ ...real, stateRoot: `0x${'11'.repeat(32)}` })),
        new TextEncoder().encode('{"number":'),
        new Uint8Array(10_000),
      ]
      for (const data of junk) await pubsub.publish(headsTopic(CHAIN_ID), data).catch(() => {})
      // A transaction for another chain, and bytes that are no transaction.
      const account = privateKeyToAccount(devAccounts[3]!.privateKey)
      const otherChain = await account.signTransaction({
        chainId: 1,
        type: 'eip1559',
        to: devAccounts[2]!.address,
        value: 1n,
        nonce: 0,
        gas: 21_000n,
        maxFeePerGas: 1n,
        maxPriorityFeePerGas: 1n,
      })
      for (const data of [Buffer.from(otherChain.slice(2), 'hex'), new Uint8Array([2, 1, 2, 3])])
        await txPubsub.publish(txsTopic(CHAIN_ID), data).catch(() => {})
      await until('the relay to judge them', async () => {
        const g = (await g1.status()).gossip
        const judged = (k: string) => (g[k] ?? 0) - (before[k] ?? 0)
        return (
          judged('headsIgnored') >= 1 && judged('headsRejected') >= 3 && judged('txsRejected') >= 2
        )
      })
      await new Promise((r) => setTimeout(r, 500))
      assert.ok(!delivered.includes(forged.hash as string), 'the forged head reached no subscriber')
      assert.equal((await g3.status()).gossip.headsIgnored ?? 0, 0, 'nothing was passed on to g3')
      assert.equal(
        (await g1.status()).refused.banned,
        bans + 1,
        'three junk heads banned their sender',
      )
    } finally {
      await rpc.close()
      await hostile.stop()
      await txHostile.stop()
    }
  })
})

describe("a relay's gossiped heads, as its listeners get them", () => {
  it("a relay's newer word for its last head's height (its node reorged to a sibling) is pushed", async () => {
    // A stand-in node: the gossip handler and the topic validators, nothing else.
    const handlers: ((e: CustomEvent<Record<string, unknown>>) => void)[] = []
    const node = {
      services: {
        pubsub: {
          addEventListener: (_: string, fn: (typeof handlers)[number]) => handlers.push(fn),
          topicValidators: new Map(),
          subscribe: () => {},
        },
      },
    } as unknown as PeerLibp2p
    const relay = peerIdFromString(g1.peerId)
    const gossip = createHeadGossip({ gossip: true, chainId: CHAIN_ID }, async () => node)
    const pushed: unknown[] = []
    gossip.onHeads(relay, (h) => pushed.push(h.hash))
    await until('the gossip handler', () => handlers.length === 1)
    const send = (header: Record<string, unknown>, sequenceNumber: bigint) =>
      handlers[0]!(
        new CustomEvent('message', {
          detail: { type: 'signed', from: relay, topic, data: encodeHead(header), sequenceNumber },
        }),
      )
    const real = await lab.anvil.rpc<Record<string, unknown>>('eth_getBlockByNumber', [
      'latest',
      false,
    ])
    const head = forgeHeader(real, 100, 1)
    const sibling = forgeHeader(real, 100, 2)
    send(head, 10n)
    send(head, 10n) // a replay: dropped
    // The relay's node reorged at the same height: the relay publishes its new head, with a
    // higher signed sequence number (core/head.ts takes a pushed head at its source's height).
    send(sibling, 11n)
    send(head, 11n) // a replay of the sequence number: dropped
    assert.deepEqual(pushed, [head.hash, sibling.hash])
  })
})
