/**
 * The libp2p node a dApp, wallet or bot uses to reach relays: built from explicit parts, with no
 * default that reaches a public host (no bootstrap list, no public STUN servers, no delegated
 * routing). WebSockets and WebRTC-Direct by default: both work in browsers (WebRTC-Direct needs
 * no domain and no certificate authority) and in Node.
 */
import { gossipsub, type Message } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, Libp2p, PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { isPrivate } from '@libp2p/utils'
import { webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import type { Multiaddr } from '@multiformats/multiaddr'
import { keccak_256 } from '@noble/hashes/sha3'
import { concatBytes } from '@noble/hashes/utils'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { HEADS_PREFIX } from './protocol.ts'

/** A transport factory as libp2p takes it (`tcp()`, `webSockets()`, `webRTCDirect()`…). */
export type Transport = NonNullable<Libp2pOptions['transports']>[number]

/** What outlast needs of a libp2p node: gossipsub as `services.pubsub`. */
export type PeerLibp2p = Libp2p<{ pubsub: ReturnType<ReturnType<typeof gossipsub>> }>

export type PeerNodeOptions = {
  /** Transports to dial (and listen on, with `listen`). @default [webSockets(), webRTCDirect()] */
  transports?: Transport[]
  /** Addresses to listen on (a relay, a Node bot accepting peers). @default [] */
  listen?: string[]
  /** The node's identity; a relay keeps one on disk so its peer id is stable. @default a new Ed25519 key */
  privateKey?: PrivateKey
  /**
   * Which addresses may be dialed. @default those outlast was given (pinned relays, discovery
   * lists) always; any other address in Node; in browsers, as libp2p's browser rule, no plain
   * `/ws` and no private address (a page must not probe its visitor's network)
   */
  connectionGater?: ConnectionGater
}

/**
 * Gossip message ids. A transaction's is its content: the same transaction from two peers is
 * one message, so duplicates die out instead of echoing around the mesh. A head's is its
 * content and its signer: each relay's word for a head reaches the dApps that pinned that relay
 * (a head is a source's claim; whose claim it is matters).
 */
export const messageId = (message: Message): Uint8Array =>
  message.type === 'signed' && message.topic.startsWith(HEADS_PREFIX)
    ? keccak_256(concatBytes(message.from.toMultihash().bytes, message.data))
    : keccak_256(message.data)

/**
 * The default gater: addresses outlast was told to dial are always dialable (a relay pinned at
 * 127.0.0.1 or on a LAN, over plain `/ws`, is the user's choice); libp2p's browser default would
 * refuse them. Other addresses (peers found by discovery) follow libp2p's rule for where the
 * node runs.
 */
export function dialOnlyTold(told: readonly string[]): ConnectionGater {
  const bare = (ma: string) => ma.split('/p2p/')[0]!
  const allowed = new Set(told.map(bare))
  const browser =
    typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions
      ?.node !== 'string'
  const plainWs = (ma: Multiaddr) => {
    const names = ma.getComponents().map((c) => c.name)
    return names.includes('ws') && !names.includes('tls')
  }
  return {
    denyDialMultiaddr: (ma) =>
      !allowed.has(bare(ma.toString())) && browser && (plainWs(ma) || isPrivate(ma)),
  }
}

export function startPeerNode(
  options: PeerNodeOptions = {},
  told: readonly string[] = [],
): Promise<PeerLibp2p> {
  return createLibp2p({
    connectionGater: options.connectionGater ?? dialOnlyTold(told),
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen: options.listen ?? [] },
    transports: options.transports ?? [
      webSockets(),
      // No ICE servers: WebRTC-Direct needs none, and the default ones are public hosts.
      webRTCDirect({ rtcConfiguration: { iceServers: [] } }),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        msgIdFn: messageId,
        // Signed by its publisher: a relay's heads are told apart from anyone else's.
        globalSignaturePolicy: 'StrictSign',
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        emitSelf: false,
      }),
    },
  }) as Promise<PeerLibp2p>
}
