/**
 * A relay's light-client gossip: it reads its beacon node's finality and optimistic updates (at
 * each event of the node's SSE stream, and every `interval`) and publishes each new one on the
 * chain's topics (digest and SSZ; the message id is the payload's hash, so the same update from
 * two relays is one message). What other relays publish it passes on only once it verifies
 * against its own store (lightStore.ts; until the store exists, nothing: its own node's updates
 * are published once they decode). An update that does not decode, or that the store proves
 * forged, is rejected and is a strike against the peer that sent it; one that is only out of
 * place (stale, a period ahead) is ignored, neither passed on nor held against anyone.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { type ChainConfig, LightClientError } from '../../light/index.ts'
import { decodeLightObject, digestedLightObject } from '../lightObjects.ts'
import type { PeerLibp2p } from '../peerNode.ts'
import { lightTopic, MAX_LC_GOSSIP_BYTES } from '../protocol.ts'
import type { BeaconNode } from './beaconNode.ts'
import type { RelayLightStore } from './lightStore.ts'

const { Accept, Ignore, Reject } = TopicValidatorResult
const KINDS = ['finality', 'optimistic'] as const
type Kind = (typeof KINDS)[number]

export type LightGossip = {
  /** The newest update of each kind the node gave (digest and SSZ, decoded once), for serving. */
  latest(kind: Kind): Uint8Array | undefined
  stop(): void
}

export function lightGossip(
  node: PeerLibp2p,
  beacon: BeaconNode,
  config: ChainConfig,
  store: RelayLightStore,
  settings: { interval: number; publish: boolean },
  told: (what: string) => void,
  /** A peer passed on junk: a strike against it. */
  junk: (peer: string) => void,
): LightGossip {
  const pubsub = node.services.pubsub
  const topics = {
    finality: lightTopic(config.genesisValidatorsRoot, 'finality'),
    optimistic: lightTopic(config.genesisValidatorsRoot, 'optimistic'),
  }
  const latest: Partial<Record<Kind, Uint8Array>> = {}
  const ignored = (kind: Kind) => {
    told(`lc${kind}Ignored`)
    return Ignore
  }

  for (const kind of KINDS) {
    if (!settings.publish) break
    pubsub.topicValidators.set(topics[kind], async (peer, msg) => {
      const reject = () => {
        junk(peer.toString())
        told(`lc${kind}Rejected`)
        return Reject
      }
      if (msg.data.length > MAX_LC_GOSSIP_BYTES) return reject()
      let update: ReturnType<typeof decodeLightObject<Kind>>
      try {
        update = decodeLightObject(kind, msg.data, config)
      } catch (error) {
        if (error instanceof LightClientError && !error.lie) return ignored(kind)
        return reject()
      }
      const verdict = await store.verify(kind, update).catch(() => undefined)
      if (verdict instanceof LightClientError) return verdict.lie ? reject() : ignored(kind)
      // No store yet (its node gave no bootstrap): what this relay cannot verify, it does not pass on.
      if (verdict === undefined) return ignored(kind)
      told(`lc${kind}Accepted`)
      return Accept
    })
    pubsub.subscribe(topics[kind])
  }

  /** One kind's newest update from the node: decoded, kept for serving, verified, published. */
  const poll = async (kind: Kind) => {
    const got = await beacon[kind]().catch(() => undefined)
    if (!got) return
    let fresh: ReturnType<typeof digestedLightObject<Kind>>
    try {
      fresh = digestedLightObject(kind, got.fork, got.body, config)
    } catch {
      told(`lc${kind}NodeMalformed`)
      return
    }
    const before = latest[kind]
    if (before && sameBytes(before, fresh.bytes)) return
    latest[kind] = fresh.bytes
    if (!settings.publish) return
    const verdict = await store.verify(kind, fresh.value).catch(() => undefined)
    // Refused by the store: a stale one is already known around; a forged one is not spread.
    if (verdict instanceof LightClientError) {
      told(`lc${kind}NodeRefused`)
      return
    }
    await pubsub.publish(topics[kind], fresh.bytes).then(
      () => told(`lc${kind}Published`),
      () => {},
    )
  }

  // Polled every `interval`, and at once when the node's event stream tells of a new update.
  let stopped = false
  let running = false
  let again = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const loop = async () => {
    clearTimeout(timer)
    if (stopped) return
    if (running) {
      again = true
      return
    }
    running = true
    do {
      again = false
      await poll('finality')
      await poll('optimistic')
    } while (again && !stopped)
    running = false
    if (!stopped) timer = setTimeout(loop, settings.interval)
  }
  void loop()
  const unfollow = beacon.follow(() => void loop())

  return {
    latest: (kind) => latest[kind],
    stop() {
      stopped = true
      clearTimeout(timer)
      unfollow()
    },
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
