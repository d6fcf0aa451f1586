/**
 * Proven log ranges, full blocks and transactions (outlast/proofs) against anvil: sources that
 * drop or add a log, swap a block's transactions or misplace a transaction are caught, and the
 * honest answer comes back proven, even when one source is all that is left.
 */
import assert from 'node:assert/strict'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { OutlastEvents } from '../src/index.ts'
import { proofs } from '../src/proofs/index.ts'
import { asReturned, clientFor, resetLab, threeDomains } from './helpers.ts'
import { devAccounts, type Lab, type LieMethod, startLab } from './lab/index.ts'
import { deployAnswer, PING, PING_INIT } from './workload.ts'

type Log = { blockNumber: string; address: string }
type Block = { number: string; hash: string; transactions: { hash: string }[] }
type Tx = { hash: string; blockHash: string; transactionIndex: string }

let lab: Lab
let ping: `0x${string}`
let other: `0x${string}`
/** The deploy block of `ping`: no logs. */
let first: number
/** Three pings and a transfer in one block. */
let busy: Block
let head: number
const hex = (n: number) => `0x${n.toString(16)}`
const word = (n: number) => `0x${n.toString(16).padStart(64, '0')}`
const [alice, bob] = devAccounts

/** Mines `txs` into one block (automine paused) and returns that block. */
async function mineBlock(txs: Record<string, unknown>[]): Promise<Block> {
  await lab.anvil.rpc('evm_setAutomine', [false])
  const hashes: string[] = []
  for (const tx of txs) hashes.push(await lab.anvil.rpc<string>('eth_sendTransaction', [tx]))
  await lab.anvil.rpc('evm_mine')
  await lab.anvil.rpc('evm_setAutomine', [true])
  const receipt = await lab.anvil.rpc<{ blockHash: string }>('eth_getTransactionReceipt', [
    hashes[0],
  ])
  return asReturned(await lab.anvil.rpc<Block>('eth_getBlockByHash', [receipt.blockHash, true]))
}
const pingTx = (to: string, n: number) => ({ from: alice.address, to, data: word(n) })
const transfer = { from: bob.address, to: alice.address, value: '0x1' }

beforeAll(async () => {
  lab = await startLab({ sources: threeDomains, blockTime: 0 })
  ping = await deployAnswer(lab.anvil, PING_INIT)
  first = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
  busy = await mineBlock([pingTx(ping, 1), pingTx(ping, 2), transfer, pingTx(ping, 3)])
  await lab.anvil.rpc('evm_mine') // empty
  await mineBlock([transfer]) // transactions, no logs
  await mineBlock([pingTx(ping, 4)])
  other = await deployAnswer(lab.anvil, PING_INIT)
  await mineBlock([pingTx(other, 5), pingTx(ping, 6)])
  await mineBlock([pingTx(other, 7)]) // logs, none of them from ping
  await lab.anvil.rpc('evm_mine')
  head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
})
afterAll(() => lab.stop())

const reset = () => resetLab(lab)
const lying = (name: string, methods: LieMethod[]) =>
  lab.proxy(name).setMode({ kind: 'lie', methods })
const truth = <T>(method: string, params: unknown[]) => lab.anvil.rpc<T>(method, params)
const logsOf = (filter: Record<string, unknown>) =>
  truth<Log[]>('eth_getLogs', [{ ...filter, toBlock: hex(head) }])

/** A client with proofs, connected, that records the sources caught lying. */
async function proven(options: Parameters<typeof proofs>[0] = {}) {
  const rpc = clientFor(lab, { prover: proofs(options) })
  const lies: OutlastEvents['lie'][] = []
  rpc.on('lie', (e) => lies.push(e))
  await rpc.connect()
  return { rpc, lies }
}

describe('eth_getLogs over a block range', () => {
  it('is proven: every block chained to the agreed head, receipts only where the bloom may match', async () => {
    await reset()
    const { rpc, lies } = await proven()
    try {
      const filter = { fromBlock: hex(first), toBlock: 'latest', address: ping }
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [filter],
      })
      const honest = await logsOf(filter)
      assert.equal(honest.length, 5)
      assert.deepEqual(result, honest)
      assert.equal(meta.consistency, 'proven')
      assert.deepEqual(meta.sources, ['aws'])
      const stats = lab.proxy('aws').stats.byMethod
      // ping logged in three blocks; the empty ones, the transfer and `other`'s are bloom misses
      assert.equal(stats.eth_getBlockReceipts, 3)
      assert.deepEqual(lies, [])

      // no filter: every block with logs; a topic nobody logged: no receipts, proven empty
      const all = { fromBlock: hex(first), toBlock: hex(head) }
      const every = await rpc.requestWithMeta({ method: 'eth_getLogs', params: [all] })
      assert.deepEqual(every.result, await logsOf(all))
      assert.equal((every.result as Log[]).length, 7)
      assert.equal(every.meta.consistency, 'proven')
      lab.proxy('aws').resetStats()
      const none = { ...all, topics: [word(12345)] }
      const empty = await rpc.requestWithMeta({ method: 'eth_getLogs', params: [none] })
      assert.deepEqual(empty.result, [])
      assert.equal(empty.meta.consistency, 'proven')
      assert.equal(lab.proxy('aws').stats.byMethod.eth_getBlockReceipts ?? 0, 0)

      // a range that ends below the head, by topic
      const below = { fromBlock: hex(first), toBlock: busy.number, topics: [PING] }
      const part = await rpc.requestWithMeta({ method: 'eth_getLogs', params: [below] })
      assert.deepEqual(
        part.result,
        await truth('eth_getLogs', [{ ...below, toBlock: busy.number }]),
      )
      assert.equal((part.result as Log[]).length, 3)
      assert.equal(part.meta.consistency, 'proven')
    } finally {
      await rpc.close()
    }
  })

  for (const [lie, what] of [
    ['eth_getLogs', 'drops a log'],
    ['addLog', 'adds a log'],
  ] as const)
    it(`a source that ${what} is caught; the honest answer is proven`, async () => {
      await reset()
      const { rpc, lies } = await proven()
      try {
        await lying('aws', [lie])
        const filter = { fromBlock: hex(first), toBlock: 'latest', address: ping }
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getLogs',
          params: [filter],
        })
        assert.deepEqual(result, await logsOf(filter))
        assert.equal(meta.consistency, 'proven')
        // An honest source answered (which one depends on hedging under load).
        assert.equal(meta.sources.length, 1)
        assert.ok(['gcp', 'home'].includes(meta.sources[0]!), meta.sources.join())
        assert.deepEqual(
          lies.map((l) => l.source),
          ['aws'],
        )
        assert.match(lies[0]!.reason, lie === 'addLog' ? /added/ : /dropped/)
      } finally {
        await rpc.close()
        await reset()
      }
    })

  it('a proven log carries only what was checked: not a field every source adds', async () => {
    await reset()
    // Every source adds a field to each log (a chain's or client's extra, or made up): no proof
    // covers it, so it is not returned as proven.
    const rpc = clientFor(
      lab,
      { prover: proofs() },
      (s) =>
        (async (input, init) => {
          const response = await s.proxy.fetch(input, init)
          if (!String(init?.body ?? '').includes('"eth_getLogs"')) return response
          const add = (m: { result?: unknown }) =>
            Array.isArray(m?.result)
              ? { ...m, result: m.result.map((l) => ({ ...l, l1Fee: '0x5' })) }
              : m
          const body = await response.json()
          return Response.json(Array.isArray(body) ? body.map(add) : add(body))
        }) as typeof fetch,
    )
    try {
      await rpc.connect()
      const filter = { fromBlock: hex(first), toBlock: 'latest', address: ping }
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [filter],
      })
      assert.equal(meta.consistency, 'proven')
      assert.deepEqual(result, await logsOf(filter))
    } finally {
      await rpc.close()
    }
  })

  it('a source that cannot serve receipts is skipped, not called a liar', async () => {
    await reset()
    const { rpc, lies } = await proven()
    try {
      await lab.proxy('aws').setMode({ kind: 'methods', failing: ['eth_getBlockReceipts'] })
      const filter = { fromBlock: hex(first), toBlock: 'latest', address: ping }
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [filter],
      })
      assert.deepEqual(result, await logsOf(filter))
      assert.equal(meta.consistency, 'proven')
      assert.deepEqual(meta.sources, ['gcp'])
      assert.deepEqual(lies, [])
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('without proofs, two sources dropping the same log win the vote', async () => {
    await reset()
    await lying('aws', ['eth_getLogs'])
    await lying('gcp', ['eth_getLogs'])
    const rpc = clientFor(lab)
    try {
      const filter = { fromBlock: hex(first), toBlock: hex(head), address: ping }
      const lied = await rpc.request({ method: 'eth_getLogs', params: [filter] })
      assert.equal((lied as Log[]).length, 4)
    } finally {
      await rpc.close()
    }
    const { rpc: withProofs } = await proven()
    try {
      const filter = { fromBlock: hex(first), toBlock: hex(head), address: ping }
      const { result, meta } = await withProofs.requestWithMeta({
        method: 'eth_getLogs',
        params: [filter],
      })
      assert.equal((result as Log[]).length, 5)
      assert.deepEqual(meta.sources, ['home'])
      assert.equal(meta.consistency, 'proven')
    } finally {
      await withProofs.close()
      await reset()
    }
  })

  it('a range longer than maxLogRange is left to quorum', async () => {
    await reset()
    const { rpc } = await proven({ maxLogRange: 3 })
    try {
      const filter = { fromBlock: hex(first), toBlock: 'latest', address: ping }
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [filter],
      })
      assert.deepEqual(result, await logsOf(filter))
      assert.equal(meta.consistency, 'agreed')
      const short = { fromBlock: hex(head - 2), toBlock: 'latest' }
      const near = await rpc.requestWithMeta({ method: 'eth_getLogs', params: [short] })
      assert.equal(near.meta.consistency, 'proven')
      assert.deepEqual(near.result, await logsOf(short))
    } finally {
      await rpc.close()
    }
  })

  it('a blockHash filter is still proven against that block', async () => {
    await reset()
    const { rpc } = await proven()
    try {
      await lying('aws', ['eth_getLogs'])
      const filter = { blockHash: busy.hash, address: ping }
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getLogs',
        params: [filter],
      })
      assert.deepEqual(result, await truth('eth_getLogs', [filter]))
      assert.equal((result as Log[]).length, 3)
      assert.equal(meta.consistency, 'proven')
      // From one honest source: whichever answered first under load (gcp is the faster).
      assert.equal(meta.sources.length, 1)
      assert.ok(['gcp', 'home'].includes(meta.sources[0]!), `proven from ${meta.sources}`)
    } finally {
      await rpc.close()
      await reset()
    }
  })
})

describe('full blocks', () => {
  it('without proofs, a swapped transaction order is caught by transactionsRoot too', async () => {
    await reset()
    await lying('aws', ['swapTransactions'])
    const rpc = clientFor(lab)
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [busy.hash, true],
      })
      assert.deepEqual(result, busy)
      // Checked against transactionsRoot; the senders (no root's) agreed by two domains.
      assert.equal(meta.consistency, 'agreed')
      assert.ok(!meta.sources.includes('aws'))
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('with proofs, a swapped transaction order is caught by transactionsRoot, by hash, number and latest', async () => {
    await reset()
    const { rpc, lies } = await proven()
    try {
      await lying('aws', ['swapTransactions'])
      for (const params of [
        [busy.hash, true],
        [busy.number, true],
      ]) {
        const { result, meta } = await rpc.requestWithMeta({
          method: params[0] === busy.hash ? 'eth_getBlockByHash' : 'eth_getBlockByNumber',
          params,
        })
        assert.deepEqual(result, busy)
        assert.equal(meta.consistency, 'proven')
        // An honest source answered (which one depends on hedging under load).
        assert.equal(meta.sources.length, 1)
        assert.ok(['gcp', 'home'].includes(meta.sources[0]!), meta.sources.join())
      }
      assert.equal(lies[0]?.source, 'aws')
      assert.match(lies[0]!.reason, /transactionsRoot/)
      await reset()
      await lying('gcp', ['swapTransactions'])
      await lying('home', ['swapTransactions'])
      // aws is cut off for lying: gcp and home lie now, and nobody honest is left
      await assert.rejects(
        rpc.request({ method: 'eth_getBlockByNumber', params: [busy.number, true] }),
        (e: Error) => {
          for (const name of ['gcp', 'home'])
            assert.match(e.message, new RegExp(`${name}: failed the proof`))
          return true
        },
      )
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('latest with full transactions is the agreed head, proven', async () => {
    await reset()
    const last = await mineBlock([pingTx(ping, 8), transfer])
    const { rpc } = await proven()
    try {
      await lying('aws', ['swapTransactions'])
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBlockByNumber',
        params: ['latest', true],
      })
      assert.deepEqual(result, last)
      assert.equal(meta.consistency, 'proven')
      head = Number(last.number)
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('header-only blocks stay with the engine (header checked by its hash, hash list agreed)', async () => {
    await reset()
    const { rpc } = await proven()
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getBlockByHash',
        params: [busy.hash, false],
      })
      assert.equal((result as Block).hash, busy.hash)
      assert.equal(meta.consistency, 'agreed')
    } finally {
      await rpc.close()
    }
  })
})

describe('transactions', () => {
  it('without proofs, a transaction claiming another position passes its hash check but is outvoted', async () => {
    await reset()
    await lying('aws', ['misplaceTransaction'])
    const rpc = clientFor(lab)
    try {
      const hash = busy.transactions[1]!.hash
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getTransactionByHash',
        params: [hash],
      })
      // The hash proves the envelope, not its place: the place needs agreement.
      assert.equal((result as Tx).transactionIndex, '0x1')
      assert.equal(meta.consistency, 'agreed')
    } finally {
      await rpc.close()
      await reset()
    }
  })

  for (const lie of [
    'misplaceTransaction',
    'renumberTransaction',
    'eth_getTransactionByHash',
    'swapTransactions',
  ] as const)
    it(`eth_getTransactionByHash is proven in its block; a source lying with ${lie} is caught`, async () => {
      await reset()
      const { rpc, lies } = await proven()
      try {
        await lying('aws', [lie])
        const hash = busy.transactions[1]!.hash
        const { result, meta } = await rpc.requestWithMeta({
          method: 'eth_getTransactionByHash',
          params: [hash],
        })
        assert.deepEqual(result, await truth('eth_getTransactionByHash', [hash]))
        assert.deepEqual(result, busy.transactions[1])
        assert.equal(meta.consistency, 'proven')
        // An honest source answered (which one depends on hedging under load).
        assert.equal(meta.sources.length, 1)
        assert.ok(['gcp', 'home'].includes(meta.sources[0]!), meta.sources.join())
        assert.deepEqual(
          lies.map((l) => l.source),
          ['aws'],
        )
      } finally {
        await rpc.close()
        await reset()
      }
    })

  it('by block hash and index: the proven entry, or a proven null past the end', async () => {
    await reset()
    const { rpc } = await proven()
    try {
      await lying('aws', ['swapTransactions'])
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getTransactionByBlockHashAndIndex',
        params: [busy.hash, '0x0'],
      })
      assert.deepEqual(result, busy.transactions[0])
      assert.equal(meta.consistency, 'proven')
      assert.deepEqual(meta.sources, ['gcp'])
      const past = await rpc.requestWithMeta({
        method: 'eth_getTransactionByBlockNumberAndIndex',
        params: [busy.number, '0x9'],
      })
      assert.equal(past.result, null)
      assert.equal(past.meta.consistency, 'proven')
    } finally {
      await rpc.close()
      await reset()
    }
  })

  it('a pending transaction cannot be proven: quorum answers', async () => {
    await reset()
    await lab.anvil.rpc('evm_setAutomine', [false])
    const hash = await lab.anvil.rpc<string>('eth_sendTransaction', [transfer])
    const { rpc } = await proven()
    try {
      const { result, meta } = await rpc.requestWithMeta({
        method: 'eth_getTransactionByHash',
        params: [hash],
      })
      assert.equal((result as Tx).blockHash, null)
      assert.notEqual(meta.consistency, 'proven')
    } finally {
      await rpc.close()
      await lab.anvil.rpc('evm_mine')
      await lab.anvil.rpc('evm_setAutomine', [true])
      head = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    }
  })
})

describe('an outage that leaves one honest source', () => {
  it('log ranges, full blocks and transactions are still proven', async () => {
    await reset()
    const { rpc } = await proven()
    const losses: string[] = []
    rpc.on('quorumLoss', (e) => losses.push(e.method))
    try {
      await lab.proxy('aws').setMode({ kind: 'blackhole' })
      await lab.proxy('gcp').setMode({ kind: 'blackhole' })
      const filter = { fromBlock: hex(first), toBlock: 'latest', address: ping }
      const logs = await rpc.requestWithMeta({ method: 'eth_getLogs', params: [filter] })
      assert.deepEqual(logs.result, await logsOf(filter))
      assert.equal(logs.meta.consistency, 'proven')
      assert.deepEqual(logs.meta.sources, ['home'])
      const block = await rpc.requestWithMeta({
        method: 'eth_getBlockByNumber',
        params: [busy.number, true],
      })
      assert.deepEqual(block.result, busy)
      assert.equal(block.meta.consistency, 'proven')
      const hash = busy.transactions[2]!.hash
      const tx = await rpc.requestWithMeta({ method: 'eth_getTransactionByHash', params: [hash] })
      assert.deepEqual(tx.result, busy.transactions[2])
      assert.equal(tx.meta.consistency, 'proven')
      assert.deepEqual(losses, [], 'proven answers need no quorum')
    } finally {
      await rpc.close()
      await reset()
    }
  })
})

// Last in this file: it rewrites the top of the lab's chain.
describe('a reorg while a range is being proven', () => {
  it('a source whose chain moved between the headers and its logs is not called a liar', async () => {
    await reset()
    await mineBlock([pingTx(ping, 8)])
    await mineBlock([pingTx(ping, 9)])
    const top = Number(await lab.anvil.rpc<string>('eth_blockNumber'))
    const before = await truth<Log[]>('eth_getLogs', [
      { fromBlock: hex(first), toBlock: hex(top), address: ping },
    ])
    let reorged = false
    // aws's node reorgs the two blocks with logs away just before it answers for the logs.
    const rpc = clientFor(lab, { prover: proofs() }, (s) =>
      s.name !== 'aws'
        ? s.proxy.fetch
        : ((async (input: RequestInfo | URL, init?: RequestInit) => {
            if (!reorged && String(init?.body ?? '').includes('"eth_getLogs"')) {
              reorged = true
              // After the receipts of the old blocks were fetched (by hash) and proven.
              await new Promise((r) => setTimeout(r, 500))
              await lab.anvil.rpc('anvil_reorg', [2, []])
            }
            return s.proxy.fetch(input, init)
          }) as typeof fetch),
    )
    const lies: OutlastEvents['lie'][] = []
    rpc.on('lie', (e) => lies.push(e))
    await rpc.connect()
    // Only aws can prove (the others serve no receipts), so its proof is the one that counts.
    for (const name of ['gcp', 'home'])
      await lab.proxy(name).setMode({ kind: 'methods', failing: ['eth_getBlockReceipts'] })
    try {
      const filter = { fromBlock: hex(first), toBlock: 'latest', address: ping }
      const { result } = await rpc.requestWithMeta({ method: 'eth_getLogs', params: [filter] })
      assert.ok(reorged, 'the reorg happened mid-proof')
      assert.deepEqual(lies, [], 'an honest source on a moved chain is no liar')
      const now = await truth<Log[]>('eth_getLogs', [{ ...filter, toBlock: hex(top) }])
      assert.deepEqual(result, now, "the moved chain's logs, by quorum")
      assert.equal(
        (result as Log[]).length,
        before.length - 2,
        'the two reorged-away logs are gone',
      )
    } finally {
      await rpc.close()
      await reset()
    }
  })
})
