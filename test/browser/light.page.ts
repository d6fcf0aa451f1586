/**
 * The page of light.browser.test.ts: a light client in the browser whose only source is an
 * `outlast relay --beacon` reached over WebSockets (`relayLightSource`), verifying everything
 * with outlast/light's core. `sync` runs the cold path and times each step: dial and bootstrap,
 * the period updates, and the first finality update that arrives by gossip. Everything returned
 * is plain data (it crosses into Node).
 */
import { webSockets } from '@libp2p/websockets'
import {
  createLightClientCore,
  type LightClientFinalityUpdate,
  mainnet,
  slotAtTime,
} from '../../src/light/index.ts'
import { lightTopic, relayLightSource, startPeerNode } from '../../src/p2p/index.ts'

export type SyncOptions = {
  /** The relay's /ws address. */
  peer: string
  checkpoint: `0x${string}`
  firstPeriod: number
  periods: number
  /** Asked once the page's gossip mesh holds the relay, so the new finality comes by gossip. */
  revealUrl: string
}

export type SyncResult = {
  /** ms from the start: the page's libp2p node started. */
  nodeMs: number
  /** ms from the start: the bootstrap verified (the dial included). */
  bootstrapMs: number
  /** ms from the start: every period update verified. */
  syncMs: number
  /** ms from the start: the first gossiped finality update that moved the store, verified. */
  finalityMs: number
  /** ms from the reveal to that gossip's arrival (the relay's event → verify → gossip path). */
  gossipMs: number
  periodsSynced: number
  finalized: { slot: number; blockNumber: number | undefined; blockHash: string | undefined }
}

export const api = {
  async sync(o: SyncOptions): Promise<SyncResult> {
    const start = performance.now()
    const since = () => Math.round(performance.now() - start)
    // The page's own node (outlast's parts), shared with the source: the test can see its mesh.
    const node = await startPeerNode({ transports: [webSockets()] }, [o.peer])
    const nodeMs = since()
    const source = relayLightSource({ peer: o.peer, libp2p: node, timeout: 5_000 })
    const now = () => slotAtTime(mainnet, Date.now())!
    const gossiped: { update: LightClientFinalityUpdate; at: number }[] = []
    let wake: (() => void) | undefined
    const stop = source.events!(
      (update) => {
        gossiped.push({ update, at: performance.now() })
        wake?.()
      },
      () => {},
    )
    try {
      const bootstrap = await source.bootstrap(o.checkpoint)
      if (!bootstrap) throw new Error('the relay has no bootstrap for the checkpoint')
      const lc = createLightClientCore({ config: mainnet, checkpoint: o.checkpoint, bootstrap })
      const bootstrapMs = since()
      // The gossip mesh forms as soon as the connection is up (the bootstrap came over it).
      const revealing = waitForMesh().then(() => {
        const at = performance.now()
        return fetch(o.revealUrl, { mode: 'no-cors' }).then(() => at)
      })
      const updates = await source.updates(o.firstPeriod, o.periods)
      for (const u of updates) lc.processUpdate(u, now())
      const syncMs = since()
      const revealedAt = await revealing
      const before = lc.finalized.slot
      for (let seen = 0; ; ) {
        while (seen < gossiped.length) {
          const { update, at } = gossiped[seen++]!
          try {
            if (lc.processFinalityUpdate(update, now()).finalized && lc.finalized.slot > before) {
              const e = lc.finalized.execution
              return {
                nodeMs,
                bootstrapMs,
                syncMs,
                finalityMs: since(),
                gossipMs: Math.round(at - revealedAt),
                periodsSynced: updates.length,
                finalized: {
                  slot: lc.finalized.slot,
                  blockNumber: e?.blockNumber,
                  blockHash: e?.blockHash,
                },
              }
            }
          } catch {
            // A stale or not-yet-verifiable update: the next one may do.
          }
        }
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, 100)
        })
      }
    } finally {
      stop()
      await source.close?.()
      await node.stop()
    }

    /** Until the relay is a subscriber of the finality topic on the page's node (its mesh). */
    async function waitForMesh() {
      const topic = lightTopic(mainnet.genesisValidatorsRoot, 'finality')
      const relay = o.peer.split('/p2p/').pop()
      for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
        if (node.services.pubsub.getSubscribers(topic).some((p) => p.toString() === relay)) return
        await new Promise((r) => setTimeout(r, 5))
      }
      throw new Error('the relay never joined the finality topic')
    }
  },
  userAgent: () => navigator.userAgent,
}

export type PageApi = typeof api
;(window as unknown as { outlastTest: PageApi }).outlastTest = api
