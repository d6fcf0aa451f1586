/**
 * What the sources of one `p2p()` share: the libp2p node (started on first use, stopped when the
 * last source closes), one exchange per peer (streams.ts), the chain's gossip topics, and the
 * peers found by discovery. The sources (p2p.ts) decide nothing here; the engine does.
 */
import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { checkHead } from './gossip.ts'
import { type PeerLibp2p, type PeerNodeOptions, startPeerNode } from './peerNode.ts'
import { headsTopic, RPC_PROTOCOL, STREAM_LIMITS, txsTopic } from './protocol.ts'
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
  /** Each pinned relay's chain, from its own `eth_chainId` answer (unless options name one). */
  const chains = new Map<string, number>()
  const exchanges = new Map<string, Exchange & { close(): void }>()
  const headListeners = new Map<string, Set<(header: Record<string, unknown>) => void>>()
  /** Peers that said (identify) they serve the RPC protocol: discovery's harvest. */
  const serving = new Set<string>()
  /** Calls waiting for the first such peer (a dial resolves before identify has run). */
  const waiting = new Set<() => void>()

  const start = async (): Promise<PeerLibp2p> => {
    const n = settings.libp2p ?? (await startPeerNode(settings, settings.told))
    n.addEventListener('peer:identify', (e) => {
      const id = e.detail.peerId.toString()
      if (e.detail.protocols.includes(RPC_PROTOCOL)) {
        serving.add(id)
        for (const wake of waiting) wake()
      } else serving.delete(id)
    })
    // A discovered peer that went away leaves the rotation (peer ids cost nothing to make).
    n.addEventListener('peer:disconnect', (e) => void serving.delete(e.detail.toString()))
    return n
  }

  const ready = () => {
    node ??= start()
    return node
  }

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

  /** The heads topic a relay's heads count on: its own chain's (one relay cannot pick another's). */
  const topicOf = (peer: string) => {
    const id = settings.chainId ?? chains.get(peer)
    return id === undefined ? undefined : headsTopic(id)
  }

  /** Delivers gossiped heads, once checked, to the listeners of the peer that signed them. */
  const onGossip = (e: CustomEvent<Message>) => {
    const msg = e.detail
    if (msg.type !== 'signed') return
    const from = msg.from.toString()
    if (msg.topic !== topicOf(from)) return
    const listeners = headListeners.get(from)
    if (!listeners?.size) return
    const head = checkHead(msg.data)
    if (head.ok) for (const l of listeners) l(head.value)
  }
  /** Heads topics subscribed to: one per chain the relays named (at most one per relay). */
  const subscribed = new Set<string>()
  const listenForHeads = async () => {
    if (!settings.gossip || headListeners.size === 0) return
    const ids = settings.chainId !== undefined ? [settings.chainId] : [...chains.values()]
    const fresh = [...new Set(ids.map(headsTopic))].filter((t) => !subscribed.has(t))
    if (fresh.length === 0) return
    const first = subscribed.size === 0
    for (const t of fresh) subscribed.add(t)
    const n = await ready()
    if (first) n.services.pubsub.addEventListener('message', onGossip)
    for (const topic of fresh) {
      n.services.pubsub.topicValidators.set(topic, (_peer, msg) =>
        checkHead(msg.data).ok ? TopicValidatorResult.Accept : TopicValidatorResult.Reject,
      )
      n.services.pubsub.subscribe(topic)
    }
  }

  return {
    ready,
    exchangeWith,
    open() {
      users++
    },
    /** A relay's chain (from options, else its own `eth_chainId` answer): its heads' topic. */
    learnChain(peer: PeerId, id: number) {
      const key = peer.toString()
      if (settings.chainId !== undefined || chains.get(key) === id) return
      chains.set(key, id)
      void listenForHeads()
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
    /** Gossiped heads signed by `peer` (hash-checked here), until the returned function is called. */
    onHeads(peer: PeerId, listener: (header: Record<string, unknown>) => void): () => void {
      const key = peer.toString()
      const set = headListeners.get(key) ?? new Set()
      set.add(listener)
      headListeners.set(key, set)
      void listenForHeads()
      return () => set.delete(listener)
    },
    /** Dials peers to discover (untrusted): those that serve the RPC protocol join `discovered`. */
    async dialAll(addresses: readonly Multiaddr[]) {
      const n = await ready()
      await Promise.allSettled(addresses.map((a) => n.dial(a)))
    },
    /** Drops a discovered peer whose connection failed (it joins again when identified again). */
    forget(peer: PeerId) {
      serving.delete(peer.toString())
    },
    /** Resolves once a peer serving the protocol is identified, or after `ms`, or on abort. */
    untilIdentified(ms: number, signal?: AbortSignal): Promise<void> {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          waiting.delete(done)
          signal?.removeEventListener('abort', done)
          resolve()
        }
        const timer = setTimeout(done, ms)
        waiting.add(done)
        signal?.addEventListener('abort', done, { once: true })
      })
    },
    /** Peers found by discovery, not in `exclude` (the pinned ones). */
    discovered(exclude: ReadonlySet<string>): PeerId[] {
      return [...serving].filter((id) => !exclude.has(id)).map((id) => peerIdFromString(id))
    },
    async close() {
      if (--users > 0) return
      for (const ex of exchanges.values()) ex.close()
      exchanges.clear()
      const n = node
      node = undefined
      if (n && !settings.libp2p) await (await n.catch(() => undefined))?.stop()
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
