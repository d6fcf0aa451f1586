/**
 * The p2p client side (p2p.ts, hub.ts, streams.ts) against one hostile relay or peer, found by an
 * audit (each test failed before its fix): each test is an attack (or a fault) and what the
 * client must do about it. Hostile relays are in-process libp2p nodes speaking
 * `/outlast/rpc/1.0.0`; honest ones are real `outlast relay` processes in front of anvil.
 */
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http } from '../../src/index.ts'
import { encodeHead } from '../../src/p2p/gossip.ts'
import {
  headsTopic,
  type PeerLibp2p,
  p2p,
  RPC_PROTOCOL,
  startPeerNode,
  txsTopic,
} from '../../src/p2p/index.ts'
import { STREAM_LIMITS } from '../../src/p2p/protocol.ts'
import { keccak256 } from '../../src/shared/keccak.ts'
import type { Source } from '../../src/shared/types.ts'
import { CHAIN_ID } from '../helpers.ts'
import { type Anvil, devAccounts, startAnvil } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'
import { headOf, keepSigned, replay } from './replay.ts'

let anvil: Anvil
let relay: RelayProcess
const nodes: PeerLibp2p[] = []
beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 0 })
  await anvil.rpc('evm_mine')
  relay = await startRelayProcess({ rpc: anvil.url, rate: 10_000 })
})
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  await relay?.stop()
  await anvil?.stop()
})

const encoder = new TextEncoder()
const decoder = new TextDecoder()

type Call = { jsonrpc: '2.0'; id: number; method: string; params: unknown[] }
/** What a hostile relay does with one call on a stream: write any frames it likes. */
type Behaviour = (call: Call, write: (value: unknown) => Promise<void>) => Promise<void>

/** The node's own answer to a call (an honest relay passes it through). */
const honestly = async (call: Call): Promise<unknown> => {
  const r = await fetch(anvil.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(call),
  })
  return r.json()
}

async function peerNode(listen = true): Promise<PeerLibp2p> {
  const node = await startPeerNode({
    transports: [tcp()],
    ...(listen ? { listen: ['/ip4/127.0.0.1/tcp/0'] } : {}),
  })
  nodes.push(node)
  return node
}

/** An in-process relay that answers each call as `behaviour` says. */
async function hostileRelay(behaviour: Behaviour) {
  const node = await peerNode()
  await node.handle(
    RPC_PROTOCOL,
    async (stream: Stream) => {
      const lp = lpStream(stream, { maxDataLength: 1024 * 1024 })
      const write = (value: unknown) =>
        lp.write(
          typeof value === 'string' ? encoder.encode(value) : encoder.encode(JSON.stringify(value)),
        )
      try {
        while (true) {
          const call = JSON.parse(decoder.decode((await lp.read()).subarray())) as Call
          await behaviour(call, write)
        }
      } catch {
        stream.abort(new Error('done'))
      }
    },
    STREAM_LIMITS,
  )
  return { node, address: node.getMultiaddrs()[0]!.toString() }
}

const passThrough: Behaviour = async (call, write) => write(await honestly(call))

/** A signed transfer from an account with no ether: every honest node rejects it. */
async function unfundedTransfer(): Promise<`0x${string}`> {
  const account = privateKeyToAccount(generatePrivateKey())
  return account.signTransaction({
    chainId: CHAIN_ID,
    type: 'eip1559',
    to: devAccounts[2]!.address,
    value: 10n ** 18n,
    nonce: 0,
    gas: 21_000n,
    maxFeePerGas: 20_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  })
}

const closeAll = async (sources: Source[]) => {
  for (const s of sources) await s.close?.()
}

async function waitFor(what: string, ok: () => boolean, ms = 10_000) {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 50)))
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`)
}

describe('p2p client, one hostile relay or peer', () => {
  it("a relay node's rejection of a transaction is not turned into its acceptance", async () => {
    const raw = await unfundedTransfer()
    // The node itself says no (insufficient funds).
    const direct = (await honestly({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_sendRawTransaction',
      params: [raw],
    })) as { error?: { code: number; message: string } }
    assert.ok(direct.error, 'anvil rejects the transaction')
    const [source] = p2p({ peers: [relay.tcp], transports: [tcp()] })
    try {
      const outcome = await source!
        .request({ method: 'eth_sendRawTransaction', params: [raw] })
        .then(
          (result) => ({ result }),
          (error: Error) => ({ error }),
        )
      assert.ok(
        'error' in outcome,
        `the relay's node said "${direct.error!.message}" (code ${direct.error!.code}), ` +
          `but the source answered ${JSON.stringify((outcome as { result: unknown }).result)}`,
      )
    } finally {
      await closeAll([source!])
    }
  })
  it('one hostile relay and an honest relay whose node rejects a transaction do not make it sent', async () => {
    const raw = await unfundedTransfer()
    // The hostile relay is honest about everything but sends: it claims every transaction.
    const hostile = await hostileRelay(async (call, write) =>
      call.method === 'eth_sendRawTransaction'
        ? write({ jsonrpc: '2.0', id: call.id, result: keccak256(call.params[0] as `0x${string}`) })
        : passThrough(call, write),
    )
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        p2p({ peers: [{ address: relay.tcp, name: 'honest', domain: 'a' }], transports: [tcp()] }),
        p2p({
          peers: [{ address: hostile.address, name: 'hostile', domain: 'b' }],
          transports: [tcp()],
          gossip: false,
        }),
        http(anvil.url, { name: 'node', domain: 'c' }),
      ],
    })
    const outcomes: string[] = []
    rpc.on('broadcast', (o) => outcomes.push(`${o.source}: ${o.outcome}`))
    try {
      const outcome = await rpc.request({ method: 'eth_sendRawTransaction', params: [raw] }).then(
        (result) => ({ result }),
        (error: Error) => ({ error }),
      )
      assert.ok(
        'error' in outcome,
        `two nodes reject it and only the hostile relay accepts it, yet it was reported sent ` +
          `as ${JSON.stringify((outcome as { result: unknown }).result)} (${outcomes.join(', ')})`,
      )
    } finally {
      await rpc.close()
    }
  })
  it('a relay that is down does not vouch for a transaction because a hostile peer took it by gossip', async () => {
    const raw = await unfundedTransfer()
    // Pinned, but down: its dial is refused.
    const gone = await peerNode()
    const goneAddress = gone.getMultiaddrs()[0]!.toString()
    await gone.stop()
    // Another pinned relay, hostile: it listens on the transaction topic (and drops what comes).
    const hostile = await hostileRelay(passThrough)
    hostile.node.services.pubsub.subscribe(txsTopic(CHAIN_ID))
    const [down, other] = p2p({ peers: [goneAddress, hostile.address], transports: [tcp()] })
    try {
      await other!.request({ method: 'eth_chainId', params: [] })
      const outcome = await down!.request({ method: 'eth_sendRawTransaction', params: [raw] }).then(
        (result) => ({ result }),
        (error: Error) => ({ error }),
      )
      assert.ok(
        'error' in outcome,
        `a relay that could not be reached answered ${JSON.stringify((outcome as { result: unknown }).result)}: ` +
          `its "accepted" is the hostile peer's subscription`,
      )
    } finally {
      await closeAll([down!, other!])
    }
  })
  it('a relay gone after its chain check and one hostile relay do not make a rejected transaction sent', async () => {
    const raw = await unfundedTransfer()
    const lost = await hostileRelay(passThrough) // honest, until it goes away
    const hostile = await hostileRelay(async (call, write) =>
      call.method === 'eth_sendRawTransaction'
        ? write({ jsonrpc: '2.0', id: call.id, result: keccak256(call.params[0] as `0x${string}`) })
        : passThrough(call, write),
    )
    hostile.node.services.pubsub.subscribe(txsTopic(CHAIN_ID))
    const rpc = createOutlast({
      chainId: CHAIN_ID,
      sources: [
        p2p({
          peers: [
            { address: lost.address, name: 'lost', domain: 'a' },
            { address: hostile.address, name: 'hostile', domain: 'b' },
          ],
          transports: [tcp()],
        }),
        http(anvil.url, { name: 'node', domain: 'c' }),
      ],
    })
    const outcomes: string[] = []
    rpc.on('broadcast', (o) =>
      outcomes.push(`${o.source}: ${o.outcome}${o.reason ? ` (${o.reason})` : ''}`),
    )
    try {
      await rpc.request({ method: 'eth_getBalance', params: [devAccounts[0]!.address, 'latest'] })
      await new Promise((r) => setTimeout(r, 300)) // gossip streams open
      await lost.node.stop()
      const outcome = await rpc.request({ method: 'eth_sendRawTransaction', params: [raw] }).then(
        (result) => ({ result }),
        (error: Error) => ({ error }),
      )
      assert.ok(
        'error' in outcome,
        `the only node that judged it rejects it and the only relay that accepts it is hostile, ` +
          `yet it was reported sent as ${JSON.stringify((outcome as { result: unknown }).result)} (${outcomes.join(', ')})`,
      )
    } finally {
      await rpc.close()
    }
  })
  it('an answer under maxResponseBytes is read whole (the 16 MiB default, and 8 MiB when set)', async () => {
    // 5 MiB of result: under both limits, over @libp2p/utils' default 4 MiB read buffer.
    const big = `0x${'ab'.repeat(5 * 512 * 1024)}`
    const relayBig = await hostileRelay(async (call, write) =>
      write({ jsonrpc: '2.0', id: call.id, result: big }),
    )
    for (const maxResponseBytes of [undefined, 8 * 1024 * 1024]) {
      const [source] = p2p({
        peers: [relayBig.address],
        transports: [tcp()],
        gossip: false,
        ...(maxResponseBytes ? { maxResponseBytes } : {}),
      })
      try {
        const outcome = await source!
          .request({ method: 'eth_getCode', params: [devAccounts[0]!.address, 'latest'] })
          .then(
            (result) => ({ result }),
            (error: Error) => ({ error }),
          )
        assert.ok(
          !('error' in outcome),
          `maxResponseBytes ${maxResponseBytes ?? 'default'}: a 5 MiB answer failed: ${'error' in outcome ? outcome.error.message : ''}`,
        )
        assert.equal((outcome as { result: string }).result.length, big.length)
      } finally {
        await closeAll([source!])
      }
    }
  })
  it("one relay's eth_chainId does not choose the heads topic every relay's gossip is heard on", async () => {
    const hostile = await hostileRelay(async (call, write) =>
      call.method === 'eth_chainId'
        ? write({ jsonrpc: '2.0', id: call.id, result: '0x1' })
        : passThrough(call, write),
    )
    const honest = await hostileRelay(passThrough) // an honest relay: its node's answers
    const honestId = honest.node.peerId.toString()
    const [liar, truthful] = p2p({ peers: [hostile.address, honest.address], transports: [tcp()] })
    const heads: string[] = []
    try {
      await truthful!.subscribe!(['newHeads'], (h) => heads.push((h as { hash: string }).hash))
      await liar!.request({ method: 'eth_chainId', params: [] }) // the fastest answer
      assert.equal(await truthful!.request({ method: 'eth_chainId', params: [] }), '0x7a69')
      // The honest relay publishes its node's head once a dApp listens on the chain's topic.
      const topic = headsTopic(CHAIN_ID)
      const end = Date.now() + 3_000
      while (honest.node.services.pubsub.getSubscribers(topic).length === 0 && Date.now() < end)
        await new Promise((r) => setTimeout(r, 50))
      const head = (await honestly({
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_getBlockByNumber',
        params: ['latest', false],
      })) as { result: Record<string, unknown> }
      await honest.node.services.pubsub.publish(topic, encodeHead(head.result)).catch(() => {})
      const until = Date.now() + 2_000
      while (!heads.includes(head.result.hash as string) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50))
      assert.ok(
        heads.includes(head.result.hash as string),
        `relay ${honestId.slice(-8)}'s gossiped head never reached its subscription: the dApp ` +
          `listens on ${JSON.stringify(nodesTopics(hostile.node, honest.node))}, chosen by the other relay's eth_chainId`,
      )
    } finally {
      await closeAll([liar!, truthful!])
    }
  })
  it("a hostile relay's replay of an honest relay's old signed heads is not that relay's pushed heads", async () => {
    // The hostile relay listens to the honest relay's heads like any peer and keeps them.
    const topic = headsTopic(CHAIN_ID)
    const c = await hostileRelay(passThrough)
    const kept = keepSigned(c.node, topic, relay.peerId)
    c.node.services.pubsub.subscribe(topic)
    await c.node.dial(multiaddr(relay.tcp))
    await waitFor('the mesh', () => c.node.services.pubsub.getSubscribers(topic).length > 0)
    for (let i = 0; i < 3; i++) {
      await anvil.rpc('evm_mine')
      await waitFor('the head kept', () => kept.length > i)
    }
    // Past gossipsub's advertising of them (3 s), a dApp pins both relays and follows the
    // honest one's heads; a new one arrives.
    await new Promise((r) => setTimeout(r, 4_000))
    const dApp = await peerNode(false)
    const received = keepSigned(dApp, topic, relay.peerId)
    const [honest, hostile] = p2p({
      peers: [relay.tcp, c.address],
      transports: [tcp()],
      libp2p: dApp,
    })
    const pushed: number[] = []
    try {
      await honest!.request({ method: 'eth_chainId', params: [] })
      await hostile!.request({ method: 'eth_chainId', params: [] })
      await honest!.subscribe!(['newHeads'], (h) =>
        pushed.push(Number((h as { number: string }).number)),
      )
      await new Promise((r) => setTimeout(r, 1_000)) // the mesh forms
      await anvil.rpc('evm_mine')
      await waitFor('the new head pushed', () => pushed.length > 0)

      // The hostile relay sends the dApp the honest relay's old messages, signatures intact.
      replay(c.node, dApp.peerId.toString(), kept)
      const old = new Set(kept.map((m) => headOf(m).hash))
      await waitFor('the dApp got them', () => {
        const got = received.filter((m) => old.has(headOf(m).hash))
        return got.length >= kept.length
      })
      await new Promise((r) => setTimeout(r, 300))
      assert.deepEqual(pushed, pushed.slice(0, 1), `pushed after ${pushed[0]}: ${pushed.slice(1)}`)
    } finally {
      await closeAll([honest!, hostile!])
    }
  })

  it('a stream that sent one answer too many is not kept: the relay is heard again once honest', async () => {
    let calls = 0
    const relayTwice = await hostileRelay(async (call, write) => {
      const answer = await honestly(call)
      await write(answer)
      if (++calls === 1) await write(answer) // once, a second answer to the same call
    })
    const [source] = p2p({ peers: [relayTwice.address], transports: [tcp()], gossip: false })
    const errors: string[] = []
    try {
      await source!.request({ method: 'eth_chainId', params: [] })
      // Sequential calls, each on the one kept stream, the relay now honest.
      let ok = false
      for (let i = 0; i < 4 && !ok; i++)
        ok = await source!.request({ method: 'eth_chainId', params: [] }).then(
          () => true,
          (e: Error) => {
            errors.push(e.message)
            return false
          },
        )
      assert.ok(ok, `every later call failed on the kept stream: ${errors.join(' | ')}`)
    } finally {
      await closeAll([source!])
    }
  })
  it('the first call to peers found by discovery waits for them to be identified', async () => {
    const peer = await hostileRelay(passThrough)
    const [found] = p2p({ peers: [], discover: [peer.address], transports: [tcp()], gossip: false })
    try {
      // No warm-up: the dial resolves before identify has said the peer serves the protocol.
      assert.equal(
        await found!.request({ method: 'eth_chainId', params: [] }),
        `0x${CHAIN_ID.toString(16)}`,
      )
    } finally {
      await closeAll([found!])
    }
  })

  it('a discovered peer that went away leaves the rotation of discovered peers', async () => {
    const steady = await hostileRelay(passThrough)
    const fleeting = await hostileRelay(passThrough)
    const [found] = p2p({
      peers: [],
      discover: [steady.address, fleeting.address],
      transports: [tcp()],
      gossip: false,
    })
    try {
      // Both dialed and identified (identify runs just after the dial resolves).
      await found!.request({ method: 'eth_chainId', params: [] }).catch(() => {})
      await new Promise((r) => setTimeout(r, 500))
      await found!.request({ method: 'eth_chainId', params: [] })
      await fleeting.node.stop()
      const failed: string[] = []
      for (let i = 0; i < 4; i++)
        await found!.request({ method: 'eth_chainId', params: [] }).catch((e: Error) => {
          failed.push(e.message)
        })
      assert.deepEqual(failed, [], `calls went to a peer that is gone: ${failed.join(' | ')}`)
    } finally {
      await closeAll([found!])
    }
  })
})

/** The heads topics the dApp's node is seen subscribed to, by the two relays. */
function nodesTopics(...relays: PeerLibp2p[]): string[] {
  const topics = new Set<string>()
  for (const chain of [1, CHAIN_ID])
    if (relays.some((r) => r.services.pubsub.getSubscribers(headsTopic(chain)).length > 0))
      topics.add(headsTopic(chain))
  return [...topics]
}
