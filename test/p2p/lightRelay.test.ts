/**
 * Light-client data through `outlast relay --beacon` (a real relay process in front of a
 * Beacon-API replay of the mainnet Deneb capture, test/lab/beaconReplay.ts): a Node client
 * bootstraps, syncs 45 periods and takes finality by request, then the 46th period's finality
 * by gossip, and its verifying core reaches block 22186786. A relay whose beacon node flips one
 * byte of each update is caught by the client's core as a liar. A second relay passes on gossip
 * only once its own store verified it: junk and a forged update stop there. Another peer of the
 * client's node cannot pass a forgery off as the relay's, nor, a hostile relay pinned beside an
 * honest one, get the shared node struck by the honest one. Junk frames and floods cost the
 * sender its stream, then its connection, never the relay.
 */
import assert from 'node:assert/strict'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  computeForkDigest,
  createLightClientCore,
  decodeUpdatesResponse,
  encodeFinalityUpdate,
  epochAtSlot,
  LightClientError,
  type LightClientFinalityUpdate,
  mainnet,
  slotAtTime,
} from '../../src/light/index.ts'
import { light } from '../../src/light/light.ts'
import type { LightClientSource } from '../../src/light/sources.ts'
import {
  LC_PROTOCOL,
  lightTopic,
  type PeerLibp2p,
  relayLightSource,
  startPeerNode,
} from '../../src/p2p/index.ts'
import { encodeLightRequest, LIGHT_LIMITED, LIGHT_OK } from '../../src/p2p/lightWire.ts'
import { type BeaconReplay, CAPTURES, startBeaconReplay } from '../lab/beaconReplay.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'
import { fixtureBytes } from '../light/fixtures.ts'
import { keepSigned } from './replay.ts'

const DENEB = CAPTURES.deneb
/** The finalized slot of the capture's last (46th) update: block 22186786. */
const LAST_FINALIZED_SLOT = 11403328
const now = () => slotAtTime(mainnet, Date.now())!

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000) {
  for (const deadline = Date.now() + ms; !(await ok()); ) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

let lab: Lab
const replays: BeaconReplay[] = []
const relays: RelayProcess[] = []
const sources: LightClientSource[] = []
const nodes: PeerLibp2p[] = []

async function relayFor(replay: BeaconReplay, more: string[] = []) {
  const relay = await startRelayProcess({
    rpc: lab.proxy('node').url,
    args: ['--beacon', replay.url, ...more],
  })
  relays.push(relay)
  return relay
}

/**
 * Relay B: its node stays at 45 periods, so the 46th period's update can reach B's clients only
 * by gossip. With `caughtUp`, once B's store has caught up with its node.
 */
async function relayB({ caughtUp }: { caughtUp: boolean }) {
  const replay = await startBeaconReplay({ capture: 'deneb', revealed: 45 })
  replays.push(replay)
  const b = await relayFor(replay)
  if (caughtUp)
    await until(
      "relay B's store caught up with its node",
      async () => ((await b.status()).light?.store?.period ?? 0) >= 1391,
      30_000,
    )
  return b
}

/** A light source for a relay (or any peer's address, ending in /p2p/<its id>). */
function sourceFor(relay: RelayProcess | string, o: { libp2p?: PeerLibp2p } = {}) {
  const peer = typeof relay === 'string' ? relay : relay.tcp
  const source = relayLightSource({ peer, transports: [tcp()], ...o })
  sources.push(source)
  return source
}

async function node(listen: string[] = []) {
  const n = await startPeerNode({ transports: [tcp()], listen })
  nodes.push(n)
  return n
}

/** The capture's 46 period updates. */
const captured = () =>
  decodeUpdatesResponse(fixtureBytes('colibri-deneb/updates_period_1347_count_46.ssz'), mainnet)

/** The recording's clock: a few slots after the last update was signed. */
function recordingClock() {
  const at = (mainnet.genesisTime! + (captured().at(-1)!.signatureSlot + 4) * 12) * 1000
  return { now: () => at, setTimeout, clearTimeout: (h: unknown) => clearTimeout(h as never) }
}

/** A finality update as a relay gossips it: fork digest and SSZ. */
function digested(u: LightClientFinalityUpdate) {
  const digest = computeForkDigest(mainnet, epochAtSlot(mainnet, u.attestedHeader.beacon.slot))
  return new Uint8Array([...digest, ...encodeFinalityUpdate(u)])
}

/** A forgery: bits of its finalized header's body root flipped (the branch no longer proves it). */
function forged(u: LightClientFinalityUpdate, flip = 1): LightClientFinalityUpdate {
  const bodyRoot = u.finalizedHeader!.beacon.bodyRoot.slice()
  bodyRoot[0]! ^= flip
  const finalizedHeader = {
    ...u.finalizedHeader!,
    beacon: { ...u.finalizedHeader!.beacon, bodyRoot },
  }
  return { ...u, finalizedHeader }
}

beforeAll(async () => {
  lab = await startLab({ blockTime: 0, sources: [{ name: 'node', domain: 'home' }] })
})
afterAll(async () => {
  await Promise.allSettled(sources.map((s) => s.close?.()))
  await Promise.allSettled(nodes.map((n) => n.stop()))
  await Promise.allSettled(relays.map((r) => r.stop()))
  await Promise.allSettled(replays.map((r) => r.stop()))
  await lab?.stop()
})

describe('outlast relay --beacon', () => {
  let replay: BeaconReplay
  let relay: RelayProcess
  beforeAll(async () => {
    replay = await startBeaconReplay({ capture: 'deneb', revealed: 45 })
    replays.push(replay)
    relay = await relayFor(replay)
  })

  it('bootstrap, 45 periods and finality by request, the 46th by gossip: the core reaches block 22186786', async (t) => {
    const source = sourceFor(relay)
    const gossiped: LightClientFinalityUpdate[] = []
    const stop = source.events!(
      (u) => gossiped.push(u),
      () => {},
    )
    const begin = performance.now()
    const bootstrap = await source.bootstrap(DENEB.checkpoint)
    assert.ok(bootstrap)
    const lc = createLightClientCore({ config: mainnet, checkpoint: DENEB.checkpoint, bootstrap })
    const updates = await source.updates(DENEB.firstPeriod, 128)
    assert.equal(updates.length, 45, 'the replay has revealed 45 periods')
    for (const u of updates) lc.processUpdate(u, now())
    assert.equal(lc.period, 1391)
    const finality = await source.finalityUpdate()
    assert.ok(finality)
    lc.processFinalityUpdate(finality, now())
    const synced = performance.now() - begin
    assert.ok((lc.finalized.execution?.blockNumber ?? 0) < DENEB.finalizedBlock)

    // The beacon node learns the 46th period: its event stream tells the relay, which verifies
    // the new finality update against its own store and gossips it.
    replay.reveal(46)
    const revealed = performance.now()
    await until('the 46th period finality update by gossip', () =>
      gossiped.some((u) => u.finalizedHeader?.beacon.slot === LAST_FINALIZED_SLOT),
    )
    const gossipMs = performance.now() - revealed
    const last = gossiped.find((u) => u.finalizedHeader?.beacon.slot === LAST_FINALIZED_SLOT)!
    assert.ok(lc.processFinalityUpdate(last, now()).finalized)
    assert.equal(lc.finalized.slot, LAST_FINALIZED_SLOT)
    assert.equal(lc.finalized.execution?.blockNumber, DENEB.finalizedBlock)
    stop()

    const status = await relay.status()
    assert.ok(status.light, JSON.stringify(status))
    assert.equal(status.light.chain, '4b363db9')
    assert.ok((status.light.store?.period ?? 0) >= 1391, JSON.stringify(status.light))
    assert.ok((status.gossip.lcfinalityPublished ?? 0) >= 1, JSON.stringify(status.gossip))
    await t.annotate(
      `bootstrap + 45 periods + finality through the relay ${synced.toFixed(0)} ms (verification included); reveal → gossiped finality at the client ${gossipMs.toFixed(0)} ms`,
    )
  })

  it('light() with the relay as its only source follows it to block 22186786', async () => {
    const clock = recordingClock()
    const lc = light({ checkpoint: DENEB.checkpoint, sources: [sourceFor(relay)], clock })
    try {
      await lc.start()
      await until(
        'light() finalized block 22186786',
        () => lc.finalized()?.number === DENEB.finalizedBlock,
      )
      assert.equal(lc.status().sources[0]?.name, sources.at(-1)!.name)
    } finally {
      await lc.stop()
    }
  })

  it('a relay asked for a root its node has no bootstrap for answers none, and keeps serving', async () => {
    const source = sourceFor(relay)
    assert.equal(await source.bootstrap(`0x${'11'.repeat(32)}`), undefined)
    assert.ok(await source.optimisticUpdate())
  })

  it('junk frames close only their stream; a flooder is limited, then banned; others are served', async () => {
    const honest = sourceFor(relay)
    assert.ok(await honest.finalityUpdate())
    const flooder = await node()
    const address = multiaddr(relay.tcp)
    const open = async () => lpStream(await flooder.dialProtocol(address, LC_PROTOCOL))
    const closed = async (lp: Awaited<ReturnType<typeof open>>) =>
      lp.read({ signal: AbortSignal.timeout(5_000) }).then(
        () => false,
        () => true,
      )

    // An unknown request kind: the stream is closed, the connection is not.
    const junk = await open()
    await junk.write(new Uint8Array([9, 9, 9]))
    assert.ok(await closed(junk), 'a junk frame closes its stream')
    // A frame past 64 bytes.
    const big = await open()
    await big.write(new Uint8Array(1_000))
    assert.ok(await closed(big), 'an oversized frame closes its stream')
    // Past the rate (100 a second): refused, then the third strike bans the peer.
    const fast = await open()
    let limited = 0
    let ok = 0
    for (let i = 0; i < 150; i++) {
      try {
        await fast.write(encodeLightRequest({ kind: 'optimistic' }))
        const answer = (await fast.read({ signal: AbortSignal.timeout(5_000) })).subarray()
        if (answer[0] === LIGHT_OK) ok++
        if (answer[0] === LIGHT_LIMITED) limited++
      } catch {
        break
      }
    }
    assert.ok(ok >= 1 && limited >= 1, `ok ${ok}, limited ${limited}`)
    await until('the flooder banned', async () => (await relay.status()).banned >= 1)
    await assert.rejects(open(), 'a banned peer cannot open a stream')

    // The relay serves the others meanwhile, on the same and on new streams.
    for (let i = 0; i < 5; i++) assert.ok(await honest.finalityUpdate())
    assert.ok(await sourceFor(relay).bootstrap(DENEB.checkpoint))
    const { refused } = await relay.status()
    assert.ok((refused.malformed ?? 0) >= 1, JSON.stringify(refused))
    assert.ok((refused.frame ?? 0) >= 1, JSON.stringify(refused))
    assert.ok((refused.rate ?? 0) >= 1, JSON.stringify(refused))
  })
})

describe('a relay whose beacon node lies', () => {
  it("serves the tampered updates (they decode); the client's core refuses them as lies", async () => {
    const replay = await startBeaconReplay({ capture: 'deneb', lie: true })
    replays.push(replay)
    const liar = await relayFor(replay)
    const source = sourceFor(liar)
    const bootstrap = await source.bootstrap(DENEB.checkpoint)
    assert.ok(bootstrap)
    const lc = createLightClientCore({ config: mainnet, checkpoint: DENEB.checkpoint, bootstrap })
    const before = lc.finalized
    const updates = await source.updates(DENEB.firstPeriod, 46)
    assert.equal(updates.length, 46)
    assert.throws(
      () => lc.processUpdate(updates[0]!, now()),
      (e: unknown) => e instanceof LightClientError && e.lie && e.reason === 'invalid-header',
    )
    assert.deepEqual(lc.finalized, before)
    // Its own store refused them too: it gossips nothing its store cannot verify.
    await until('the liar relay refused its own node', async () => {
      const { gossip } = await liar.status()
      return (gossip.lcfinalityNodeRefused ?? 0) >= 1
    })
    assert.equal((await liar.status()).gossip.lcfinalityPublished ?? 0, 0)
  })
})

describe('gossip through a relay', () => {
  it('a relay passes on a finality update only once its store verified it; junk and forgeries stop there', async (t) => {
    const b = await relayB({ caughtUp: true })
    const client = await node()
    const source = sourceFor(b, { libp2p: client })
    const got: LightClientFinalityUpdate[] = []
    const stop = source.events!(
      (u) => got.push(u),
      () => {},
    )
    const topic = lightTopic(mainnet.genesisValidatorsRoot, 'finality')
    const publisher = await node()
    publisher.services.pubsub.subscribe(topic)
    await publisher.dial(multiaddr(b.tcp))
    const bId = b.peerId
    await until('B in both meshes', () =>
      [publisher, client].every((n) =>
        n.services.pubsub.getSubscribers(topic).some((p) => p.toString() === bId),
      ),
    )
    await new Promise((r) => setTimeout(r, 300))

    // The genuine 46th-period finality update, as a relay would publish it, and a forgery.
    const finality = captured().at(-1)!
    const genuine = digested(finality)

    const pubsub = publisher.services.pubsub
    // A fork digest no fork has (a fork this relay may not know yet: ignored, no strike), junk
    // after a real digest (rejected), the forgery (rejected), and the genuine update.
    await pubsub.publish(topic, new Uint8Array([1, 2, 3, 4, 5]))
    await pubsub.publish(topic, new Uint8Array([...genuine.subarray(0, 4), 1, 2, 3]))
    await pubsub.publish(topic, digested(forged(finality)))
    await pubsub.publish(topic, genuine)
    await until('the genuine update through B', () => got.length >= 1)
    await new Promise((r) => setTimeout(r, 500))
    stop()
    assert.equal(got.length, 1, 'only the genuine update reached the client')
    assert.equal(got[0]!.finalizedHeader?.beacon.slot, LAST_FINALIZED_SLOT)
    const { gossip, refused } = await b.status()
    assert.equal(gossip.lcfinalityRejected, 2, JSON.stringify(gossip))
    assert.equal(gossip.lcfinalityIgnored, 1, JSON.stringify(gossip))
    assert.equal(gossip.lcfinalityAccepted, 1, JSON.stringify(gossip))
    assert.equal(refused.gossip, 2, JSON.stringify(refused))
    await t.annotate(`relay B gossip: ${JSON.stringify(gossip)}`)
  })

  it('a forgery another peer of a shared node gossips neither cuts the relay off as a liar nor gets the node struck', async () => {
    const b = await relayB({ caughtUp: false })
    // The dApp's one libp2p node, shared by its sources, is connected to another peer too (a
    // peer found by discovery, a relay pinned by p2p()), which never says a word on B's streams.
    const client = await node()
    const hostile = await node(['/ip4/127.0.0.1/tcp/0'])
    const topic = lightTopic(mainnet.genesisValidatorsRoot, 'finality')
    hostile.services.pubsub.subscribe(topic)
    const heard = keepSigned(client, topic, hostile.peerId.toString())
    const source = sourceFor(b, { libp2p: client })
    const lc = light({ checkpoint: DENEB.checkpoint, sources: [source], clock: recordingClock() })
    const lies: string[] = []
    lc.on('lie', (e) => lies.push(`${e.source}: ${e.reason}`))
    try {
      await lc.start()
      await client.dial(hostile.getMultiaddrs()[0]!)
      await until(
        'the client in the mesh',
        () => hostile.services.pubsub.getSubscribers(topic).length > 0,
      )
      await new Promise((r) => setTimeout(r, 500))
      // A forgery of the 46th period's update (news to a client at 45), gossiped by that peer.
      await hostile.services.pubsub.publish(topic, digested(forged(captured().at(-1)!)))
      await until("the client's node got it", () => heard.length > 0)
      await new Promise((r) => setTimeout(r, 500))
      assert.deepEqual(lies, [], "B's source was blamed for another peer's gossip")
      // Nor did the client's node pass it on to B (a strike against the client, a ban at the third).
      const { refused } = await b.status()
      assert.equal(refused.gossip ?? 0, 0, JSON.stringify(refused))
    } finally {
      await lc.stop()
    }
  })

  it('a hostile relay pinned beside an honest one cannot get the shared node struck (and banned) by the honest one', async () => {
    const b = await relayB({ caughtUp: true })
    // The dApp's one node, with two relays' light sources: B (honest) and H (hostile, pinned too).
    const client = await node()
    const hostile = await node(['/ip4/127.0.0.1/tcp/0'])
    const topic = lightTopic(mainnet.genesisValidatorsRoot, 'finality')
    hostile.services.pubsub.subscribe(topic)
    const h = hostile.getMultiaddrs()[0]!.toString() // ends in /p2p/<its id>
    const got: Record<'b' | 'h', LightClientFinalityUpdate[]> = { b: [], h: [] }
    const stops = (['b', 'h'] as const).map((k) =>
      sourceFor(k === 'b' ? b : h, { libp2p: client }).events!(
        (u) => got[k].push(u),
        () => {},
      ),
    )
    const subscribers = (n: PeerLibp2p) =>
      n.services.pubsub.getSubscribers(topic).map((p) => p.toString())
    try {
      await until('B and H on the topic, as the client sees it', () =>
        [b.peerId, hostile.peerId.toString()].every((p) => subscribers(client).includes(p)),
      )
      await until('the client on the topic, as H sees it', () => subscribers(hostile).length > 0)
      await new Promise((r) => setTimeout(r, 1_500)) // the meshes form (a heartbeat)
      // H gossips three forgeries (they decode): H's source takes them as H's word (light()
      // would find them out), and the client's node passes none of them on to B.
      const update = captured().at(-1)!
      for (const flip of [1, 2, 4]) {
        await hostile.services.pubsub.publish(topic, digested(forged(update, flip)))
        await new Promise((r) => setTimeout(r, 300))
      }
      await until("H's three, to H's source", () => got.h.length === 3)
      await new Promise((r) => setTimeout(r, 1_000))
      assert.equal(got.b.length, 0, "H's word is not B's")
      // B struck the client's node for none (three strikes ban it: every stream refused).
      const { refused } = await b.status()
      assert.equal(refused.gossip ?? 0, 0, JSON.stringify(refused))
      assert.equal(refused.banned ?? 0, 0, JSON.stringify(refused))
    } finally {
      for (const stop of stops) stop()
    }
  })
})
