/**
 * `p2p()`: relays (`outlast relay`) reached over libp2p, as sources of kind `p2p`. Each pinned
 * relay is a source with its own failure domain, counted like any other; peers found by
 * discovery are one untrusted source whose answers count only when proven (docs/architecture.md,
 * "Trust rules"). Requests go as frames on `/outlast/rpc/1.0.0` streams; gossiped heads signed by
 * a relay are that source's pushed heads (hints, like a WebSocket's); a raw transaction sent
 * through a relay is also published to the chain's transaction topic, if a key may have signed it.
 */
import type { PeerId } from '@libp2p/interface'
import { raceAbort } from '../shared/abort.ts'
import { ConfigError, RpcResponseError, SourceError } from '../shared/errors.ts'
import type { Hex, RpcRequest, Source, SourceRequestOptions } from '../shared/types.ts'
import { callOf, type Fail, jsonRpc } from '../sources/jsonRpc.ts'
import { errorCode } from '../sources/networkError.ts'
import { finite, MAX_TIMER } from '../sources/options.ts'
import { decodeTransaction, fromHex } from './gossip.ts'
import { createHub, type Hub, type PeerAddress, peerAddress } from './hub.ts'
import type { PeerLibp2p, PeerNodeOptions } from './peerNode.ts'
import { decodeFrame, encodeFrame } from './protocol.ts'
import { signatureFlaw } from './signatureShape.ts'

/** A pinned relay: its multiaddr (ending in `/p2p/<peer id>`), or that with a name and domain. */
export type P2pPeer = string | { address: string; name?: string; domain?: string; weight?: number }

export type P2pOptions = PeerNodeOptions & {
  /** Relays to use, each a source in its own failure domain (`outlast relay` prints its addresses). */
  peers: readonly P2pPeer[]
  /**
   * Also use peers found by discovery: those identified as serving `/outlast/rpc/1.0.0`, and
   * these addresses. One untrusted source (`p2p-peers`): its answers count only when proven
   * (`outlast/proofs`), never toward a quorum. @default false
   */
  discover?: boolean | readonly string[]
  /** The chain of the gossip topics. @default learned from the first `eth_chainId` answer */
  chainId?: number
  /** Share an existing libp2p node (it needs gossipsub as `services.pubsub`); it is not stopped on close. */
  libp2p?: PeerLibp2p
  /** Milliseconds one attempt may take. @default 10_000 */
  timeout?: number
  /** Largest answer frame accepted, in bytes. @default 16_777_216 (16 MiB) */
  maxResponseBytes?: number
  /** Publish sent transactions to gossip and take relays' gossiped heads. @default true */
  gossip?: boolean
}

const NO_SECRETS = { text: (t: string) => t, data: <T>(d: T) => d }
/** Ms a discovered source's call waits for the first peer to be identified. */
const IDENTIFY_WAIT = 2_000
/** Failures that say a discovered peer is gone, not that it answered badly. */
const CONNECTION_FAILURES: ReadonlySet<string> = new Set(['network', 'refused', 'unavailable'])
/** JSON-RPC "Internal error": the relay's node failed; it did not judge the transaction. */
const INTERNAL_ERROR = -32603
let nextId = 0

/** The relays in `options.peers` as sources (and, with `discover`, the untrusted discovered peers). */
export function p2p(options: P2pOptions): Source[] {
  const { peers, timeout, maxResponseBytes, discover } = settingsOf(options)
  const listed = [...peers.map((p) => p.peer), ...(Array.isArray(discover) ? discover : [])]
  const hub = createHub({
    ...options,
    maxResponseBytes,
    gossip: options.gossip !== false,
    told: listed.map((p) => p.address.toString()),
  })
  const pinned = new Set(peers.map((p) => p.peer.id.toString()))
  const sources = peers.map((p) => relaySource(hub, p, timeout))
  if (discover) sources.push(discoveredSource(hub, pinned, discover, timeout))
  for (const _ of sources) hub.open()
  return sources
}

type PinnedPeer = { peer: PeerAddress; name: string; domain: string; weight: number }

function relaySource(hub: Hub, p: PinnedPeer, timeout: number): Source {
  const { name, domain, weight, peer } = p
  const rpc = jsonRpc(name, NO_SECRETS)
  const ask = asker(hub, rpc.fail, timeout)
  return {
    config: { name, kind: 'p2p', domain, weight, label: peer.address.toString() },
    async request(body: RpcRequest, { signal }: SourceRequestOptions = {}) {
      const call = callOf(++nextId, body)
      if (body.method === 'eth_sendRawTransaction') return send(hub, ask, peer, call, rpc, signal)
      const result = resultOf(rpc, await ask(peer, call, signal), call.id)
      if (body.method === 'eth_chainId' && typeof result === 'string')
        hub.learnChain(peer.id, Number(result))
      // Once a relay answers, what a send needs is loaded ahead: a page whose host fails later
      // still publishes what a key signed.
      void loadRecovery()
      return result
    },
    async subscribe(params, onMessage) {
      if (params[0] !== 'newHeads')
        throw rpc.fail('unavailable', `only newHeads is pushed over p2p, not ${String(params[0])}`)
      const off = hub.onHeads(peer.id, onMessage)
      return { unsubscribe: async () => void off() }
    },
    close: () => hub.close(),
  }
}

/**
 * A raw transaction goes to the relay and to gossip at once. The relay's node's verdict is the
 * answer: its hash, or any JSON-RPC error but -32603 (the node's own failure), as the engine's
 * broadcast reads errors. When the relay cannot give one (down, its node unreachable) but gossip
 * took the transaction to a peer, the failure says so (`passed-on`): the transaction is out, but
 * this relay's domain did not accept it (whoever took it by gossip may be anyone, a hostile peer
 * too), so it never counts as that domain's word against another domain's rejection.
 */
async function send(
  hub: Hub,
  ask: Ask,
  peer: PeerAddress,
  call: ReturnType<typeof callOf>,
  rpc: ReturnType<typeof jsonRpc>,
  signal: AbortSignal | undefined,
) {
  const raw = call.params[0]
  const bytes = typeof raw === 'string' && /^0x[0-9a-f]*$/i.test(raw) ? fromHex(raw) : undefined
  const checked = bytes ? decodeTransaction(bytes) : undefined
  // Only what a key signed is published: relays strike the publisher of junk, and a caller's
  // unsigned or forged transaction must not get this node banned (it goes to the relay's node
  // alone, whose error is the caller's answer). The shape first (signatureShape.ts: no curve
  // code), then the sender recovered as a relay recovers it (its code loads with the first send).
  const signed = checked?.ok && !signatureFlaw(checked.value.signature) ? checked.value : undefined
  // Published to the topic of the transaction's own chain: a relay on another chain ignores it.
  const published =
    bytes && signed
      ? keySigned(raw as Hex).then((ok) =>
          ok ? hub.publishTransaction(bytes, signed.chainId, signal) : 0,
        )
      : Promise.resolve(0)
  try {
    return resultOf(rpc, await ask(peer, call, signal), call.id)
  } catch (error) {
    const verdict =
      error instanceof RpcResponseError && error.kind === 'rpc' && error.code !== INTERNAL_ERROR
    if (verdict || !signed) throw error
    const peers = await published
    if (peers === 0) throw error
    const why = error instanceof SourceError ? error.reason : 'no answer'
    throw rpc.fail('passed-on', `${why}; passed on by gossip to ${peers} peer(s), unjudged`)
  }
}

/** The sender recovery a send checks with, loaded once (undefined when it cannot load). */
let recovery: Promise<typeof import('./relay/txSignature.ts') | undefined> | undefined
const loadRecovery = () =>
  (recovery ??= import('./relay/txSignature.ts').catch(() => {
    recovery = undefined // tried again at the next send
    return undefined
  }))

/** Whether a key signed `raw`: its sender recovers (false when the code to check cannot load). */
const keySigned = async (raw: Hex): Promise<boolean> =>
  (await loadRecovery())?.checkSignature(raw).ok ?? false

/**
 * The answer's result; a relay's -32005 ("limit exceeded", EIP-1474: its per-peer rate) is a
 * rate limit, so the engine backs off for a second instead of counting a failure.
 */
function resultOf(rpc: ReturnType<typeof jsonRpc>, answer: unknown, id: number): unknown {
  try {
    return rpc.resultOf(answer, id)
  } catch (error) {
    if (error instanceof RpcResponseError && error.code === -32005)
      throw rpc.fail('rate-limited', error.reason, { retryAfter: 1_000 })
    throw error
  }
}

type Ask = (
  peer: { id: PeerId; address?: PeerAddress['address'] },
  call: ReturnType<typeof callOf>,
  signal: AbortSignal | undefined,
) => Promise<unknown>

/** One exchange with a peer, its failures as `SourceError`s of the kind that fits. */
function asker(hub: Hub, fail: Fail, timeout: number): Ask {
  return async (peer, call, signal) => {
    const timeoutSignal = AbortSignal.timeout(timeout)
    const combined = signal ? AbortSignal.any([signal, timeoutSignal]) : timeoutSignal
    let frame: Uint8Array
    let answer: { value: unknown } | undefined
    // Decoded as it arrives, so that a stream whose frame answers another call is not kept.
    const answers = (bytes: Uint8Array) => {
      try {
        answer = { value: decodeFrame(bytes) }
      } catch {
        return false
      }
      return (answer.value as { id?: unknown } | null)?.id === call.id
    }
    try {
      const exchange = hub.exchangeWith(peer)
      frame = await raceAbort(exchange(encodeFrame(call), combined, answers), combined, () =>
        fail('aborted', 'attempt cancelled'),
      )
    } catch (error) {
      if (signal?.aborted) throw fail('aborted', 'attempt cancelled')
      if (timeoutSignal.aborted) throw fail('timeout', `no answer within ${timeout} ms`)
      throw streamFailure(fail, error)
    }
    if (!answer) throw fail('body', `malformed JSON frame (${frame.length} bytes)`)
    return answer.value
  }
}

/** A failed dial or exchange, named by the libp2p error's class (fixed words, no peer text). */
function streamFailure(fail: Fail, error: unknown): SourceError {
  if (error instanceof SourceError) return error
  const name = error instanceof Error ? error.name : ''
  if (errorCode(error) === 'ECONNREFUSED') return fail('refused', 'connection refused')
  if (name === 'InvalidDataLengthError') return fail('body', 'answer frame over the size limit')
  if (name === 'UnsupportedProtocolError')
    return fail('unavailable', 'the peer does not serve /outlast/rpc/1.0.0')
  // A WebSocket's failure is an opaque event: say what failed, not what it is called.
  const known = name && name !== 'Error' && !name.startsWith('[')
  return fail('network', known ? `p2p: ${name}` : 'p2p: the connection to the peer failed')
}

/** Peers found by discovery, as one untrusted source: each request goes to one of them. */
function discoveredSource(
  hub: Hub,
  pinned: ReadonlySet<string>,
  discover: true | readonly PeerAddress[],
  timeout: number,
): Source {
  const name = 'p2p-peers'
  const rpc = jsonRpc(name, NO_SECRETS)
  const ask = asker(hub, rpc.fail, timeout)
  let dialed: Promise<void> | undefined
  let turn = 0
  return {
    config: {
      name,
      kind: 'p2p',
      domain: 'p2p-discovered',
      weight: 1,
      label: 'peers found by discovery',
      untrusted: true,
    },
    async request(body: RpcRequest, { signal }: SourceRequestOptions = {}) {
      // A dial that failed (no node started) is tried again by the next request.
      if (discover !== true)
        dialed ??= hub.dialAll(discover.map((p) => p.address)).catch((error: unknown) => {
          dialed = undefined
          throw error
        })
      await dialed
      // A peer whose connection fails is dropped and the next one asked (a few per request: a
      // flock of dead peer ids, which cost nothing to make, cannot hold a request up for long).
      // A dial resolves before identify has said what the peer serves: wait a moment for it.
      if (hub.discovered(pinned).length === 0)
        await hub.untilIdentified(Math.min(timeout, IDENTIFY_WAIT), signal)
      for (let tries = 0; ; tries++) {
        const found = hub.discovered(pinned)
        if (found.length === 0) throw rpc.fail('unavailable', 'no peer found by discovery yet')
        const peer = found[turn++ % found.length]!
        const call = callOf(++nextId, body)
        try {
          return resultOf(rpc, await ask({ id: peer }, call, signal), call.id)
        } catch (error) {
          const gone = error instanceof SourceError && CONNECTION_FAILURES.has(error.kind)
          if (!gone || signal?.aborted) throw error
          hub.forget(peer)
          if (tries >= 2) throw error
        }
      }
    },
    close: () => hub.close(),
  }
}

/** The options, checked, with their defaults; a `ConfigError` names what is wrong. */
function settingsOf(options: P2pOptions) {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`p2p(): ${what}`)
  }
  check(typeof options === 'object' && options !== null, 'needs an options object with peers')
  const { peers, discover = false, timeout = 10_000, maxResponseBytes = 16 * 1024 * 1024 } = options
  check(Array.isArray(peers), 'peers must be an array of relay multiaddrs (…/p2p/<peer id>)')
  check(
    peers.length > 0 || discover !== false,
    'peers is empty and discover is off: there is no one to ask',
  )
  check(
    finite(timeout) && timeout > 0 && timeout <= MAX_TIMER,
    `timeout must be a number of ms > 0 and <= ${MAX_TIMER}, got ${timeout}`,
  )
  check(
    finite(maxResponseBytes) && maxResponseBytes > 0,
    `maxResponseBytes must be > 0, got ${maxResponseBytes}`,
  )
  const parse = (text: unknown, at: string): PeerAddress => {
    check(typeof text === 'string', `${at} must be a multiaddr string`)
    try {
      return peerAddress(text as string)
    } catch (error) {
      throw new ConfigError(`p2p(): ${at}: ${error instanceof Error ? error.message : error}`)
    }
  }
  const pinned = peers.map((p, i): PinnedPeer => {
    const o = typeof p === 'string' ? { address: p } : p
    const peer = parse(o?.address, `peers[${i}]`)
    const short = peer.id.toString().slice(-8)
    const { name = `relay-${short}`, domain = `p2p-${short}`, weight = 1 } = o
    check(
      typeof name === 'string' && name.length > 0,
      `peers[${i}].name must be a non-empty string`,
    )
    check(
      typeof domain === 'string' && domain.length > 0,
      `peers[${i}].domain must be a non-empty string`,
    )
    check(finite(weight) && weight > 0, `peers[${i}].weight must be > 0`)
    return { peer, name, domain, weight }
  })
  const ids = new Set(pinned.map((p) => p.peer.id.toString()))
  check(ids.size === pinned.length, 'a relay is listed twice in peers')
  check(
    discover === true || discover === false || Array.isArray(discover),
    'discover must be true, false or an array of multiaddrs',
  )
  const found: boolean | PeerAddress[] = Array.isArray(discover)
    ? (discover as readonly string[]).map((d, i) => parse(d, `discover[${i}]`))
    : discover === true
  return { peers: pinned, timeout: Math.ceil(timeout), maxResponseBytes, discover: found }
}
