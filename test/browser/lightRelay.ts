/**
 * The light client's cold path in headless Chromium, shared by light.browser.test.ts and
 * bench/light.ts: an `outlast relay --beacon` process in front of a Beacon-API replay of the
 * mainnet Capella capture (all 6 periods known, the recorded finality held back), its own store
 * caught up; then the page (light.page.ts, or a page that includes it) dials the relay over
 * /ws, bootstraps, syncs the 6 periods, reveals the finality once its gossip mesh holds the
 * relay, and verifies the first gossiped finality update. One setup serves one cold run (the
 * finality, once gossiped, is not gossiped again).
 */
import { type BeaconReplay, CAPTURES, startBeaconReplay } from '../lab/beaconReplay.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'
import type { BrowserPage } from './harness.ts'
import type { SyncOptions, SyncResult } from './light.page.ts'

export const CAPELLA = CAPTURES.capella

export type LightRelay = {
  lab: Lab
  replay: BeaconReplay
  relay: RelayProcess
  stop(): Promise<void>
}

/** The relay (and the anvil it needs for `--rpc`, and the replay it reads), caught up to period 867. */
export async function startLightRelay(): Promise<LightRelay> {
  const parts: Partial<LightRelay> = {}
  const stop = async () => {
    await parts.relay?.stop()
    await parts.replay?.stop()
    await parts.lab?.stop()
  }
  try {
    parts.lab = await startLab({ blockTime: 0, sources: [{ name: 'node', domain: 'home' }] })
    parts.replay = await startBeaconReplay({ capture: 'capella', recorded: false })
    parts.relay = await startRelayProcess({
      rpc: parts.lab.proxy('node').url,
      args: ['--beacon', parts.replay.url],
    })
    // The relay's own store caught up (it verifies what it gossips against it).
    for (const deadline = Date.now() + 30_000; ; ) {
      if (((await parts.relay.status()).light?.store?.period ?? 0) >= 867) break
      if (Date.now() > deadline) throw new Error("the relay's store never caught up")
      await new Promise((r) => setTimeout(r, 100))
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { ...(parts as Omit<LightRelay, 'stop'>), stop }
}

/** Runs the cold path in `browser` (a page with light.page.ts's `sync`) against `setup`. */
export function coldSync(browser: BrowserPage, setup: LightRelay): Promise<SyncResult> {
  return browser.call<SyncResult>('sync', {
    peer: setup.relay.ws,
    checkpoint: CAPELLA.checkpoint,
    firstPeriod: CAPELLA.firstPeriod,
    periods: CAPELLA.updates,
    revealUrl: `${setup.replay.url}/lab/reveal?n=${CAPELLA.updates}&recorded=1`,
  } satisfies SyncOptions)
}

/** One line of a cold run's timings. */
export function coldLine(r: SyncResult): string {
  return `cold, in the page: node ${r.nodeMs} ms, dial + bootstrap ${r.bootstrapMs} ms, 6 periods synced ${r.syncMs} ms, first gossiped finality verified ${r.finalityMs} ms (it reached the page ${r.gossipMs} ms after the replay's node learnt it, the page busy verifying meanwhile); finalized block ${r.finalized.blockNumber} ${r.finalized.blockHash}`
}
