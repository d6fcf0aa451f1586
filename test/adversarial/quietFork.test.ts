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
import { keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createOutlast, http, type Source } from '../../src/index.ts'
import { computeBlockHash, type RpcBlockHeader } from '../../src/verify/block.ts'
import { CHAIN_ID, sleep } from '../helpers.ts'
import { type Anvil, startAnvil } from '../lab/index.ts'
import { hostile } from './hostile.ts'

type Header = Record<string, unknown> & { number: string; hash: string; parentHash: string }

const hex = (n: number) => `0x${n.toString(16)}`

/** A token the wallet watches, and the Transfer topic: what the liar's forged logs claim. */
const TOKEN = '0x00000000000000000000000000000000000070c3'
const TRANSFER = keccak256(toHex('Transfer(address,address,uint256)'))
const WALLET = `0x${'00'.repeat(12)}${'77'.repeat(20)}`

/** A 2048-bit logs bloom holding `values` (3 bits of keccak each, as the yellow paper sets them). */
function bloomOf(values: readonly string[]): string {
  const bloom = new Uint8Array(256)
  for (const v of values) {
    const h = Buffer.from(keccak256(v as `0x${string}`).slice(2), 'hex')
    for (const i of [0, 2, 4]) {
      const bit = ((h[i]! << 8) | h[i + 1]!) & 0x7ff
      const at = 255 - Math.floor(bit / 8)
      bloom[at] = (bloom[at] ?? 0) | (1 << (bit % 8))
    }
  }
  return `0x${Buffer.from(bloom).toString('hex')}`
}
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
 * Honest until `start()`; then its `latest` is the tip of a chain it forges on the real head:
 * correctly hashed empty blocks with fresh timestamps (one more each second), served by number
 * and by hash as well.
 */
function forger(delay = 0) {
  const inner = http(anvil.url, { name: 'liar', domain: 'liar-host', timeout: 1_000 })
  const byHash = new Map<string, Header>()
  const byNumber = new Map<string, Header>()
  let tip: Header | undefined
  let started = 0
  let on = false
  const extend = async () => {
    if (!tip) tip = await anvil.rpc<Header>('eth_getBlockByNumber', ['latest', false])
    const want = 3 + Math.floor((Date.now() - started) / 1_000)
    while (byNumber.size < want) {
      const parent = tip
      const forged: Record<string, unknown> = {
        ...parent,
        number: hex(Number(parent.number) + 1),
        parentHash: parent.hash,
        timestamp: hex(seconds()),
        // Its bloom admits the watched token's Transfer: the client will ask for the logs.
        logsBloom: bloomOf([TOKEN, TRANSFER, WALLET]),
      }
      forged.hash = computeBlockHash(forged as unknown as RpcBlockHeader)
      tip = forged as Header
      byHash.set(tip.hash.toLowerCase(), tip)
      byNumber.set(tip.number, tip)
    }
    return tip
  }
  const source: Source = hostile(inner, async (method, params, answer) => {
    if (!on) return answer()
    if (delay) await sleep(delay)
    if (method === 'eth_blockNumber') return (await extend()).number
    if (method === 'eth_getBlockByHash') {
      const f = byHash.get(String(params[0]).toLowerCase())
      if (f) return f
    }
    if (method === 'eth_getLogs') {
      // A made-up incoming Transfer in each forged block the filter covers.
      const f = params[0] as { blockHash?: string; fromBlock?: string; toBlock?: string }
      const blocks = f.blockHash
        ? [byHash.get(f.blockHash.toLowerCase())].filter((b) => b !== undefined)
        : [...byNumber.values()].filter(
            (b) =>
              f.fromBlock !== undefined &&
              f.toBlock !== undefined &&
              Number(b.number) >= Number(f.fromBlock) &&
              Number(b.number) <= Number(f.toBlock),
          )
      if (blocks.length > 0)
        return blocks.map((b) => ({
          address: TOKEN,
          topics: [TRANSFER, `0x${'00'.repeat(32)}`, WALLET],
          data: `0x${(10n ** 24n).toString(16).padStart(64, '0')}`,
          blockNumber: b.number,
          blockHash: b.hash,
          transactionHash: keccak256(b.hash as `0x${string}`),
          transactionIndex: '0x0',
          logIndex: '0x0',
          removed: false,
        }))
    }
    if (method === 'eth_getBlockByNumber') {
      if (params[0] === 'latest') return extend()
      const f = byNumber.get(String(params[0]))
      if (f) return f
    }
    return answer()
  })
  return {
    source,
    forged: byHash,
    start() {
      started = Date.now()
      on = true
    },
  }
}

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
      const liar = forger(delay)
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
