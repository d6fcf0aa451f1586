/**
 * `relayLightSource()`: light-client data from a pinned `outlast relay --beacon` over libp2p
 * (`/outlast/lc/1.0.0`), as a source for `light()` (outlast/light). Browsers cannot dial beacon
 * nodes; they can dial relays. The relay is untrusted: what it sends is decoded here and
 * verified by `light()`, so a relay that lies is found out and the next source answers. New
 * finality and optimistic updates arrive by gossip on the beacon chain's topics (each relay
 * verified them before passing them on; `light()` verifies them again): only those the relay
 * itself sent count as its word.
 *
 * ```ts
 * const lc = light({ checkpoint, sources: [relayLightSource({ peer: '/ip4/…/tcp/4002/ws/p2p/12D3…' })] })
 * ```
 */
import { type TopicValidatorFn, TopicValidatorResult } from '@libp2p/gossipsub'
import {
  type ChainConfig,
  decodeUpdatesResponse,
  type LightClientFinalityUpdate,
  type LightClientOptimisticUpdate,
  mainnet,
} from '../light/index.ts'
import type { LightClientSource, LightSourceCallOptions } from '../light/sources.ts'
import { raceAbort } from '../shared/abort.ts'
import { ConfigError, SourceError, type SourceFailureKind } from '../shared/errors.ts'
import { createHub, peerAddress } from './hub.ts'
import { decodeLightObject, type LightObjects } from './lightObjects.ts'
import {
  encodeLightRequest,
  LIGHT_LIMITED,
  LIGHT_NONE,
  LIGHT_OK,
  LIGHT_UNAVAILABLE,
  type LightRequest,
  MAX_LIGHT_UPDATES,
} from './lightWire.ts'
import type { PeerLibp2p, PeerNodeOptions } from './peerNode.ts'
import { LC_PROTOCOL, lightTopic, STREAM_LIMITS } from './protocol.ts'
import { streamExchange } from './streams.ts'

export type RelayLightSourceOptions = PeerNodeOptions & {
  /** The relay's multiaddr, ending in `/p2p/<peer id>` (`outlast relay --beacon` prints it). */
  peer: string
  /** The beacon chain: fork digests, container shapes, gossip topics. @default mainnet */
  config?: ChainConfig
  /** @default `relay-lc-<last 8 characters of the peer id>` */
  name?: string
  /** @default `p2p-<last 8 characters of the peer id>` (as `p2p()` names the same relay) */
  domain?: string
  /** Share an existing libp2p node (with gossipsub as `services.pubsub`); it is not stopped on close. */
  libp2p?: PeerLibp2p
  /** Milliseconds one request may take. @default 10_000 */
  timeout?: number
  /** Largest answer accepted, in bytes (128 updates with their committees are ~3.3 MB). @default 8_388_608 */
  maxResponseBytes?: number
  /** Take new finality and optimistic updates from gossip (`events`); without, `light()` polls. @default true */
  gossip?: boolean
}

/**
 * Per node (sources sharing a node share it): the gossip topics subscribed, counted (sources let
 * go only with the last), and per topic the listeners of each relay whose light-client gossip is
 * heard (no one else's). The node is a leaf: it hands a relay's gossip to that relay's listeners
 * and passes on none of it (`validator`).
 */
const shared = new WeakMap<PeerLibp2p, NodeGossip>()
/** A listener: decodes a message's data and takes it; false if it does not decode. */
type Take = (data: Uint8Array) => boolean
type NodeGossip = { topics: Map<string, number>; relays: Map<string, Map<string, Set<Take>>> }

/** Counts `key` up or down; what is left of it. */
function count(counts: Map<string, number>, key: string, by: 1 | -1): number {
  const left = (counts.get(key) ?? 0) + by
  if (left > 0) counts.set(key, left)
  else counts.delete(key)
  return left
}

export function relayLightSource(options: RelayLightSourceOptions): LightClientSource {
  const o = settingsOf(options)
  const { address, id } = o.peer
  const short = id.toString().slice(-8)
  const name = options.name ?? `relay-lc-${short}`
  const fail = (kind: SourceFailureKind, message: string, retryAfter?: number) =>
    new SourceError(name, kind, message, { retryAfter })
  const hub = createHub({
    ...options,
    maxResponseBytes: o.maxResponseBytes,
    gossip: false,
    told: [options.peer],
  })
  hub.open()
  const exchange = streamExchange(async (signal) => {
    const n = await hub.ready()
    const open = n.getConnections(id).length > 0
    return n.dialProtocol(open ? id : address, LC_PROTOCOL, { signal, ...STREAM_LIMITS })
  }, o.maxResponseBytes)

  /** One request's answer: SSZ, or undefined when the relay has nothing for it. */
  const ask = async (request: LightRequest, call: LightSourceCallOptions = {}) => {
    const timeout = AbortSignal.timeout(o.timeout)
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout
    let frame: Uint8Array
    try {
      frame = await raceAbort(exchange(encodeLightRequest(request), signal), signal, () =>
        fail('aborted', 'request cancelled'),
      )
    } catch (error) {
      if (call.signal?.aborted) throw fail('aborted', 'request cancelled')
      if (timeout.aborted) throw fail('timeout', `no answer within ${o.timeout} ms`)
      const why = error instanceof Error ? error.name : ''
      if (why === 'UnsupportedProtocolError')
        throw fail('unavailable', `the relay does not serve ${LC_PROTOCOL} (no --beacon)`)
      if (why === 'InvalidDataLengthError') throw fail('body', 'answer over the size limit')
      throw fail('network', 'p2p: the connection to the relay failed')
    }
    const body = frame.subarray(1)
    const reason = () => new TextDecoder().decode(body.subarray(0, 200))
    if (frame[0] === LIGHT_OK) return body
    if (frame[0] === LIGHT_NONE) return undefined
    if (frame[0] === LIGHT_LIMITED) throw fail('rate-limited', reason(), 1_000)
    if (frame[0] === LIGHT_UNAVAILABLE) throw fail('unavailable', reason())
    throw fail('body', `unknown answer status ${frame[0]}`)
  }

  const source: LightClientSource = {
    name,
    domain: options.domain ?? `p2p-${short}`,
    async bootstrap(root, call) {
      if (!/^0x[0-9a-fA-F]{64}$/.test(root))
        throw new ConfigError(`${name}: bootstrap needs a 32-byte 0x-hex block root, got ${root}`)
      const bytes = await ask({ kind: 'bootstrap', root: hexBytes(root) }, call)
      return bytes && decodeLightObject('bootstrap', bytes, o.config)
    },
    async updates(start, count, call) {
      if (
        !Number.isSafeInteger(start) ||
        start < 0 ||
        !Number.isInteger(count) ||
        count < 1 ||
        count > MAX_LIGHT_UPDATES
      )
        throw new ConfigError(
          `${name}: updates(${start}, ${count}): a period >= 0 and 1…${MAX_LIGHT_UPDATES} updates`,
        )
      const bytes = await ask({ kind: 'updates', start, count }, call)
      return bytes ? decodeUpdatesResponse(bytes, o.config, count) : []
    },
    async finalityUpdate(call) {
      const bytes = await ask({ kind: 'finality' }, call)
      return bytes && decodeLightObject('finality', bytes, o.config)
    },
    async optimisticUpdate(call) {
      const bytes = await ask({ kind: 'optimistic' }, call)
      return bytes && decodeLightObject('optimistic', bytes, o.config)
    },
    async close() {
      exchange.close()
      await hub.close()
    },
  }
  if (o.gossip)
    source.events = (onFinality, onOptimistic) => gossipOf(hub, o, onFinality, onOptimistic)
  return source
}

/**
 * The chain's finality and optimistic updates this source's relay sends by gossip (its own, and
 * others' it verified), decoded (junk is rejected), until the returned function is called. What
 * another peer sends is not this relay's word: a lie in it would cut the relay off.
 */
function gossipOf(
  hub: ReturnType<typeof createHub>,
  o: ReturnType<typeof settingsOf>,
  onFinality: (update: LightClientFinalityUpdate) => void,
  onOptimistic: (update: LightClientOptimisticUpdate) => void,
): () => void {
  let stopped = false
  const take = <K extends 'finality' | 'optimistic'>(
    kind: K,
    deliver: (update: LightObjects[K]) => void,
  ): Take => {
    return (data) => {
      let update: LightObjects[K]
      try {
        update = decodeLightObject(kind, data, o.config)
      } catch {
        return false
      }
      // After the validator's answer (verifying is the listener's work, not gossipsub's).
      queueMicrotask(() => {
        if (stopped) return
        try {
          deliver(update)
        } catch {}
      })
      return true
    }
  }
  const takes = new Map([
    [lightTopic(o.config.genesisValidatorsRoot, 'finality'), take('finality', onFinality)],
    [lightTopic(o.config.genesisValidatorsRoot, 'optimistic'), take('optimistic', onOptimistic)],
  ])
  const relay = o.peer.id.toString()
  let node: PeerLibp2p | undefined
  void hub.ready().then(
    async (n) => {
      if (stopped) return
      node = n
      const gossip: NodeGossip = shared.get(n) ?? { topics: new Map(), relays: new Map() }
      shared.set(n, gossip)
      for (const [topic, t] of takes) {
        const byRelay = gossip.relays.get(topic) ?? new Map<string, Set<Take>>()
        gossip.relays.set(topic, byRelay)
        byRelay.set(relay, (byRelay.get(relay) ?? new Set()).add(t))
        if (count(gossip.topics, topic, 1) > 1) continue
        n.services.pubsub.topicValidators.set(topic, validator(byRelay))
        n.services.pubsub.subscribe(topic)
      }
      // Gossip flows over a connection: dial the relay now, not at the first request.
      if (n.getConnections(o.peer.id).length === 0) await n.dial(o.peer.address).catch(() => {})
    },
    () => {},
  ) // no node (it failed to start): its requests say so
  return () => {
    if (stopped) return
    stopped = true
    const gossip = node && shared.get(node)
    if (!node || !gossip) return
    for (const [topic, t] of takes) {
      const byRelay = gossip.relays.get(topic)
      const theirs = byRelay?.get(relay)
      theirs?.delete(t)
      if (theirs?.size === 0) byRelay!.delete(relay)
      if (count(gossip.topics, topic, -1) > 0) continue
      gossip.relays.delete(topic)
      node.services.pubsub.unsubscribe(topic)
      node.services.pubsub.topicValidators.delete(topic)
    }
  }
}

/**
 * A light-client topic's gossip, judged, and handed to the listeners of the relay that sent it
 * (gossipsub's propagation source). The node passes none of it on: an honest relay counts an
 * update it cannot verify as junk against whoever sent it, and bans at the third, so a node that
 * passed on one relay's forgeries to another would get itself banned by the honest one. So what
 * decodes is ignored once taken (not passed on, no one's score touched); junk from a relay
 * listened to is rejected (gossipsub counts it against that relay's score where the topic is
 * scored); another peer's is ignored.
 */
function validator(byRelay: ReadonlyMap<string, ReadonlySet<Take>>): TopicValidatorFn {
  return (peer, msg) => {
    const theirs = byRelay.get(peer.toString())
    if (!theirs) return TopicValidatorResult.Ignore
    let decoded = false
    for (const t of theirs) decoded = t(msg.data) || decoded
    return decoded ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
  }
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array((hex.length - 2) / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16)
  return out
}

function settingsOf(options: RelayLightSourceOptions) {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ConfigError(`relayLightSource(): ${what}`)
  }
  check(typeof options === 'object' && options !== null, 'needs an options object with peer')
  const {
    config = mainnet,
    timeout = 10_000,
    maxResponseBytes = 8 * 1024 * 1024,
    gossip = true,
  } = options
  check(typeof options.peer === 'string', 'peer must be the relay multiaddr (…/p2p/<peer id>)')
  let peer: ReturnType<typeof peerAddress>
  try {
    peer = peerAddress(options.peer)
  } catch (error) {
    throw new ConfigError(
      `relayLightSource(): peer: ${error instanceof Error ? error.message : error}`,
    )
  }
  check(
    Number.isFinite(timeout) && timeout > 0,
    `timeout must be a number of ms > 0, got ${timeout}`,
  )
  check(
    Number.isFinite(maxResponseBytes) && maxResponseBytes > 0,
    `maxResponseBytes must be > 0, got ${maxResponseBytes}`,
  )
  check(
    config?.genesisValidatorsRoot instanceof Uint8Array,
    'config must be a ChainConfig (outlast/light)',
  )
  return { peer, config, timeout, maxResponseBytes, gossip: gossip !== false }
}
