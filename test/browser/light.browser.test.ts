/**
 * A light client in headless Chromium whose only source is an `outlast relay --beacon` process
 * (in front of a Beacon-API replay of the mainnet Capella capture), reached over WebSockets on
 * 127.0.0.1. The page (light.page.ts) dials the relay, bootstraps from the capture's checkpoint,
 * syncs its 6 periods, and takes the first finality update that arrives by gossip (the replay's
 * node learns it once the page's mesh holds the relay); its core must reach execution block
 * 17923026 and show its hash. The cold time of each step is measured and reported.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, it } from 'vitest'
import { type BeaconReplay, CAPTURES, startBeaconReplay } from '../lab/beaconReplay.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'
import { type BrowserPage, describeInBrowser, openBrowserPage } from './harness.ts'
import type { SyncOptions, SyncResult } from './light.page.ts'

const CAPELLA = CAPTURES.capella

describeInBrowser('light-client data from a relay, in headless Chromium', () => {
  let lab: Lab | undefined
  let replay: BeaconReplay | undefined
  let relay: RelayProcess | undefined
  let browser: BrowserPage | undefined

  beforeAll(async () => {
    const relayReady = async () => {
      lab = await startLab({ blockTime: 0, sources: [{ name: 'node', domain: 'home' }] })
      // All 6 periods known; the recorded finality update comes later (the page reveals it).
      replay = await startBeaconReplay({ capture: 'capella', recorded: false })
      relay = await startRelayProcess({
        rpc: lab.proxy('node').url,
        args: ['--beacon', replay.url],
      })
      // The relay's own store caught up (it verifies what it gossips against it).
      for (const deadline = Date.now() + 30_000; ; ) {
        if (((await relay.status()).light?.store?.period ?? 0) >= 867) break
        if (Date.now() > deadline) throw new Error("the relay's store never caught up")
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const [ready, opened] = await Promise.allSettled([
      relayReady(),
      openBrowserPage({ entry: new URL('./light.page.ts', import.meta.url), callTimeout: 20_000 }),
    ])
    if (opened.status === 'fulfilled') browser = opened.value
    if (ready.status === 'rejected') throw ready.reason
    if (opened.status === 'rejected') throw opened.reason
  })

  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
    await replay?.stop()
    await lab?.stop()
  })

  it('dials the relay over /ws, bootstraps, syncs 6 periods, takes the gossiped finality: block 17923026', async (t) => {
    await t.annotate(`browser: ${await browser!.call('userAgent')}`)
    const r = await browser!.call<SyncResult>('sync', {
      peer: relay!.ws,
      checkpoint: CAPELLA.checkpoint,
      firstPeriod: CAPELLA.firstPeriod,
      periods: CAPELLA.updates,
      revealUrl: `${replay!.url}/lab/reveal?n=${CAPELLA.updates}&recorded=1`,
    } satisfies SyncOptions)
    assert.equal(r.periodsSynced, 6)
    assert.equal(r.finalized.blockNumber, CAPELLA.finalizedBlock)
    assert.equal(r.finalized.blockHash, CAPELLA.finalizedHash)
    const line = `cold, in the page: node ${r.nodeMs} ms, dial + bootstrap ${r.bootstrapMs} ms, 6 periods synced ${r.syncMs} ms, first gossiped finality verified ${r.finalityMs} ms (it reached the page ${r.gossipMs} ms after the replay's node learnt it, the page busy verifying meanwhile); finalized block ${r.finalized.blockNumber} ${r.finalized.blockHash}`
    process.stderr.write(`light browser: ${line}\n`)
    await t.annotate(line)
  })
})
