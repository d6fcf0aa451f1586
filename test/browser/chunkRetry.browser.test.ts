/**
 * A dApp whose host goes down before outlast fetched the code it loads on first use (`preload`
 * off, so nothing was fetched ahead): the first subscription fails, naming what could not load,
 * and once the host is back the next one fetches the chunk again and works. Chromium does not
 * keep a failed dynamic import, and outlast must not either (src/shared/lazy.ts).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, it } from 'vitest'
import { CHAIN_ID, threeDomains } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import { type BrowserPage, describeInBrowser, openBrowserPage } from './harness.ts'

type Outcome = { result?: unknown; error?: string }

describeInBrowser('a chunk the page host failed to serve, in headless Chromium', () => {
  let lab: Lab | undefined
  let browser: BrowserPage | undefined

  beforeAll(async () => {
    ;[lab, browser] = await Promise.all([
      startLab({ sources: threeDomains.slice(0, 2) }),
      openBrowserPage({
        entry: new URL('./core.page.ts', import.meta.url),
        // The chunk fetch the host answers 503 to, while it is down.
        allowConsole: [/status of 503/, /Failed to fetch dynamically imported module/],
      }),
    ])
    const sources = lab.sources.map((s) => ({ name: s.name, domain: s.domain, url: s.proxy.url }))
    await browser.call('start', CHAIN_ID, sources, false)
  })
  afterAll(async () => {
    await browser?.call('close').catch(() => {})
    await browser?.close()
    await lab?.stop()
  })

  it('fails the first subscription while the host is down, and subscribes once it is back', async () => {
    assert.equal(
      (await browser!.call<Outcome>('request', 'eth_chainId')).result,
      `0x${CHAIN_ID.toString(16)}`,
    )
    browser!.setHostDown(true)
    const down = await browser!.call<Outcome>('request', 'eth_newBlockFilter')
    assert.match(String(down.error), /dynamically imported module/, JSON.stringify(down))
    browser!.setHostDown(false)
    const up = await browser!.call<Outcome>('request', 'eth_newBlockFilter')
    assert.match(String(up.result), /^0x[0-9a-f]+$/, JSON.stringify(up))
    // Fetched once the host was back (the harness lists what it served): asked again, not kept.
    assert.ok(
      browser!.fetched.some((p) => /streams/.test(p)),
      browser!.fetched.join(' '),
    )
    browser!.check()
  })
})
