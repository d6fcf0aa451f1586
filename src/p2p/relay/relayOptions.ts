/**
 * `createRelay()`'s options: what each means, its default, and the checks run before anything
 * starts (a `ConfigError` names the option and what is wrong with it; a key in a URL is never
 * shown).
 */
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { ConfigError } from '../../shared/errors.ts'
import { redactUrl } from '../../shared/url.ts'
import { MAX_CALL_BYTES } from '../protocol.ts'

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

/** What `p2p()` clients read at most by default (its `maxResponseBytes`): more is of no use to them. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024

const DEFAULT_LISTEN = [
  '/ip4/0.0.0.0/tcp/4001',
  '/ip4/0.0.0.0/tcp/4002/ws',
  '/ip4/0.0.0.0/udp/4003/webrtc-direct',
]

/** The options, checked, with their defaults. */
export type RelaySettings = ReturnType<typeof relaySettings>

/** The options checked, with their defaults filled in; throws a `ConfigError` naming what is wrong. */
export function relaySettings(options: RelayOptions) {
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
  /** `value` is a URL of one of `protocols`; the message shows it without its secrets. */
  const checkUrl = (key: string, value: unknown, protocols: string[], what: string) => {
    let url: URL | undefined
    try {
      url = new URL(value as string)
    } catch {}
    // A string that is no URL may still hold a key (a scheme left out): shown as "<invalid url>".
    const shown = typeof value === 'string' ? redactUrl(value) : String(value)
    check(
      url !== undefined && protocols.includes(url.protocol),
      `${key} must be ${what}, got ${JSON.stringify(shown)}`,
    )
  }
  checkUrl('rpc', rpc, ['http:', 'https:'], "the node's http(s) URL")
  if (ws !== undefined) checkUrl('ws', ws, ['ws:', 'wss:'], "the node's ws(s) URL")
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
  if (beacon !== undefined)
    checkUrl('beacon', beacon, ['http:', 'https:'], "the beacon node's http(s) URL")
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
