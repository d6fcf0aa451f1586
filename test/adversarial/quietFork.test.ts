/**
 * A quiet chain (no block for minutes: a dev chain, an L2 without traffic) and ONE hostile domain
 * beside two honest ones that are up and agree. The liar forges correctly hashed headers on top of
 * the agreed head, with fresh timestamps. Its fresh head "extends the agreed chain", so both honest
 * domains are judged stale and the liar's chain stands in alone: reads are labelled `degraded`
 * (the same data cannot tell this from two domains whose nodes stopped, staleDomain.test.ts).
 *
 * Streams carry no label: `newHeads`, log subscriptions and block filters must not move to a head
 * that one domain backs while other domains, up, stand elsewhere (follow/heldBack.ts). They wait,
 * and a `streamError` event says why. Without that rule they delivered 7 forged heads and 3
 * made-up Transfer logs in this test. "Up" is the domain's latest attempt answered, not "answered
 * lately": a liar answering slowly stretched every refresh until the honest domains looked out.
 * In an outage (the other domains out, not up) streams still flow from the last domain standing
 * (test/watch.test.ts).
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http } from '../../src/index.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import { type Anvil, startAnvil } from '../lab/index.ts'
import { forger, type Header, TOKEN, TRANSFER, WALLET } from './forger.ts'

const hex = (n: number) => `0x${n.toString(16)}`

const seconds = () => Math.floor(Date.now() / 1_000)

let anvil: Anvil
beforeAll(async () => {
  // Genesis long ago, one empty block five minutes ago, then nothing: a quiet chain.
  anvil = await startAnvil({ noMining: true, args: ['--timestamp', String(seconds() - 4_000)] })
  await anvil.rpc('evm_setNextBlockTimestamp', [hex(seconds() - 300)])
  await anvil.rpc('evm_mine')
})
afterAll(() => anvil?.stop())

/**
 * [label, the liar's delay (ms) on each answer once it forges]. Answering slowly (inside its
 * timeout) stretches every head refresh, which waits on it: a rule that took "answered a poll
 * lately" for "up" then aged the honest domains out (7 forged heads and 6 logs went through).
 */
const LIARS: [string, number][] = [
  ['answering at once', 0],
  ['answering each call 700 ms late, stretching every head refresh', 700],
]

describe.each(LIARS)(
  'a quiet chain, two honest domains that agree, one liar forging fresh heads, %s',
  (_, delay) => {
    it('newHeads, logs and block-filter subscribers never get a block (or log) only the liar backs', async () => {
      const liar = forger(anvil, { delay, forgedLogs: true })
      const rpc = createOutlast({
        chainId: CHAIN_ID,
        pollingInterval: 300,
        sources: [
          http(anvil.url, { name: 'aws', domain: 'aws', timeout: 1_000 }),
          http(anvil.url, { name: 'gcp', domain: 'gcp', timeout: 1_000 }),
          liar.source,
        ],
      })
      const streamErrors: string[] = []
      rpc.on('streamError', (e) => streamErrors.push(e.message))
      const heads: Header[] = []
      const logs: { blockHash: string; address: string; topics: string[] }[] = []
      try {
        await rpc.connect()
        const real = await anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
        await rpc.subscribe(['newHeads'], (h) => heads.push(h as Header))
        await rpc.subscribe(['logs', { address: TOKEN, topics: [TRANSFER, null, WALLET] }], (l) =>
          logs.push(l as (typeof logs)[number]),
        )
        const filter = (await rpc.request({ method: 'eth_newBlockFilter' })) as string
        const logFilter = (await rpc.request({
          method: 'eth_newFilter',
          params: [{ address: TOKEN, topics: [TRANSFER, null, WALLET] }],
        })) as string
        await sleep(1_000)
        liar.start()
        await sleep(5_000)
        const status = rpc.status()
        const changes = (await rpc.request({
          method: 'eth_getFilterChanges',
          params: [filter],
        })) as string[]
        // The chain did not move: the honest domains (both up, both at the real head) agree.
        assert.equal(
          (await anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])).hash,
          real.hash,
        )
        assert.ok(liar.forged.size > 0, 'the liar forged heads')
        console.log(
          `# head ${status.head?.number} confirmed=${status.headConfirmed}; sources:`,
          status.sources.map((s) => `${s.name}:${s.condition}`).join(' '),
        )
        // Asked directly, the same forged block's logs come back labelled `degraded` (the two
        // honest domains' "unknown block" counts as their failure): the stream drops that label.
        const some = [...liar.forged.values()].at(-2)!
        const direct = await rpc
          .requestWithMeta({ method: 'eth_getLogs', params: [{ blockHash: some.hash }] })
          .then(
            (r) => r.meta.consistency,
            (e: Error) => e.message,
          )
        console.log(`# direct eth_getLogs of forged block: ${direct}`)
        const forgedHeads = heads.filter((h) => liar.forged.has(h.hash.toLowerCase()))
        const forgedInFilter = changes.filter((h) => liar.forged.has(h.toLowerCase()))
        const forgedLogs = logs.filter((l) => liar.forged.has(l.blockHash.toLowerCase()))
        console.log(
          `# newHeads: ${heads.length} (${forgedHeads.length} forged); filter: ${changes.length} (${forgedInFilter.length} forged); logs: ${logs.length} (${forgedLogs.length} in forged blocks)`,
        )
        assert.deepEqual(
          forgedHeads.map((h) => Number(h.number)),
          [],
          `newHeads delivered ${forgedHeads.length} forged block(s) only the liar backs`,
        )
        assert.deepEqual(forgedInFilter, [], 'the block filter holds forged block hashes')
        // A log filter's logs asked for at once (`toBlock` latest: the liar's head) are an
        // eth_getLogs read, labelled as one: never `verified` (they were, once).
        const filterLogs = await rpc
          .requestWithMeta({ method: 'eth_getFilterLogs', params: [logFilter] })
          .catch((e: Error) => e)
        if (!(filterLogs instanceof Error)) {
          const madeUp = (filterLogs.result as { blockHash: string }[]).filter((l) =>
            liar.forged.has(l.blockHash.toLowerCase()),
          )
          console.log(
            `# eth_getFilterLogs: ${filterLogs.meta.consistency}, ${madeUp.length} made-up logs`,
          )
          assert.ok(
            madeUp.length === 0 || filterLogs.meta.consistency === 'degraded',
            `eth_getFilterLogs gave ${madeUp.length} made-up logs labelled ${filterLogs.meta.consistency}`,
          )
          assert.notEqual(filterLogs.meta.consistency, 'verified')
        }
        assert.equal(forgedLogs.length, 0, 'a logs subscriber got made-up Transfer logs')
        assert.ok(
          streamErrors.some((m) =>
            /block #\d+ is backed by fewer than 2 domains while aws, gcp, up, stand at #\d+/.test(
              m,
            ),
          ),
          `no streamError says the stream is held: ${JSON.stringify(streamErrors)}`,
        )
      } finally {
        await rpc.close()
      }
    })
  },
)
