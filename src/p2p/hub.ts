/**
 * What the sources of one `p2p()` share: the libp2p node (started on first use, stopped when the
 * last source closes), one exchange per peer (streams.ts), the relays' gossiped heads
 * (headGossip.ts), transactions published to gossip, and the peers found by discovery
 * (discovery.ts). The sources (p2p.ts) decide nothing here; the engine does.
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { createDiscovery } from './discovery.ts'
import { createHeadGossip } from './headGossip.ts'
import { type PeerLibp2p, type PeerNodeOptions, startPeerNode } from './peerNode.ts'
import { RPC_PROTOCOL, STREAM_LIMITS, txsTopic } from './protocol.ts'
import { type Exchange, streamExchange } from './streams.ts'

/** A peer as dialed: its address and the peer id the address ends with. */
export type PeerAddress = { address: Multiaddr; id: PeerId }

export type HubSettings = PeerNodeOptions & {
  /** A node to share (with `outlast/ipfs`, an app's own); not stopped on close. */
  libp2p?: PeerLibp2p | undefined
  maxResponseBytes: number
  chainId?: number | undefined
  gossip: boolean
  /** The addresses the user gave (pinned relays, discovery lists): always dialable. */
  told: readonly string[]
}

export type Hub = ReturnType<typeof createHub>

/** Parses `/…/p2p/<peer id>`; throws a plain `Error` saying what is wrong. */
export function peerAddress(text: string): PeerAddress {
  const address = multiaddr(text)
  const id = address.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (!id) throw new Error(`${text} names no peer: it must end with /p2p/<peer id>`)
  return { address, id: peerIdFromString(id) }
}

export function createHub(settings: HubSettings) {
  let node: Promise<PeerLibp2p> | undefined
  let users = 0
  const exchanges = new Map<string, Exchange & { close(): void }>()
  const discovery = createDiscovery()

  const ready = (): Promise<PeerLibp2p> => {
    if (node) return node
    const starting = (async () => {
      const n = settings.libp2p ?? (await startPeerNode(settings, settings.told))
      discovery.watch(n)
      return n
    })().catch((error: unknown) => {
      // A node that failed to start (or whose code failed to load) is started again next use.
      if (node === starting) node = undefined
      throw error
    })
    node = starting
    return starting
  }
  const heads = createHeadGossip(settings, ready)

  const exchangeWith = (peer: { id: PeerId; address?: Multiaddr | undefined }): Exchange => {
    const key = peer.id.toString()
    let ex = exchanges.get(key)
    if (!ex) {
      const dial = async (signal: AbortSignal): Promise<Stream> => {
        const n = await ready()
        const open = n.getConnections(peer.id).length > 0
        return n.dialProtocol(open || !peer.address ? peer.id : peer.address, RPC_PROTOCOL, {
          signal,
          ...STREAM_LIMITS,
        })
      }
      ex = streamExchange(dial, settings.maxResponseBytes)
      exchanges.set(key, ex)
    }
    return ex
  }

  return {
    ready,
    exchangeWith,
    learnChain: heads.learnChain,
    onHeads: heads.onHeads,
    forget: discovery.forget,
    untilIdentified: discovery.untilIdentified,
    discovered: discovery.discovered,
    open() {
      users++
    },
    /** Publishes a signed raw transaction; resolves with how many peers it went to (0 if none). */
    async publishTransaction(
      raw: Uint8Array,
      txChainId: number,
      signal?: AbortSignal,
    ): Promise<number> {
      if (!settings.gossip) return 0
      const n = await ready()
      const topic = txsTopic(txChainId)
      // Peers tell their topics just after connecting, and gossipsub opens its own stream to
      // each a moment later: a send right after the first dial waits for a subscriber it can
      // send to (up to 5 s, or until the call is cancelled) rather than publishing to no one (a
      // message published once is not published again: its id is its content's hash). Only a
      // send its relays could not deliver waits on this.
      const until = Date.now() + 5_000
      while (!reachable(n, topic) && Date.now() < until && !signal?.aborted)
        await new Promise((r) => setTimeout(r, 50))
      try {
        const r = await n.services.pubsub.publish(topic, raw)
        return r.recipients.length
      } catch {
        return 0
      }
    },
    /** Dials peers to discover (untrusted): those that serve the RPC protocol join `discovered`. */
    async dialAll(addresses: readonly Multiaddr[]) {
      const n = await ready()
      await Promise.allSettled(addresses.map((a) => n.dial(a)))
    },
    async close() {
      if (--users > 0) return
      for (const ex of exchanges.values()) ex.close()
      exchanges.clear()
      const n = node
      node = undefined
      const started = await n?.catch(() => undefined)
      // A shared node goes on: this hub's topics and gossip handler are let go of.
      heads.close(started)
      if (started && !settings.libp2p) await started.stop()
    },
  }
}

/**
 * Is a subscriber of `topic` one gossipsub can send to now (a publish would reach it)? Its own
 * outbound stream must be registered: the stream shows on the connection a moment before
 * gossipsub keeps it, and a publish in between reaches no one. `streamsOutbound` is public on
 * gossipsub's class, not on the interface its factory returns; were it gone, the connection's
 * open outbound meshsub stream is the sign.
 */
function reachable(n: PeerLibp2p, topic: string): boolean {
  const registered = (n.services.pubsub as unknown as { streamsOutbound?: Map<string, unknown> })
    .streamsOutbound
  return n.services.pubsub
    .getSubscribers(topic)
    .some((peer) =>
      registered instanceof Map
        ? registered.has(peer.toString())
        : n
            .getConnections(peer)
            .some((c) =>
              c.streams.some(
                (s) => s.direction === 'outbound' && s.protocol.startsWith('/meshsub/'),
              ),
            ),
    )
}
