/**
 * `outlast relay`: shares an operator's Ethereum node with outlast peers over libp2p (TCP,
 * WebSockets, WebRTC-Direct: browsers dial it by IP and certificate hash, with no domain and no
 * certificate authority). It serves `/outlast/rpc/1.0.0` (guards.ts decides what), gossips the
 * node's new heads, and checks, submits and passes on the transactions peers gossip. A peer's
 * misbehaviour (oversized or malformed frames, floods) costs that peer its stream or its turn,
 * never the relay. With `ipfs` (or `pin`) it also serves IPFS blocks over bitswap: its node's
 * headers and the CAR files its operator pins (relayBlocks.ts, loaded only then). With `beacon`
 * it serves light-client data from the operator's beacon node and gossips its updates
 * (lightServe.ts, loaded only then).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { ConfigError } from '../../shared/errors.ts'
import { redactUrl } from '../../shared/url.ts'
import { type PeerLibp2p, startPeerNode } from '../peerNode.ts'
import { RPC_PROTOCOL, STREAM_LIMITS } from '../protocol.ts'
import { headerBlocks, nodeBlockByHash } from './headerBlocks.ts'
import type { RelayLight, RelayLightStatus } from './lightServe.ts'
import { type NodeClient, nodeClient } from './nodeClient.ts'
import type { HeadsFrom } from './nodeHeads.ts'
import { nodeSecrets } from './nodeSecrets.ts'
import { createPenalties, type Penalties, type Violation, WEIGHT } from './penalties.ts'
import type { RelayIpfs, RelayIpfsStatus } from './relayBlocks.ts'
import {
  certificateDue,
  certificateFileFor,
  loadOrCreateCertificate,
  type RelayCertificate,
} from './relayCertificate.ts'
import { GOSSIP_NODE_CALLS, relayGossip } from './relayGossip.ts'
import { loadOrCreateKey } from './relayKey.ts'
import { type RelayOptions, type RelaySettings, relaySettings } from './relayOptions.ts'
import { rpcServer } from './rpcServer.ts'

export type { RelayOptions } from './relayOptions.ts'

export type RelayStatus = {
  peerId: string
  addresses: string[]
  chainId: number
  node: string
  peers: number
  /** Peers banned now (their violations: see penalties.ts). */
  banned: number
  served: number
  refused: Record<string, number>
  gossip: Record<string, number>
  /** Where the node's new heads come from now; `off` without gossip. */
  heads: { from: HeadsFrom | 'off'; ws?: string; drops: number }
  /** The WebRTC-Direct certificate kept with `keyFile`: due means a restart renews it (a new certhash). */
  certificate?: { certhash: string; expires: string; made: RelayCertificate['made']; due: boolean }
  /** With `ipfs`: pinned roots and blocks, and blocks served over bitswap. */
  ipfs?: RelayIpfsStatus
  /** With `beacon`: light-client data served, and the relay's own store (gossip is checked against it). */
  light?: RelayLightStatus
}

export type Relay = {
  readonly peerId: string
  /** Where peers dial it, each ending in /p2p/<peer id>. */
  readonly addresses: string[]
  readonly chainId: number
  readonly libp2p: PeerLibp2p
  status(): RelayStatus
  /**
   * Serves the node's headers as raw blocks, `GET /ipfs/{eth-block CID}?format=raw`, on an HTTP
   * server of yours (the CLI's status port: headerBlocks.ts); false for requests it does not take.
   */
  serveHeaderBlocks(req: IncomingMessage, res: ServerResponse): boolean
  stop(): Promise<void>
}

/** Largest node answer gossip checks read (a head without its transactions, a transaction hash). */
const GOSSIP_ANSWER_BYTES = 1024 * 1024
/** Node connections the header gateway and bitswap share (their reads: a head, its hashes). */
const BLOCK_NODE_CALLS = 4

export async function createRelay(options: RelayOptions): Promise<Relay> {
  const o = relaySettings(options)
  // Pins are read and checked before anything connects or listens: a bad file stops the start.
  const ipfsParts = o.ipfs ? await import('./relayBlocks.ts') : undefined
  const pins = ipfsParts ? await ipfsParts.loadPins(o.pin) : undefined
  // What has started, each with its stop: a start that fails stops them all, last first.
  const started = stopList()
  const stop = started.stop
  try {
    const call = nodeClient(o.rpc, o.timeout, o.maxAnswerBytes)
    started.add(() => call.close())
    const chainId = await nodeChainId(call, o.rpc)
    const privateKey =
      options.privateKey ?? (o.keyFile ? await loadOrCreateKey(o.keyFile) : undefined)
    const cert = o.keyFile
      ? await loadOrCreateCertificate(certificateFileFor(o.keyFile))
      : undefined
    // The `ws` package is an optional peer dependency: asked for only with `ws`.
    const WebSocket = o.ws && o.gossip ? await loadWs() : undefined
    const penalties = createPenalties()
    const node = await startNode(o, penalties, privateKey, cert)
    started.add(() => node.stop())
    const counts: Counts = { served: 0, refused: {}, gossip: {} }
    /** Counts a refusal; a violation is a strike, and enough strikes ban the peer. */
    const refuse = (why: string, peer: string) => {
      bump(counts.refused, why)
      if (!(why in WEIGHT) || !penalties.strike(peer, why as Violation)) return
      bump(counts.refused, 'banned')
      void node.hangUp(peerIdFromString(peer)).catch(() => {})
    }
    const told = (what: string) => bump(counts.gossip, what)

    const serve = rpcServer(o, call, nodeSecrets([o.rpc, o.ws]), counts, refuse, penalties)
    await node.handle(RPC_PROTOCOL, serve, STREAM_LIMITS)
    // Gossip checks peers' messages with the node on its own connections, a few at a time
    // (relayGossip.ts): a peer's gossip flood never queues peers' calls behind it.
    const checking = o.gossip
      ? nodeClient(o.rpc, o.timeout, GOSSIP_ANSWER_BYTES, GOSSIP_NODE_CALLS)
      : undefined
    if (checking) started.add(() => checking.close())
    const heads = checking
      ? relayGossip(
          node,
          { own: call, checking },
          chainId,
          { interval: o.headInterval, ...(o.ws ? { ws: o.ws, WebSocket } : {}) },
          told,
          (peer) => refuse('gossip', peer),
        )
      : undefined
    if (heads) started.add(() => heads.stop())
    const light = o.beacon
      ? await startLight(o.beacon, o, node, refuse, penalties, told)
      : undefined
    if (light) started.add(() => light.stop())
    // The header gateway and bitswap read headers on connections of their own too: one HTTP
    // client asking for made-up headers, or one peer's wants, never hold the ones peers' calls use.
    const reading = nodeClient(o.rpc, o.timeout, GOSSIP_ANSWER_BYTES, BLOCK_NODE_CALLS)
    started.add(() => reading.close())
    const blockByHash = nodeBlockByHash(reading)
    const ipfs =
      ipfsParts && pins ? await ipfsParts.startRelayIpfs(node, pins, blockByHash) : undefined
    if (ipfs) started.add(() => ipfs.stop())
    await Promise.allSettled(o.peers.map((p) => node.dial(multiaddr(p))))

    const parts: Parts = { o, node, chainId, counts, penalties, cert, heads, ipfs, light }
    return {
      peerId: node.peerId.toString(),
      get addresses() {
        return node.getMultiaddrs().map(String)
      },
      chainId,
      libp2p: node,
      serveHeaderBlocks: headerBlocks(blockByHash),
      status: () => statusOf(parts),
      stop,
    }
  } catch (error) {
    await stop().catch(() => {})
    throw error
  }
}

/** Stops added as parts start; `stop()` runs them all, last first, and throws the first failure. */
function stopList() {
  const stops: (() => unknown)[] = []
  return {
    add: (stop: () => unknown) => void stops.push(stop),
    async stop() {
      let first: unknown
      for (const stop of stops.splice(0).reverse())
        await Promise.resolve()
          .then(stop)
          .catch((error) => {
            first ??= error
          })
      if (first !== undefined) throw first
    },
  }
}

type Counts = { served: number; refused: Record<string, number>; gossip: Record<string, number> }
type Certificate = Awaited<ReturnType<typeof loadOrCreateCertificate>>

/** The libp2p node: every transport, and a gate that turns away banned peers. */
function startNode(
  o: RelaySettings,
  penalties: Penalties,
  privateKey: PrivateKey | undefined,
  cert: Certificate | undefined,
) {
  return startPeerNode({
    // A banned peer's new connections are refused once it says who it is.
    connectionGater: {
      denyDialMultiaddr: () => false,
      denyInboundEncryptedConnection: (peer) => penalties.banned(peer.toString()),
    },
    listen: o.listen,
    transports: [
      tcp(),
      webSockets(),
      webRTCDirect({
        rtcConfiguration: { iceServers: [] },
        ...(cert ? { certificate: cert.certificate } : {}),
      }),
    ],
    ...(privateKey ? { privateKey } : {}),
  })
}

/** With `beacon`: the light-client service (lightServe.ts, loaded only then), under the same guards. */
async function startLight(
  beacon: string,
  o: RelaySettings,
  node: PeerLibp2p,
  refuse: (why: string, peer: string) => void,
  penalties: Penalties,
  told: (what: string) => void,
): Promise<RelayLight> {
  const { lightInterval: interval, timeout, gossip } = o
  const guards = {
    rate: o.rate,
    maxStreamsPerPeer: o.maxStreamsPerPeer,
    idleTimeout: o.idleTimeout,
  }
  const { startRelayLight } = await import('./lightServe.ts')
  return startRelayLight(
    node,
    { beacon, interval, timeout, gossip, ...guards },
    refuse,
    penalties,
    told,
  )
}

type Parts = {
  o: RelaySettings
  node: PeerLibp2p
  chainId: number
  counts: Counts
  penalties: Penalties
  cert: Certificate | undefined
  heads: ReturnType<typeof relayGossip> | undefined
  ipfs: RelayIpfs | undefined
  light: RelayLight | undefined
}

/** What `status()` reports: counts copied, URLs without their keys. */
function statusOf({
  o,
  node,
  chainId,
  counts,
  penalties,
  cert,
  heads,
  ipfs,
  light,
}: Parts): RelayStatus {
  return {
    peerId: node.peerId.toString(),
    addresses: node.getMultiaddrs().map(String),
    chainId,
    node: redactUrl(o.rpc),
    peers: node.getPeers().length,
    banned: penalties.count(),
    served: counts.served,
    refused: { ...counts.refused },
    gossip: { ...counts.gossip },
    heads: {
      from: heads?.from() ?? 'off',
      ...(o.ws ? { ws: redactUrl(o.ws) } : {}),
      drops: heads?.drops ?? 0,
    },
    ...(cert
      ? {
          certificate: {
            certhash: cert.certificate.certhash,
            expires: cert.notAfter.toISOString(),
            made: cert.made,
            due: certificateDue(cert.notAfter, Date.now()),
          },
        }
      : {}),
    ...(ipfs ? { ipfs: ipfs.status() } : {}),
    ...(light ? { light: light.status() } : {}),
  }
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1
}

async function loadWs() {
  try {
    return (await import('ws')).default
  } catch {
    throw new ConfigError("relay: ws (the node's WebSocket) needs the ws package: npm install ws")
  }
}

async function nodeChainId(call: NodeClient, rpc: string): Promise<number> {
  try {
    const answer = (await call.json({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_chainId',
      params: [],
    })) as {
      result?: unknown
    }
    const id = Number(answer?.result)
    if (Number.isSafeInteger(id) && id > 0) return id
  } catch {}
  throw new ConfigError(
    `relay: the node at ${redactUrl(rpc)} did not answer eth_chainId; is --rpc right and the node up?`,
  )
}
