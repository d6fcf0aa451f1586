/**
 * examples/dapp in headless Chromium against the outage lab: the page shows an account's
 * balance, nonce, token balance and the latest block; mid-session the cloud sources fail (one
 * blackholed, one answering 503) and so does the page's own host (503 to every request, chunks
 * included); the page keeps showing the right values, a transfer signed in the page is mined
 * (with code outlast loads on first use, fetched ahead: `preload`), and its sources panel shows
 * which sources were lost.
 * `SCREENSHOT=path` saves the panel's picture (the README's is made so).
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { formatEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, it } from 'vitest'
import { tokenBytecode } from '../../examples/node-bot/token.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { type BrowserPage, describeInBrowser, openBrowserPage } from './harness.ts'

type State = {
  balance: string
  nonce: number
  token: string
  block: number
  sent: string
  errors: string[]
}
type Status = { sources: { name: string; condition: string; failures: number }[] }

const dapp = (file: string) => new URL(`../../examples/dapp/${file}`, import.meta.url)
const key = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a' as const // anvil's account 2
const account = privateKeyToAccount(key)

describeInBrowser('examples/dapp in Chromium, through a cloud outage', () => {
  let lab: Lab
  let browser: BrowserPage | undefined
  beforeAll(async () => {
    lab = await startLab({
      blockTime: 1,
      sources: [
        { name: 'aws', domain: 'aws-us-east-1' },
        { name: 'gcp', domain: 'gcp-europe-west1' },
        { name: 'home', domain: 'home', kind: 'self-hosted' },
      ],
    })
    const deploy = await lab.anvil.rpc<string>('eth_sendTransaction', [
      { from: account.address, data: tokenBytecode(10n ** 24n), gas: '0x100000' },
    ])
    let token: `0x${string}` | undefined
    for (let i = 0; i < 50 && !token; i++) {
      token = (
        await lab.anvil.rpc<{ contractAddress: `0x${string}` } | null>(
          'eth_getTransactionReceipt',
          [deploy],
        )
      )?.contractAddress
      if (!token) await new Promise((r) => setTimeout(r, 200))
    }
    const config = {
      chainId: 31337,
      sources: lab.sources.map((s) => ({ url: s.proxy.url, name: s.name, domain: s.domain })),
      key,
      token,
      to: devAccounts[3]!.address,
    }
    const html = await readFile(dapp('index.html'), 'utf8')
    browser = await openBrowserPage({
      entry: dapp('main.ts'),
      global: 'dapp',
      body: html
        .split('<body>')[1]!
        .split('</body>')[0]!
        .replace(/<script[^>]*><\/script>/, ''),
      styles: await readFile(dapp('style.css'), 'utf8'),
      search: `?config=${encodeURIComponent(JSON.stringify(config))}`,
      callTimeout: 30_000,
      // Chromium logs every failed fetch of a lost source: the outage itself.
      allowConsole: [/Failed to load resource/, /net::ERR_/],
    })
  })
  afterAll(async () => {
    await browser?.close()
    await lab?.stop()
  })

  const state = () => browser!.call<State>('state')
  const truth = async () => ({
    balance: BigInt(await lab.anvil.rpc('eth_getBalance', [account.address, 'latest'])),
    nonce: Number(await lab.anvil.rpc('eth_getTransactionCount', [account.address, 'latest'])),
    block: Number(await lab.anvil.rpc('eth_blockNumber')),
  })
  let lastBlock = 0
  /** The page's values, refreshed now, against the node's. */
  async function shownRight() {
    await browser!.call('refresh')
    const s = await state()
    const t = await truth()
    assert.equal(s.balance, formatEther(t.balance))
    assert.equal(s.nonce, t.nonce)
    // Never ahead of the node, never back. (With one domain left the head is one domain's
    // claim: eth_blockNumber does not follow it past what was confirmed plus the chain's pace.)
    assert.ok(s.block <= t.block && s.block >= lastBlock, `block ${s.block}, node ${t.block}`)
    lastBlock = s.block
    assert.equal(s.token, '1000000', 'the token balance')
    return s
  }

  it('shows the right values, loses the clouds and its own host mid-session, still does, and a transfer is mined', async () => {
    const before = await shownRight()
    // The page's own host sat on the failed cloud too: no chunk it has not fetched yet loads.
    const chunks = browser!.fetched.filter((path) => path !== '/' && !/^\/page\./.test(path))
    assert.ok(chunks.length > 0, 'outlast fetched the code it loads on first use ahead')
    browser!.allowConsole.push(/status of 503/)
    browser!.setHostDown(true)
    await lab.proxy('aws').setMode({ kind: 'blackhole' })
    await lab.proxy('gcp').setMode({ kind: 'http5xx', status: 503 })
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1_000))
      await shownRight()
    }
    const sent = await browser!.call<string>('send')
    assert.match(sent, / success #\d+$/)
    const after = await shownRight()
    assert.equal(after.nonce, before.nonce + 1, 'the transfer is counted')
    const status = await browser!.call<Status>('status')
    const lost = status.sources.filter((s) => s.name !== 'home')
    assert.ok(
      lost.every((s) => s.condition !== 'healthy'),
      `the panel shows the clouds lost: ${JSON.stringify(status.sources)}`,
    )
    const panel = await browser!.call<string>('panel')
    assert.match(panel, /data-source="home"><td>home<\/td><td>home<\/td><td class="healthy">/)
    if (process.env.SCREENSHOT)
      await browser!.page.screenshot({ path: process.env.SCREENSHOT, fullPage: true })
  })
})
