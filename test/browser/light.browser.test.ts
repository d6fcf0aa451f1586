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
import { type BrowserPage, describeInBrowser, openBrowserPage } from './harness.ts'
import { CAPELLA, coldLine, coldSync, type LightRelay, startLightRelay } from './lightRelay.ts'

describeInBrowser('light-client data from a relay, in headless Chromium', () => {
  let setup: LightRelay | undefined
  let browser: BrowserPage | undefined

  beforeAll(async () => {
    const [ready, opened] = await Promise.allSettled([
      startLightRelay(),
      openBrowserPage({ entry: new URL('./light.page.ts', import.meta.url), callTimeout: 20_000 }),
    ])
    if (ready.status === 'fulfilled') setup = ready.value
    if (opened.status === 'fulfilled') browser = opened.value
    if (ready.status === 'rejected') throw ready.reason
    if (opened.status === 'rejected') throw opened.reason
  })

  afterAll(async () => {
    await browser?.close()
    await setup?.stop()
  })

  it('dials the relay over /ws, bootstraps, syncs 6 periods, takes the gossiped finality: block 17923026', async (t) => {
    await t.annotate(`browser: ${await browser!.call('userAgent')}`)
    const r = await coldSync(browser!, setup!)
    assert.equal(r.periodsSynced, 6)
    assert.equal(r.finalized.blockNumber, CAPELLA.finalizedBlock)
    assert.equal(r.finalized.blockHash, CAPELLA.finalizedHash)
    const line = coldLine(r)
    process.stderr.write(`light browser: ${line}\n`)
    await t.annotate(line)
  })
})
