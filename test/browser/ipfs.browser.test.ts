/**
 * `outlast/ipfs` in headless Chromium: a wallet page reads a token's `tokenURI` through outlast
 * (two lab sources, two domains, over CORS) and fetches its metadata from two loopback
 * trustless gateways, the first of which tampers with every block. The page must show the
 * metadata stored under the CID, every block hashed in the page, and flag the tamperer.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, it } from 'vitest'
import { CHAIN_ID } from '../helpers.ts'
import { type Lab, startLab } from '../lab/index.ts'
import {
  abiString,
  answeringCode,
  buildContent,
  type LabContent,
  type LabGateway,
  startGateway,
  tokenUriCall,
} from '../lab/ipfsLab.ts'
import { type BrowserPage, describeInBrowser, openBrowserPage } from './harness.ts'
import type { PageApi, Shown, ShowOptions } from './ipfs.page.ts'

const CONTRACT = '0x0000000000000000000000000000000000c0ffee'

describeInBrowser('outlast/ipfs in headless Chromium', () => {
  let lab: Lab | undefined
  let content: LabContent
  let tampering: LabGateway | undefined
  let honest: LabGateway | undefined
  let browser: BrowserPage | undefined

  beforeAll(async () => {
    const setUp = async () => {
      content = await buildContent()
      tampering = await startGateway({ blocks: content.blocks, behaviour: 'tampering' })
      honest = await startGateway({ blocks: content.blocks })
      lab = await startLab({
        blockTime: 0,
        sources: [
          { name: 'cloud-a', domain: 'aws-us-east-1' },
          { name: 'cloud-b', domain: 'gcp-europe-west1' },
        ],
      })
      await lab.anvil.rpc('anvil_setCode', [
        CONTRACT,
        answeringCode([
          [tokenUriCall('erc721', 42n), abiString(`ipfs://${content.dir.cid}/42.json`)],
        ]),
      ])
    }
    const [labResult, browserResult] = await Promise.allSettled([
      setUp(),
      openBrowserPage({ entry: new URL('./ipfs.page.ts', import.meta.url), callTimeout: 20_000 }),
    ])
    if (browserResult.status === 'fulfilled') browser = browserResult.value
    if (labResult.status === 'rejected') throw labResult.reason
    if (browserResult.status === 'rejected') throw browserResult.reason
  })

  afterAll(async () => {
    await browser?.close()
    await Promise.all([lab?.stop(), tampering?.close(), honest?.close()])
    const t = browser?.timings
    process.stderr.write(
      `ipfs browser timings: launch ${t?.launch} ms, bundle ${t?.bundle} ms (${browser?.bundleBytes} bytes), page load ${t?.load} ms\n`,
    )
  })

  it('shows the verified metadata, and flags the tampering gateway', async (t) => {
    const options: ShowOptions = {
      chainId: CHAIN_ID,
      sources: lab!.sources.map((s) => ({ name: s.name, domain: s.domain, url: s.proxy.url })),
      gateways: [
        { name: 'tampering', url: tampering!.url },
        { name: 'honest', url: honest!.url },
      ],
      contract: CONTRACT,
      tokenId: '42',
    }
    const shown = await browser!.call<Shown>('show' satisfies keyof PageApi, options)
    assert.deepEqual(shown.metadata, content.metadata.json)
    assert.equal(shown.uri, `ipfs://${content.dir.cid}/42.json`)
    assert.equal(shown.origin, 'ipfs')
    assert.equal(shown.verified, true)
    const byName = new Map(shown.routes.map((r) => [r.name, r]))
    assert.equal(byName.get('tampering')?.condition, 'lying')
    assert.equal(byName.get('tampering')?.blocks, 0)
    assert.ok((byName.get('tampering')?.lies ?? 0) >= 1)
    assert.equal(byName.get('honest')?.condition, 'healthy')
    assert.ok(shown.lies.length >= 1 && shown.lies.every((e) => e.route === 'tampering'))
    assert.ok(tampering!.stats.requests >= 1, 'the tampering gateway was asked')
    // What the page shows is what the CID holds.
    const { page } = browser!
    assert.equal(await page.textContent('#token .name'), content.metadata.json.name)
    assert.equal(await page.textContent('#token .trust'), 'verified by CID')
    assert.deepEqual(
      JSON.parse((await page.textContent('#token .json')) ?? ''),
      content.metadata.json,
    )
    browser!.check()
    await t.annotate(
      `${await browser!.call('userAgent')}: tokenURI through outlast and the metadata verified in ${shown.ms} ms`,
    )
  })
})
