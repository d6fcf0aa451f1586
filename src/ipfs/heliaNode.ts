/**
 * A minimal Helia node for the `helia` route: bitswap over a libp2p node, and nothing that
 * reaches a public host (no bootstrap list, no delegated routing, no public gateways, no
 * DNS-over-HTTPS: Helia's DNS is replaced by one that refuses). It runs on outlast/p2p's node
 * when given one (`startPeerNode()` / the hub's), else on its own built from explicit parts.
 * Helia, bitswap and libp2p are imported here only, and only when `startHelia()` runs.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import type { HeliaLike, IpfsRoute } from './types.ts'

export type StartHeliaOptions = {
  /**
   * A running libp2p node to share (outlast/p2p's, from `startPeerNode()`): Helia adds bitswap
   * to it and leaves it running on `close()`. @default a node of its own (below)
   */
  libp2p?: Libp2p
  /** Transports of its own node. @default [webSockets(), webRTCDirect({ no ICE servers })] */
  transports?: NonNullable<Libp2pOptions['transports']>
  /** Addresses its own node listens on. @default [] */
  listen?: string[]
  /** Multiaddrs (with `/p2p/<id>`) of peers holding content, dialed at start. @default [] */
  peers?: readonly string[]
  /** Blocks to hold and serve to peers (a provider node in a lab, a relay). @default none */
  blocks?: Iterable<{ cid: import('multiformats/cid').CID; bytes: Uint8Array }>
  /** Route name. @default 'helia' */
  name?: string
}

export type HeliaNode = {
  /** The Helia node (`blockstore`, `libp2p`). */
  readonly helia: HeliaLike & { libp2p: Libp2p; stop(): Promise<void> }
  /** A route over it for `createIpfs({ routes: [route] })`; its `close()` stops the node. */
  readonly route: IpfsRoute
  /** Dials a peer that holds content (bitswap asks connected peers). */
  dial(multiaddr: string): Promise<void>
  stop(): Promise<void>
}

export async function startHelia(options: StartHeliaOptions = {}): Promise<HeliaNode> {
  const [{ createHeliaLight }, { withBitswap }, { keccak256 }, { multiaddr }, { heliaRoute }] =
    await Promise.all([
      import('helia'),
      import('@helia/bitswap'),
      import('@multiformats/sha3'),
      import('@multiformats/multiaddr'),
      import('./heliaRoute.ts'),
    ])
  const own = options.libp2p === undefined
  const libp2p = options.libp2p ?? (await ownLibp2p(options))
  const helia = createHeliaLight({
    // Ethereum headers by CID are keccak-256; Helia light knows only sha2-256 and identity.
    hashers: [keccak256],
    // A DNS that answers nothing: Helia's default in browsers is DNS-over-HTTPS to public hosts.
    dns: { query: () => Promise.reject(new Error('DNS is off in outlast/ipfs')) } as never,
  })
  Object.defineProperty(helia, 'libp2p', { value: libp2p, enumerable: true, configurable: true })
  withBitswap(helia as Parameters<typeof withBitswap>[0])
  await helia.start()
  for (const { cid, bytes } of options.blocks ?? []) await helia.blockstore.put(cid, bytes)
  const dial = async (address: string) => {
    await libp2p.dial(multiaddr(address))
  }
  for (const peer of options.peers ?? []) await dial(peer)
  const stop = async () => {
    await helia.stop()
    if (own) await libp2p.stop()
  }
  const node = helia as unknown as HeliaNode['helia']
  return {
    helia: node,
    route: heliaRoute(node, { name: options.name ?? 'helia', stop }),
    dial,
    stop,
  }
}

/** A libp2p node of explicit parts: no discovery, no routing, no public STUN. */
async function ownLibp2p(options: StartHeliaOptions): Promise<Libp2p> {
  const [{ createLibp2p }, { noise }, { yamux }, { identify }, { webSockets }, { webRTCDirect }] =
    await Promise.all([
      import('libp2p'),
      import('@libp2p/noise'),
      import('@libp2p/yamux'),
      import('@libp2p/identify'),
      import('@libp2p/websockets'),
      import('@libp2p/webrtc'),
    ])
  return createLibp2p({
    addresses: { listen: options.listen ?? [] },
    transports: options.transports ?? [
      webSockets(),
      webRTCDirect({ rtcConfiguration: { iceServers: [] } }),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  })
}
