/**
 * Trust, pushed heads: a source that pushes correctly hashed headers that are not on the chain
 * (siblings of real blocks, and children of those) is one source's hint. Subscribers get only
 * blocks of the real chain, every log once, none `removed`, and the stream never restarts.
 */
import assert from 'node:assert/strict'
import { toHex } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { CHAIN_ID, sleep, threeDomains } from '../helpers.ts'
import { devAccounts, type Lab, startLab } from '../lab/index.ts'
import { deployAnswer, PING_INIT } from '../workload.ts'
import { forgeHeader } from './hostile.ts'

let lab: Lab
let emitter: `0x${string}`
beforeAll(async () => {
  lab = await startLab({ blockTime: 1, sources: threeDomains })
  emitter = await deployAnswer(lab.anvil, PING_INIT)
})
afterAll(() => lab.stop())

type Header = Record<string, unknown> & { number: string; hash: string; parentHash: string }

/**
 * A pusher in its own domain: every 100 ms it pushes a sibling of the real head and a child of
 * that sibling, all correctly hashed; asked for them by hash it serves them; else it is honest.
 */
function siblingPusher(alsoReal: boolean): Source {
  const inner = http(lab.proxies[0]!.url, { name: 'pusher', domain: 'pusher-host' })
  const forged = new Map<string, Header>()
  let salt = 0
  return {
    config: { ...inner.config },
    async request(body, options) {
      if (body.method === 'eth_getBlockByHash') {
        const fake = forged.get(String(body.params?.[0]).toLowerCase())
        if (fake) return fake
      }
      return inner.request(body, options)
    },
    async subscribe(_params, onMessage) {
      const timer = setInterval(async () => {
        const real = await lab.anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
        const sibling = forgeHeader(real, Number(real.number), ++salt) as Header
        sibling.parentHash = real.parentHash
        sibling.hash = forgeHeader(sibling, Number(real.number), salt).hash as string
        const child = forgeHeader(
          { ...sibling, parentHash: sibling.hash },
          Number(real.number) + 1,
          salt,
        ) as Header
        for (const h of [sibling, child]) forged.set(h.hash.toLowerCase(), h)
        if (alsoReal) onMessage(real)
        onMessage(sibling)
        onMessage(child)
      }, 100)
      return {
        async unsubscribe() {
          clearInterval(timer)
        },
      }
    },
  }
}

for (const alsoReal of [false, true]) {
  describe(`a source pushing sibling headers${alsoReal ? ' beside the real ones' : ''}`, () => {
    it('subscribers get the real chain, each log once, never removed, no restart', async () => {
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        pollingInterval: 300,
        sources: [
          siblingPusher(alsoReal),
          ...lab.sources.map((s) =>
            http(s.proxy.url, { name: s.name, domain: s.domain, fetchFn: s.proxy.fetch }),
          ),
        ],
      })
      const heads: Header[] = []
      const logs: { data: string; removed: boolean; blockHash: string }[] = []
      const restarts: string[] = []
      rpc.on('streamError', (e) => restarts.push(e.message))
      const a = await rpc.subscribe(['newHeads'], (h) => heads.push(h as Header))
      const b = await rpc.subscribe(['logs', { address: emitter }], (l) => logs.push(l as never))
      const sent: string[] = []
      try {
        for (let i = 1; i <= 5; i++) {
          const data = toHex(i, { size: 32 })
          await lab.anvil.rpc('eth_sendTransaction', [
            { from: devAccounts[1].address, to: emitter, data },
          ])
          sent.push(data)
          await sleep(700)
        }
        await sleep(2_500)
      } finally {
        await a.unsubscribe()
        await b.unsubscribe()
        await rpc.close()
      }
      assert.ok(heads.length >= 3, `heads delivered: ${heads.length}`)
      for (const h of heads) {
        const real = await lab.anvil.rpc<Header>('eth_getBlockByNumber', [h.number, false])
        assert.equal(h.hash, real.hash, `head ${Number(h.number)} is on the chain`)
      }
      for (let i = 1; i < heads.length; i++)
        assert.equal(Number(heads[i]!.number), Number(heads[i - 1]!.number) + 1, 'consecutive')
      assert.deepEqual(
        logs.filter((l) => l.removed),
        [],
        'no real log arrives as removed',
      )
      assert.deepEqual(
        logs.map((l) => l.data),
        sent,
        'every log once, in order',
      )
      assert.deepEqual(restarts, [], 'the stream never restarts')
    })
  })
}
