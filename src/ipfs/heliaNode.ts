/**
 * A minimal Helia node for the `helia` route: bitswap over a libp2p node, and nothing that
 * reaches a public host (no bootstrap list, no delegated routing, no public gateways, no
 * DNS-over-HTTPS: Helia's DNS is replaced by one that refuses). It runs on outlast/p2p's node
 * when given one (`startPeerNode()` / the hub's), else on its own built from explicit parts.
 * Helia, bitswap and libp2p are imported here only, and only when `startHelia()` runs.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import { equals } from 'multiformats/bytes'
import type { CID } from 'multiformats/cid'
import { SourceError } from '../shared/errors.ts'
import type { HeliaLike, IpfsRoute, RouteAnswer } from './types.ts'

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
  blocks?: Iterable<{ cid: CID; bytes: Uint8Array }>
  /**
   * The store Helia keeps blocks in and bitswap serves peers from (a relay's: its node's headers
   * and pinned CARs). `blocks` are put into it. @default an in-memory store
   */
  blockstore?: HeliaBlockstore
  /** Route name. @default 'helia' */
  name?: string
}

/**
 * A blockstore as Helia 7 takes it (interface-blockstore): what bitswap calls to serve a peer's
 * want is `has`, then `get` (the bytes, in chunks); the rest may refuse.
 */
export type HeliaBlockstore = {
  has(cid: CID, options?: { signal?: AbortSignal }): Promise<boolean>
  get(cid: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array>
  put(cid: CID, bytes: unknown, options?: unknown): Promise<CID>
  putMany(source: unknown, options?: unknown): AsyncGenerator<CID>
  getMany(source: unknown, options?: unknown): AsyncGenerator<{ cid: CID; bytes: unknown }>
  getAll(options?: unknown): AsyncGenerator<{ cid: CID; bytes: unknown }>
  delete(cid: CID, options?: unknown): Promise<void>
  deleteMany(source: unknown, options?: unknown): AsyncGenerator<CID>
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
    ...(options.blockstore ? { blockstore: options.blockstore as never } : {}),
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
  const route = heliaRoute(node, { name: options.name ?? 'helia', stop })
  const wants = bitswapWants(helia)
  return {
    helia: node,
    route: { ...route, get: (cid, o) => getOrAbsent(route, wants, cid, o) },
    dial,
    stop,
  }
}

/** Bitswap's want list: the peers wants go to, and their have / don't-have answers. */
type WantList = {
  peers: { keys(): Iterable<{ toString(): string }> }
  addEventListener(type: 'presence', fn: (e: Event) => void): void
  removeEventListener(type: 'presence', fn: (e: Event) => void): void
}
type Presence = { sender: { toString(): string }; cid: CID; has: boolean }

/**
 * The want list inside @helia/bitswap 4 (not public API: with another version this is
 * undefined, and a want for a block nobody has ends at the route's timeout, as before).
 */
function bitswapWants(helia: unknown): WantList | undefined {
  const brokers = (helia as { blockBrokers?: unknown }).blockBrokers
  const broker = Array.isArray(brokers)
    ? (brokers.find((b) => b?.name === 'bitswap') as
        | { bitswap?: { wantList?: Partial<WantList> } }
        | undefined)
    : undefined
  const list = broker?.bitswap?.wantList
  return typeof list?.addEventListener === 'function' && typeof list.peers?.keys === 'function'
    ? (list as WantList)
    : undefined
}

/**
 * The route's answer, bounded: a want never ends by itself, and bitswap's cancel can wait
 * behind a send to a peer that stopped reading, so the attempt ends when its signal aborts.
 * `missing` once every peer the want went to said it does not have the block (a peer's word:
 * it only ends this route's wait, never marks anything bad). With no peer connected, or one
 * that does not answer, the attempt's deadline decides.
 */
async function getOrAbsent(
  route: IpfsRoute,
  wants: WantList | undefined,
  cid: CID,
  options: Parameters<IpfsRoute['get']>[1],
): Promise<RouteAnswer> {
  const done = new AbortController()
  const signal = AbortSignal.any([options.signal, done.signal])
  const aborted = new Promise<never>((_, reject) => {
    const cancelled = () => reject(new SourceError(route.name, 'aborted', 'attempt cancelled'))
    if (options.signal.aborted) cancelled()
    else options.signal.addEventListener('abort', cancelled, { once: true })
    done.signal.addEventListener('abort', () =>
      options.signal.removeEventListener('abort', cancelled),
    )
  })
  aborted.catch(() => {})
  const asked = new Set(wants ? [...wants.peers.keys()].map(String) : [])
  const absent = new Promise<RouteAnswer>((resolve) => {
    if (!wants || asked.size === 0) return
    const no = new Set<string>()
    const onPresence = (e: Event) => {
      const p = (e as CustomEvent<Presence>).detail
      if (!p?.cid || !equals(p.cid.multihash.bytes, cid.multihash.bytes)) return
      if (p.has) return stop()
      no.add(String(p.sender))
      if ([...asked].every((peer) => no.has(peer))) {
        stop()
        resolve({ missing: `${no.size} connected peer${no.size > 1 ? 's' : ''} said so` })
      }
    }
    const stop = () => wants.removeEventListener('presence', onPresence)
    wants.addEventListener('presence', onPresence)
    signal.addEventListener('abort', stop, { once: true })
  })
  const got = route.get(cid, { ...options, signal })
  got.catch(() => {}) // once absent wins, the cancelled want's rejection is nobody's
  try {
    return await Promise.race([got, absent, aborted])
  } finally {
    done.abort()
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
