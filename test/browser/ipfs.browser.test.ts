/**
 * `outlast/ipfs` in headless Chromium: a wallet page reads a token's `tokenURI` through outlast
 * (two lab sources, two domains, over CORS) and fetches its metadata from two loopback
 * trustless gateways, the first of which tampers with every block. The page must show the
 * metadata stored under the CID, every block hashed in the page, and flag the tamperer.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createIPNSRecord, marshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
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
import { startGateway as startIpnsGateway } from '../lab/ipnsLab.ts'
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

  it("resolves an IPNS name first asked after the page's host failed: its verifier loaded ahead", async () => {
    const b = browser!
    const gateway = await startIpnsGateway()
    try {
      const key = await generateKeyPair('Ed25519')
      const name = peerIdFromPrivateKey(key).toCID().toString(base36)
      const target = `/ipfs/${content.dir.cid}`
      gateway.records.set(name, marshalIPNSRecord(await createIPNSRecord(key, target, 1n, 60_000)))
      const chunks = () => b.fetched.filter((path) => /\.m?js$/.test(path)).length
      const before = chunks()
      const resolver = await b.call<number>('makeResolver', [gateway.url])
      // The verifier's chunks come from the page's host as the resolver is made, before any name.
      await settled(chunks)
      assert.ok(chunks() > before, 'the resolver fetched its verifier ahead')
      assert.equal(gateway.hits.records, 0)
      b.setHostDown(true)
      const got = await b.call('resolveName', resolver, `/ipns/${name}/42.json`)
      assert.deepEqual(got, { path: `${target}/42.json` })
      assert.equal(gateway.hits.records, 1)
      b.check()
    } finally {
      b.setHostDown(false)
      await gateway.stop()
    }
  })
})

/** Until `value()` has not changed for 300 ms (at most 5 s). */
async function settled(value: () => number) {
  let last = value()
  let since = Date.now()
  for (const end = Date.now() + 5_000; Date.now() < end && Date.now() - since < 300; ) {
    await new Promise((r) => setTimeout(r, 25))
    if (value() !== last) {
      last = value()
      since = Date.now()
    }
  }
}
