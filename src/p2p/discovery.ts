/**
 * Peers found by discovery (untrusted): those that said, through identify, that they serve the
 * RPC protocol. A peer that disconnects or whose connection failed leaves the rotation, and
 * joins again once identified again (peer ids cost nothing to make).
 */

import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerLibp2p } from './peerNode.ts'
import { RPC_PROTOCOL } from './protocol.ts'

export function createDiscovery() {
  const serving = new Set<string>()
  /** Calls waiting for the first such peer (a dial resolves before identify has run). */
  const waiting = new Set<() => void>()
  return {
    /** Follows `n`'s identified and disconnected peers. */
    watch(n: PeerLibp2p) {
      n.addEventListener('peer:identify', (e) => {
        const id = e.detail.peerId.toString()
        if (e.detail.protocols.includes(RPC_PROTOCOL)) {
          serving.add(id)
          for (const wake of waiting) wake()
        } else serving.delete(id)
      })
      n.addEventListener('peer:disconnect', (e) => void serving.delete(e.detail.toString()))
    },
    /** Drops a discovered peer whose connection failed (it joins again when identified again). */
    forget(peer: PeerId) {
      serving.delete(peer.toString())
    },
    /** Resolves once a peer serving the protocol is identified, or after `ms`, or on abort. */
    untilIdentified(ms: number, signal?: AbortSignal): Promise<void> {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          waiting.delete(done)
          signal?.removeEventListener('abort', done)
          resolve()
        }
        const timer = setTimeout(done, ms)
        waiting.add(done)
        signal?.addEventListener('abort', done, { once: true })
      })
    },
    /** Peers found by discovery, not in `exclude` (the pinned ones). */
    discovered(exclude: ReadonlySet<string>): PeerId[] {
      return [...serving].filter((id) => !exclude.has(id)).map((id) => peerIdFromString(id))
    },
  }
}
