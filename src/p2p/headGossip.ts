/**
 * Heads gossiped by relays, per relay: each relay's heads count only on its own chain's topic
 * (from the options, else its own `eth_chainId` answer: one relay cannot pick another's), are
 * hash-checked (gossip.ts) and go to that relay's listeners only, each its newest (`fresh`).
 * Topics are subscribed to once someone listens, one per chain the relays name now (a topic no
 * relay names any more is left).
 */
import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { checkHead } from './gossip.ts'
import type { PeerLibp2p } from './peerNode.ts'
import { headsTopic } from './protocol.ts'

type Settings = { gossip: boolean; chainId?: number | undefined }

/**
 * Per libp2p node, how many head gossips (one per `p2p()`) hold each heads topic: a node shared
 * by several (options.libp2p) stays subscribed while any of them wants the topic.
 */
const topicHolders = new WeakMap<PeerLibp2p, Map<string, number>>()

function holdersOf(n: PeerLibp2p): Map<string, number> {
  const holders = topicHolders.get(n) ?? new Map<string, number>()
  topicHolders.set(n, holders)
  return holders
}

function hold(n: PeerLibp2p, topic: string) {
  const holders = holdersOf(n)
  holders.set(topic, (holders.get(topic) ?? 0) + 1)
  n.services.pubsub.topicValidators.set(topic, (_peer, msg) =>
    checkHead(msg.data).ok ? TopicValidatorResult.Accept : TopicValidatorResult.Reject,
  )
  n.services.pubsub.subscribe(topic)
}

function release(n: PeerLibp2p, topic: string) {
  const holders = holdersOf(n)
  const left = (holders.get(topic) ?? 1) - 1
  if (left > 0) return void holders.set(topic, left)
  holders.delete(topic)
  n.services.pubsub.unsubscribe(topic)
  n.services.pubsub.topicValidators.delete(topic)
}

export function createHeadGossip(settings: Settings, ready: () => Promise<PeerLibp2p>) {
  /** Each pinned relay's chain, from its own `eth_chainId` answer (unless options name one). */
  const chains = new Map<string, number>()
  const listeners = new Map<string, Set<(header: Record<string, unknown>) => void>>()
  const subscribed = new Set<string>()
  /** Whether the gossip handler is added (once, whatever the topics). */
  let handling = false
  /** The topics this gossip holds on the node (`topicHolders`); none once closed. */
  const held = new Set<string>()
  let closed = false
  /** Per relay listened to (pinned relays only, as `listeners`): its newest message and head. */
  const newest = new Map<string, { seqno: bigint; number: number }>()

  const topicOf = (peer: string) => {
    const id = settings.chainId ?? chains.get(peer)
    return id === undefined ? undefined : headsTopic(id)
  }

  /**
   * Is this the relay's newest word? Anyone on the topic can keep a relay's signed messages and
   * publish them again once gossipsub forgets their ids (2 minutes). A message's sequence
   * number, signed with it, rises with each message the relay publishes: one at or below the
   * highest seen is a replay. A head below the last delivered is dropped too (a relay's
   * rollbacks are learned by polling); one at its height is the relay's node reorged to a
   * sibling, and is delivered (core/head.ts takes a pushed head at its source's height).
   */
  const fresh = (from: string, seqno: bigint, number: number) => {
    const last = newest.get(from)
    if (last && seqno <= last.seqno) return false
    const higher = !last || number >= last.number
    newest.set(from, { seqno, number: higher ? number : last.number })
    return higher
  }

  /** Delivers gossiped heads, once checked, to the listeners of the peer that signed them. */
  const onGossip = (e: CustomEvent<Message>) => {
    const msg = e.detail
    if (msg.type !== 'signed') return
    const from = msg.from.toString()
    if (msg.topic !== topicOf(from)) return
    const theirs = listeners.get(from)
    if (!theirs?.size) return
    const head = checkHead(msg.data)
    if (!head.ok || !fresh(from, msg.sequenceNumber, Number(head.value.number))) return
    for (const l of theirs) l(head.value)
  }

  /**
   * Subscribes to the topics of the relays' chains now, and leaves those no relay names any more:
   * a relay that answers `eth_chainId` with another id each time moves its one topic, never
   * adds topics without end.
   */
  const listen = async () => {
    if (closed || !settings.gossip || listeners.size === 0) return
    const ids = settings.chainId !== undefined ? [settings.chainId] : [...chains.values()]
    const wanted = new Set(ids.map(headsTopic))
    const join = [...wanted].filter((t) => !subscribed.has(t))
    const leave = [...subscribed].filter((t) => !wanted.has(t))
    if (join.length === 0 && leave.length === 0) return
    for (const t of join) subscribed.add(t)
    for (const t of leave) subscribed.delete(t)
    const n = await ready().catch(() => {
      // No node (it failed to start or load): undone, so that the next call tries again.
      for (const t of join) subscribed.delete(t)
      for (const t of leave) subscribed.add(t)
    })
    if (closed || !n) return
    if (!handling) n.services.pubsub.addEventListener('message', onGossip)
    handling = true
    for (const topic of leave) if (held.delete(topic)) release(n, topic)
    for (const topic of join) {
      if (held.has(topic) || !subscribed.has(topic)) continue
      held.add(topic)
      hold(n, topic)
    }
  }

  return {
    /** Lets go of the node: its topics (unless another `p2p()` holds them) and its handler. */
    close(n: PeerLibp2p | undefined) {
      closed = true
      if (!n) return
      if (handling) n.services.pubsub.removeEventListener('message', onGossip)
      for (const topic of held) release(n, topic)
      held.clear()
    },
    /** A relay's chain (from options, else its own `eth_chainId` answer): its heads' topic. */
    learnChain(peer: PeerId, id: number) {
      const key = peer.toString()
      if (settings.chainId !== undefined || chains.get(key) === id) return
      chains.set(key, id)
      void listen()
    },
    /** Gossiped heads signed by `peer` (hash-checked), until the returned function is called. */
    onHeads(peer: PeerId, listener: (header: Record<string, unknown>) => void): () => void {
      const key = peer.toString()
      const set = listeners.get(key) ?? new Set()
      set.add(listener)
      listeners.set(key, set)
      void listen()
      return () => set.delete(listener)
    },
  }
}
