/**
 * `p2p()` in headless Chromium, as a dApp frontend runs it: the page (p2p.page.ts, bundled by
 * vite) reads the chain through two `outlast relay` processes only, each in front of its own lab
 * proxy (two failure domains) over one anvil, with `proofs()`. Its proven balance and its
 * eth_blockNumber must equal what anvil says, over WebRTC-Direct (no domain, no certificate, no
 * ICE servers) and over plain WebSockets to 127.0.0.1, and keep coming (proven) through the other
 * relay when one is killed mid-session.
 *
 * The page builds its libp2p node itself (startPeerNode()'s parts plus a permissive connection
 * gater) and hands it to p2p() as `libp2p`: in browsers libp2p's default gater refuses private
 * addresses, loopback included, and plain /ws, so p2p()'s own node cannot reach relays on
 * 127.0.0.1 (the last test pins that down).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, it, type TestContext } from 'vitest'
import { CHAIN_ID } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { type RelayProcess, startRelayProcess } from '../lab/relays.ts'
import { type BrowserPage, describeInBrowser, openBrowserPage } from './harness.ts'
import type { PageApi, PagePeer, Reads, StartOptions, Transport } from './p2p.page.ts'

type Status = ReturnType<PageApi['status']>

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

describeInBrowser('p2p() relays in headless Chromium', () => {
  let lab: Lab | undefined
  let browser: BrowserPage | undefined
  const relays: RelayProcess[] = []
  const started = performance.now()
  let setupMs = 0
  const timings: string[] = []
  // A fresh account; its balance is set through anvil, so the page cannot know it beforehand.
  const account = `0x${[...crypto.getRandomValues(new Uint8Array(20))].map((b) => b.toString(16).padStart(2, '0')).join('')}`

  beforeAll(async () => {
    const labAndRelays = async () => {
      lab = await startLab({
        blockTime: 0,
        sources: [
          { name: 'relay-a', domain: 'home-a' },
          { name: 'relay-b', domain: 'home-b' },
        ],
      })
      // anvil cannot prove its genesis state: the proofs need blocks after it.
      for (let i = 0; i < 3; i++) await lab.anvil.rpc('evm_mine')
      const ready = await Promise.allSettled(
        lab.sources.map((s) => startRelayProcess({ rpc: s.proxy.url })),
      )
      for (const r of ready) if (r.status === 'fulfilled') relays.push(r.value)
      for (const r of ready) if (r.status === 'rejected') throw r.reason
    }
    const [labResult, browserResult] = await Promise.allSettled([
      labAndRelays(),
      openBrowserPage({ entry: new URL('./p2p.page.ts', import.meta.url), callTimeout: 20_000 }),
    ])
    if (browserResult.status === 'fulfilled') browser = browserResult.value
    if (labResult.status === 'rejected') throw labResult.reason
    if (browserResult.status === 'rejected') throw browserResult.reason
    setupMs = Math.round(performance.now() - started)
  })

  afterAll(async () => {
    await browser?.call('close').catch(() => {})
    await browser?.close()
    await Promise.all(relays.map((r) => r.stop()))
    await lab?.stop()
    const total = Math.round(performance.now() - started)
    const t = browser?.timings
    process.stderr.write(
      `p2p browser timings: launch ${t?.launch} ms, bundle ${t?.bundle} ms (${browser?.bundleBytes} bytes), page load ${t?.load} ms, set-up ${setupMs} ms, total ${total} ms\n${timings.map((l) => `  ${l}\n`).join('')}`,
    )
  })

  const anvil = <T>(method: string, params: unknown[] = []) => lab!.anvil.rpc<T>(method, params)

  /**
   * Sends the account `wei` in a transaction (mined at once: blockTime 0). Not anvil_setBalance:
   * anvil answers eth_getProof at an older block with the current balance under a root that is
   * no block's once a balance was set that way, so a proof against a trusted header behind the
   * head would fail, and the honest relay would be taken for a liar.
   */
  async function fund(wei: bigint) {
    const from = devAccounts[0]!.address
    await anvil('eth_sendTransaction', [{ from, to: account, value: `0x${wei.toString(16)}` }])
  }

  const peers = (transport: Transport): PagePeer[] =>
    relays.map((r, i) => ({
      name: `relay-${'ab'[i]}`,
      domain: lab!.sources[i]!.domain,
      address: transport === 'ws' ? r.ws : r.webrtc,
    }))

  async function start(transport: Transport, node: StartOptions['node'] = 'shared') {
    await browser!.call('close')
    return browser!.call<{ nodeMs: number }>('start', {
      chainId: CHAIN_ID,
      peers: peers(transport),
      transport,
      node,
    } satisfies StartOptions)
  }

  /** The page's reads, checked against anvil: the balance proven by one of `from`. */
  async function readAndCheck(from: string[]): Promise<Reads> {
    const reads = await browser!.call<Reads>('read', account)
    assert.equal(reads.balance.result, await anvil('eth_getBalance', [account, 'latest']))
    assert.equal(reads.balance.consistency, 'proven', JSON.stringify(reads.balance))
    assert.equal(reads.balance.sources.length, 1)
    assert.ok(from.includes(reads.balance.sources[0]!), `proven by ${reads.balance.sources}`)
    assert.equal(reads.blockNumber.result, await anvil('eth_blockNumber'))
    return reads
  }

  /** Starts a client over `transport`, reads (cold, then warm) and checks every answer. */
  async function readsOver(transport: Transport, t: TestContext) {
    await fund(BigInt(Math.floor(Math.random() * 1e9)) * 10n ** 9n)
    const begin = performance.now()
    const { nodeMs } = await start(transport)
    const first = await readAndCheck(['relay-a', 'relay-b'])
    const coldMs = Math.round(performance.now() - begin)
    const connections = await browser!.call<string[]>('connections')
    const transportPart = transport === 'ws' ? '/ws/' : '/webrtc-direct/'
    assert.deepEqual(
      connections.map((c) => c.includes(transportPart)),
      [true, true],
      `connections: ${connections.join(', ')}`,
    )
    const warm: number[] = []
    for (let i = 0; i < 10; i++) warm.push((await readAndCheck(['relay-a', 'relay-b'])).balance.ms)
    const line = `${transport}: node start ${nodeMs} ms, dial + first proven read ${first.ms} ms in the page (${coldMs} ms from the test, start included), warm proven read median ${median(warm)} ms (max ${Math.max(...warm)} ms)`
    timings.push(line)
    await t.annotate(line)
  }

  it('over WebRTC-Direct: a proven balance and eth_blockNumber, as anvil says', async (t) => {
    await t.annotate(`browser: ${await browser!.call('userAgent')}`)
    await readsOver('webrtc-direct', t)
  })

  it('over WebSockets (plain /ws on 127.0.0.1): the same', async (t) => {
    await readsOver('ws', t)
  })

  it("p2p()'s own node dials the pinned relays (libp2p's browser default would refuse loopback)", async () => {
    for (const transport of ['webrtc-direct', 'ws'] as const) {
      await start(transport, 'default')
      const reads = await browser!.call<Reads>('read', account)
      assert.equal(reads.balance.result, await anvil('eth_getBalance', [account, 'latest']))
      assert.equal(reads.balance.consistency, 'proven', JSON.stringify(reads.balance))
    }
  })

  it('a relay killed mid-session: the next proven read comes through the other', async (t) => {
    await fund(31_337_000_000_000n)
    await start('webrtc-direct')
    const before = await readAndCheck(['relay-a', 'relay-b'])
    // The relay that just proved the balance goes: the next read cannot lean on it.
    const victim = before.balance.sources[0]!
    const survivor = victim === 'relay-a' ? 'relay-b' : 'relay-a'
    relays['ab'.indexOf(victim.slice(-1))]!.kill()
    const after = await readAndCheck([survivor])
    const line = `${victim} killed (SIGKILL): next proven read ${after.ms} ms, through ${after.balance.sources}`
    timings.push(line)
    await t.annotate(line)
    for (let i = 0; i < 3; i++) await readAndCheck([survivor])
    // A new block that one domain alone cannot confirm: proven answers are still proven (against
    // the newest header two domains agreed on) and right for the block they name.
    await fund(1n)
    const later = await browser!.call<Reads>('read', account)
    const { balance } = later
    assert.equal(balance.consistency, 'proven', JSON.stringify(balance))
    assert.deepEqual(balance.sources, [survivor])
    assert.ok(balance.block, 'a proven answer names its block')
    const named = await anvil<{ hash: string }>('eth_getBlockByNumber', [
      `0x${balance.block.number.toString(16)}`,
      false,
    ])
    assert.equal(balance.block.hash, named.hash)
    assert.equal(
      balance.result,
      await anvil('eth_getBalance', [account, `0x${balance.block.number.toString(16)}`]),
    )
    const head = Number(await anvil('eth_blockNumber'))
    await t.annotate(
      `after a new block (#${head}) with one relay left: balance proven at #${balance.block.number}, eth_blockNumber ${Number(later.blockNumber.result)} (${later.blockNumber.consistency})`,
    )
    const status = await browser!.call<Status>('status')
    for (const l of String(status.text).split('\n')) await t.annotate(l)
  })
})
