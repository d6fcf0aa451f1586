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
import type { Connection, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { lpStream, RateLimiter } from '@libp2p/utils'
import { webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { ConfigError, SourceError } from '../../shared/errors.ts'
import { redactUrl } from '../../shared/url.ts'
import { type PeerLibp2p, startPeerNode } from '../peerNode.ts'
import { decodeFrame, MAX_CALL_BYTES, RPC_PROTOCOL, STREAM_LIMITS } from '../protocol.ts'
import { callsOf, idOf, type RpcErrorObject, refusal } from './guards.ts'
import { headerBlocks, nodeBlockByHash } from './headerBlocks.ts'
import type { RelayLight, RelayLightStatus } from './lightServe.ts'
import { type NodeClient, nodeClient } from './nodeClient.ts'
import type { HeadsFrom } from './nodeHeads.ts'
import { nodeSecrets, type ScrubText } from './nodeSecrets.ts'
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
import { writeToPeer } from './writeToPeer.ts'

export type RelayOptions = {
  /** The operator's node: its HTTP JSON-RPC URL (a key in it is never shown). */
  rpc: string
  /** Addresses to listen on. @default TCP 4001, WebSockets 4002 and WebRTC-Direct (UDP 4003) on 0.0.0.0 */
  listen?: string[]
  /** The relay's identity. @default the key in `keyFile`, else a new one */
  privateKey?: PrivateKey
  /**
   * Where the key is kept (created on first start): a stable peer id dApps can pin. The
   * WebRTC-Direct certificate is kept beside it (`<keyFile>.webrtc.pem`), so the `/certhash/…`
   * of that address stays the same too, until the certificate is renewed (14 days).
   */
  keyFile?: string
  /** Other relays to connect to, so gossip spreads between them. @default [] */
  peers?: string[]
  /** Largest call frame read, in bytes; a larger one closes its stream. @default 1_048_576 */
  maxFrameBytes?: number
  /** Most calls in one batch frame. @default 100 */
  maxBatch?: number
  /** Calls each peer may make per second; more are refused with -32005 until the second is over. @default 100 */
  rate?: number
  /** Streams one peer may hold open at once; more are refused. @default 32 */
  maxStreamsPerPeer?: number
  /** A stream idle this long (ms) is closed, and so is one whose peer reads nothing of an answer for this long. @default 60_000 */
  idleTimeout?: number
  /** How often (ms) the node's head is read and, when new, gossiped (with `ws`: while its socket is down). @default 1_000 */
  headInterval?: number
  /** The node's WebSocket URL (`ws://`, `wss://`): new heads from its `newHeads`, polling only while it is down. */
  ws?: string
  /** Milliseconds a call to the node may take. @default 10_000 */
  timeout?: number
  /**
   * Largest node answer passed on, in bytes; a larger one is answered with an error (clients
   * read at most 16 MiB by default: `p2p()`'s `maxResponseBytes`). @default 16_777_216
   */
  maxAnswerBytes?: number
  /** Gossip heads and transactions. @default true */
  gossip?: boolean
  /**
   * Serve IPFS blocks over bitswap (Helia, loaded only then: ~0.6 s and ~30 MB): the node's
   * headers by eth-block CID, and the `pin`ned CARs. @default true with `pin`, else false
   */
  ipfs?: boolean
  /**
   * CAR files whose blocks are served over bitswap (NFT metadata, token lists, a dApp's
   * source list). Every block is hashed against its CID at start; one bad block refuses the
   * start, naming the file and the CID. @default []
   */
  pin?: string[]
  /**
   * The operator's beacon node (Beacon REST): serve `/outlast/lc/1.0.0` (light-client bootstraps,
   * updates, finality and optimistic updates, in SSZ) and gossip its new updates on the beacon
   * chain's topics (lightServe.ts). A key in the URL is never shown.
   */
  beacon?: string
  /**
   * How often (ms) the beacon node's light-client updates are read (also at each event of its
   * SSE stream), and when new, gossiped. @default 4_000
   */
  lightInterval?: number
}

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

const encoder = new TextEncoder()

/** Largest node answer gossip checks read (a head without its transactions, a transaction hash). */
const GOSSIP_ANSWER_BYTES = 1024 * 1024

/** What `p2p()` clients read at most by default (its `maxResponseBytes`): more is of no use to them. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024

const DEFAULT_LISTEN = [
  '/ip4/0.0.0.0/tcp/4001',
  '/ip4/0.0.0.0/tcp/4002/ws',
  '/ip4/0.0.0.0/udp/4003/webrtc-direct',
]

export async function createRelay(options: RelayOptions): Promise<Relay> {
  const o = settingsOf(options)
  // Pins are read and checked before anything connects or listens: a bad file stops the start.
  const ipfsParts = o.ipfs ? await import('./relayBlocks.ts') : undefined
  const pins = ipfsParts ? await ipfsParts.loadPins(o.pin) : undefined
  const call = nodeClient(o.rpc, o.timeout, o.maxAnswerBytes)
  const chainId = await nodeChainId(call, o.rpc).catch((error) => {
    call.close()
    throw error
  })
  const privateKey =
    options.privateKey ?? (o.keyFile ? await loadOrCreateKey(o.keyFile) : undefined)
  const cert = o.keyFile ? await loadOrCreateCertificate(certificateFileFor(o.keyFile)) : undefined
  // The `ws` package is an optional peer dependency: asked for only with `ws`.
  const WebSocket = o.ws && o.gossip ? await loadWs() : undefined
  const penalties = createPenalties()
  const node = await startPeerNode({
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
  const counts = {
    served: 0,
    refused: {} as Record<string, number>,
    gossip: {} as Record<string, number>,
  }
  /** Counts a refusal; a violation is a strike, and enough strikes ban the peer. */
  const refuse = (why: string, peer: string) => {
    bump(counts.refused, why)
    if (!(why in WEIGHT) || !penalties.strike(peer, why as Violation)) return
    bump(counts.refused, 'banned')
    void node.hangUp(peerIdFromString(peer)).catch(() => {})
  }
  const told = (what: string) => bump(counts.gossip, what)

  const serve = server(o, call, nodeSecrets([o.rpc, o.ws]), counts, refuse, penalties)
  await node.handle(RPC_PROTOCOL, serve, STREAM_LIMITS)
  // Gossip checks peers' messages with the node on its own connections, a few at a time
  // (relayGossip.ts): a peer's gossip flood never queues peers' calls behind it.
  const checking = o.gossip
    ? nodeClient(o.rpc, o.timeout, GOSSIP_ANSWER_BYTES, GOSSIP_NODE_CALLS)
    : undefined
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
  let ipfs: RelayIpfs | undefined
  let light: RelayLight | undefined
  try {
    if (o.beacon) {
      const { beacon, lightInterval: interval, timeout, gossip } = o
      const guards = {
        rate: o.rate,
        maxStreamsPerPeer: o.maxStreamsPerPeer,
        idleTimeout: o.idleTimeout,
      }
      const { startRelayLight } = await import('./lightServe.ts')
      light = await startRelayLight(
        node,
        { beacon, interval, timeout, gossip, ...guards },
        refuse,
        penalties,
        told,
      )
    }
    if (ipfsParts && pins) ipfs = await ipfsParts.startRelayIpfs(node, pins, nodeBlockByHash(call))
  } catch (error) {
    light?.stop()
    heads?.stop()
    await node.stop()
    call.close()
    checking?.close()
    throw error
  }
  await Promise.allSettled(o.peers.map((p) => node.dial(multiaddr(p))))

  return {
    peerId: node.peerId.toString(),
    get addresses() {
      return node.getMultiaddrs().map(String)
    },
    chainId,
    libp2p: node,
    serveHeaderBlocks: headerBlocks(nodeBlockByHash(call)),
    status: () => ({
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
    }),
    async stop() {
      light?.stop()
      heads?.stop()
      await ipfs?.stop()
      await node.stop()
      call.close()
      checking?.close()
    },
  }
}

/** lpStream's errors for a frame whose length prefix is over the limit or not a length. */
const FRAME_ERRORS = new Set([
  'InvalidDataLengthError',
  'InvalidDataLengthLengthError',
  'InvalidMessageLengthError',
])

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

type Settings = ReturnType<typeof settingsOf>
type Counts = { served: number }

/** The stream handler: frames in, the node's answers (or refusals) out, one at a time. */
function server(
  o: Settings,
  call: NodeClient,
  scrub: ScrubText,
  counts: Counts,
  refuse: (why: string, peer: string) => void,
  penalties: Penalties,
) {
  const limiter = new RateLimiter({ points: o.rate, duration: 1 })
  const open = new Map<string, number>()
  /** Counts `calls` against the peer's rate; true when they are past it. */
  const overRate = (peer: string, calls: number) => {
    try {
      limiter.consume(peer, calls)
      return false
    } catch {
      return true
    }
  }

  /**
   * The frame's answer as JSON text: a lone call's is the node's own text, passed through. Every
   * text from the node is scrubbed of its URLs' secrets (nodeSecrets.ts): a node may echo them.
   */
  const answer = async (peer: string, message: unknown): Promise<string> => {
    const frame = callsOf(message, o.maxBatch)
    if ('code' in frame) {
      // Refused whole, yet read and parsed whole: it costs its sender a part of a strike, and
      // its calls count against the rate, so that endless oversized batches end in a ban.
      refuse('batch', peer)
      if (overRate(peer, Array.isArray(message) ? Math.max(message.length, 1) : 1))
        refuse('rate', peer)
      return JSON.stringify({ jsonrpc: '2.0', id: null, error: frame })
    }
    // A frame past the rate counts once, however many calls it holds: a burst is not a ban.
    const limited = overRate(peer, frame.calls.length)
    if (limited) refuse('rate', peer)
    const replies = new Map<unknown, unknown>()
    const forward: unknown[] = []
    for (const c of frame.calls) {
      const no: RpcErrorObject | undefined = limited
        ? { code: -32005, message: `rate limited: at most ${o.rate} calls per second per peer` }
        : refusal(c)
      if (no) {
        if (!limited) refuse('method', peer)
        replies.set(c, { jsonrpc: '2.0', id: idOf(c), error: no })
      } else forward.push(c)
    }
    counts.served += forward.length
    if (!frame.batch) {
      const [c] = frame.calls
      if (replies.has(c)) return JSON.stringify(replies.get(c))
      return call.text(c).then(scrub, (error) => JSON.stringify(unanswered(c, error)))
    }
    if (forward.length === 0) return JSON.stringify(frame.calls.map((c) => replies.get(c)))
    let got: unknown
    try {
      got = await call.json(forward)
    } catch (error) {
      got = error
    }
    // Matched by the id the node echoes, compared as JSON text: a peer's id may be any JSON value.
    const byId = new Map((Array.isArray(got) ? got : []).map((r) => [idKey(r), r]))
    for (const c of forward) replies.set(c, byId.get(idKey(c)) ?? unanswered(c, got))
    return scrub(JSON.stringify(frame.calls.map((c) => replies.get(c))))
  }

  return async (stream: Stream, connection: Connection) => {
    const peer = connection.remotePeer.toString()
    if (penalties.banned(peer)) return stream.abort(new Error('banned'))
    const streams = (open.get(peer) ?? 0) + 1
    open.set(peer, streams)
    const lp = lpStream(stream, { maxDataLength: o.maxFrameBytes })
    // A peer that stops reading an answer holds the stream as one that stops sending does.
    const write = (text: string) => writeToPeer(lp, stream, encoder.encode(text), o.idleTimeout)
    try {
      if (streams > o.maxStreamsPerPeer) {
        refuse('streams', peer)
        const error = {
          code: -32005,
          message: `at most ${o.maxStreamsPerPeer} open streams per peer`,
        }
        await write(JSON.stringify({ jsonrpc: '2.0', id: null, error }))
        await stream.close()
        return
      }
      while (true) {
        const bytes = await lp.read({ signal: AbortSignal.timeout(o.idleTimeout) })
        let message: unknown
        try {
          message = decodeFrame(bytes.subarray())
        } catch {
          refuse('malformed', peer)
          stream.abort(new Error('malformed frame'))
          return
        }
        await write(await answer(peer, message))
      }
    } catch (error) {
      const name = error instanceof Error ? error.name : ''
      if (FRAME_ERRORS.has(name)) refuse('frame', peer)
      // The peer closed its end (the usual end of a stream), went idle, stopped reading, or broke
      // the framing.
      stream.abort(error instanceof Error ? error : new Error(String(error)))
    } finally {
      const left = (open.get(peer) ?? 1) - 1
      if (left > 0) open.set(peer, left)
      else open.delete(peer)
    }
  }
}

/** The reply to a call the node gave no answer to, saying why (the node client's reasons name no URL). */
function unanswered(c: unknown, error: unknown) {
  const why = error instanceof SourceError ? `: ${error.reason}` : ''
  return {
    jsonrpc: '2.0',
    id: idOf(c),
    error: { code: -32603, message: `the relay's node did not answer${why}` },
  }
}

/** A call's or an answer's id as a map key: the same for an id and its echo, whatever JSON it is. */
const idKey = (message: unknown): string =>
  JSON.stringify((message as { id?: unknown } | null)?.id ?? null)

function settingsOf(options: RelayOptions) {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`relay: ${what}`)
  }
  check(typeof options === 'object' && options !== null, 'needs an options object with rpc')
  const {
    rpc,
    listen = DEFAULT_LISTEN,
    keyFile,
    ws,
    peers = [],
    maxFrameBytes = MAX_CALL_BYTES,
    maxBatch = 100,
    rate = 100,
    maxStreamsPerPeer = 32,
    idleTimeout = 60_000,
    headInterval = 1_000,
    timeout = 10_000,
    maxAnswerBytes = MAX_ANSWER_BYTES,
    gossip = true,
    pin = [],
    beacon,
    lightInterval = 4_000,
  } = options
  let url: URL | undefined
  try {
    url = new URL(rpc)
  } catch {}
  check(
    url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:'),
    `rpc must be the node's http(s) URL, got ${JSON.stringify(url ? redactUrl(rpc) : String(rpc))}`,
  )
  if (ws !== undefined) {
    let wsUrl: URL | undefined
    try {
      wsUrl = new URL(ws)
    } catch {}
    check(
      wsUrl !== undefined && (wsUrl.protocol === 'ws:' || wsUrl.protocol === 'wss:'),
      `ws must be the node's ws(s) URL, got ${JSON.stringify(wsUrl ? redactUrl(ws) : String(ws))}`,
    )
  }
  const whole = (n: unknown, min: number) => Number.isSafeInteger(n) && (n as number) >= min
  check(whole(maxFrameBytes, 64), `maxFrameBytes must be an integer >= 64, got ${maxFrameBytes}`)
  check(whole(maxBatch, 1), `maxBatch must be an integer >= 1, got ${maxBatch}`)
  check(
    whole(maxAnswerBytes, 1024),
    `maxAnswerBytes must be an integer >= 1024, got ${maxAnswerBytes}`,
  )
  check(whole(rate, 1), `rate must be an integer >= 1 (calls per second), got ${rate}`)
  check(
    whole(maxStreamsPerPeer, 1),
    `maxStreamsPerPeer must be an integer >= 1, got ${maxStreamsPerPeer}`,
  )
  if (beacon !== undefined) {
    let beaconUrl: URL | undefined
    try {
      beaconUrl = new URL(beacon)
    } catch {}
    check(
      beaconUrl !== undefined &&
        (beaconUrl.protocol === 'http:' || beaconUrl.protocol === 'https:'),
      `beacon must be the beacon node's http(s) URL, got ${JSON.stringify(beaconUrl ? redactUrl(beacon) : String(beacon))}`,
    )
  }
  for (const [k, v] of Object.entries({ idleTimeout, headInterval, timeout, lightInterval }))
    check(whole(v, 1), `${k} must be a whole number of ms >= 1, got ${v}`)
  check(
    Array.isArray(listen) && listen.length > 0,
    'listen must be a non-empty array of multiaddrs',
  )
  check(
    Array.isArray(pin) && pin.every((f) => typeof f === 'string' && f.length > 0),
    'pin must be an array of CAR file paths',
  )
  const ipfs = options.ipfs ?? pin.length > 0
  check(typeof ipfs === 'boolean', `ipfs must be true or false, got ${JSON.stringify(ipfs)}`)
  check(ipfs || pin.length === 0, 'pin needs ipfs (pinned blocks are served over bitswap)')
  for (const a of [...listen, ...peers]) {
    try {
      multiaddr(a)
    } catch {
      throw new ConfigError(`relay: ${JSON.stringify(a)} is not a multiaddr`)
    }
  }
  return {
    rpc,
    listen,
    keyFile,
    ws,
    peers,
    maxFrameBytes,
    maxBatch,
    rate,
    maxStreamsPerPeer,
    idleTimeout,
    headInterval,
    timeout,
    maxAnswerBytes,
    gossip,
    ipfs,
    pin,
    beacon,
    lightInterval,
  }
}
