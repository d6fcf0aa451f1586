/**
 * A relay's gossip on the chain's topics. The node's new heads are published; a gossiped head is
 * passed on only if this relay's node has that block (junk dies at the first relay) and it is not
 * far below the node's head (an old head is news to no one: a replay), a gossiped
 * transaction only if it decodes for this chain, a key signed it (txSignature.ts) and the node
 * did not refuse it; each is submitted to the node once. Rejected messages cost their sender
 * gossipsub's peer score and a strike. The node's heads come from nodeHeads.ts (its WebSocket's
 * `newHeads`, else polling).
 *
 * Peers' messages are checked with the node on connections of their own (the `checking` client),
 * at most GOSSIP_NODE_CALLS at a time: HEAD_CHECKS for heads, the rest for transactions, and of
 * each kind at most PEER_CHECKS for the messages one peer passed on (of transactions, all but
 * two: a neighbour relay passing on a burst of honest ones is not cut to a trickle). Publishing costs a peer next to nothing, and a
 * remote node may take half a second to answer: without a bound, one peer's flood of signed
 * transactions from an empty account (each refused by the node, which costs it nothing) would
 * hold every connection to the node, and peers' calls would queue behind it; without the split
 * and the bound per peer, one peer's made-up heads (no strike: a head the node lacks may be
 * honest news) would hold every check, and honest peers' transactions would be dropped. A
 * transaction that arrives while its slots are busy is Ignored without asking the node (counted
 * as `txsDropped`): not passed on by this relay and no strike against its sender (gossipsub
 * keeps its id as seen, so that copy is not checked again).
 *
 * Heads have two more ways in, because peer ids cost nothing: with the bound per peer alone, two
 * fresh ids' made-up heads held all four head checks and an honest neighbour's head was dropped
 * unchecked. A head this relay's node reported itself (one it publishes) is known, and accepted
 * without a check. A head that finds the slots busy waits for one, at most HEAD_WAIT ms, among at
 * most HEAD_QUEUE waiting heads; a freed slot goes to the waiting head nearest the node's next
 * head (top + 1: an honest new head is there, a made-up one anywhere), and a full queue drops its
 * farthest (a newcomer no nearer than all of them is itself dropped: a flood cannot push out a
 * head at the same distance that came first). A waiting head the node reports meanwhile is
 * accepted at once, without its check. A peer's heads waiting and being checked count against
 * its bound of two. A head dropped from the queue, or that waited too long, is Ignored as
 * `headsDropped`, as one that found the slots busy was before. So node calls for heads stay at
 * HEAD_CHECKS, waiting heads at HEAD_QUEUE for at most HEAD_WAIT each (another relay's message
 * for a head waiting or being checked shares its place and its check), transactions keep their
 * own slots, and a head the node lacks still costs no strike. A wait rather than more slots: the
 * slots bound the node's load, and a short queue only holds a head until one is free.
 *
 * What this does not stop: made-up heads at the node's next number look like honest ones until
 * the node is asked, the very call being bounded. Ten or more ids sending them before an honest
 * head that is ahead of this relay's node arrives can hold the slots and the queue, and that
 * message is dropped as before (headCheckQueue.test.ts keeps it as a hole). Its block still
 * reaches this relay's sources in the relay's own word once its node has it, and a later relay's
 * message for it is then accepted without a check. Made-up heads far from the node's head (the
 * cheap kind) only wait behind an honest next head.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type WebSocket from 'ws'
import { createLru } from '../../shared/lru.ts'
import { checkHead, checkTransaction, encodeHead } from '../gossip.ts'
import type { PeerLibp2p } from '../peerNode.ts'
import { headsTopic, txsTopic } from '../protocol.ts'
import { inFlight, inFlightPer } from './inFlight.ts'
import type { NodeClient } from './nodeClient.ts'
import { type Header, type NodeHeads, watchHeads } from './nodeHeads.ts'
import { checkSignature } from './txSignature.ts'

const { Accept, Ignore, Reject } = TopicValidatorResult

type NodeAnswer = { result?: unknown; error?: { code?: number; message?: string } }

/** Node calls that checking peers' gossip may have in flight (and the checking client's sockets). */
export const GOSSIP_NODE_CALLS = 12
/** Of those, the checks of gossiped heads (one a block when honest); the others check transactions. */
export const HEAD_CHECKS = 4
/**
 * Checks of the messages of one kind one peer passed on (its own or others') in flight at once;
 * of heads, waiting for a slot or in flight.
 */
export const PEER_CHECKS = { heads: 2, txs: GOSSIP_NODE_CALLS - HEAD_CHECKS - 2 }
/** Heads that may wait for a head check slot while all are busy. */
export const HEAD_QUEUE = 16
/** Milliseconds a head may wait for a head check slot before it is dropped. */
export const HEAD_WAIT = 2_000

/** Blocks below its node's head that a gossiped head may be and still be passed on. */
export const STALE_HEAD_DEPTH = 8

/** How the relay learns its node's heads (nodeHeads.ts). */
export type HeadsSettings = {
  /** Milliseconds between polls while no subscription is live. */
  interval: number
  /** The node's WebSocket URL, for `newHeads`. */
  ws?: string
  /** The `ws` package's WebSocket class, when `ws` is set. */
  WebSocket?: typeof WebSocket
}

/** Starts gossip; the watch on the node's heads is returned (where they come from, `stop`). */
export function relayGossip(
  node: PeerLibp2p,
  /** The relay's own head watch asks `own`; checks of peers' messages ask `checking`. */
  nodes: { own: NodeClient; checking: NodeClient },
  chainId: number,
  settings: HeadsSettings,
  told: (what: string) => void,
  /** A peer passed on junk (a message rejected here): a strike against it. */
  junk: (peer: string) => void,
): NodeHeads {
  const pubsub = node.services.pubsub
  const heads = headsTopic(chainId)
  const txs = txsTopic(chainId)
  const submitted = createLru<true>(4_096)
  const knownHeads = createLru<true>(256)
  /** Heads whose check is waiting or in flight, and its answer (undefined: dropped unasked). */
  const headsAsked = new Map<string, Promise<NodeAnswer | undefined>>()
  /** The number of the node's latest head (0 until it is known). */
  let top = 0
  const asker = (client: NodeClient) => async (method: string, params: unknown[]) =>
    ((await client.json({ jsonrpc: '2.0', id: 1, method, params }).catch(() => undefined)) ??
      {}) as NodeAnswer
  const ask = asker(nodes.own)
  const askChecking = asker(nodes.checking)
  const headChecks = { slots: inFlight(HEAD_CHECKS), perPeer: inFlightPer(PEER_CHECKS.heads) }
  /** Heads waiting for a check slot, oldest first. */
  const waiting: Waiting[] = []
  /** How far a head is from the node's next head (from the lowest while `top` is unknown). */
  const distance = (n: number) => {
    const d = Math.abs(n - (top + 1))
    return Number.isNaN(d) ? Number.POSITIVE_INFINITY : d
  }
  const unwait = (w: Waiting, answer: NodeAnswer | undefined | Promise<NodeAnswer | undefined>) => {
    const i = waiting.indexOf(w)
    if (i < 0) return
    waiting.splice(i, 1)
    clearTimeout(w.timer)
    w.resolve(answer)
  }
  /** A head check on a free slot; when it ends, the nearest waiting head takes the slot. */
  const startHeadCheck = (hash: string) => {
    const asked = headChecks.slots.run(() => askChecking('eth_getBlockByHash', [hash, false]))
    const freed = () => {
      let next: Waiting | undefined
      for (const w of waiting) if (!next || distance(w.number) < distance(next.number)) next = w
      // A head that took the slot since (a microtask earlier) hands it on when its check ends.
      const started = next && startHeadCheck(next.hash)
      if (next && started) unwait(next, started)
    }
    asked?.then(freed, freed)
    return asked
  }
  /** The node's answer on whether it has `hash`: now, after a wait, or undefined (dropped). */
  const headCheck = (peer: string, hash: string, number: number) =>
    headChecks.perPeer.run(peer, (): Promise<NodeAnswer | undefined> | undefined => {
      const asked = startHeadCheck(hash)
      if (asked) return asked
      if (waiting.length >= HEAD_QUEUE) {
        let far = waiting[0]!
        for (const w of waiting) if (distance(w.number) > distance(far.number)) far = w
        if (distance(far.number) <= distance(number)) return undefined
        unwait(far, undefined)
      }
      return new Promise((resolve) => {
        const w: Waiting = { hash, number, resolve, timer: undefined }
        w.timer = setTimeout(() => unwait(w, undefined), HEAD_WAIT)
        waiting.push(w)
      })
    })
  const txChecks = {
    slots: inFlight(GOSSIP_NODE_CALLS - HEAD_CHECKS),
    perPeer: inFlightPer(PEER_CHECKS.txs),
  }
  /** The node's answer, or undefined when the slots are busy (the node is not asked). */
  const check = (kind: typeof headChecks, peer: string, method: string, params: unknown[]) =>
    kind.perPeer.run(peer, () => kind.slots.run(() => askChecking(method, params)))
  const verdict = (what: string, result: TopicValidatorResult) => {
    told(what)
    return result
  }
  const rejected = (peer: string, what: string) => {
    junk(peer)
    return verdict(what, Reject)
  }

  pubsub.topicValidators.set(heads, async (peer, msg) => {
    const head = checkHead(msg.data)
    if (!head.ok) return rejected(peer.toString(), 'headsRejected')
    // Far below the node's head: not passed on (a replay, or late), no strike (it may be honest).
    if (Number(head.value.number) + STALE_HEAD_DEPTH < top) return verdict('headsStale', Ignore)
    // Each relay's word for a head is its own message: the node is asked once per head.
    if (!knownHeads.get(head.value.hash)) {
      // Several relays' messages for one new head share the one check in flight; a message
      // that joined a check whose node did not have the block asks again (the check may have
      // gone out before the node imported it: a hostile peer pushing a head early).
      const hash = head.value.hash
      const ask = () => headCheck(peer.toString(), hash, Number(head.value.number))
      let asked = headsAsked.get(hash)
      const shared = asked !== undefined
      if (!asked) {
        asked = ask()
        if (!asked) return verdict('headsDropped', Ignore)
        headsAsked.set(hash, asked)
        asked.then(
          () => headsAsked.delete(hash),
          () => headsAsked.delete(hash),
        )
      }
      let known = await asked
      if (known && !known.result && shared && !knownHeads.get(hash)) {
        const again = ask()
        if (!again) return verdict('headsDropped', Ignore)
        known = await again
      }
      // The node may have reported the head itself while it waited.
      if (!known?.result && !knownHeads.get(hash))
        return verdict(known ? 'headsIgnored' : 'headsDropped', Ignore)
      knownHeads.set(head.value.hash, true)
    }
    return verdict('headsAccepted', Accept)
  })
  pubsub.topicValidators.set(txs, async (peer, msg) => {
    const tx = checkTransaction(msg.data, chainId)
    if (!tx.ok) return rejected(peer.toString(), 'txsRejected')
    if (submitted.get(tx.value.hash)) return verdict('txsIgnored', Ignore)
    // Dropped before its signature is checked too (~1-3 ms of CPU each): a flood then costs the
    // relay a decode per message, and a signature check only per message it submits.
    if (txChecks.slots.full() || txChecks.perPeer.full(peer.toString()))
      return verdict('txsDropped', Ignore)
    // Signed by a key, before the node hears of it (what was submitted was checked already).
    if (!checkSignature(tx.value.raw).ok) return rejected(peer.toString(), 'txsRejected')
    const asked = check(txChecks, peer.toString(), 'eth_sendRawTransaction', [tx.value.raw])
    if (!asked) return verdict('txsDropped', Ignore)
    submitted.set(tx.value.hash, true)
    const sent = await asked
    const known = /already known|known transaction/i.test(sent.error?.message ?? '')
    // The node's refusal stops it here; a node that is down does not stop it spreading.
    if (sent.error && !known) return verdict('txsRefusedByNode', Ignore)
    if (sent.result) told('txsSubmitted')
    return verdict('txsAccepted', Accept)
  })
  pubsub.subscribe(heads)
  pubsub.subscribe(txs)

  const published = createLru<true>(64)
  /** Publishes a head of the node's; one the socket sent that does not hash is read again. */
  const publish = async (header: Header) => {
    const hash = header.hash
    const number = Number(header.number)
    if (Number.isSafeInteger(number)) top = number
    if (typeof hash !== 'string') return
    // The node's own word: that head is known, and one waiting for a check needs none.
    knownHeads.set(hash, true)
    for (const w of waiting.filter((w) => w.hash === hash)) unwait(w, { result: header })
    if (published.get(hash)) return
    let data = headBytes(header)
    if (!data) {
      const again = (await ask('eth_getBlockByHash', [hash, false])).result as Header | undefined
      data = again && again.hash === hash ? headBytes(again) : undefined
    }
    if (!data || published.get(hash)) return
    published.set(hash, true)
    await pubsub.publish(heads, data).then(
      () => told('headsPublished'),
      () => {},
    )
  }
  const watch = watchHeads({
    latest: async () => (await ask('eth_getBlockByNumber', ['latest', false])).result as Header,
    onHead: publish,
    interval: settings.interval,
    ...(settings.ws ? { ws: settings.ws, WebSocket: settings.WebSocket } : {}),
  })
  return {
    from: () => watch.from(),
    get drops() {
      return watch.drops
    },
    stop() {
      watch.stop()
      for (const w of [...waiting]) unwait(w, undefined)
    },
  }
}

/** A head waiting for a check slot. */
type Waiting = {
  hash: string
  number: number
  resolve: (answer: NodeAnswer | undefined | Promise<NodeAnswer | undefined>) => void
  timer: ReturnType<typeof setTimeout> | undefined
}

/** The gossip form of a header, if its fields hash to its hash (what every receiver checks). */
function headBytes(header: Header): Uint8Array | undefined {
  try {
    const data = encodeHead(header)
    return checkHead(data).ok ? data : undefined
  } catch {
    return undefined
  }
}
