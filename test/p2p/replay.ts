/**
 * What anyone on a gossip topic can do with a relay's signed messages: keep them as received
 * (signature and sequence number and all) and send them again later to any peer, as gossipsub
 * sends a message it passes on. Through gossipsub's internals (private, stable in 17.x).
 */
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerLibp2p } from '../../src/p2p/index.ts'

/** A gossip message as it travels. */
export type RawMessage = { from?: Uint8Array; data?: Uint8Array; topic: string }

type Internals = {
  handleReceivedMessage(from: unknown, raw: RawMessage): Promise<void>
  sendRpc(peer: string, rpc: { subscriptions: []; messages: RawMessage[] }): boolean
}
const internals = (node: PeerLibp2p) => node.services.pubsub as unknown as Internals

/** Every message `node` receives on `topic` signed by `signer`, kept as it came. */
export function keepSigned(node: PeerLibp2p, topic: string, signer: string): RawMessage[] {
  const kept: RawMessage[] = []
  const from = peerIdFromString(signer).toMultihash().bytes
  const gs = internals(node)
  const handle = gs.handleReceivedMessage.bind(gs)
  gs.handleReceivedMessage = (peer, raw) => {
    if (raw.topic === topic && raw.from && Buffer.from(raw.from).equals(from)) kept.push(raw)
    return handle(peer, raw)
  }
  return kept
}

/** Sends kept messages to `peer`, each as gossip passed on. */
export function replay(node: PeerLibp2p, peer: string, messages: RawMessage[]): void {
  for (const m of messages)
    assert.ok(internals(node).sendRpc(peer, { subscriptions: [], messages: [m] }), 'sent')
}

/** The head a gossip message holds. */
export const headOf = (m: { data?: Uint8Array }) =>
  JSON.parse(new TextDecoder().decode(m.data)) as { hash: string; number: string }
